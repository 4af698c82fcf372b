"""SMS and WhatsApp through Twilio: inbound webhooks, delivery reports, and the phone-messaging keywords.

Twilio posts form-encoded webhooks signed with our auth token (`X-Twilio-Signature`, computed over the URL
registered in Twilio's console — `PUBLIC_BASE_URL` + path, so the check holds behind a proxy — and the
form fields). A request that is not signed right is refused before anything is stored. A message is stored
before it is processed, answered once even when Twilio delivers it twice (same `MessageSid`), and the
webhook answers at once with an empty TwiML response: the bot's replies leave later through the outbox
(`api/services/outbox.py`), which sends with `channels/twilio/sender.py`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qsl

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from api import i18n
from api.core.config import Settings
from api.core.limits import get_throttle
from api.core.logging import log
from api.core.problems import problem_response
from api.db import session_scope
from api.deps import OutboxDep, RouterDep, SessionReleasingRoute, SettingsDep
from api.models import Conversation, Creditor, Message, utcnow
from api.services import outbound, outbox, records
from api.services.compliance import keyword_language, phone_keyword
from api.services.errors import ConversationClosed
from api.services.outbox import Outbox
from api.services.router import ConversationRouter, find_or_create_conversation
from api.states import Author, Channel, ConsentKind
from channels.twilio.sender import our_number

router = APIRouter(route_class=SessionReleasingRoute, prefix="/channels/twilio", tags=["twilio"], include_in_schema=True)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# The longest body Twilio delivers on each channel (a concatenated SMS, a WhatsApp message). Longer than our
# own limit but within these, a message is stored and the debtor asked to shorten it, as on the web chat.
LONGEST_BODY = {"sms": 1600, "whatsapp": 4096}
# Background processing tasks, kept referenced until they finish.
_tasks: set[asyncio.Task[Any]] = set()


def _processed(task: asyncio.Task[Any]) -> None:
    """A message stored but not answered (the database away in the middle of the turn) stays `received`: the
    router's retry loop answers it."""
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("inbound_processing_failed", error=type(task.exception()).__name__)


def pending_tasks() -> list[asyncio.Task[Any]]:
    """Messages still being answered in the background (cancelled when the api stops; retried after)."""
    return list(_tasks)


class WebhookError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def problem(error: WebhookError) -> JSONResponse:
    return problem_response(error.code, error.status, error.detail)


