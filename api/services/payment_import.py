"""Payments from a CSV file: every line read and checked by the rules of the creditor's API, with a report per
line, then all of them recorded through `payments.record_payment` in one transaction, or none at all.

The file has a header line naming the columns `reference,amount_minor,currency,paid_at,method,external_id`
(in any order; an optional `reverses` column names the payment a refund undoes). Line numbers are the
file's own, the header being line 1. Nothing about a debtor is reported beyond the account's reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.logging import log
from api.models import Account, Creditor, Payment, utcnow
from api.schemas.creditor import PaymentIn
from api.services import payments
from api.services.errors import (
    CurrencyMismatch,
    DomainError,
    NothingToReverse,
    PaymentConflict,
    UnknownAccount,
)
from api.states import PaymentMethod

REQUIRED_COLUMNS = ("reference", "amount_minor", "currency", "paid_at", "method", "external_id")
OPTIONAL_COLUMNS = ("reverses",)
SOURCE = "import"

_INTEGER = re.compile(r"^[+-]?[0-9]{1,30}$")
# What each column holds, added to a refusal so that the line can be put right.
_EXPECTED = {
    "reference": "the account's reference, e.g. CR-10001",
    "amount_minor": "an integer number of minor units (cents), e.g. 12050 for 120.50; negative for a refund, never 0",
    "currency": "the account's ISO 4217 code, e.g. EUR",
    "paid_at": "an ISO 8601 instant with its offset, e.g. 2026-11-20T10:30:00+01:00",
    "method": "one of " + ", ".join(PaymentMethod),
    "external_id": "your own id of this payment, 1 to 100 characters",
    "reverses": "empty, or the external_id of the payment a refund undoes",
}
# Which column a refusal of `record_payment` is about.
_FIELD_OF: dict[type[DomainError], str] = {
    UnknownAccount: "reference",
    CurrencyMismatch: "currency",
    PaymentConflict: "external_id",
    NothingToReverse: "amount_minor",
}
_BATCH = 500  # names per IN (...) query


@dataclass(frozen=True)
class LineError:
    """Why one line of the file cannot be recorded (`field` None: the line as a whole)."""

    line: int
    field: str | None
    message: str


@dataclass(frozen=True)
class PaymentLine:
    line: int
    payment: PaymentIn


@dataclass
class ImportReport:
    dry_run: bool
    lines_read: int = 0
    # Lines that record a payment (in a dry run: would), and lines whose payment is recorded already.
    new: list[int] = field(default_factory=list)
    already_recorded: list[int] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    imported: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def import_payments(
    session: Session,
    creditor: Creditor,
    lines: Iterable[str],
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Reads and checks every line of a CSV file and, unless it is a dry run or any line is wrong, records
    the payments in the caller's transaction. When nothing is to be recorded the session is rolled back, so
    the caller's commit writes nothing."""
    now = now or utcnow()
    parsed, report = parse(lines, dry_run=dry_run)
    # Lines that read well are checked even when others did not: one run reports every wrong line.
    check(session, creditor, parsed, report, now=now)
    if report.ok and not dry_run:
        apply(session, creditor, parsed, report, now=now)
    if dry_run or not report.ok:
        session.rollback()
    report.errors.sort(key=lambda e: e.line)
    event = "payment_import_checked" if dry_run else "payments_imported" if report.ok else "payment_import_refused"
    log.info(
        event,
        creditor_id=creditor.id,
        dry_run=dry_run,
        lines_read=report.lines_read,
        imported=report.imported,
        already_recorded=len(report.already_recorded),
        errors=len(report.errors),
    )
    return report


# --- reading the file (no I/O) ------------------------------------------------------------------------------


