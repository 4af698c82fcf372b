"""The api: creditor API, action-server API, documents, demo page and the web-chat socket.io door."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import socketio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.core.config import get_settings
from api.core.logging import configure_logging, log
from api.core.problems import problem_response
from api.db import get_engine
from api.routes import accounts, bot, console, documents, handoff_settings, policy, web
from api.services import agents, arrangements, errors, handoffs, outbox
from api.services.console_hub import hub
from api.services.outbox import Outbox
from api.services.rasa import RasaUnavailable
from api.services.router import ConversationRouter
from channels import twilio
from channels.webchat import create_webchat_server, webchat_deliver

PROBLEM_STATUS = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotVerified: 403,
    errors.VerificationLocked: 423,
    errors.AgreementRequired: 409,
    errors.CollectionPaused: 409,
    errors.InvalidLink: 403,
    errors.ExpiredLink: 410,
    errors.InvalidDate: 422,
    errors.UnderCare: 409,
    outbox.OptedOut: 409,
    outbox.OutsideWhatsAppWindow: 409,
    outbox.UnknownTemplate: 404,
    handoffs.ClaimedByAnother: 409,
    handoffs.NotYourConversation: 409,
    handoffs.ConversationClosed: 409,
    console.InvalidAmount: 422,
    arrangements.OutsidePolicy: 422,
    arrangements.InvalidArrangement: 422,
    agents.InvalidCredentials: 401,
    agents.WeakPassword: 422,
    agents.AgentExists: 409,
    RasaUnavailable: 503,
}


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    status = next((code for kind, code in PROBLEM_STATUS.items() if isinstance(exc, kind)), 400)
    return problem_response(exc.code, status, exc.__doc__ or "", **exc.problem_extra())


def create_app() -> socketio.ASGIApp:
    settings = get_settings()
    configure_logging()
    http = httpx.AsyncClient(timeout=settings.rasa_timeout_seconds)
    phone_outbox = Outbox(settings)
    router = ConversationRouter(settings, http, deliver={"sms": phone_outbox.deliver, "whatsapp": phone_outbox.deliver})

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        get_engine()
        hub.bind(asyncio.get_running_loop())
        log.info("api_started", env=settings.app_env, rasa_url=settings.rasa_url)
        # Background work: the outbox sends SMS/WhatsApp messages (and what was left unsent by a stop);
        # the retry loop answers debtor messages that Rasa could not answer when they arrived.
        tasks = [
            asyncio.create_task(phone_outbox.run()),
            asyncio.create_task(router.run_retries(settings.inbound_retry_seconds)),
        ]
        yield
        background = [*tasks, *twilio.pending_tasks()]
        for task in background:
            task.cancel()
        # A task inside a worker thread (a send in flight) finishes its call first; do not wait for ever.
        await asyncio.wait(background, timeout=5)
        await http.aclose()

    app = FastAPI(
        title="Debtor assistant api",
        version="0.1.0",
        description="Creditor integration API and the system of record of the debtor assistant.",
        lifespan=lifespan,
    )
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    for module in (accounts, policy, handoff_settings, bot, documents, web, twilio, console):
        app.include_router(module.router)
    app.include_router(console.api)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.state.router = router
    app.state.outbox = phone_outbox
    origins = settings.webchat_allowed_origins or [settings.base_url, f"http://localhost:{settings.api_port}"]
    sio = create_webchat_server(
        router, cors_origins=origins, sessions_per_client_per_hour=settings.webchat_sessions_per_client_per_hour
    )
    router.deliver["webchat"] = webchat_deliver(sio)
    return socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")


app = create_app()