def signed_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public one, not whatever host a proxy forwarded to us."""
    url = settings.base_url + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def signed_form(request: Request, settings: Settings) -> dict[str, str]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.twilio_max_request_bytes:
        raise WebhookError(413, "request_too_large", "Twilio webhooks are small; this request is not one.")
    raw = await request.body()
    if len(raw) > settings.twilio_max_request_bytes:
        raise WebhookError(413, "request_too_large", "Twilio webhooks are small; this request is not one.")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise WebhookError(415, "not_form_encoded", "Twilio sends application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookError(400, "malformed_form", "The form could not be read.") from exc
    params = dict(pairs)
    if settings.twilio_validate_signatures:
        signature = request.headers.get("x-twilio-signature", "")
        validator = RequestValidator(settings.twilio_auth_token)
        if not signature or not validator.validate(signed_url(settings, request), params, signature):
            log.warning("twilio_signature_refused", path=request.url.path, signed=bool(signature))
            raise WebhookError(403, "invalid_signature", "The X-Twilio-Signature header is missing or wrong.")
    if params.get("AccountSid") != settings.twilio_account_sid:
        raise WebhookError(403, "wrong_account", "This webhook is for another Twilio account.")
    return params


def _number(value: str | None, channel: str) -> str:
    """The E.164 number of a Twilio address (`+33...`, or `whatsapp:+33...` on WhatsApp)."""
    prefix = "whatsapp:" if channel == Channel.WHATSAPP else ""
    if not value or not value.startswith(prefix) or not E164.match(value[len(prefix) :]):
        raise WebhookError(400, "malformed_address", f"From and To must be {prefix}+<E.164 number>.")
    return value[len(prefix) :]


def parse_inbound(params: dict[str, str], channel: str, settings: Settings) -> dict[str, Any]:
    sid = params.get("MessageSid", "")
    if not MESSAGE_SID.match(sid):
        raise WebhookError(400, "malformed_message_sid", "MessageSid must be SM or MM followed by 32 hex digits.")
    sender, to = _number(params.get("From"), channel), _number(params.get("To"), channel)
    if "Body" not in params:
        raise WebhookError(400, "missing_body", "Body is missing.")
    num_media = params.get("NumMedia", "0")
    if not num_media.isdigit():
        raise WebhookError(400, "malformed_num_media", "NumMedia must be a number.")
    if to != our_number(settings, channel):
        raise WebhookError(404, "unknown_number", "This number is not one of ours.")
    body = params["Body"]
    if len(body) > LONGEST_BODY[channel]:
        raise WebhookError(413, "message_too_long", f"The message is longer than any {channel} message Twilio delivers.")
    return {"sid": sid, "from": sender, "body": body, "num_media": int(num_media)}


def _already_stored(channel: str, sid: str) -> bool:
    with session_scope() as session:
        return session.scalar(select(Message.id).where(Message.channel == channel, Message.channel_message_id == sid)) is not None


def handle_keyword(settings: Settings, conversation_id: str, message_id: int, kind: str) -> None:
    """STOP / START / HELP, answered by the api itself, deterministically, in one transaction."""
    with session_scope() as session:
        conversation = session.get_one(Conversation, conversation_id)
        message = session.get_one(Message, message_id)
        language = conversation.language or settings.default_language
        creditor = session.get_one(Creditor, conversation.creditor_id)
        names = {"collector_name": settings.collector_name, "creditor_name": creditor.name if creditor else ""}
        current = records.latest_consent(session, conversation.channel, conversation.channel_address)
        opted_out = current is not None and current.kind == "opt_out"
        reply: tuple[str, str] | None = None
        if kind == "opt_out" and not opted_out:
            records.record_consent(session, conversation, "opt_out", "debtor", keyword=True)
            reply = (i18n.t("sms.opt_out_confirmed", language, **names), "opt_out_confirmation")
        elif kind == "opt_in" and opted_out:
            records.record_consent(session, conversation, "opt_in", "debtor", keyword=True)
            reply = (i18n.t("sms.opt_in_confirmed", language, **names), "opt_in_confirmation")
        elif kind == "help":
            reply = (i18n.t("sms.help", language, **names), "help")
        message.status, message.processed_at, message.error = "processed", utcnow(), f"keyword_{kind}"
        if reply:
            outbound.write(
                session,
                settings,
                conversation,
                outbound.Outbound(text=reply[0], author=Author.SYSTEM, kind=reply[1], in_reply_to=message.id),
            )


def hold_if_opted_out(conversation_id: str, message_id: int) -> bool:
    """A message from a number that opted out is kept, and not answered until START."""
    with session_scope() as session:
        conversation = session.get_one(Conversation, conversation_id)
        consent = records.latest_consent(session, conversation.channel, conversation.channel_address)
        if consent is None or consent.kind != ConsentKind.OPT_OUT:
            return False
        message = session.get_one(Message, message_id)
        message.status, message.processed_at, message.error = "processed", utcnow(), "opted_out"
        return True


async def receive(
    request: Request, channel: str, settings: Settings, conversation_router: ConversationRouter, phone_outbox: Outbox
) -> Response:
    try:
        inbound = parse_inbound(await signed_form(request, settings), channel, settings)
    except WebhookError as error:
        return problem(error)
    # A flood from one number is refused before anything is stored (Twilio may deliver it again later).
    if not get_throttle().allow("inbound_message", f"{channel}:{inbound['from']}"):
        return problem_response("too-many-messages", 429, "Too many messages from this number in a minute.")
    if await to_thread.run_sync(_already_stored, channel, inbound["sid"]):
        log.info("twilio_duplicate_delivery", channel=channel)
        return Response(EMPTY_TWIML, media_type="application/xml")
    keyword = phone_keyword(inbound["body"])
    for _ in range(2):  # a conversation an agent closes at this very moment is replaced by a new one
        conversation_id = await to_thread.run_sync(find_or_create_conversation, channel, inbound["from"])
        try:
            stored = await to_thread.run_sync(
                conversation_router.store_inbound,
                conversation_id,
                inbound["body"],
                inbound["sid"],
                keyword_language(inbound["body"]),
            )
            break
        except ConversationClosed:
            continue
        except IntegrityError:  # the same MessageSid delivered twice at the same moment
            return Response(EMPTY_TWIML, media_type="application/xml")
    else:  # closed twice in a row: Twilio retries the delivery later
        return problem_response("conversation-closed", 503, "The conversation was closed while this message arrived; retry.")
    if keyword:
        await to_thread.run_sync(handle_keyword, settings, conversation_id, stored.message_id, keyword)
        phone_outbox.wake()
    elif not await to_thread.run_sync(hold_if_opted_out, conversation_id, stored.message_id):
        task = asyncio.create_task(conversation_router.process(conversation_id, stored.message_id))
        _tasks.add(task)
        task.add_done_callback(_processed)
    return Response(EMPTY_TWIML, media_type="application/xml")


# What Twilio gets back: empty TwiML (the replies leave later through the outbox), or a problem.
TWIML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Stored (or a duplicate delivery): empty TwiML", "content": {"application/xml": {}}},
    400: {"description": "Not a Twilio message", "content": {"application/problem+json": {}}},
    403: {"description": "Not signed by Twilio for us", "content": {"application/problem+json": {}}},
    413: {"description": "Larger than Twilio sends", "content": {"application/problem+json": {}}},
    429: {"description": "Too many messages from this number in a minute", "content": {"application/problem+json": {}}},
}


@router.post("/sms", response_class=Response, responses=TWIML_RESPONSES, summary="Inbound SMS (Twilio webhook)")
async def inbound_sms(
    request: Request, settings: SettingsDep, conversation_router: RouterDep, phone_outbox: OutboxDep
) -> Response:
    return await receive(request, "sms", settings, conversation_router, phone_outbox)


@router.post("/whatsapp", response_class=Response, responses=TWIML_RESPONSES, summary="Inbound WhatsApp message (Twilio webhook)")
async def inbound_whatsapp(
    request: Request, settings: SettingsDep, conversation_router: RouterDep, phone_outbox: OutboxDep
) -> Response:
    return await receive(request, "whatsapp", settings, conversation_router, phone_outbox)


@router.post(
    "/status",
    response_class=Response,
    status_code=204,
    responses={204: {"description": "Recorded"}, 404: {"description": "Not one of our messages"}},
    summary="Delivery report of an outbound message (Twilio callback)",
)
async def status_callback(request: Request, settings: SettingsDep) -> Response:
    try:
        params = await signed_form(request, settings)
        sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
        if not MESSAGE_SID.match(sid) or not status:
            raise WebhookError(400, "malformed_status", "MessageSid and MessageStatus are required.")
    except WebhookError as error:
        return problem(error)
    if not await to_thread.run_sync(outbox.apply_status_callback, sid, status, params.get("ErrorCode")):
        return problem(WebhookError(404, "unknown_message", "No outbound message has this MessageSid."))
    return Response(status_code=204)