def parse(lines: Iterable[str], *, dry_run: bool = False) -> tuple[list[PaymentLine], ImportReport]:
    """The lines of the file as payments, with what is wrong with each line on its own or against an earlier
    line of the file (the same external_id with different contents)."""
    report = ImportReport(dry_run=dry_run)
    reader = csv.reader(lines)
    parsed: list[PaymentLine] = []
    first_of: dict[str, PaymentLine] = {}
    try:
        header = _header(next(reader, None), report)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line (often the last one)
            report.lines_read += 1
            line = reader.line_num
            if header is None:
                continue
            if len(row) != len(header):
                report.errors.append(LineError(line, None, f"has {len(row)} field(s) where the header names {len(header)}"))
                continue
            payment = _payment(line, dict(zip(header, row)), report)
            if payment is None:
                continue
            first = first_of.setdefault(payment.external_id, PaymentLine(line, payment))
            if first.line != line and first.payment != payment:
                message = f"also on line {first.line} with other contents: give each payment its own external_id"
                report.errors.append(LineError(line, "external_id", message))
                continue
            parsed.append(PaymentLine(line, payment))
    except csv.Error as exc:  # e.g. a field longer than any payment's: what follows cannot be trusted
        report.errors.append(LineError(reader.line_num, None, f"not readable as CSV ({exc}): nothing after it was read"))
    return parsed, report


def _header(row: Sequence[str] | None, report: ImportReport) -> list[str] | None:
    if row is None:
        report.errors.append(LineError(1, None, "the file is empty: its first line names the columns"))
        return None
    header = [name.strip().lower() for name in row]
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    problems = [LineError(1, name, "missing column") for name in REQUIRED_COLUMNS if name not in header]
    problems += [
        LineError(1, name or None, f"unknown column: the columns are {', '.join(known)}") for name in header if name not in known
    ]
    problems += [LineError(1, name, "column named twice") for name in sorted({n for n in header if header.count(n) > 1})]
    report.errors.extend(problems)
    return None if problems else header


def _payment(line: int, cells: dict[str, str], report: ImportReport) -> PaymentIn | None:
    """The line as the API's PaymentIn, or None after reporting every field that is wrong."""
    values: dict[str, object] = {name: value.strip() for name, value in cells.items()}
    errors: list[LineError] = []
    amount = str(values["amount_minor"])
    if _INTEGER.match(amount):
        values["amount_minor"] = int(amount)
    else:
        errors.append(LineError(line, "amount_minor", f"not an integer (expected {_EXPECTED['amount_minor']})"))
        del values["amount_minor"]
    if not values.get("reverses"):
        values.pop("reverses", None)
    try:
        payment = PaymentIn.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else None
            if name == "amount_minor" and errors:
                continue  # said already, and better
            message = error["msg"].removeprefix("Value error, ")
            errors.append(LineError(line, name, f"{message} (expected {_EXPECTED[name]})" if name in _EXPECTED else message))
        payment = None
    report.errors.extend(errors)
    return None if errors else payment


# --- checking against what is recorded (reads only) -----------------------------------------------------------


def check(session: Session, creditor: Creditor, parsed: Sequence[PaymentLine], report: ImportReport, *, now: dt.datetime) -> None:
    """Sorts the lines into new and already recorded, and reports what the creditor's accounts and recorded
    payments refuse: an unknown reference, another currency, a date in the future, an external_id recorded
    with other contents, a reversal of nothing."""
    accounts = _accounts(session, creditor, {p.payment.reference for p in parsed})
    recorded = _payments(
        session, creditor, {p.payment.external_id for p in parsed} | {p.payment.reverses for p in parsed if p.payment.reverses}
    )
    seen: dict[str, PaymentLine] = {}
    for item in parsed:
        line, payment = item.line, item.payment
        account = accounts.get(payment.reference)
        error = _refusal(payment, account, recorded, seen, now)
        if error is not None:
            report.errors.append(LineError(line, *error))
        elif payment.external_id in recorded or payment.external_id in seen:
            report.already_recorded.append(line)
        else:
            report.new.append(line)
        if error is None:
            seen.setdefault(payment.external_id, item)


