"""A portfolio for the dashboard's browser test and screenshots: two creditors, Alpha (400 accounts placed from
mid-July to the end of November 2026, with conversations on every channel, verifications, promises, instalments
paid on time, late or missed, handoffs, disputes, opt-outs) and Beta (a few, never in Alpha's figures), and two
A/B tests of Alpha: one with enough accounts for a verdict, one far from its planned size.

Written row by row from a seeded random generator, through the experiments service for the assignments. Run
as `python -m tests.e2e.dashboard_data` with DATABASE_URL set (a migrated database): prints the ids as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from sqlalchemy.orm import Session

from api.core.config import get_settings
from api.db import session_scope
from api.deps import hash_api_key
from api.models import (
    Account,
    Allocation,
    Commitment,
    Consent,
    Conversation,
    Creditor,
    Dispute,
    Experiment,
    Handoff,
    Instalment,
    Message,
    NegotiationPolicy,
    Payment,
    Signal,
)
from api.schemas.experiments import ExperimentIn
from api.services import experiments

ALPHA_KEY = "dashboard-alpha-creditor-key"
BETA_KEY = "dashboard-beta-creditor-key"
UTC = dt.timezone.utc
FIRST_PLACEMENT = dt.datetime(2026, 7, 15, 8, 0, tzinfo=UTC)
LAST_PLACEMENT = dt.datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
# Facts stop here: the dashboard is read over September to November.
END = dt.datetime(2026, 12, 1, tzinfo=UTC)
CHANNELS = (("sms", 5), ("webchat", 3), ("whatsapp", 2))
HARDSHIP = ("job_loss", "illness", "separation", "reduced_income", "bereavement", "other")
HANDOFF_REASONS = (("request_human", 5), ("complaint", 2), ("dispute", 2), ("vulnerability", 1), ("outside_policy", 2))


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


class _Portfolio:
    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.counter = 0

    def add(self, row):  # noqa: ANN001, ANN201 - any model row
        self.session.add(row)
        self.session.flush()
        return row

    def creditor(self, name: str, key: str) -> Creditor:
        creditor = self.add(Creditor(name=name, address=f"1 rue {name}, Paris", api_key_hash=hash_api_key(key)))
        self.add(NegotiationPolicy(creditor_id=creditor.id))
        return creditor

    def message(self, conversation: Conversation, at: dt.datetime, direction: str, author: str | None = None) -> None:
        self.counter += 1
        outbound = direction == "outbound"
        self.add(
            Message(
                conversation_id=conversation.id,
                direction=direction,
                author=author or ("bot" if outbound else "debtor"),
                channel=conversation.channel,
                channel_message_id=f"dash-{self.counter}",
                text="…",
                status="sent" if outbound else "processed",
                created_at=at,
                sent_at=at if outbound else None,
                segments=self.rng.choice((1, 1, 2)) if outbound and conversation.channel == "sms" else None,
            )
        )

    def pay(self, creditor: Creditor, account: Account, instalment: Instalment, at: dt.datetime) -> dt.datetime:
        self.counter += 1
        payment = self.add(
            Payment(
                creditor_id=creditor.id,
                account_id=account.id,
                external_id=f"dash-pay-{self.counter}",
                amount_minor=instalment.amount_minor,
                currency=account.currency,
                paid_at=at,
                method="transfer",
                received_at=at,
                balance_applied_minor=instalment.amount_minor,
                fees_applied_minor=0,
            )
        )
        self.add(
            Allocation(
                payment_id=payment.id, kind="instalment", instalment_id=instalment.id, amount_minor=instalment.amount_minor
            )
        )
        instalment.paid_minor = instalment.amount_minor
        instalment.status = "paid"
        account.balance_minor -= instalment.amount_minor
        return at

    def account_story(
        self, creditor: Creditor, reference: str, placed: dt.datetime, tests: tuple[Experiment, Experiment] | None
    ) -> None:
        rng = self.rng
        owed = rng.randint(80, 2500) * 100
        account = self.add(
            Account(
                creditor_id=creditor.id,
                reference=reference,
                debtor_name=f"Debtor {reference}",
                language="fr" if rng.random() < 0.65 else "en",
                currency="EUR",
                balance_minor=owed,
                fees_minor=0,
                due_date=placed.date(),
                status="active",
                created_at=placed,
                updated_at=placed,
            )
        )
        if rng.random() > 0.75:
            return  # never answered
        opened = placed + dt.timedelta(days=rng.uniform(0.5, 14), minutes=rng.randint(0, 600))
        if opened >= END - dt.timedelta(hours=2):
            return
        channel = _pick(rng, CHANNELS)
        verified = rng.random() < 0.78
        at = lambda minutes: opened + dt.timedelta(minutes=minutes)  # noqa: E731 - the conversation's clock
        conversation = self.add(
            Conversation(
                creditor_id=creditor.id,
                account_id=None,
                candidate_account_id=account.id if channel != "webchat" else None,
                channel=channel,
                channel_address=f"{channel}-{reference}",
                language=account.language,
                created_at=opened,
            )
        )
        self.message(conversation, at(1), "inbound")
        self.message(conversation, at(2), "outbound")
        if rng.random() < 0.3:
            self.add(
                Signal(
                    account_id=None,
                    conversation_id=conversation.id,
                    kind="hardship",
                    detail=rng.choice(HARDSHIP),
                    created_at=at(3),
                )
            )
        self.message(conversation, at(4), "inbound")
        if verified:
            conversation.account_id, conversation.verified_at = account.id, at(5)
            self.message(conversation, at(6), "outbound")
        promise_chance = 0.0
        if verified:
            promise_chance = 0.4
            if tests is not None:
                assignment = experiments.assign(self.session, tests[0], account, at(5))
                assert assignment is not None
                promise_chance = 0.36 if assignment.arm == "every_7_days" else 0.56
        if rng.random() < promise_chance:
            self.commitment_story(creditor, account, conversation, at(8), tests)
        if rng.random() < 0.14:
            reason = _pick(rng, HANDOFF_REASONS)
            self.add(
                Handoff(
                    conversation_id=conversation.id,
                    account_id=conversation.account_id,
                    reason=reason,
                    status="closed",
                    created_at=at(9),
                    closed_at=at(90),
                )
            )
            if rng.random() < 0.85:
                self.message(conversation, at(9 + rng.randint(2, 45)), "outbound", "agent")
        if verified and rng.random() < 0.05:
            self.add(Dispute(account_id=account.id, conversation_id=conversation.id, reason="wrong_amount", created_at=at(10)))
        if rng.random() < 0.04:
            self.add(
                Consent(
                    account_id=account.id,
                    conversation_id=conversation.id,
                    channel=channel,
                    channel_address=conversation.channel_address,
                    kind="opt_out",
                    created_at=at(11),
                )
            )
        for kind, chance in (("complaint", 0.03), ("vulnerability", 0.025)):
            if rng.random() < chance:
                self.add(
                    Signal(account_id=conversation.account_id, conversation_id=conversation.id, kind=kind, created_at=at(12))
                )

    def commitment_story(
        self,
        creditor: Creditor,
        account: Account,
        conversation: Conversation,
        agreed: dt.datetime,
        tests: tuple[Experiment, Experiment] | None,
    ) -> None:
        rng = self.rng
        self.counter += 1
        commitment = self.add(
            Commitment(
                reference=f"DASH-{self.counter}",
                account_id=account.id,
                conversation_id=conversation.id,
                kind="instalments",
                status="active",
                currency=account.currency,
                total_minor=account.balance_minor,
                agreed_at=agreed,
                recorded_by="bot" if rng.random() < 0.85 else "agent:1",
            )
        )
        account.status = "arranged"
        if tests is not None:
            experiments.assign(self.session, tests[1], account, agreed)
        share = account.balance_minor // 3
        amounts = [share, share, account.balance_minor - 2 * share]
        first_due = agreed.date() + dt.timedelta(days=10)
        instalments = [
            self.add(
                Instalment(
                    commitment_id=commitment.id,
                    sequence=n + 1,
                    due_date=first_due + dt.timedelta(days=30 * n),
                    amount_minor=amount,
                    paid_minor=0,
                    status="due",
                )
            )
            for n, amount in enumerate(amounts)
        ]
        paid_at = []
        for instalment in instalments:
            due = dt.datetime.combine(instalment.due_date, dt.time(12), UTC)
            if due >= END:
                return
            luck = rng.random()
            if luck < 0.7:
                paid_at.append(
                    self.pay(creditor, account, instalment, due - dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 6)))
                )
            elif luck < 0.82:
                late = due + dt.timedelta(days=rng.randint(2, 9))
                if late >= END:
                    return
                paid_at.append(self.pay(creditor, account, instalment, late))
            else:
                instalment.status = "missed"
                broken = due + dt.timedelta(days=10)
                if broken < END:
                    commitment.status, commitment.ended_at = "broken", broken
                    account.status = "active"
                return
        commitment.status, commitment.ended_at = "kept", max(paid_at)
        account.status = "paid"


def _experiments(session: Session, creditor: Creditor) -> tuple[Experiment, Experiment]:
    domain = get_settings().domain_file
    # Cadence experiments: the ones that act today (a response experiment cannot start yet, docs/experiments.md).
    follow_up = ExperimentIn.model_validate(
        {
            "name": "Follow-up every 7 or every 3 days",
            "kind": "cadence",
            "target": "follow_up_days",
            "arms": [{"name": "every_7_days", "ratio": 1, "value": 7}, {"name": "every_3_days", "ratio": 1, "value": 3}],
            "outcome": "promise_made",
            "baseline_rate": 0.35,
            "minimum_detectable_effect": 0.2,
        }
    )
    cadence = ExperimentIn.model_validate(
        {
            "name": "Reminder three days or one day before",
            "kind": "cadence",
            "target": "reminder_days_before",
            "arms": [{"name": "three_days", "ratio": 1, "value": 3}, {"name": "one_day", "ratio": 1, "value": 1}],
            "outcome": "instalment_paid_on_time",
            "baseline_rate": 0.6,
            "minimum_detectable_effect": 0.05,
        }
    )
    started = FIRST_PLACEMENT - dt.timedelta(days=1)
    tests = []
    for values in (follow_up, cadence):
        experiment = experiments.create_experiment(session, creditor, values, domain)
        tests.append(experiments.start_experiment(session, creditor, experiment, started))
    return tests[0], tests[1]


def seed(seed: int = 16) -> dict[str, int]:
    rng = random.Random(seed)
    with session_scope() as session:
        portfolio = _Portfolio(session, rng)
        alpha = portfolio.creditor("Alpha Énergie", ALPHA_KEY)
        beta = portfolio.creditor("Beta Télécom", BETA_KEY)
        tests = _experiments(session, alpha)
        span = (LAST_PLACEMENT - FIRST_PLACEMENT).total_seconds()
        for n in range(400):
            placed = FIRST_PLACEMENT + dt.timedelta(seconds=span * n / 400 + rng.uniform(0, 3600))
            portfolio.account_story(alpha, f"AL-{n:04d}", placed, tests)
        for n in range(40):
            placed = FIRST_PLACEMENT + dt.timedelta(seconds=span * rng.random())
            portfolio.account_story(beta, f"BE-{n:04d}", placed, None)
        return {"alpha": alpha.id, "beta": beta.id, "follow_up_experiment": tests[0].id, "reminder_experiment": tests[1].id}


if __name__ == "__main__":
    print(json.dumps(seed()))
