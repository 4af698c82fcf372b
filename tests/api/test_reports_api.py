"""The creditor's reports over HTTP: GET /api/v1/reports/kpis (JSON, or CSV on Accept: text/csv) and the
per-account export GET /api/v1/reports/accounts.csv, on the portfolio of tests/kpi_dataset.py (the figures
below are read off its story by hand; tests/api/test_kpis.py checks every KPI)."""

from __future__ import annotations

import csv
import io

import pytest

from api.services.kpis import OUTCOME_COLUMNS
from tests.kpi_dataset import ALPHA_KEY, BETA_KEY, seed_portfolio

KPIS = "/api/v1/reports/kpis"
OUTCOMES = "/api/v1/reports/accounts.csv"
MARCH = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00+00:00"}
ALPHA = {"X-API-Key": ALPHA_KEY}
BETA = {"X-API-Key": BETA_KEY}


@pytest.fixture
def reports(client):
    seed_portfolio()
    return client


def rows_of(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def test_reports_need_a_creditor_api_key(reports):
    for path in (KPIS, OUTCOMES):
        assert reports.get(path, params=MARCH).status_code == 401
        assert reports.get(path, params=MARCH, headers={"X-API-Key": "wrong"}).status_code == 401


def test_the_json_report_has_the_designed_shape(reports):
    response = reports.get(KPIS, params=MARCH, headers=ALPHA)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"from", "to", "group_by", "groups"}
    assert body["from"] in ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00+00:00") and body["group_by"] == []
    (group,) = body["groups"]
    assert group["key"] == {}
    # The fields DESIGN.md §4 names, and then some.
    for name in (
        "accounts_placed",
        "amount_placed_minor",
        "accounts_contacted",
        "verified_conversations",
        "right_party_contact_rate",
        "commitments",
        "promise_to_pay_rate",
        "instalments_due",
        "instalments_paid_on_time",
        "promise_kept_rate",
        "amount_collected_minor",
        "recovery_rate",
        "disputes",
        "opt_outs",
        "vulnerability_flags",
        "handoffs",
    ):
        assert name in group, name
    # Alpha's March, by hand: A1, A2, A7, A4 placed (100 + 200 + 0 + 80 euros); 3 of 5 contacted accounts verified.
    assert group["accounts_placed"] == 4 and group["amount_placed_minor"] == {"EUR": 38_000}
    assert group["right_party_contact_rate"] == 0.6
    assert group["amount_collected_minor"] == {"EUR": 3_500, "GBP": 40_000}
    assert group["dso_days"]["GBP"] is None  # nothing placed in GBP: null, not 0


def test_each_creditor_sees_only_its_own_figures(reports):
    alpha = reports.get(KPIS, params=MARCH, headers=ALPHA).json()["groups"][0]
    beta = reports.get(KPIS, params=MARCH, headers=BETA).json()["groups"][0]
    assert (alpha["accounts_placed"], alpha["conversations"], alpha["disputes"]) == (4, 5, 2)
    assert (beta["accounts_placed"], beta["conversations"], beta["disputes"]) == (1, 1, 1)
    assert beta["amount_placed_minor"] == {"EUR": 99_900}
    # The demo creditor's accounts were placed today, not in March.
    demo = reports.get(KPIS, params=MARCH, headers={"X-API-Key": "test-creditor-key"}).json()["groups"][0]
    assert demo["accounts_placed"] == 0 and demo["conversations"] == 0


def test_group_by_comma_separated_or_repeated(reports):
    one = reports.get(KPIS, params={**MARCH, "group_by": "language,channel"}, headers=ALPHA).json()
    two = reports.get(KPIS, params=[*MARCH.items(), ("group_by", "language"), ("group_by", "channel")], headers=ALPHA).json()
    assert one == two
    assert one["group_by"] == ["language", "channel"]
    conversations = {(g["key"]["language"], g["key"]["channel"]): g["conversations"] for g in one["groups"] if g["conversations"]}
    assert conversations == {("en", "sms"): 1, ("en", "webchat"): 2, ("fr", "sms"): 1, ("fr", "whatsapp"): 1}
    weeks = reports.get(KPIS, params={**MARCH, "group_by": "week"}, headers=ALPHA).json()["groups"]
    assert [g["key"]["week"] for g in weeks] == [
        "2026-02-23",
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]


