"""Written confirmations and copies of a debtor's data behind signed links that expire (and their SMS short links).

A link alone does not open the document: it may have been forwarded, or read on a shared phone. Whoever
opens it is asked for the debtor's date of birth first; wrong answers count against the account's reference
like failed verifications in a conversation, and the same lock stops them.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api import i18n
from api.core.config import Settings
from api.core.limits import get_throttle
from api.deps import SessionDep, SessionReleasingRoute, SettingsDep
from api.models import Account, Confirmation, DataRequest, ShortLink, utcnow
from api.services.errors import ExpiredLink, InvalidLink, NotFound
from api.services.signing import DATA_EXPORT_PURPOSE, DOCUMENT_PURPOSE, verify_token
from api.services.verification import check_document_holder

router = APIRouter(route_class=SessionReleasingRoute, tags=["documents"])

# The page runs no script and sends the form to ourselves only.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 32rem; padding: 0 1rem; color: #1f2933; }}
 label {{ display: block; margin: 1rem 0 .3rem; font-weight: 600; }}
 input {{ font-size: 1.1rem; padding: .4rem; }}
 button {{ display: block; margin-top: 1rem; font-size: 1rem; padding: .5rem 1rem; }}
 .error {{ color: #9b1c1c; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
{error}
<form method="post">
<label for="date_of_birth">{label}</label>
<input id="date_of_birth" name="date_of_birth" type="date" required autocomplete="bday">
<button type="submit">{submit}</button>
</form>
</body>
</html>
"""


def inline_pdf(content: bytes, name: str) -> Response:
    """A PDF shown inline and never kept by a shared cache."""
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"', "Cache-Control": "private, no-store"},
    )


def pdf_response(confirmation: Confirmation) -> Response:
    return inline_pdf(confirmation.pdf, confirmation.number)


def throttle_unlocks(request: Request) -> None:
    """Unlock attempts per client, counted before anything else (a forged or expired link counts too)."""
    get_throttle().check("document_unlock", request.client.host if request.client else "unknown")


def holder_confirmed(session: SessionDep, settings: Settings, account: Account, date_of_birth: str) -> bool:
    """The gate of every page a signed link opens (documents, the budget form): whether the date of birth given
    is the debtor's. Wrong answers count against the reference's lock, and a locked reference opens nothing."""
    return check_document_holder(session, settings, account, _parse_date(date_of_birth))


def _unlocked(
    session: SessionDep, settings: Settings, account: Account, date_of_birth: str, language: str, title: str
) -> HTMLResponse | None:
    """None when the date of birth given is the debtor's; otherwise the page again, saying so (wrong answers
    count against the reference's lock)."""
    if holder_confirmed(session, settings, account, date_of_birth):
        return None
    return _page(language, refused=True, title=title)


def _confirmation(session: SessionDep, settings: Settings, confirmation_id: str, token: str) -> Confirmation:
    signed_id = verify_token(token, settings.secret_key, DOCUMENT_PURPOSE, settings.document_link_ttl_seconds)
    if signed_id != confirmation_id:
        raise InvalidLink()
    confirmation = session.get(Confirmation, confirmation_id)
    if confirmation is None:
        raise NotFound()
    return confirmation


def _page(language: str, *, refused: bool, title: str = "title") -> HTMLResponse:
    def text(key: str) -> str:
        return html.escape(i18n.t(f"document.{key}", language))

    page = PAGE.format(
        lang=language,
        title=text(title),
        intro=text("intro"),
        label=text("date_of_birth"),
        submit=text("submit"),
        error=f'<p class="error" role="alert">{text("refused")}</p>' if refused else "",
    )
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(page, status_code=403 if refused else 200, headers=headers)


def _parse_date(text: str) -> dt.date | None:
    """The browser's date field sends YYYY-MM-DD; a person typing by hand may write DD/MM/YYYY."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


@router.get("/documents/{confirmation_id}.pdf", response_class=HTMLResponse)
def ask_for_the_date_of_birth(
    confirmation_id: str, session: SessionDep, settings: SettingsDep, token: str = Query(max_length=512)
) -> HTMLResponse:
    confirmation = _confirmation(session, settings, confirmation_id, token)
    return _page(confirmation.language, refused=False)


@router.post(
    "/documents/{confirmation_id}.pdf",
    response_class=Response,
    responses={
        200: {"description": "The document.", "content": {"application/pdf": {}}},
        403: {"description": "Not the debtor's date of birth: the page again, saying so.", "content": {"text/html": {}}},
    },
)
def open_document(
    confirmation_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date_of_birth: Annotated[str, Form(max_length=32)],
    token: str = Query(max_length=512),
) -> Response:
    throttle_unlocks(request)
    confirmation = _confirmation(session, settings, confirmation_id, token)
    account = session.get_one(Account, confirmation.account_id)
    refused = _unlocked(session, settings, account, date_of_birth, confirmation.language, "title")
    return refused or pdf_response(confirmation)


def _data_export(session: SessionDep, settings: Settings, request_id: int, token: str) -> tuple[DataRequest, Account]:
    signed_id = verify_token(token, settings.secret_key, DATA_EXPORT_PURPOSE, settings.document_link_ttl_seconds)
    if signed_id != str(request_id):
        raise InvalidLink()
    request = session.get(DataRequest, request_id)
    if request is None or request.export_pdf is None:  # erased since (the copy goes with the rest)
        raise NotFound()
    return request, session.get_one(Account, request.account_id)


@router.get("/documents/data-exports/{request_id}.pdf", response_class=HTMLResponse)
def ask_for_the_date_of_birth_before_the_data(
    request_id: int, session: SessionDep, settings: SettingsDep, token: str = Query(max_length=512)
) -> HTMLResponse:
    _, account = _data_export(session, settings, request_id, token)
    return _page(account.language, refused=False, title="data_title")


@router.post(
    "/documents/data-exports/{request_id}.pdf",
    response_class=Response,
    responses={
        200: {"description": "The copy of the debtor's data.", "content": {"application/pdf": {}}},
        403: {"description": "Not the debtor's date of birth: the page again, saying so.", "content": {"text/html": {}}},
    },
)
def open_data_export(
    request_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date_of_birth: Annotated[str, Form(max_length=32)],
    token: str = Query(max_length=512),
) -> Response:
    throttle_unlocks(request)
    data_request, account = _data_export(session, settings, request_id, token)
    refused = _unlocked(session, settings, account, date_of_birth, account.language, "data_title")
    assert data_request.export_pdf is not None
    return refused or inline_pdf(data_request.export_pdf, f"data-{request_id}")


@router.get(
    "/l/{code}",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        302: {"description": "To the full signed link.", "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}}
    },
)
def follow_short_link(session: SessionDep, code: str = Path(max_length=16)) -> RedirectResponse:
    """An SMS short link: redirects to the full signed link, which keeps its own expiry."""
    link = session.get(ShortLink, code)
    if link is None:
        raise NotFound()
    if link.expires_at < utcnow():
        raise ExpiredLink()
    return RedirectResponse(link.target, status_code=302)
