"""The budget page: a debtor who prefers to type their income and costs opens it from a signed link sent in the
conversation. It asks for the date of birth first (the document links' gate: the same throttle, the same
count against the reference's lock), then shows the figures with a period each, checks them (what cannot be
right is said next to the field, and nothing typed is lost), stores the budget and shows what it leaves and
the instalment it suggests; back in the conversation, the assistant uses it (api/services/affordability.py).

The page runs no script, loads nothing from elsewhere, and posts to ourselves only. The figures form carries
a second signed token, short-lived, made once the date of birth was confirmed: it stands for the unlocking.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api import i18n
from api.core.config import Settings
from api.deps import SessionDep, SessionReleasingRoute, SettingsDep
from api.models import Account, Conversation
from api.routes.documents import CONTENT_SECURITY_POLICY, holder_confirmed, throttle_unlocks
from api.services import affordability
from api.services.errors import ExpiredLink, InvalidAmount, InvalidLink, NotFound
from api.services.signing import BUDGET_PURPOSE, sign_token, verify_token
from api.states import BudgetPeriod, BudgetSource

router = APIRouter(route_class=SessionReleasingRoute, tags=["documents"])

# The figures form's own token: made once the date of birth is confirmed, valid this long.
UNLOCKED_PURPOSE = "budget-unlocked"
UNLOCKED_SECONDS = 3600
PERIODS = (BudgetPeriod.WEEKLY, BudgetPeriod.BIWEEKLY, BudgetPeriod.MONTHLY, BudgetPeriod.YEARLY)

STYLE = """
 body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; padding: 0 1rem; color: #1f2933; }
 label { display: block; margin: 1rem 0 .3rem; font-weight: 600; }
 input, select { font-size: 1.1rem; padding: .4rem; }
 button { display: block; margin-top: 1.5rem; font-size: 1rem; padding: .5rem 1rem; }
 .error { color: #9b1c1c; }
 .row { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
 .row input { width: 10rem; }
 .hint { color: #52606d; font-size: .95rem; }
 dl { display: grid; grid-template-columns: auto auto; gap: .4rem 1.5rem; max-width: 24rem; }
 dt { font-weight: 600; }
 dd { margin: 0; text-align: right; }
 .total { font-size: 1.15rem; }
"""

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""


class BudgetPageForm(BaseModel):
    """What the figures form posts: each amount as typed, its period, and the household (optional)."""

    unlock: str = ""
    income: str = ""
    income_period: str = "monthly"
    housing: str = ""
    housing_period: str = "monthly"
    bills: str = ""
    bills_period: str = "monthly"
    food: str = ""
    food_period: str = "monthly"
    transport: str = ""
    transport_period: str = "monthly"
    other_costs: str = ""
    other_costs_period: str = "monthly"
    other_debts: str = ""
    other_debts_period: str = "monthly"
    adults: str = ""
    children: str = ""


def _text(key: str, language: str, **params: object) -> str:
    return html.escape(i18n.t(f"budget_page.{key}", language, **params))


def _response(language: str, body: str, status: int = 200) -> HTMLResponse:
    page = PAGE.format(lang=language, title=_text("title", language), style=STYLE, body=body)
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(page, status_code=status, headers=headers)


def _date_of_birth_page(language: str, *, note: str | None = None, status: int = 200) -> HTMLResponse:
    alert = f'<p class="error" role="alert">{_text(note, language)}</p>' if note else ""
    body = (
        f"<p>{_text('intro_date_of_birth', language)}</p>{alert}"
        '<form method="post">'
        f'<label for="date_of_birth">{_text("date_of_birth", language)}</label>'
        '<input id="date_of_birth" name="date_of_birth" type="date" required autocomplete="bday">'
        f'<button type="submit">{_text("continue", language)}</button>'
        "</form>"
    )
    return _response(language, body, status)


def _figures_page(
    language: str,
    token: str,
    unlock: str,
    currency: str,
    values: BudgetPageForm | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    values, errors = values or BudgetPageForm(), errors or {}
    rows = []
    for group in affordability.GROUPS:
        chosen = getattr(values, f"{group}_period")
        options = "".join(
            f'<option value="{period}"{" selected" if period == chosen else ""}>{_text(f"period_{period}", language)}</option>'
            for period in PERIODS
        )
        error = f'<p class="error" id="{group}-error">{_text(errors[group], language)}</p>' if group in errors else ""
        described = f' aria-invalid="true" aria-describedby="{group}-error"' if group in errors else ""
        rows.append(
            f'<label for="{group}">{_text(group, language)}</label>'
            f'<div class="row"><input id="{group}" name="{group}" inputmode="decimal" autocomplete="off" '
            f'value="{html.escape(getattr(values, group))}"{described}>'
            f'<select name="{group}_period" aria-label="{_text("period", language)}">{options}</select></div>{error}'
        )
    for field in ("adults", "children"):
        error = f'<p class="error" id="{field}-error">{_text(errors[field], language)}</p>' if field in errors else ""
        rows.append(
            f'<label for="{field}">{_text(field, language)}</label>'
            f'<input id="{field}" name="{field}" inputmode="numeric" autocomplete="off" value="{html.escape(getattr(values, field))}">'
            f"{error}"
        )
    summary = f'<p class="error" role="alert">{_text("errors", language)}</p>' if errors else ""
    body = (
        f"<p>{_text('intro', language)}</p>"
        f'<p class="hint">{_text("currency", language, currency=currency)}</p>{summary}'
        f'<form method="post" action="/budget/figures?token={html.escape(token)}" novalidate>'
        f'<input type="hidden" name="unlock" value="{html.escape(unlock)}">'
        f"{''.join(rows)}"
        f'<button type="submit">{_text("submit", language)}</button>'
        "</form>"
    )
    return _response(language, body, 422 if errors else 200)


def _result_page(language: str, view: dict[str, Any]) -> HTMLResponse:
    lines = [
        ("result_income", view["income_text"]),
        ("result_costs", view["costs_text"]),
        ("result_left", view["disposable_text"]),
    ]
    figures = "".join(f"<dt>{_text(key, language)}</dt><dd>{html.escape(str(value))}</dd>" for key, value in lines)
    if view["affordable_minor"] > 0:
        suggestion = _text("result_suggested", language, amount=view["affordable_text"], share=view["share_pct"])
    else:
        suggestion = _text("result_nothing_left", language)
    body = (
        f"<p>{_text('result_intro', language)}</p>"
        f"<dl>{figures}</dl>"
        f'<p class="total">{suggestion}</p>'
        f"<p><strong>{_text('result_next', language)}</strong></p>"
    )
    return _response(language, body)


def _conversation(session: Session, settings: Settings, token: str) -> tuple[Conversation, Account, str]:
    """The verified conversation the link was sent in, its account and language (InvalidLink, ExpiredLink)."""
    conversation_id = verify_token(token, settings.secret_key, BUDGET_PURPOSE, settings.document_link_ttl_seconds)
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.verified_at is None or conversation.account is None:
        raise NotFound()
    account = conversation.account
    return conversation, account, conversation.language or account.language


def _read(form: BudgetPageForm, currency: str) -> tuple[dict[str, int], dict[str, int | None], dict[str, str]]:
    """The monthly figures and the household, or, field by field, what cannot be right (a message key)."""
    figures: dict[str, int] = {}
    household: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for group in affordability.GROUPS:
        period = getattr(form, f"{group}_period")
        try:
            amount = affordability.read_amount(getattr(form, group), currency)
        except InvalidAmount:
            errors[group] = "error_amount"
            continue
        if period not in PERIODS:
            errors[group] = "error_amount"
            continue
        try:
            figures[group] = affordability.to_monthly(amount, period)
        except InvalidAmount:
            errors[group] = "error_too_high"
    for field in ("adults", "children"):
        typed = getattr(form, field).strip()
        if not typed:
            household[field] = None
        elif typed.isdigit() and int(typed) <= affordability.MAX_HOUSEHOLD:
            household[field] = int(typed)
        else:
            errors[field] = "error_household"
    return figures, household, errors


@router.get("/budget", response_class=HTMLResponse)
def ask_for_the_date_of_birth_before_the_budget(
    session: SessionDep, settings: SettingsDep, token: str = Query(max_length=512)
) -> HTMLResponse:
    _, _, language = _conversation(session, settings, token)
    return _date_of_birth_page(language)


@router.post(
    "/budget",
    response_class=HTMLResponse,
    responses={403: {"description": "Not the debtor's date of birth: the page again, saying so."}},
)
def open_the_budget_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date_of_birth: Annotated[str, Form(max_length=32)],
    token: str = Query(max_length=512),
) -> HTMLResponse:
    throttle_unlocks(request)
    conversation, account, language = _conversation(session, settings, token)
    if not holder_confirmed(session, settings, account, date_of_birth):
        return _date_of_birth_page(language, note="refused", status=403)
    unlock = sign_token(conversation.id, settings.secret_key, UNLOCKED_PURPOSE)
    return _figures_page(language, token, unlock, account.currency)


@router.post(
    "/budget/figures",
    response_class=HTMLResponse,
    responses={
        403: {"description": "The date of birth must be confirmed (again): its page."},
        422: {"description": "Figures that cannot be right: the form again, with what was typed and why."},
    },
)
def save_the_budget(
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[BudgetPageForm, Form()],
    token: str = Query(max_length=512),
) -> HTMLResponse:
    conversation, account, language = _conversation(session, settings, token)
    try:
        unlocked_for = verify_token(form.unlock, settings.secret_key, UNLOCKED_PURPOSE, UNLOCKED_SECONDS)
    except (InvalidLink, ExpiredLink):
        unlocked_for = None
    if unlocked_for != conversation.id:
        return _date_of_birth_page(language, note="confirm_again", status=403)
    figures, household, errors = _read(form, account.currency)
    if errors:
        return _figures_page(language, token, form.unlock, account.currency, form, errors)
    budget = affordability.record(
        session,
        account,
        conversation,
        affordability.Figures(**figures),
        source=BudgetSource.WEB_FORM,
        adults=household["adults"],
        children=household["children"],
    )
    return _result_page(language, affordability.budget_view(budget, language))
