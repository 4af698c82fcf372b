"""NLU benchmark: intent quality on the held-out test sets and amount/date extraction accuracy.

Run with the Rasa environment, from the project root:

    .venv/rasa/bin/python -m bench.nlu [--model PATH] [--out var/bench/nlu] [--strict]

Loads the trained model with `rasa.core.agent.Agent.load`, parses every example of `tests/nlu/fr.yml`
and `tests/nlu/en.yml` (Rasa NLU yml), and prints per language: macro-F1 over the intents of the test
set, accuracy, a per-intent report, the confusion among the care signals and PASS/FAIL against the
targets. Then checks the `amount` and `date` entities on a built-in list of phrases whose expected
values are computed from today's date in Europe/Paris. Writes everything to `<out>/nlu.json`.
Exit code 0 unless `--strict` is given and a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"
DEFAULT_OUT = ROOT / "var" / "bench" / "nlu"
TEST_SETS = {"fr": ROOT / "tests" / "nlu" / "fr.yml", "en": ROOT / "tests" / "nlu" / "en.yml"}

CARE_SIGNALS = [
    "report_hardship",
    "dispute_debt",
    "express_vulnerability",
    "stop_contact",
    "request_human",
    "complain",
]
RECALL_TARGET_INTENTS = ["report_hardship", "dispute_debt", "express_vulnerability", "stop_contact", "request_human"]
MACRO_F1_TARGET = 0.95
RECALL_TARGET = 0.95
# A distress signal raised wrongly sends a debtor to the care answer instead of their question (issue 15 §5).
PRECISION_TARGET_INTENTS = ["express_vulnerability"]
PRECISION_TARGET = 0.92
OTHER = "other"
TIMEZONE = ZoneInfo("Europe/Paris")


# -------------------------------------------------------------------------------------------------------
# Expected values for the extraction check, computed from today so the list never goes stale
# -------------------------------------------------------------------------------------------------------


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def _first_of_next_month(today: dt.date) -> dt.date:
    return dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)


def next_day_of_month(today: dt.date, day: int) -> dt.date:
    """The first date on or after today that falls on this day of the month ("le 15")."""
    first = today.replace(day=1)
    while True:
        if day <= _days_in_month(first.year, first.month) and first.replace(day=day) >= today:
            return first.replace(day=day)
        first = _first_of_next_month(first)


def next_month_day(today: dt.date, month: int, day: int) -> dt.date:
    """The first date on or after today with this month and day ("le 5 décembre")."""
    candidate = dt.date(today.year, month, day)
    return candidate if candidate >= today else dt.date(today.year + 1, month, day)


def next_weekday(today: dt.date, weekday: int) -> dt.date:
    """The next such weekday strictly after today ("vendredi prochain", "next Friday")."""
    return today + dt.timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def end_of_month(today: dt.date) -> dt.date:
    """The last day of this month, or of the next one when today already is the last day."""
    last = today.replace(day=_days_in_month(today.year, today.month))
    if last > today:
        return last
    first = _first_of_next_month(today)
    return first.replace(day=_days_in_month(first.year, first.month))


@dataclass(frozen=True)
class Case:
    language: str
    text: str
    amount: str | None = None  # expected "<minor units> <CURRENCY>"; None: no amount expected
    date: dt.date | None = None  # expected ISO date; None: no date expected
    checks: tuple[str, ...] = ("amount", "date")  # which entity types this phrase is scored on


def extraction_cases(today: dt.date) -> list[Case]:
    d = dt.timedelta
    fri = 4
    return [
        # French amounts
        Case("fr", "je peux payer 30 euros par mois", amount="3000 EUR"),
        Case("fr", "je vous envoie 150 € ce soir", amount="15000 EUR", date=today),
        Case("fr", "je peux verser 45,50 € maintenant", amount="4550 EUR"),
        Case("fr", "cinquante euros par mois ça irait ?", amount="5000 EUR"),
        Case("fr", "je peux régler 1 200 euros d'un coup", amount="120000 EUR"),
        Case("fr", "100 balles le 15", amount="10000 EUR", date=next_day_of_month(today, 15)),
        Case("fr", "je peux mettre 80 demain", amount="8000 EUR", date=today + d(1)),
        Case("fr", "deux cents euros pas plus", amount="20000 EUR"),
        Case("fr", "30€50 tout de suite", amount="3050 EUR"),
        Case("fr", "j'ai 2 enfants à charge", checks=("amount",)),
        # French dates
        Case("fr", "je paierai demain", date=today + d(1)),
        Case("fr", "je peux payer après-demain", date=today + d(2)),
        Case("fr", "je peux payer le 15", date=next_day_of_month(today, 15)),
        Case("fr", "dans deux semaines ce sera possible", date=today + d(14)),
        Case("fr", "vendredi prochain", date=next_weekday(today, fri)),
        Case("fr", "je pourrai payer le 5 décembre", date=next_month_day(today, 12, 5)),
        Case("fr", "à la fin du mois", date=end_of_month(today)),
        Case("fr", "le 1er du mois prochain", date=_first_of_next_month(today)),
        Case("fr", "je peux payer aujourd'hui", date=today),
        Case("fr", "dans 10 jours", date=today + d(10)),
        # English amounts
        Case("en", "I can pay 30 euros a month", amount="3000 EUR"),
        Case("en", "I can pay £45 now", amount="4500 GBP"),
        Case("en", "fifty quid a week", amount="5000 GBP"),
        Case("en", "I'll send 150.75 euros", amount="15075 EUR"),
        Case("en", "I can do $200 by Friday", amount="20000 USD", date=next_weekday(today, fri)),
        Case("en", "I could manage a hundred pounds", amount="10000 GBP"),
        Case("en", "1,200 euros in one go", amount="120000 EUR"),
        Case("en", "I can pay 80 tomorrow", amount="8000 EUR", date=today + d(1)),
        Case("en", "two hundred and fifty euros", amount="25000 EUR"),
        Case("en", "I have 3 kids to feed", checks=("amount",)),
        # English dates
        Case("en", "I'll pay tomorrow", date=today + d(1)),
        Case("en", "the day after tomorrow", date=today + d(2)),
        Case("en", "I can pay on the 15th", date=next_day_of_month(today, 15)),
        Case("en", "in two weeks", date=today + d(14)),
        Case("en", "next Friday", date=next_weekday(today, fri)),
        Case("en", "I can pay on 5 December", date=next_month_day(today, 12, 5)),
        Case("en", "at the end of the month", date=end_of_month(today)),
        Case("en", "on the 1st of next month", date=_first_of_next_month(today)),
        Case("en", "I can pay today", date=today),
        Case("en", "in 10 days", date=today + d(10)),
    ]


# -------------------------------------------------------------------------------------------------------
# Parsing
# -------------------------------------------------------------------------------------------------------


@dataclass
class Parser:
    agent: Any
    latencies_ms: list[float] = field(default_factory=list)

    async def parse(self, text: str) -> dict[str, Any]:
        start = time.perf_counter()
        result = await self.agent.parse_message(text)
        self.latencies_ms.append((time.perf_counter() - start) * 1000)
        return result


def load_agent(model: Path) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    warnings.filterwarnings("ignore")  # TensorFlow, SQLAlchemy and Rasa deprecation noise
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the custom component lives in bot/
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)  # rasa's structlog would print every parse at debug level
    warnings.filterwarnings("ignore")  # again: importing rasa resets the filters
    for name in ("rasa", "tensorflow", "absl", "dateparser"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return Agent.load(str(model))


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of every example in a Rasa NLU yml file (entity annotations are stripped)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        text, intent = message.get("text"), message.get("intent")
        if text and intent:
            examples.append((text, intent))
    return examples


def _top_intent_without_fallback(parse: dict[str, Any]) -> str:
    for item in parse.get("intent_ranking") or []:
        if item.get("name") != "nlu_fallback":
            return item.get("name") or "None"
    return (parse.get("intent") or {}).get("name") or "None"


# -------------------------------------------------------------------------------------------------------
# Intent evaluation
# -------------------------------------------------------------------------------------------------------


def evaluate_language(
    language: str, examples: list[tuple[str, str]], predictions: list[dict[str, Any]], model_intents: set[str]
) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true = [intent for _, intent in examples]
    y_pred = [(p.get("intent") or {}).get("name") or "None" for p in predictions]
    y_raw = [_top_intent_without_fallback(p) for p in predictions]
    labels = sorted(set(y_true))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_intent = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s), "in_model": label in model_intents}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    macro_f1 = float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    macro_f1_raw = float(f1_score(y_true, y_raw, labels=labels, average="macro", zero_division=0))

    rows = CARE_SIGNALS + [OTHER]
    columns = CARE_SIGNALS + [OTHER]
    confusion = {row: {column: 0 for column in columns} for row in rows}
    for truth, predicted in zip(y_true, y_pred):
        confusion[truth if truth in CARE_SIGNALS else OTHER][predicted if predicted in CARE_SIGNALS else OTHER] += 1

    errors = [
        {
            "text": text,
            "intent": truth,
            "predicted": predicted,
            "confidence": float((p.get("intent") or {}).get("confidence") or 0.0),
        }
        for (text, truth), predicted, p in zip(examples, y_pred, predictions)
        if truth != predicted
    ]
    checks = [{"target": f"macro-F1 >= {MACRO_F1_TARGET:.2f}", "value": macro_f1, "passed": macro_f1 >= MACRO_F1_TARGET}]
    targets = [("recall", intent, RECALL_TARGET) for intent in RECALL_TARGET_INTENTS]
    targets += [("precision", intent, PRECISION_TARGET) for intent in PRECISION_TARGET_INTENTS]
    for metric, intent, target in targets:
        value = per_intent[intent][metric] if intent in per_intent else None
        checks.append(
            {
                "target": f"{metric}({intent}) >= {target:.2f}",
                "value": value,
                "passed": value is not None and value >= target,
                **({"note": "no test examples"} if value is None else {}),
            }
        )
    return {
        "language": language,
        "examples": len(examples),
        "intents": len(labels),
        "unknown_to_model": [label for label in labels if label not in model_intents],
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": macro_f1,
        "macro_f1_without_fallback": macro_f1_raw,
        "fallbacks": sum(1 for p in y_pred if p == "nlu_fallback"),
        "per_intent": per_intent,
        "predicted_outside_test_set": sorted(set(y_pred) - set(labels)),
        "care_confusion": {"rows_true_columns_predicted": columns, "matrix": confusion},
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
        "errors": errors,
    }


# -------------------------------------------------------------------------------------------------------
# Extraction evaluation
# -------------------------------------------------------------------------------------------------------


def evaluate_extraction(cases: list[Case], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    results = []
    tallies: dict[str, dict[str, dict[str, int]]] = {}
    for case, parse in zip(cases, predictions):
        entities = parse.get("entities") or []
        found = {kind: [e.get("value") for e in entities if e.get("entity") == kind] for kind in ("amount", "date")}
        expected = {"amount": case.amount, "date": case.date.isoformat() if case.date else None}
        outcome: dict[str, Any] = {"language": case.language, "text": case.text}
        for kind in case.checks:
            want = expected[kind]
            got = found[kind]
            correct = got == ([want] if want is not None else [])
            outcome[kind] = {"expected": want, "found": got, "correct": correct}
            tally = tallies.setdefault(case.language, {}).setdefault(kind, {"correct": 0, "total": 0})
            tally["total"] += 1
            tally["correct"] += int(correct)
        outcome["correct"] = all(outcome[k]["correct"] for k in case.checks)
        results.append(outcome)
    summary = {
        language: {kind: {**t, "accuracy": t["correct"] / t["total"] if t["total"] else None} for kind, t in kinds.items()}
        for language, kinds in tallies.items()
    }
    phrases_correct = sum(r["correct"] for r in results)
    return {
        "phrases": len(results),
        "phrases_correct": phrases_correct,
        "phrase_accuracy": phrases_correct / len(results) if results else None,
        "by_language": summary,
        "cases": results,
    }


# -------------------------------------------------------------------------------------------------------
# Printing
# -------------------------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.3f}"


def print_language(report: dict[str, Any]) -> None:
    lang = report["language"]
    print(f"\n=== Intents, {lang}: {report['examples']} examples, {report['intents']} intents ===")
    if report.get("missing"):
        print(f"  test set missing: {report['path']}  -> FAIL")
        return
    print(
        f"  macro-F1 {report['macro_f1']:.3f}   accuracy {report['accuracy']:.3f}   "
        f"(macro-F1 ignoring the fallback threshold {report['macro_f1_without_fallback']:.3f}; "
        f"nlu_fallback predicted {report['fallbacks']}x)"
    )
    if report["unknown_to_model"]:
        print(f"  intents not in the model (all their examples count as errors): {', '.join(report['unknown_to_model'])}")
    print(f"\n  {'intent':<26}{'prec':>7}{'recall':>8}{'f1':>7}{'support':>9}")
    for intent, m in report["per_intent"].items():
        flag = "" if m["in_model"] else "  (not in model)"
        print(f"  {intent:<26}{_fmt(m['precision']):>7}{_fmt(m['recall']):>8}{_fmt(m['f1']):>7}{m['support']:>9}{flag}")
    if report["predicted_outside_test_set"]:
        print(f"  also predicted: {', '.join(report['predicted_outside_test_set'])}")

    columns = report["care_confusion"]["rows_true_columns_predicted"]
    short = {
        "report_hardship": "hardship",
        "dispute_debt": "dispute",
        "express_vulnerability": "vulnerab",
        "stop_contact": "stop",
        "request_human": "human",
        "complain": "complain",
        OTHER: OTHER,
    }
    print("\n  care signals (rows: true, columns: predicted)")
    print("  " + " " * 24 + "".join(f"{short[c]:>9}" for c in columns))
    for row, counts in report["care_confusion"]["matrix"].items():
        print(f"  {row:<24}" + "".join(f"{counts[c]:>9}" for c in columns))

    print()
    for check in report["checks"]:
        note = f" ({check['note']})" if check.get("note") else ""
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['target']:<42} {_fmt(check['value'])}{note}")
    print(f"  {lang}: {'PASS' if report['passed'] else 'FAIL'}")


def print_extraction(report: dict[str, Any]) -> None:
    print(f"\n=== Amount and date extraction: {report['phrases_correct']}/{report['phrases']} phrases correct ===")
    for language, kinds in report["by_language"].items():
        parts = [f"{kind} {t['correct']}/{t['total']} ({t['accuracy']:.0%})" for kind, t in kinds.items()]
        print(f"  {language}: " + "   ".join(parts))
    wrong = [c for c in report["cases"] if not c["correct"]]
    for case in wrong:
        details = "; ".join(
            f"{kind}: expected {case[kind]['expected']}, found {case[kind]['found']}"
            for kind in ("amount", "date")
            if kind in case and not case[kind]["correct"]
        )
        print(f"  x [{case['language']}] {case['text']!r}: {details}")


# -------------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    model = Path(args.model).resolve()
    started = time.perf_counter()
    agent = load_agent(model)
    load_seconds = time.perf_counter() - started
    model_intents = set(agent.domain.intents) if agent.domain else set()
    parser = Parser(agent)
    print(f"model {model} loaded in {load_seconds:.1f}s ({len(model_intents)} intents in its domain)")

    languages = {}
    for language, path in args.test_sets.items():
        if not path.exists():
            languages[language] = {
                "language": language,
                "path": str(path),
                "missing": True,
                "examples": 0,
                "intents": 0,
                "passed": False,
            }
            continue
        examples = load_examples(path)
        predictions = [await parser.parse(text) for text, _ in examples]
        languages[language] = {"path": str(path), **evaluate_language(language, examples, predictions, model_intents)}
    intent_latencies = list(parser.latencies_ms)

    today = dt.datetime.now(TIMEZONE).date()
    cases = extraction_cases(today)
    extraction = evaluate_extraction(cases, [await parser.parse(case.text) for case in cases])

    latencies = parser.latencies_ms
    return {
        "model": str(model),
        "today": today.isoformat(),
        "model_load_seconds": load_seconds,
        "parse_ms": {
            "count": len(latencies),
            "median": statistics.median(latencies) if latencies else None,
            "p95": sorted(latencies)[int(0.95 * (len(latencies) - 1))] if latencies else None,
            "intent_examples_median": statistics.median(intent_latencies) if intent_latencies else None,
        },
        "targets": {
            "macro_f1": MACRO_F1_TARGET,
            "recall": RECALL_TARGET,
            "recall_intents": RECALL_TARGET_INTENTS,
            "precision": PRECISION_TARGET,
            "precision_intents": PRECISION_TARGET_INTENTS,
        },
        "languages": languages,
        "extraction": extraction,
        "passed": all(report["passed"] for report in languages.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="trained model (default: models/current.tar.gz)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder for nlu.json (default: var/bench/nlu)")
    parser.add_argument("--fr", default=str(TEST_SETS["fr"]), help="French test set (default: tests/nlu/fr.yml)")
    parser.add_argument("--en", default=str(TEST_SETS["en"]), help="English test set (default: tests/nlu/en.yml)")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target fails")
    args = parser.parse_args(argv)
    args.test_sets = {"fr": Path(args.fr), "en": Path(args.en)}

    report = asyncio.run(run(args))
    for language_report in report["languages"].values():
        print_language(language_report)
    print_extraction(report["extraction"])
    p = report["parse_ms"]
    if p["count"]:
        print(
            f"\nparse latency (in-process, no server): median {p['median']:.1f} ms, p95 {p['p95']:.1f} ms over {p['count']} messages"
        )
    print(
        f"\nOVERALL: {'PASS' if report['passed'] else 'FAIL'} (targets: macro-F1 >= {MACRO_F1_TARGET} per language, "
        f"recall >= {RECALL_TARGET} for {', '.join(RECALL_TARGET_INTENTS)}, "
        f"precision >= {PRECISION_TARGET} for {', '.join(PRECISION_TARGET_INTENTS)})"
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlu.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out / 'nlu.json'}")
    return 1 if args.strict and not report["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
