"""Affordability through the real doors (issue 15): a debtor in hardship is offered a budget in the web chat, types
the figures on the page its signed link opens (date of birth first), comes back and answers "oui": the budget is
below the policy's minimum, so no plan is pushed — more time is offered and a person is asked; the agent signed
in to the console reads the budget in the handoff and in the account panel. Another debtor answers the questions
in the chat, weekly and yearly amounts among them, and agrees to the plan the budget allows.

These journeys need a model trained with the affordability data (data/rules/affordability.yml): until then
they are skipped, and say so.
"""

from __future__ import annotations

import asyncio
import re
import tarfile

import httpx
import pytest
import yaml

from scripts.stack import MODEL
from tests.e2e.accounts import new_account
from tests.e2e.webchat_client import WebChatDebtor, texts


def _model_knows_the_budget_form() -> bool:
    try:
        with tarfile.open(MODEL) as model:
            member = model.extractfile("components/domain_provider/domain.yml")
            domain = yaml.safe_load(member.read()) if member else {}
    except (OSError, KeyError, tarfile.TarError):
        return False
    return "budget_form" in (domain.get("forms") or {})


pytestmark = pytest.mark.skipif(
    not _model_knows_the_budget_form(), reason="the trained model predates the budget form: run `make train` first"
)

BUDGET_LINK = re.compile(r"\((https?://[^)\s]+/budget\?token=[^)\s]+)\)")
# 900.00 in, 880.00 out: 20.00 left, 10.00 suggested, below the demo policy's 50.00 minimum.
BELOW_THE_MINIMUM = {
    "income": "900",
    "housing": "550",
    "bills": "1440",
    "bills_period": "yearly",  # 120.00 a month
    "food": "45",
    "food_period": "weekly",  # 195.00 a month
    "transport": "15",
    "other_costs": "0",
    "other_debts": "0",
    "adults": "1",
    "children": "1",
}


def run(coro):
    return asyncio.run(coro)


def fill_in_the_page(url: str, date_of_birth: str, figures: dict[str, str]) -> str:
    """What a debtor does on the budget page: the date of birth, then the figures. Answers the result page."""
    with httpx.Client(timeout=30) as browser:
        assert browser.get(url).status_code == 200
        form = browser.post(url, data={"date_of_birth": date_of_birth})
        assert form.status_code == 200, form.text
        action = re.search(r'action="([^"]+)"', form.text)[1].replace("&amp;", "&")
        unlock = re.search(r'name="unlock" value="([^"]+)"', form.text)[1]
        periods = {f"{group}_period": "monthly" for group in ("income", "housing", "bills", "food", "transport")}
        periods |= {"other_costs_period": "monthly", "other_debts_period": "monthly"}
        base = url.split("/budget?")[0]
        result = browser.post(base + action, data={**periods, **figures, "unlock": unlock})
        assert result.status_code == 200, result.text
        return result.text


def test_a_budget_typed_on_the_page_below_the_minimum_reaches_the_agents_account_panel(stack, creditor):
    account = new_account(creditor, "fr")

    async def conversation() -> tuple[str, str]:
        async with WebChatDebtor(stack.api_url, "fr") as debtor:
            for message in ("Bonjour", account["reference"], "12/03/1985"):
                await debtor.say(message)
            offered = texts(await debtor.say("j'ai perdu mon travail le mois dernier, je ne peux pas tout payer"))
            link = BUDGET_LINK.search(offered)
            assert link, offered
            page = await asyncio.to_thread(fill_in_the_page, link[1], "1985-03-12", BELOW_THE_MINIMUM)
            assert "20,00" in page and "« oui »" in page
            back = texts(await debtor.say("oui"))
            return offered, back

    offered, back = run(conversation())
    assert "7 courtes questions" in offered
    # No plan pushed: why, a person, and more time offered.
    assert "20,00" in back and "50,00" in back and "Récapitulatif" not in back
    assert "équipe" in back and "délai" in back

    with httpx.Client(base_url=stack.api_url, timeout=30) as console:
        answer = console.post("/console/api/session", json={"email": "agent@demo.example", "password": "demo-agent-password"})
        assert answer.status_code == 200, answer.text
        queue = console.get("/console/api/queue").json()["handoffs"]
        (handoff,) = [h for h in queue if h["summary"].get("reference") == account["reference"]]
        assert handoff["reason"] == "affordability"
        assert handoff["summary"]["budget"]["disposable_text"] == "20,00\u00a0€"
        view = console.get(f"/console/api/conversations/{handoff['conversation_id']}").json()
        (budget,) = view["account"]["budgets"]
        assert budget["source"] == "web_form"
        assert (budget["income_minor"], budget["bills_minor"], budget["food_minor"]) == (90000, 12000, 19500)
        assert (budget["disposable_minor"], budget["affordable_minor"], budget["children"]) == (2000, 1000, 1)

    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (summary,) = stored["budgets"]
    assert "income_minor" not in summary  # the creditor reads what it allows, not the figures
    assert stored["commitments"] == []


ANSWERS_EN = [
    "€300 a week",  # income: 1 300.00 a month
    "€650 a month",
    "1,800 euros per year",  # bills: 150.00 a month
    "€250 a month",
    "€40 a month",
    "€80 a month",
    "none",
]


def test_a_budget_answered_in_the_chat_leads_to_the_plan_it_allows_agreed_in_writing(stack, creditor):
    account = new_account(creditor, "en")

    async def conversation() -> list[str]:
        async with WebChatDebtor(stack.api_url, "en") as debtor:
            for message in ("Hello", account["reference"], "04/05/1990"):
                await debtor.say(message)
            said = [texts(await debtor.say("I lost my job last month and I can't pay it all"))]
            said.append(texts(await debtor.say("yes let's do it")))
            for answer in ANSWERS_EN:
                said.append(texts(await debtor.say(answer)))
            said.append(texts(await debtor.say("yes I agree")))
            return said

    said = run(conversation())
    assert "7 short questions" in said[0]
    assert "household receive" in said[1]
    summary = said[-2]
    # 1 300.00 in, 1 170.00 out: 130.00 left, 65.00 a month suggested (half of it).
    assert "130.00" in summary and "65.00" in summary and account["reference"] in summary
    assert "/documents/" in said[-1]
    stored = creditor.get(f"/api/v1/accounts/{account['reference']}").json()
    (commitment,) = stored["commitments"]
    assert [i["amount_minor"] for i in commitment["instalments"]] == [6500] * 5 + [5500]
    (budget,) = stored["budgets"]
    assert (budget["source"], budget["disposable_minor"], budget["affordable_minor"]) == ("chat", 13000, 6500)