def _refusal(
    payment: PaymentIn,
    account: Account | None,
    recorded: dict[str, Payment],
    seen: dict[str, PaymentLine],
    now: dt.datetime,
) -> tuple[str, str] | None:
    """The field and message of the first rule the line breaks, in the order `record_payment` checks them."""
    if account is None:
        return "reference", UnknownAccount.__doc__ or ""
    existing = recorded.get(payment.external_id)
    if existing is not None:
        return None if _same(existing, account, payment) else ("external_id", PaymentConflict.__doc__ or "")
    if payment.external_id in seen:
        return None  # the same contents as an earlier line (other contents were refused while reading)
    if payment.paid_at > now + payments.FUTURE_TOLERANCE:
        return "paid_at", "in the future: a payment is recorded once it is received"
    if payment.reverses is not None:
        if payment.amount_minor > 0:
            return "reverses", "only a refund (a negative amount) names the payment it reverses"
        original = recorded.get(payment.reverses)
        earlier = seen.get(payment.reverses)
        if original is not None:
            reversible = original.account_id == account.id and original.amount_minor > 0
        else:
            reversible = (
                earlier is not None and earlier.payment.reference == payment.reference and earlier.payment.amount_minor > 0
            )
        if not reversible:
            return "reverses", NothingToReverse.__doc__ or ""
    if payment.currency != account.currency:
        return "currency", f"{CurrencyMismatch.__doc__} (the account's currency is {account.currency})"
    return None


def _same(existing: Payment, account: Account, payment: PaymentIn) -> bool:
    reverses = existing.reverses.external_id if existing.reverses else None
    return (existing.account_id, existing.amount_minor, existing.currency, existing.paid_at, existing.method, reverses) == (
        account.id,
        payment.amount_minor,
        payment.currency,
        payment.paid_at,
        payment.method,
        payment.reverses,
    )


def _accounts(session: Session, creditor: Creditor, references: set[str]) -> dict[str, Account]:
    found: dict[str, Account] = {}
    for batch in _batches(references):
        query = select(Account).where(Account.creditor_id == creditor.id, Account.reference.in_(batch))
        found.update((account.reference, account) for account in session.scalars(query))
    return found


def _payments(session: Session, creditor: Creditor, external_ids: set[str]) -> dict[str, Payment]:
    found: dict[str, Payment] = {}
    for batch in _batches(external_ids):
        query = select(Payment).where(Payment.creditor_id == creditor.id, Payment.external_id.in_(batch))
        found.update((payment.external_id, payment) for payment in session.scalars(query))
    return found


def _batches(names: set[str]) -> Iterable[list[str]]:
    ordered = sorted(names)
    for start in range(0, len(ordered), _BATCH):
        yield ordered[start : start + _BATCH]


# --- recording ------------------------------------------------------------------------------------------------


def apply(session: Session, creditor: Creditor, parsed: Sequence[PaymentLine], report: ImportReport, *, now: dt.datetime) -> None:
    """Records the lines in order through `record_payment` (which says again what is new); stops at the first
    line it refuses, which `import_payments` then rolls back with all the others."""
    report.new, report.already_recorded = [], []
    for item in parsed:
        payment = item.payment
        try:
            _, created = payments.record_payment(
                session,
                creditor,
                reference=payment.reference,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                paid_at=payment.paid_at,
                method=payment.method,
                external_id=payment.external_id,
                reverses=payment.reverses,
                source=SOURCE,
                now=now,
            )
        except DomainError as error:
            report.errors.append(LineError(item.line, _FIELD_OF.get(type(error)), error.__doc__ or error.code))
            report.imported = 0
            return
        (report.new if created else report.already_recorded).append(item.line)
    report.imported = len(report.new)


# --- the report -----------------------------------------------------------------------------------------------


def describe(report: ImportReport) -> list[str]:
    """The report as lines of text: each wrong line (number, field, message), each line recorded already,
    then the summary."""
    notes = [
        (e.line, f"line {e.line}: {e.field}: {e.message}" if e.field else f"line {e.line}: {e.message}") for e in report.errors
    ]
    notes += [(line, f"line {line}: already recorded (not an error)") for line in report.already_recorded]
    text = [note for _, note in sorted(notes, key=lambda n: n[0])]
    imported = f"imported: 0 (dry run; {len(report.new)} to import)" if report.dry_run else f"imported: {report.imported}"
    text.append(
        f"lines read: {report.lines_read}, {imported}, already recorded: {len(report.already_recorded)}, errors: {len(report.errors)}"
    )
    if not report.ok:
        text.append("Nothing was imported: correct the lines above and run the import again (the whole file).")
    elif report.dry_run:
        text.append("Dry run: nothing was imported. Run again without --dry-run to import.")
    return text
