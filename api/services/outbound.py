"""The one writer of outbound messages, and the rules every message to a debtor obeys.

Every message that leaves — a bot reply, a holding reply, a compliance confirmation, an agent's reply, a
written confirmation, the words an agent's hand-back sends, and later reminders — becomes a `messages` row
through `write` and nowhere else. The rules are checked twice, by the same functions: when the row is
written (what we initiate is refused at once: `OptedOut`, `OutsideWhatsAppWindow`) and again when the
outbox sends it (`blocked_reason`: a row written before an opt-out never leaves after it).

On the web chat a row is `sent` when written (the transport emits it in the same turn); on SMS and WhatsApp
it is rendered for the phone (numbered options, short links, GSM-7) and waits `pending` for the outbox.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.models import Conversation, Message, ShortLink, utcnow
from api.services import sms_text
from api.services.errors import OptedOut, OutsideWhatsAppWindow, UnknownTemplate
from api.services.records import latest_consent
from api.states import PHONE_CHANNELS, Channel, ConsentKind, Direction, MessageStatus

# Messages a debtor who opted out still receives: the one confirmation of the opt-out, answers to HELP.
COMPLIANCE_KINDS = frozenset({"opt_out_confirmation", "help"})
SHORT_LINK_TTL = dt.timedelta(days=30)


@dataclass(frozen=True)
class Outbound:
    """What to send, before any channel's rendering."""

    text: str
    author: str  # bot | agent | system
    # What kind of message this is (kept in the payload): confirmation, opt_out_confirmation, help,
    # waiting_ack, handed_back, closed, …; None for the bot's ordinary replies.
    kind: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    # The debtor's message this answers. What answers nothing is something we initiate, and is refused at
    # once if it could not leave.
    in_reply_to: int | None = None
    # An approved WhatsApp template (name) and its variables, instead of free text.
    template: str | None = None
    variables: dict[str, str] | None = None


# -------------------------------------------------------------------------------------------------------
# Rules
# -------------------------------------------------------------------------------------------------------


def last_inbound_at(session: Session, conversation_id: str) -> dt.datetime | None:
    return session.scalar(
        select(Message.created_at)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.INBOUND)
        .order_by(Message.id.desc())
        .limit(1)
    )


def within_whatsapp_window(session: Session, settings: Settings, conversation: Conversation) -> bool:
    last = last_inbound_at(session, conversation.id)
    return last is not None and utcnow() - last < dt.timedelta(hours=settings.whatsapp_session_hours)


def _opted_out_since(session: Session, conversation: Conversation, kind: str | None, in_reply_to: int | None) -> bool:
    """The address opted out of this channel, and this message is not one a person who opted out still gets.
    The reply to the very message that asked to stop is its confirmation: it may leave."""
    consent = latest_consent(session, conversation.channel, conversation.channel_address)
    if consent is None or consent.kind != ConsentKind.OPT_OUT or kind in COMPLIANCE_KINDS:
        return False
    answered = session.get(Message, in_reply_to) if in_reply_to else None
    return answered is None or consent.created_at < answered.created_at


def _needs_template(session: Session, settings: Settings, conversation: Conversation, template: str | None) -> bool:
    return (
        conversation.channel == Channel.WHATSAPP and not template and not within_whatsapp_window(session, settings, conversation)
    )


def blocked_reason(session: Session, settings: Settings, message: Message, conversation: Conversation) -> str | None:
    """Why this row must not leave now (checked by the outbox when it sends), or None."""
    payload = message.payload or {}
    if _opted_out_since(session, conversation, payload.get("kind"), payload.get("in_reply_to")):
        return "opted_out"
    if _needs_template(session, settings, conversation, payload.get("template")):
        return "outside_whatsapp_window"
    return None


# -------------------------------------------------------------------------------------------------------
# Rendering for the phone
# -------------------------------------------------------------------------------------------------------


def shorten(session: Session, settings: Settings, url: str) -> str:
    """Our own links become `<base>/l/<code>`; links elsewhere are left as they are."""
    if not url.startswith(settings.base_url + "/"):
        return url
    code = secrets.token_urlsafe(6)
    session.add(ShortLink(code=code, target=url, expires_at=utcnow() + SHORT_LINK_TTL))
    return f"{settings.base_url}/l/{code}"


def render_for_phone(
    session: Session, settings: Settings, conversation: Conversation, text: str, buttons: list[dict[str, str]]
) -> str:
    """Numbered options instead of buttons, short links, and on SMS only GSM-7 characters (cheaper)."""
    language = conversation.language or settings.default_language
    rendered = sms_text.render(text, buttons, hint=i18n.t("sms.reply_with_number", language)) if buttons else text
    rendered = sms_text.replace_links(rendered, lambda url: shorten(session, settings, url))
    return sms_text.to_gsm7(rendered) if conversation.channel == Channel.SMS else rendered


# -------------------------------------------------------------------------------------------------------
# The writer
# -------------------------------------------------------------------------------------------------------


def write(session: Session, settings: Settings, conversation: Conversation, outbound: Outbound) -> Message:
    """The one place an outbound row is created. Raises `OptedOut` / `OutsideWhatsAppWindow` /
    `UnknownTemplate` for something we initiate that could not leave. The row is inserted with the
    transaction (a bot turn's replies in one round trip); flush first if you need its id."""
    if outbound.template is not None and outbound.template not in settings.whatsapp_templates:
        raise UnknownTemplate()
    if outbound.in_reply_to is None:
        if _opted_out_since(session, conversation, outbound.kind, None):
            raise OptedOut()
        if _needs_template(session, settings, conversation, outbound.template):
            raise OutsideWhatsAppWindow()
    payload: dict[str, Any] = {}
    if outbound.in_reply_to is not None:
        payload["in_reply_to"] = outbound.in_reply_to
    if outbound.kind:
        payload["kind"] = outbound.kind
    if outbound.buttons:
        payload["buttons"] = outbound.buttons
    phone = conversation.channel in PHONE_CHANNELS
    text = outbound.text
    if outbound.template is not None:
        payload.update(
            template=outbound.template,
            content_sid=settings.whatsapp_templates[outbound.template],
            variables=outbound.variables or {},
        )
        text = f"[template {outbound.template}]"
    elif phone:
        text = render_for_phone(session, settings, conversation, outbound.text, outbound.buttons)
    info = sms_text.segment_info(text) if conversation.channel == Channel.SMS else None
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.OUTBOUND,
        author=outbound.author,
        channel=conversation.channel,
        text=text,
        payload=payload,
        status=MessageStatus.PENDING if phone else "sent",
        segments=info.segments if info else None,
        encoding=info.encoding if info else None,
    )
    session.add(message)
    return message
