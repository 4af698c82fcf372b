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
from api.core.limits import BodySizeLimit
from api.core.logging import configure_logging, log
from api.core.problems import problem_response
from api.core.shared import async_redis, async_redis_listener, worker_id
from api.db import get_engine
from api.routes import (
    accounts,
    bot,
    budget_page,
    console,
    dashboard,
    debtor_information,
    documents,
    experiments,
    follow_through,
    handoff_settings,
    payments,
    policy,
    reference_format,
    reports,
)
from api.services import errors
from api.services.console_hub import hub
from api.services.locks import ConversationLocks
from api.services.outbox import Outbox
from api.services.router import ConversationRouter
from api.services.scheduler import Scheduler
from api.services.transport import Transports
from api.states import Channel
from channels import twilio, webchat


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    return problem_response(exc.code, exc.status, exc.__doc__ or "", **exc.problem_extra())


def create_app() -> BodySizeLimit:
    settings = get_settings()
    configure_logging()
    http = httpx.AsyncClient(timeout=settings.rasa_timeout_seconds)
    # The services get their doors' transports here, and never import a door themselves.
    transports = Transports()
    phone_outbox = Outbox(settings, twilio.TwilioSender(settings))
    transports.register(phone_outbox, Channel.SMS, Channel.WHATSAPP)
    # Several workers share locks, limits, sockets and console events through Redis (api/core/shared.py).
    shared = async_redis(settings.redis_url) if settings.redis_url else None
    router = ConversationRouter(settings, http, transports, ConversationLocks(shared))
    scheduler = Scheduler(settings, wake=phone_outbox.wake)
    origins = settings.webchat_allowed_origins or [settings.base_url, f"http://localhost:{settings.api_port}"]
    sio, webchat_sessions = webchat.create_webchat_server(
        router,
        cors_origins=origins,
        max_packet_bytes=settings.webchat_max_packet_bytes,
        redis_url=settings.redis_url,
        worker_name=settings.api_worker_name,
        worker=worker_id(settings.api_worker_name),
    )
    transports.register(webchat.WebChatTransport(webchat_sessions), Channel.WEBCHAT)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        get_engine()
        hub.bind(asyncio.get_running_loop(), shared, async_redis_listener(settings.redis_url) if shared else None)
        log.info(
            "api_started",
            env=settings.app_env,
            rasa_servers=len(settings.rasa_servers),
            worker=worker_id(settings.api_worker_name),
            shared=bool(shared),
        )
        # Background work: the outbox sends SMS/WhatsApp messages (and what was left unsent by a stop);
        # the retry loop answers debtor messages that Rasa could not answer when they arrived.
        # The scheduler plans nothing itself: it decides the contacts that are due (services/contacts.py).
        tasks = [
            asyncio.create_task(phone_outbox.run()),
            asyncio.create_task(router.run_retries(settings.inbound_retry_seconds)),
            # With Redis: the console events and the web-chat replies of the other workers, and this worker's
            # web-chat leases (both return at once for one process).
            asyncio.create_task(hub.listen()),
            asyncio.create_task(webchat_sessions.run()),
        ]
        if settings.scheduler_enabled:
            tasks.append(asyncio.create_task(scheduler.run(settings.scheduler_poll_seconds)))
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
    routers = (
        accounts,
        policy,
        handoff_settings,
        debtor_information,
        reference_format,
        follow_through,
        payments,
        reports,
        experiments,
        bot,
        documents,
        budget_page,
        webchat,
        twilio,
        console,
        dashboard,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(console.api)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.state.router = router
    app.state.outbox = phone_outbox
    app.state.transports = transports
    # No body larger than any door needs is read (a 5 MB sign-in, a flood of huge messages).
    return BodySizeLimit(socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io"), settings.max_request_body_bytes)


app = create_app()
