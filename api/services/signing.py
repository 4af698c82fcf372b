"""Signed, expiring tokens for links to documents (e.g. a confirmation PDF sent by SMS or e-mail), and those links."""

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from api.core.config import Settings
from api.services.errors import ExpiredLink, InvalidLink

# The purpose is the salt, so a token minted for one kind of link cannot open another kind.
_SALT_PREFIX = "debtor-assistant."


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if not purpose:
        raise ValueError("a signed link needs a purpose, e.g. 'confirmation-pdf'")
    return URLSafeTimedSerializer(secret, salt=_SALT_PREFIX + purpose)


def sign_token(payload: str, secret: str, purpose: str) -> str:
    """Return a URL-safe token carrying `payload`, signed with `secret` for `purpose`, stamped with the time."""
    return _serializer(secret, purpose).dumps(payload)


def verify_token(token: str, secret: str, purpose: str, max_age_seconds: int) -> str:
    """Return the payload of a genuine token younger than `max_age_seconds`.

    Raises ExpiredLink when the token is genuine but too old, InvalidLink for anything else.
    """
    try:
        payload = _serializer(secret, purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:  # a subclass of BadData, so it must be caught first
        raise ExpiredLink("this link has expired; ask for a new one") from exc
    except BadData as exc:
        raise InvalidLink("this link is not valid; ask for a new one") from exc
    if not isinstance(payload, str):  # signed by us, but not by sign_token
        raise InvalidLink("this link is not valid; ask for a new one")
    return payload


DOCUMENT_PURPOSE = "document"


def document_url(confirmation_id: str, settings: Settings) -> str:
    """The debtor's link to a written document (a confirmation, a dispute's answer): signed, expiring, and
    opened only after the date of birth is given."""
    token = sign_token(confirmation_id, settings.secret_key, DOCUMENT_PURPOSE)
    return f"{settings.base_url}/documents/{confirmation_id}.pdf?token={token}"


DATA_EXPORT_PURPOSE = "data-export"


def data_export_url(request_id: int, settings: Settings) -> str:
    """The debtor's link to the copy of their data (an access request): signed, expiring, and opened only
    after the date of birth is given, like a written confirmation."""
    token = sign_token(str(request_id), settings.secret_key, DATA_EXPORT_PURPOSE)
    return f"{settings.base_url}/documents/data-exports/{request_id}.pdf?token={token}"


BUDGET_PURPOSE = "budget"


def budget_url(conversation_id: str, settings: Settings) -> str:
    """The debtor's link to the budget page (income and expenditure, typed rather than answered in the chat):
    signed for the conversation it was sent in, expiring, and opened only after the date of birth is given."""
    token = sign_token(conversation_id, settings.secret_key, BUDGET_PURPOSE)
    return f"{settings.base_url}/budget?token={token}"
