"""A local stand-in for Twilio's Messages API and webhooks, so development and tests never reach the real Twilio.

The api talks to it through the official `twilio` library (only the base URL differs), so what works here
works against Twilio: same request and response shapes, same Basic auth, same error JSON, same signed
status callbacks. A person or a test plays the debtor through `/_fake/inbound`, reads what the api sent
through `/_fake/messages`, and injects outages or undeliverable numbers through the other `/_fake` routes.

Run it with `python scripts/fake_twilio.py`; tests build it in-process with `create_app(settings)`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]

API_VERSION = "2010-04-01"
# A well-formed but obviously local account: "AC" + 32 hex digits, like a real Account SID.
DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_AUTH_TOKEN = "dev-twilio-auth-token"

log = structlog.get_logger()


class FakeTwilioSettings(BaseSettings):
    """Where the fake listens, the credentials it accepts, and where it delivers webhooks.

    The account SID and auth token use the same variable names as the api's Twilio settings, so both
    sides agree on the credentials without any extra wiring.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", validate_by_name=True, validate_by_alias=True)

    host: str = Field("127.0.0.1", validation_alias="FAKE_TWILIO_HOST")
    port: int = Field(8010, validation_alias="FAKE_TWILIO_PORT")
    account_sid: str = Field(DEV_ACCOUNT_SID, validation_alias="TWILIO_ACCOUNT_SID")
    auth_token: str = Field(DEV_AUTH_TOKEN, validation_alias="TWILIO_AUTH_TOKEN")
    # The api's public base URL: inbound webhooks go to {webhook_base}/channels/twilio/{channel}.
    webhook_base: str = Field("http://127.0.0.1:8000", validation_alias="FAKE_TWILIO_WEBHOOK_BASE")
    # The numbers debtors text to (the creditor's SMS number and WhatsApp sender).
    sms_number: str = Field("+33700000001", validation_alias="FAKE_TWILIO_SMS_NUMBER")
    whatsapp_number: str = Field("+33700000002", validation_alias="FAKE_TWILIO_WHATSAPP_NUMBER")
    # Twilio never calls back in the same instant it answers; the pause keeps the api honest about
    # storing the message SID before its first status callback can arrive.
    callback_delay_seconds: float = Field(0.2, validation_alias="FAKE_TWILIO_CALLBACK_DELAY_SECONDS")
    # Twilio gives up on a webhook after 15 seconds (error 11200); so do we.
    webhook_timeout_seconds: float = Field(15.0, validation_alias="FAKE_TWILIO_WEBHOOK_TIMEOUT_SECONDS")


