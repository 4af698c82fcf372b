"""Written confirmations, downloadable through signed links that expire (and their SMS short links)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep, SettingsDep
from api.models import Confirmation, ShortLink, utcnow
from api.services.arrangements import DOCUMENT_PURPOSE
from api.services.errors import ExpiredLink, InvalidLink, NotFound
from api.services.signing import verify_token

router = APIRouter(tags=["documents"])


@router.get("/documents/{confirmation_id}.pdf", response_class=Response)
def download_document(
    confirmation_id: str, session: SessionDep, settings: SettingsDep, token: str = Query(max_length=512)
) -> Response:
    signed_id = verify_token(token, settings.secret_key, DOCUMENT_PURPOSE, settings.document_link_ttl_seconds)
    if signed_id != confirmation_id:
        raise InvalidLink()
    confirmation = session.get(Confirmation, confirmation_id)
    if confirmation is None:
        raise NotFound()
    return Response(
        content=confirmation.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{confirmation.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/l/{code}", response_class=RedirectResponse, status_code=302)
def follow_short_link(session: SessionDep, code: str = Path(max_length=16)) -> RedirectResponse:
    """An SMS short link: redirects to the full signed link, which keeps its own expiry."""
    link = session.get(ShortLink, code)
    if link is None:
        raise NotFound()
    if link.expires_at < utcnow():
        raise ExpiredLink()
    return RedirectResponse(link.target, status_code=302)
