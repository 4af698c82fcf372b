"""A small portfolio with every kind of fact the KPIs read, written row by row with its moments, for the KPI tests
(tests/api/test_kpis.py computes every expected figure by hand from the story below; test_reports_api.py reads
it through HTTP). The period of interest is March 2026 (UTC); facts just before it and at its end are there on
purpose, and so is a second creditor whose facts fall in the same month.

Creditor Alpha (key ALPHA_KEY):
  A1 EUR fr  placed 03-02 10:00, owed 100.00 (90 + 10 fees). SMS conversation C1 (03-03): hardship "job_loss"
             said before verification (09:03), verified 09:05; plan K0 agreed 09:08 by the bot, replaced 09:10 by
             K1 (bot): I1 30.00 due 03-10 paid 03-10 (P1, on time), I2 30.00 due 03-20 paid 04-05 (P2, late),
             I3 30.00 due 04-10. K0's instalment (due 03-15) never fell due: K0 was replaced before.
             Messages: 2 in, 3 out (SMS: 2 and 1 segments sent, 3 blocked, not sent).
  A2 EUR en  placed 03-05 12:00, owes 200.00. Web chat C2 (03-06): verified 10:03, dispute 10:06 with a
             handoff (dispute) answered by an agent 600 s later, complaint 10:07 (another complaint at `to`).
             P 50.00 on 03-07 reversed on 03-08. Messages: 2 in, 2 out in March; 1 in at `to`.
  A3 GBP en  placed 02-10, owed 500.00: P3 100.00 on 02-20, then plan K3 (bot, in C3, agreed 02-28 23:59:55):
             I4 400.00 due 03-15, paid 03-15 with 10.00 more as credit (P4 410.00): kept 03-15, cured 03-15.
             SMS conversation C3 opened 02-28 23:59, verified 23:59:50; debtor messages 02-28 23:59:30 and
             03-01 00:00:00 (exactly at `from`), one SMS reply (1 segment). An opt-out 02-28 23:59:59.
  A4 EUR fr  placed 03-31 23:59:59 (just before `to`), owed 80.00; a payment of 5.00 dated 03-20 (before its
             placement: it counts at the placement). No conversation.
  A5 EUR fr  placed 04-01 00:00:00 (at `to`: not in March), owes 70.00.
  A6 EUR fr  placed 01-15, owed 300.00: 10.00 paid 02-28 23:59:59, 10.00 paid 04-01 00:00:00. Old plan K6
             (no conversation, agreed 01-20), broken 03-02 06:00: I5 due 02-20 missed and moved to 03-25, I6 due
             03-01 missed, I7 due 03-20 (after the break). WhatsApp conversation C6 (03-12) on its number, not
             verified: vulnerability 08:04 with a handoff answered 300 s later, opt-out 08:05. 2 in, 2 out.
  A7 EUR en  placed 03-08, closed (a dispute upheld, nothing owed). Web chat C7 (03-08): handoff 09:58
             (request_human) closed 09:59 unanswered, dispute 09:55, verified 09:56, plan K7 recorded by an
             agent 10:00 (I 150.00 due 03-31), cancelled 03-09. 2 in, 2 out (the agent wrote at 10:05).
Creditor Beta (key BETA_KEY):
  B1 EUR fr  placed 03-10, owed 999.00 (10.00 paid since): SMS conversation verified, plan, payment, dispute, opt-out, handoff,
             vulnerability and complaint, all in March.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

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
    Handoff,
    Instalment,
    Message,
    Payment,
    Signal,
)

ALPHA_KEY = "alpha-creditor-key"
BETA_KEY = "beta-creditor-key"
MARCH = (dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc))
# "Now" for the instalments: long after March, so every March due date is over.
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)


def at(text: str) -> dt.datetime:
    """`"03-02 10:00"` (2026, UTC), or a full ISO instant."""
    if len(text) <= 14:
        text = f"2026-{text}"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


@dataclass
class Portfolio:
    alpha: int = 0
    beta: int = 0
    accounts: dict[str, int] = field(default_factory=dict)
    conversations: dict[str, str] = field(default_factory=dict)


class _Writer:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.counter = 0

    def add(self, row):
        self.session.add(row)
        self.session.flush()
        return row

    def account(
        self, creditor: int, reference: str, placed: str, *, currency="EUR", language="fr", balance=0, fees=0, status="active"
    ):
        return self.add(
            Account(
                creditor_id=creditor,
                reference=reference,
                debtor_name=f"Debtor {reference}",
                phone=None,
                language=language,
                currency=currency,
                balance_minor=balance,
                fees_minor=fees,
                due_date=dt.date(2026, 1, 1),
                status=status,
                created_at=at(placed),
                updated_at=at(placed),
            )
        )

    def conversation(
        self, creditor: int, account: Account, channel: str, opened: str, *, verified: str | None = None, language=None
    ):
        return self.add(
            Conversation(
                creditor_id=creditor,
                account_id=account.id if verified else None,
                candidate_account_id=account.id if channel != "webchat" else None,
                channel=channel,
                channel_address=f"{channel}-{account.reference}",
                language=language or account.language,
                created_at=at(opened),
                verified_at=at(verified) if verified else None,
            )
        )

    def message(self, conversation: Conversation, when: str, direction="inbound", author=None, *, segments=None, sent=True):
        self.counter += 1
        status = "processed" if direction == "inbound" else ("sent" if sent else "blocked")
        return self.add(
            Message(
                conversation_id=conversation.id,
                direction=direction,
                author=author or ("debtor" if direction == "inbound" else "bot"),
                channel=conversation.channel,
                channel_message_id=f"m{self.counter}",
                text="…",
                status=status,
                created_at=at(when),
                sent_at=at(when) if direction == "outbound" and sent else None,
                segments=segments,
            )
        )

    def commitment(
        self, account: Account, conversation: Conversation | None, agreed: str, *, status="active", ended=None, by="bot"
    ):
        self.counter += 1
        return self.add(
            Commitment(
                reference=f"K{self.counter}",
                account_id=account.id,
                conversation_id=conversation.id if conversation else None,
                kind="instalments",
                status=status,
                currency=account.currency,
                total_minor=0,
                agreed_at=at(agreed),
                ended_at=at(ended) if ended else None,
                recorded_by=by,
            )
        )

    def instalment(self, commitment: Commitment, sequence: int, due: str, amount: int, *, paid=0, status="due", original=None):
        return self.add(
            Instalment(
                commitment_id=commitment.id,
                sequence=sequence,
                due_date=dt.date.fromisoformat(f"2026-{due}"),
                original_due_date=dt.date.fromisoformat(f"2026-{original}") if original else None,
                amount_minor=amount,
                paid_minor=paid,
                status=status,
            )
        )

    def payment(self, creditor: int, account: Account, paid: str, amount: int, *, applied=None, to: Instalment | None = None):
        self.counter += 1
        applied = amount if applied is None else applied
        payment = self.add(
            Payment(
                creditor_id=creditor,
                account_id=account.id,
                external_id=f"pay-{self.counter}",
                amount_minor=amount,
                currency=account.currency,
                paid_at=at(paid),
                method="transfer",
                received_at=at(paid),
                balance_applied_minor=applied,
                fees_applied_minor=0,
            )
        )
        kind, target = ("instalment", to.id) if to else ("balance", None)
        self.add(Allocation(payment_id=payment.id, kind=kind, instalment_id=target, amount_minor=applied))
        if amount != applied:
            self.add(Allocation(payment_id=payment.id, kind="credit", instalment_id=None, amount_minor=amount - applied))
        return payment

    def signal(self, conversation: Conversation, kind: str, when: str, detail=None):
        return self.add(
            Signal(
                account_id=conversation.account_id,
                conversation_id=conversation.id,
                kind=kind,
                detail=detail,
                created_at=at(when),
            )
        )

    def handoff(self, conversation: Conversation, reason: str, when: str, *, closed=None):
        return self.add(
            Handoff(
                conversation_id=conversation.id,
                account_id=conversation.account_id,
                reason=reason,
                status="closed" if closed else "open",
                created_at=at(when),
                closed_at=at(closed) if closed else None,
            )
        )

    def dispute(self, account: Account, conversation: Conversation, when: str):
        return self.add(Dispute(account_id=account.id, conversation_id=conversation.id, reason="not_mine", created_at=at(when)))

    def opt_out(self, conversation: Conversation, when: str):
        return self.add(
            Consent(
                account_id=conversation.account_id or conversation.candidate_account_id,
                conversation_id=conversation.id,
                channel=conversation.channel,
                channel_address=conversation.channel_address,
                kind="opt_out",
                created_at=at(when),
            )
        )


def seed_portfolio() -> Portfolio:
    """Writes the story of the module's docstring; answers the ids."""
    with session_scope() as session:
        w = _Writer(session)
        alpha = w.add(Creditor(name="Alpha", api_key_hash=hash_api_key(ALPHA_KEY)))
        beta = w.add(Creditor(name="Beta", api_key_hash=hash_api_key(BETA_KEY)))
        a, b = alpha.id, beta.id

        # A1: the SMS conversation, a replaced plan, one instalment on time and one late.
        a1 = w.account(a, "A1", "03-02 10:00", balance=90_00 - 30_00 - 30_00, fees=10_00)
        c1 = w.conversation(a, a1, "sms", "03-03 09:00", verified="03-03 09:05")
        w.message(c1, "03-03 09:01")
        w.message(c1, "03-03 09:02", "outbound", segments=2)
        c1.account_id = None  # the hardship is said before verification: the signal has no account
        w.signal(c1, "hardship", "03-03 09:03", "job_loss")
        c1.account_id = a1.id
        w.message(c1, "03-03 09:04")
        w.message(c1, "03-03 09:06", "outbound", segments=1)
        k0 = w.commitment(a1, c1, "03-03 09:08", status="replaced", ended="03-03 09:10")
        w.instalment(k0, 1, "03-15", 100_00)
        k1 = w.commitment(a1, c1, "03-03 09:10")
        i1 = w.instalment(k1, 1, "03-10", 30_00, paid=30_00, status="paid")
        i2 = w.instalment(k1, 2, "03-20", 30_00, paid=30_00, status="paid")
        w.instalment(k1, 3, "04-10", 30_00)
        w.message(c1, "03-03 09:11", "outbound", segments=3, sent=False)
        w.payment(a, a1, "03-10 18:00", 30_00, to=i1)
        w.payment(a, a1, "04-05 08:00", 30_00, to=i2)

        # A2: the web chat with a dispute handed to an agent, a complaint, a payment reversed.
        a2 = w.account(a, "A2", "03-05 12:00", language="en", balance=200_00, status="disputed")
        c2 = w.conversation(a, a2, "webchat", "03-06 10:00", verified="03-06 10:03")
        w.message(c2, "03-06 10:01")
        w.message(c2, "03-06 10:02", "outbound")
        w.message(c2, "03-06 10:05")
        w.dispute(a2, c2, "03-06 10:06")
        w.handoff(c2, "dispute", "03-06 10:06")
        w.signal(c2, "complaint", "03-06 10:07")
        w.message(c2, "03-06 10:16", "outbound", "agent")
        w.signal(c2, "complaint", "04-01 00:00")
        w.message(c2, "04-01 00:00")
        w.payment(a, a2, "03-07 09:00", 50_00)
        w.payment(a, a2, "03-08 09:00", -50_00)

        # A3: GBP, placed in February, a plan agreed just before March, kept and cured in March.
        a3 = w.account(a, "A3", "02-10 08:00", currency="GBP", language="en", balance=0, status="arranged")
        w.payment(a, a3, "02-20 12:00", 100_00)
        c3 = w.conversation(a, a3, "sms", "02-28 23:59", verified="02-28 23:59:50")
        w.message(c3, "02-28 23:59:30")
        k3 = w.commitment(a3, c3, "02-28 23:59:55", status="kept", ended="03-15 10:00")
        i4 = w.instalment(k3, 1, "03-15", 400_00, paid=400_00, status="paid")
        w.opt_out(c3, "02-28 23:59:59")
        w.message(c3, "03-01 00:00")
        w.message(c3, "03-01 00:00:05", "outbound", segments=1)
        w.payment(a, a3, "03-15 10:00", 410_00, applied=400_00, to=i4)

        # A4: placed a second before the end of March, with a payment dated before it was placed.
        a4 = w.account(a, "A4", "03-31 23:59:59", balance=75_00)
        w.payment(a, a4, "03-20 09:00", 5_00)
        # A5: placed at the end of March, exactly: April's.
        w.account(a, "A5", "04-01 00:00", balance=70_00)

        # A6: placed in January; its old plan broken in March; a WhatsApp conversation in distress.
        a6 = w.account(a, "A6", "01-15 00:00", balance=280_00)
        w.payment(a, a6, "02-28 23:59:59", 10_00)
        w.payment(a, a6, "04-01 00:00", 10_00)
        k6 = w.commitment(a6, None, "01-20 10:00", status="broken", ended="03-02 06:00")
        w.instalment(k6, 1, "03-25", 50_00, status="missed", original="02-20")
        w.instalment(k6, 2, "03-01", 50_00, status="missed")
        w.instalment(k6, 3, "03-20", 50_00)
        c6 = w.conversation(a, a6, "whatsapp", "03-12 08:00")
        w.message(c6, "03-12 08:01")
        w.message(c6, "03-12 08:02", "outbound")
        w.message(c6, "03-12 08:03")
        w.signal(c6, "vulnerability", "03-12 08:04")
        w.handoff(c6, "vulnerability", "03-12 08:04", closed="03-12 08:30")
        w.opt_out(c6, "03-12 08:05")
        w.message(c6, "03-12 08:09", "outbound", "agent")

        # A7: a person's plan, cancelled when the dispute was upheld and the account closed.
        a7 = w.account(a, "A7", "03-08 09:00", language="en", balance=0, status="closed")
        c7 = w.conversation(a, a7, "webchat", "03-08 09:49", verified="03-08 09:56")
        w.message(c7, "03-08 09:50")
        w.message(c7, "03-08 09:51", "outbound")
        w.dispute(a7, c7, "03-08 09:55")
        w.message(c7, "03-08 09:57")
        w.handoff(c7, "request_human", "03-08 09:58", closed="03-08 09:59")
        k7 = w.commitment(a7, c7, "03-08 10:00", status="cancelled", ended="03-09 12:00", by="agent:1")
        w.instalment(k7, 1, "03-31", 150_00)
        w.message(c7, "03-08 10:05", "outbound", "agent")

        # Beta: a bit of everything in March, never in Alpha's figures.
        b1 = w.account(b, "B1", "03-10 08:00", balance=989_00)
        cb = w.conversation(b, b1, "sms", "03-10 09:00", verified="03-10 09:02")
        w.message(cb, "03-10 09:01")
        w.message(cb, "03-10 09:03", "outbound", segments=4)
        w.signal(cb, "hardship", "03-10 09:04", "illness")
        kb = w.commitment(b1, cb, "03-10 09:05")
        ib = w.instalment(kb, 1, "03-12", 10_00, paid=10_00, status="paid")
        w.payment(b, b1, "03-12 08:00", 10_00, to=ib)
        w.dispute(b1, cb, "03-10 09:06")
        w.opt_out(cb, "03-10 09:07")
        w.signal(cb, "vulnerability", "03-10 09:08")
        w.signal(cb, "complaint", "03-10 09:09")
        w.handoff(cb, "complaint", "03-10 09:09")
        w.message(cb, "03-10 09:10", "outbound", "agent")

        return Portfolio(
            alpha=a,
            beta=b,
            accounts={"A1": a1.id, "A2": a2.id, "A3": a3.id, "A4": a4.id, "A6": a6.id, "A7": a7.id, "B1": b1.id},
            conversations={"C1": c1.id, "C2": c2.id, "C3": c3.id, "C6": c6.id, "C7": c7.id},
        )