# --- SMS segments (GSM 03.38 / UCS-2) ------------------------------------------------------------------

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (without the escape code 0x1B, which is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each character is sent as escape + code, so it takes two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153  # septets; a concatenated part loses 7 to its header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


def sms_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the basic or extension table; one other character forces UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _character_units(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # a surrogate pair is two code units


def _pack(units: list[int], capacity: int) -> int:
    """Parts needed when a character is never split between two parts (an escape pair or a surrogate pair)."""
    parts, used = 1, 0
    for size in units:
        if used + size > capacity:
            parts, used = parts + 1, 0
        used += size
    return parts


def count_segments(text: str) -> tuple[int, Encoding]:
    """How many SMS parts Twilio bills for `text`, and in which encoding it travels."""
    encoding = sms_encoding(text)
    units = _character_units(text, encoding)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return 1, encoding
    return _pack(units, part), encoding


# --- State ----------------------------------------------------------------------------------------------

MessageStatus = Literal["queued", "sent", "delivered", "undelivered", "failed"]
# Twilio's error codes for a message that never reached the handset.
DELIVERY_ERROR_CODES = {"undelivered": 30003, "failed": 30008}


@dataclass
class SentMessage:
    """One message Twilio accepted, as the fake remembers it for the control API."""

    sid: str
    to: str
    from_: str | None
    body: str
    fields: dict[str, str | list[str]]
    auth_user: str | None
    created_at: datetime
    num_segments: int
    encoding: Encoding
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    media_urls: list[str] = field(default_factory=list)
    source: Literal["api", "twiml"] = "api"
    status: MessageStatus = "queued"

    def as_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "content_sid": self.fields.get("ContentSid"),
            "content_variables": self.fields.get("ContentVariables"),
            "messaging_service_sid": self.messaging_service_sid,
            "media_urls": self.media_urls,
            "status_callback": self.status_callback,
            "status": self.status,
            "num_segments": self.num_segments,
            "encoding": self.encoding,
            "source": self.source,
            "auth_user": self.auth_user,
            "fields": self.fields,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class FakeTwilioState:
    messages: list[SentMessage] = field(default_factory=list)
    # HTTP statuses the next Messages.json requests will be refused with, first one first.
    pending_failures: list[int] = field(default_factory=list)
    # Bare numbers (no "whatsapp:" prefix) whose messages end undelivered or failed.
    undeliverable: dict[str, Literal["undelivered", "failed"]] = field(default_factory=dict)
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def reset(self) -> None:
        self.messages.clear()
        self.pending_failures.clear()
        self.undeliverable.clear()


# E.164, optionally on WhatsApp. Twilio refuses anything else; so do we, which catches a "+" sent
# unencoded in a form (it arrives as a space).
RECIPIENT_PATTERN = re.compile(r"(whatsapp:)?\+[1-9]\d{1,14}")


def new_message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def bare_number(address: str) -> str:
    """The phone number behind a channel address, so "whatsapp:+33…" and "+33…" name the same person."""
    return address.removeprefix("whatsapp:")


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment)  # "Mon, 16 Nov 2026 10:00:00 +0000", as Twilio writes dates


def twilio_error(status: int, code: int, message: str) -> JSONResponse:
    """The error body Twilio returns, which the twilio library turns into a TwilioRestException."""
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


def basic_auth_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def form_fields(form: Any) -> dict[str, str | list[str]]:
    """Form fields as a dict; a repeated field (MediaUrl) keeps all its values."""
    fields: dict[str, str | list[str]] = {}
    for key in form:
        values = [value for value in form.getlist(key) if isinstance(value, str)]
        fields[key] = values[0] if len(values) == 1 else values
    return fields


# --- Status callbacks and inbound webhooks --------------------------------------------------------------


def signed_headers(validator: RequestValidator, url: str, params: dict[str, str]) -> dict[str, str]:
    return {
        "X-Twilio-Signature": validator.compute_signature(url, params),
        "User-Agent": "TwilioProxy/1.1",
    }


async def play_status_progress(settings: FakeTwilioSettings, state: FakeTwilioState, message: SentMessage) -> None:
    """Move a message through sent → its final status, calling its StatusCallback at each step like Twilio."""
    final: MessageStatus = state.undeliverable.get(bare_number(message.to), "delivered")
    validator = RequestValidator(settings.auth_token)
    async with httpx.AsyncClient(timeout=10) as client:
        for status in ("sent", final):
            await asyncio.sleep(settings.callback_delay_seconds)
            message.status = status
            if not message.status_callback:
                continue
            params = {
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "AccountSid": settings.account_sid,
                "From": message.from_ or "",
                "To": message.to,
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": API_VERSION,
            }
            if message.messaging_service_sid:
                params["MessagingServiceSid"] = message.messaging_service_sid
            if status in DELIVERY_ERROR_CODES:
                params["ErrorCode"] = str(DELIVERY_ERROR_CODES[status])
            url = message.status_callback
            try:
                response = await client.post(url, data=params, headers=signed_headers(validator, url, params))
            except httpx.HTTPError as error:
                log.warning("fake_twilio.status_callback_failed", sid=message.sid, url=url, error=str(error))
                continue
            log.info("fake_twilio.status_callback_sent", sid=message.sid, status=status, http_status=response.status_code)


def run_in_background(state: FakeTwilioState, coroutine: Any) -> None:
    task = asyncio.create_task(coroutine)
    state.background.add(task)  # keep a reference, or the task may be garbage-collected mid-flight
    task.add_done_callback(state.background.discard)


COUNTRY_PREFIXES = {"+33": "FR", "+44": "GB", "+32": "BE", "+41": "CH", "+49": "DE", "+34": "ES", "+39": "IT", "+1": "US"}


def country_of(number: str) -> str | None:
    for prefix, country in COUNTRY_PREFIXES.items():
        if bare_number(number).startswith(prefix):
            return country
    return None


def inbound_form(
    settings: FakeTwilioSettings, channel: Literal["sms", "whatsapp"], sender: str, recipient: str, body: str, sid: str
) -> dict[str, str]:
    """The form Twilio posts to a webhook when a debtor's SMS or WhatsApp message comes in."""
    segments, _ = count_segments(body)
    if channel == "whatsapp":
        sender_address, recipient_address = f"whatsapp:{bare_number(sender)}", f"whatsapp:{bare_number(recipient)}"
    else:
        sender_address, recipient_address = sender, recipient
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.account_sid,
        "From": sender_address,
        "To": recipient_address,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": str(segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    for key, number in (("FromCountry", sender), ("ToCountry", recipient)):
        if country := country_of(number):
            params[key] = country
    if channel == "whatsapp":
        params["ProfileName"] = "Debtor"
        params["WaId"] = "".join(ch for ch in bare_number(sender) if ch.isdigit())
        params["MessageType"] = "text"
    return params


def twiml_replies(response_text: str) -> list[tuple[str | None, str | None, str, str | None]]:
    """(to, from, body, action) of each <Message> in a TwiML answer: real Twilio sends those too."""
    text = response_text.strip()
    if not text.startswith("<"):
        return []
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return []
    if root.tag != "Response":
        return []
    replies = []
    for element in root.iter("Message"):
        body_element = element.find("Body")
        body = body_element.text if body_element is not None else element.text
        replies.append((element.get("to"), element.get("from"), (body or "").strip(), element.get("action")))
    return replies


# --- Control API payloads -------------------------------------------------------------------------------


class FailureInjection(BaseModel):
    count: int = Field(1, ge=0)
    status: int = Field(500, ge=400, le=599)


class UndeliverableNumber(BaseModel):
    to: str
    status: Literal["undelivered", "failed"] = "undelivered"


class InboundMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    channel: Literal["sms", "whatsapp"] = "sms"
    from_: str = Field(alias="from")
    to: str | None = None
    body: str
    message_sid: str | None = None
    url: str | None = None


# --- The app --------------------------------------------------------------------------------------------


def create_app(settings: FakeTwilioSettings | None = None) -> FastAPI:
    settings = settings or FakeTwilioSettings()
    state = FakeTwilioState()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for task in list(state.background):
            task.cancel()

    app = FastAPI(title="Fake Twilio", lifespan=lifespan)
    app.state.settings = settings
    app.state.fake = state

    def accept(message: SentMessage) -> None:
        state.messages.append(message)
        log.info("fake_twilio.message_accepted", sid=message.sid, to=message.to, segments=message.num_segments)
        run_in_background(state, play_status_progress(settings, state, message))

    @app.post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", status_code=201)
    async def create_message(account_sid: str, request: Request) -> JSONResponse:
        if state.pending_failures:
            status = state.pending_failures.pop(0)
            return twilio_error(status, 20000 + status, "Injected failure (fake Twilio /_fake/failures)")
        credentials = basic_auth_credentials(request.headers.get("authorization"))
        if credentials != (settings.account_sid, settings.auth_token):
            return twilio_error(401, 20003, "Authenticate")
        if account_sid != settings.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.url.path} was not found")

        fields = form_fields(await request.form())
        to, body = fields.get("To"), fields.get("Body")
        media = fields.get("MediaUrl") or []
        media_urls = [media] if isinstance(media, str) else media
        if not isinstance(to, str) or not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not RECIPIENT_PATTERN.fullmatch(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not body and not fields.get("ContentSid") and not media_urls:
            return twilio_error(400, 21602, "Message body is required.")
        body = body if isinstance(body, str) else ""
        sender = fields.get("From")
        service = fields.get("MessagingServiceSid")
        callback = fields.get("StatusCallback")
        segments, encoding = count_segments(body)
        now = datetime.now(UTC)
        message = SentMessage(
            sid=new_message_sid(),
            to=to,
            from_=sender if isinstance(sender, str) else None,
            body=body,
            fields=fields,
            auth_user=credentials[0],
            created_at=now,
            num_segments=segments,
            encoding=encoding,
            messaging_service_sid=service if isinstance(service, str) else None,
            status_callback=callback if isinstance(callback, str) else None,
            media_urls=media_urls,
        )
        accept(message)
        uri = f"/{API_VERSION}/Accounts/{settings.account_sid}/Messages/{message.sid}.json"
        return JSONResponse(
            {
                "sid": message.sid,
                "account_sid": settings.account_sid,
                "to": message.to,
                "from": message.from_,
                "body": message.body,
                "status": "queued",
                "num_segments": str(segments),
                "num_media": str(len(media_urls)),
                "direction": "outbound-api",
                "api_version": API_VERSION,
                "date_created": rfc2822(now),
                "date_updated": rfc2822(now),
                "date_sent": None,
                "price": None,
                "price_unit": "USD",
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": message.messaging_service_sid,
                "uri": uri,
                "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            },
            status_code=201,
        )

    @app.get(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json")
    async def list_sent_messages(account_sid: str, request: Request) -> JSONResponse:
        """Twilio's message list, newest first, filtered by `To` and `From` as Twilio does (`PageSize` at most)."""
        credentials = basic_auth_credentials(request.headers.get("authorization"))
        if credentials != (settings.account_sid, settings.auth_token):
            return twilio_error(401, 20003, "Authenticate")
        to, sender = request.query_params.get("To"), request.query_params.get("From")
        size = int(request.query_params.get("PageSize") or 50)
        found = [m for m in reversed(state.messages) if (to is None or m.to == to) and (sender is None or m.from_ == sender)]
        uri = f"/{API_VERSION}/Accounts/{settings.account_sid}/Messages.json"
        listed = [
            {
                "sid": m.sid,
                "account_sid": settings.account_sid,
                "to": m.to,
                "from": m.from_,
                "body": m.body,
                "status": "sent",
                "num_segments": str(m.num_segments),
                "direction": "outbound-api",
                "date_created": rfc2822(m.created_at),
                "date_updated": rfc2822(m.created_at),
                "date_sent": rfc2822(m.created_at),
            }
            for m in found[:size]
        ]
        page = {"first_page_uri": uri, "next_page_uri": None, "previous_page_uri": None, "page": 0, "page_size": size}
        return JSONResponse({"messages": listed, "uri": uri, "start": 0, "end": max(len(listed) - 1, 0), **page})

    @app.get("/_fake/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_fake/messages")
    async def list_messages(to: str | None = None) -> list[dict[str, Any]]:
        if to is not None:
            to = to.replace(" ", "+")  # an unencoded "+" in a query string arrives as a space
        return [message.as_json() for message in state.messages if to is None or message.to == to]

    @app.delete("/_fake/messages")
    async def clear_messages() -> dict[str, int]:
        cleared = len(state.messages)
        state.messages.clear()
        return {"cleared": cleared}

    @app.post("/_fake/failures")
    async def inject_failures(injection: FailureInjection) -> dict[str, Any]:
        state.pending_failures.extend([injection.status] * injection.count)
        return {"remaining": len(state.pending_failures), "statuses": state.pending_failures}

    @app.get("/_fake/failures")
    async def pending_failures() -> dict[str, Any]:
        return {"remaining": len(state.pending_failures), "statuses": state.pending_failures}

    @app.delete("/_fake/failures")
    async def clear_failures() -> dict[str, Any]:
        state.pending_failures.clear()
        return {"remaining": 0, "statuses": []}

    @app.post("/_fake/undeliverable")
    async def register_undeliverable(number: UndeliverableNumber) -> dict[str, str]:
        state.undeliverable[bare_number(number.to)] = number.status
        return dict(state.undeliverable)

    @app.get("/_fake/undeliverable")
    async def list_undeliverable() -> dict[str, str]:
        return dict(state.undeliverable)

    @app.post("/_fake/reset")
    async def reset() -> dict[str, str]:
        state.reset()
        return {"status": "ok"}

    @app.post("/_fake/inbound")
    async def inbound(message: InboundMessage) -> JSONResponse:
        default_number = settings.whatsapp_number if message.channel == "whatsapp" else settings.sms_number
        sid = message.message_sid or new_message_sid()
        params = inbound_form(settings, message.channel, message.from_, message.to or default_number, message.body, sid)
        url = message.url or f"{settings.webhook_base.rstrip('/')}/channels/twilio/{message.channel}"
        headers = signed_headers(RequestValidator(settings.auth_token), url, params)
        try:
            async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as client:
                response = await client.post(url, data=params, headers=headers)
        except httpx.HTTPError as error:
            log.warning("fake_twilio.webhook_failed", url=url, error=repr(error))
            return JSONResponse(
                {"status_code": None, "body": None, "message_sid": sid, "url": url, "error": repr(error)},
                status_code=502,
            )
        log.info("fake_twilio.webhook_delivered", url=url, sid=sid, http_status=response.status_code)
        if response.is_success:
            for to, sender, body, action in twiml_replies(response.text):
                segments, encoding = count_segments(body)
                accept(
                    SentMessage(
                        sid=new_message_sid(),
                        to=to or params["From"],
                        from_=sender or params["To"],
                        body=body,
                        fields={"Body": body},
                        auth_user=None,
                        created_at=datetime.now(UTC),
                        num_segments=segments,
                        encoding=encoding,
                        status_callback=action,
                        source="twiml",
                    )
                )
        return JSONResponse({"status_code": response.status_code, "body": response.text, "message_sid": sid, "url": url})

    return app


def main() -> None:
    import uvicorn

    # Same structured, redacted logs as the api (phone numbers and bodies never written in clear).
    sys.path.insert(0, str(ROOT))
    from api.core.logging import configure_logging

    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # our own events already say what was posted
    settings = FakeTwilioSettings()
    print(
        f"fake Twilio on http://{settings.host}:{settings.port} (account {settings.account_sid}), "
        f"webhooks to {settings.webhook_base}",
        flush=True,
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
