"""The first written notice of an account (CPCE R124-4), linked from the first contact."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.models import Account, Confirmation, Creditor, utcnow
from api.services.confirmation_pdf import NoticeDocument, render_notice_pdf
from api.services.presentation import debtor_today, document_heading, short_reference


def first_notice(session: Session, account: Account, settings: Settings) -> Confirmation:
    """The account's first written notice (CPCE R124-4), made once in the account's language and kept with the
    confirmations; the first contact links to it (the link opens after the date of birth)."""
    existing = session.scalar(
        select(Confirmation).where(Confirmation.account_id == account.id, Confirmation.kind == "notice").limit(1)
    )
    if existing is not None:
        return existing
    creditor = session.get_one(Creditor, account.creditor_id)
    language = account.language or settings.default_language
    number = short_reference("AVIS" if language == "fr" else "NOTICE", debtor_today(account))
    document = NoticeDocument(
        **document_heading(creditor, account, settings, language=language, number=number, issued_at=utcnow()),
        balance_minor=account.balance_minor,
        fees_minor=account.fees_minor,
        due_date=account.due_date,
    )
    notice = Confirmation(
        number=number,
        account_id=account.id,
        kind="notice",
        language=language,
        pdf=render_notice_pdf(document, font_dir=settings.font_dir),
    )
    session.add(notice)
    session.flush()
    return notice
