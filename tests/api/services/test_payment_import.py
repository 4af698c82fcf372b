"""Payments from a CSV file (api/services/payment_import.py and `python -m api.cli import-payments`): every line
checked by the API's rules and reported by number, then all recorded or none."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from api import cli
from api.db import session_scope
from api.deps import hash_api_key
from api.models import Account, AuditEntry, Creditor, Payment
from api.services.payment_import import ImportReport, LineError, describe, import_payments, parse
from tests.api_fixtures import CREDITOR_KEY

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)
HEADER = "reference,amount_minor,currency,paid_at,method,external_id,reverses\n"
GOOD = (
    HEADER
    + "CR-10001,10000,EUR,2026-11-20T10:30:00+01:00,transfer,bank-0001,\n"
    + "CR-10002,25000,eur,2026-11-21T08:00:00Z,card,bank-0002,\n"
    + "CR-10001,-2500,EUR,2026-11-22T09:00:00+00:00,transfer,bank-0001-refund,bank-0001\n"
)


def run(text: str, *, dry_run: bool = False) -> ImportReport:
    with session_scope() as session:
        creditor = session.scalars(select(Creditor).where(Creditor.api_key_hash == hash_api_key(CREDITOR_KEY))).one()
        return import_payments(session, creditor, text.splitlines(keepends=True), dry_run=dry_run, now=NOW)


def payments_recorded() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count(Payment.id))) or 0


def balance(reference: str) -> int:
    with session_scope() as session:
        return session.scalars(select(Account.balance_minor).where(Account.reference == reference)).one()


def errors_by_line(report: ImportReport) -> dict[int, set[str | None]]:
    found: dict[int, set[str | None]] = {}
    for error in report.errors:
        found.setdefault(error.line, set()).add(error.field)
    return found


def test_a_dry_run_reports_every_bad_line_by_number_and_field_and_imports_nothing(database):
    assert run(GOOD).ok  # bank-0001 is recorded already: its line below is no error
    before = payments_recorded()
    text = (
        HEADER
        + "CR-10001,10000,EUR,2026-11-20T10:30:00+01:00,transfer,bank-0001,\n"  # 2: recorded already, same contents
        + "CR-10001,100.50,EUR,2026-11-20T10:30:00+01:00,transfer,bank-1002,\n"  # 3: not an integer
        + "CR-10001,5000,GBP,2026-11-20T10:30:00+01:00,transfer,bank-1003,\n"  # 4: not the account's currency
        + "CR-10001,5000,EUR,2026-11-20T10:30:00,transfer,bank-1004,\n"  # 5: no offset
        + "CR-10001,5000,EUR,2026-11-20T10:30:00Z,bitcoin,bank-1005,\n"  # 6: unknown method
        + "\n"  # 7: blank, skipped
        + "CR-99999,5000,EUR,2026-11-20T10:30:00Z,card,bank-1008,\n"  # 8: unknown reference
        + "CR-10002,3000,EUR,2026-11-20T10:30:00Z,card,bank-1009,\n"  # 9: fine
        + "CR-10002,3100,EUR,2026-11-20T10:30:00Z,card,bank-1009,\n"  # 10: same external_id, other contents
        + "CR-10001,5000,EUR,2026-11-20T10:30:00Z,transfer,bank-0002,\n"  # 11: recorded with other contents
        + "CR-10001,5000,EUR,2026-12-20T10:30:00Z,transfer,bank-1012,\n"  # 12: in the future
        + "CR-10001,0,EUR,2026-11-20T10:30:00Z,transfer,bank-1013,\n"  # 13: zero
        + "CR-10001,5000,EUR\n"  # 14: too few fields
    )
    report = run(text, dry_run=True)

    assert errors_by_line(report) == {
        3: {"amount_minor"},
        4: {"currency"},
        5: {"paid_at"},
        6: {"method"},
        8: {"reference"},
        10: {"external_id"},
        11: {"external_id"},
        12: {"paid_at"},
        13: {"amount_minor"},
        14: {None},
    }
    assert report.lines_read == 12 and report.already_recorded == [2] and report.new == [9]
    assert report.imported == 0 and not report.ok
    assert payments_recorded() == before
    text_report = describe(report)
    assert "line 3: amount_minor: not an integer" in text_report[1]
    assert any(line.startswith("line 5: paid_at: ") and "offset" in line for line in text_report)
    assert text_report[-2] == "lines read: 12, imported: 0 (dry run; 1 to import), already recorded: 1, errors: 10"


def test_a_file_with_one_bad_line_imports_nothing(database):
    text = GOOD + "CR-10002,5000,EUR,2026-11-20T10:30:00,card,bank-0004,\n"
    report = run(text)
    assert [(e.line, e.field) for e in report.errors] == [(5, "paid_at")]
    assert report.imported == 0
    assert payments_recorded() == 0
    assert (balance("CR-10001"), balance("CR-10002")) == (38_000, 125_000)


def test_a_refusal_while_recording_rolls_back_the_lines_recorded_before_it(database):
    # The refund gives back more than its payment brought: only recording it can tell.
    text = GOOD.replace("-2500", "-12500")
    report = run(text)
    assert [(e.line, e.field) for e in report.errors] == [(4, "amount_minor")]
    assert report.imported == 0
    assert payments_recorded() == 0
    assert balance("CR-10001") == 38_000


def test_a_good_file_imports_every_line_and_the_balances_go_down(database):
    report = run(GOOD)
    assert report.ok and report.imported == 3 and report.new == [2, 3, 4] and report.already_recorded == []
    assert balance("CR-10001") == 38_000 - 10_000 + 2_500
    assert balance("CR-10002") == 125_000 - 25_000
    with session_scope() as session:
        rows = session.scalars(select(Payment).order_by(Payment.id)).all()
        assert [(p.external_id, p.source) for p in rows] == [
            ("bank-0001", "import"),
            ("bank-0002", "import"),
            ("bank-0001-refund", "import"),
        ]
        assert rows[2].reverses_payment_id == rows[0].id
        assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "payment_recorded")) == 3


def test_importing_the_same_file_again_imports_nothing_more(database):
    assert run(GOOD).imported == 3
    again = run(GOOD)
    assert again.ok and again.imported == 0 and again.already_recorded == [2, 3, 4]
    assert payments_recorded() == 3
    assert balance("CR-10001") == 38_000 - 10_000 + 2_500
    assert "already recorded: 3, errors: 0" in describe(again)[-1]


def test_the_same_line_twice_in_a_file_is_recorded_once(database):
    report = run(GOOD + GOOD.splitlines(keepends=True)[1])
    assert report.ok and report.imported == 3 and report.already_recorded == [5]
    assert payments_recorded() == 3


def test_a_header_without_a_required_column_or_with_an_unknown_one_is_refused_on_line_1():
    _, report = parse(["reference,amount,currency,paid_at,method,external_id\n", "CR-10001,1,EUR,2026-11-20T10:30:00Z,card,x\n"])
    assert set(report.errors) == {
        LineError(1, "amount_minor", "missing column"),
        LineError(1, "amount", "unknown column: the columns are " + ", ".join(HEADER.strip().split(","))),
    }
    assert report.lines_read == 1
    _, empty = parse([])
    assert [(e.line, e.field) for e in empty.errors] == [(1, None)]
    _, broken = parse([HEADER, '"' + "x" * 200_000 + '",1\n', GOOD.splitlines(keepends=True)[1]])
    assert [(e.line, e.field) for e in broken.errors] == [(2, None)]
    assert "not readable as CSV" in broken.errors[0].message


def test_the_command_line_imports_a_file_and_reports_by_line(database, tmp_path, capsys):
    good = tmp_path / "payments.csv"
    good.write_text(GOOD, encoding="utf-8-sig")  # with a BOM, as spreadsheets save it
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "CR-10002,12.50,EUR,2026-11-20T10:30:00Z,card,bank-0005,\n", encoding="utf-8")

    with pytest.raises(SystemExit) as refused:
        cli.main(["import-payments", str(bad)])
    assert refused.value.code == 1
    out = capsys.readouterr().out
    assert "line 5: amount_minor: not an integer" in out
    assert "lines read: 4, imported: 0, already recorded: 0, errors: 1" in out
    assert payments_recorded() == 0

    cli.main(["import-payments", str(good), "--dry-run"])
    assert "imported: 0 (dry run; 3 to import)" in capsys.readouterr().out
    assert payments_recorded() == 0

    cli.main(["import-payments", str(good), "--creditor-id", "1"])
    assert "lines read: 3, imported: 3, already recorded: 0, errors: 0" in capsys.readouterr().out
    assert payments_recorded() == 3
    assert balance("CR-10002") == 100_000
    # Nothing about the debtor but the reference is printed.
    assert "Marie" not in out and "Dupont" not in out


def test_the_command_line_names_the_creditor_by_id_or_by_api_key_and_asks_when_there_are_several(database, tmp_path, monkeypatch):
    good = tmp_path / "payments.csv"
    good.write_text(GOOD, encoding="utf-8")
    with session_scope() as session:
        session.add(Creditor(name="Autre Énergie", api_key_hash=hash_api_key("other-creditor-key")))
    with pytest.raises(SystemExit, match="--creditor-id"):
        cli.main(["import-payments", str(good)])
    with pytest.raises(SystemExit, match="No creditor has the id 99"):
        cli.main(["import-payments", str(good), "--creditor-id", "99"])
    monkeypatch.setenv("PAYMENTS_KEY", "other-creditor-key")
    with pytest.raises(SystemExit) as other:  # the other creditor has no account CR-10001
        cli.main(["import-payments", str(good), "--creditor-api-key-env", "PAYMENTS_KEY"])
    assert other.value.code == 1
    monkeypatch.setenv("PAYMENTS_KEY", CREDITOR_KEY)
    cli.main(["import-payments", str(good), "--creditor-api-key-env", "PAYMENTS_KEY"])
    assert payments_recorded() == 3