def test_the_csv_report_is_the_json_report_in_columns(reports):
    params = {**MARCH, "group_by": "channel"}
    response = reports.get(KPIS, params=params, headers={**ALPHA, "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:3] == ["channel", "accounts_placed", "amount_placed_minor.EUR"]
    assert "liquidation" not in " ".join(header)  # a series: JSON only
    rows = {row["channel"]: row for row in rows_of(response)}
    groups = {g["key"]["channel"] or "": g for g in reports.get(KPIS, params=params, headers=ALPHA).json()["groups"]}
    assert set(rows) == set(groups) == {"sms", "webchat", "whatsapp", ""}
    # By hand: webchat has A2 and A7 placed (200 + 0 euros), C2 and C7 (8 messages), C2's dispute handoff.
    webchat = rows["webchat"]
    assert (webchat["accounts_placed"], webchat["amount_placed_minor.EUR"], webchat["messages"]) == ("2", "20000", "8")
    assert webchat["handoffs_by_reason.dispute"] == "1" and webchat["handoffs_by_reason.vulnerability"] == ""
    assert rows["whatsapp"]["opt_outs_per_100_conversations"] == "100.0"
    assert rows["sms"]["promise_to_pay_rate"] == str(groups["sms"]["promise_to_pay_rate"]) == "1.0"
    assert rows[""]["right_party_contact_rate"] == ""  # null: no conversation without a channel


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "2026-04-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
        ({"from": "2026-03-01T00:00:00", "to": "2026-04-01T00:00:00"}, "invalid_period"),
        ({"from": "2024-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
        ({**MARCH, "group_by": "variant"}, "unknown_grouping"),
        ({**MARCH, "group_by": "channel,week,month"}, "unknown_grouping"),
    ],
)
def test_questions_that_cannot_be_answered_are_422_problems_saying_why(reports, params, problem):
    response = reports.get(KPIS, params=params, headers=ALPHA)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:problem:{problem}"
    if problem == "unknown_grouping":
        assert "channel" in body["allowed"] and body["unknown"] and body["unknown"][0] in ("variant", "week")
    else:
        assert body["reason"]


def test_malformed_or_missing_instants_are_422_naming_the_field(reports):
    response = reports.get(KPIS, params={"from": "last month", "to": MARCH["to"]}, headers=ALPHA)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "from"]
    assert reports.get(KPIS, params={"from": MARCH["from"]}, headers=ALPHA).status_code == 422
    assert reports.get(OUTCOMES, params={"from": MARCH["to"], "to": MARCH["from"]}, headers=ALPHA).status_code == 422


def test_the_per_account_export_streams_one_line_per_account_placed_in_the_period(reports):
    response = reports.get(OUTCOMES, params=MARCH, headers=ALPHA)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(response.text))) == list(OUTCOME_COLUMNS)
    rows = rows_of(response)
    # In order of placement; A5 was placed at `to`, B1 is Beta's.
    assert [row["reference"] for row in rows] == ["A1", "A2", "A7", "A4"]
    a1, a2, a7, a4 = rows
    assert a1 == {
        "reference": "A1",
        "placed_at": "2026-03-02T10:00:00+00:00",
        "currency": "EUR",
        "language": "fr",
        "first_channel": "sms",
        "hardship_reason": "job_loss",
        "status_now": "active",
        "amount_placed_minor": "10000",
        "amount_recovered_minor": "3000",  # P1; P2 came in April
        "amount_outstanding_minor": "7000",
        "cured_at": "",
        "first_debtor_message_at": "2026-03-03T09:01:00+00:00",
        "verified_at": "2026-03-03T09:05:00+00:00",
        "commitments": "2",  # K0, replaced by K1
        "plans_kept": "0",
        "plans_broken": "0",
        "instalments_due": "2",  # I1 and I2 by `to` (K0's never fell due)
        "instalments_paid_on_time": "1",
        "disputes": "0",
        "handoffs": "0",
        "opt_outs": "0",
        "vulnerability_flags": "0",
    }
    assert (a2["first_channel"], a2["status_now"], a2["disputes"], a2["handoffs"], a2["amount_recovered_minor"]) == (
        "webchat",
        "disputed",
        "1",
        "1",
        "0",  # 50.00 paid and reversed
    )
    assert (a7["status_now"], a7["amount_placed_minor"], a7["cured_at"], a7["commitments"]) == ("closed", "0", "", "1")
    assert (a4["first_channel"], a4["first_debtor_message_at"], a4["amount_recovered_minor"]) == ("", "", "500")
    assert len(rows_of(reports.get(OUTCOMES, params=MARCH, headers=BETA))) == 1


def test_the_export_shows_a_cured_account_and_its_kept_plan(reports):
    rows = rows_of(reports.get(OUTCOMES, params={"from": "2026-02-01T00:00:00Z", "to": MARCH["to"]}, headers=ALPHA))
    (a3,) = [row for row in rows if row["reference"] == "A3"]
    assert (a3["currency"], a3["amount_placed_minor"], a3["amount_recovered_minor"], a3["amount_outstanding_minor"]) == (
        "GBP",
        "50000",
        "50000",
        "0",
    )
    assert a3["cured_at"] == "2026-03-15T10:00:00+00:00"
    assert (a3["plans_kept"], a3["instalments_due"], a3["instalments_paid_on_time"], a3["opt_outs"]) == ("1", "1", "1", "1")


def test_the_export_counts_what_was_said_on_the_accounts_number_before_verification(reports):
    rows = rows_of(reports.get(OUTCOMES, params={"from": "2026-01-01T00:00:00Z", "to": MARCH["to"]}, headers=ALPHA))
    (a6,) = [row for row in rows if row["reference"] == "A6"]
    # C6 was on A6's number, never verified: its handoff, opt-out and vulnerability flag are A6's all the same.
    assert (a6["first_channel"], a6["handoffs"], a6["opt_outs"], a6["vulnerability_flags"]) == ("whatsapp", "1", "1", "1")
    assert a6["verified_at"] == "" and a6["first_debtor_message_at"] == "2026-03-12T08:01:00+00:00"
    # K6 broke on 03-02: I5 (agreed for 02-20) and I6 (03-01) fell due, unpaid; I7 (03-20) never did.
    assert (a6["plans_broken"], a6["instalments_due"], a6["instalments_paid_on_time"]) == ("1", "2", "0")
    # 10.00 paid on 02-28; the 10.00 of 04-01 is after `to`.
    assert (a6["amount_placed_minor"], a6["amount_recovered_minor"], a6["amount_outstanding_minor"]) == ("30000", "1000", "29000")
