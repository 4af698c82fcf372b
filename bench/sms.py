"""SMS cost benchmark: segments per bot reply and per completed journey, in French and English.

Run with the api environment, from the project root:

    .venv/api/bin/python -m bench.sms

Starts the services and the local fake Twilio with `scripts.stack.Stack` over a throw-away database
(migrate + seed-demo), creates one fresh account per journey through the creditor API, and plays each
journey by SMS through signed webhooks (tests/e2e/phone_client.py). Every message the fake Twilio was asked
to send counts, with the segment count it computed (GSM-7: 160 characters alone, 153 per part; UCS-2: 70 /
67). Prints, per language, the average and maximum segments per bot reply and per completed journey, and
the share of replies in GSM-7; writes var/bench/sms.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from scripts.stack import ROOT, Stack, free_port
from tests.e2e.phone_client import PhoneDebtor

CREDITOR_KEY = "bench-creditor-key"
OUT = ROOT / "var" / "bench" / "sms.json"

IDENTITY = {
    "fr": {"date_of_birth": "1985-03-12", "postcode": "75011", "debtor_name": "Marie Dupont"},
    "en": {"date_of_birth": "1990-05-04", "postcode": "SW1A 1AA", "debtor_name": "Sarah Thompson"},
}
# Completed journeys, as debtors write them by text message ({reference} is the journey's account).
JOURNEYS = {
    "fr": {
        "hardship, plan, confirmation": [
            "Bonjour",
            "{reference}",
            "12/03/1985",
            "j'ai perdu mon emploi, je ne peux pas tout payer d'un coup",
            "je peux payer 30 euros par mois",
            "oui ça me va",
            "oui je confirme",
        ],
        "forgot, pay in full": [
            "Bonjour",
            "{reference}",
            "12/03/1985",
            "désolée j'ai complètement oublié",
            "je veux tout payer maintenant",
            "oui je confirme",
        ],
        "dispute": ["Bonjour", "{reference}", "12/03/1985", "je conteste, je n'ai jamais reçu cette facture", "non merci"],
        "questions": [
            "Bonjour",
            "{reference}",
            "12/03/1985",
            "c'est pour quoi cette dette ?",
            "il y a des frais ?",
            "comment je peux payer ?",
            "merci au revoir",
        ],
    },
    "en": {
        "hardship, plan, confirmation": [
            "Hello",
            "{reference}",
            "SW1A 1AA",
            "I lost my job and I can't pay it all at once",
            "I can pay 30 euros a month",
            "yes that works for me",
            "yes I agree",
        ],
        "forgot, pay in full": [
            "Hello",
            "{reference}",
            "SW1A 1AA",
            "sorry I completely forgot",
            "I want to pay the full amount now",
            "yes I agree",
        ],
        "dispute": ["Hello", "{reference}", "SW1A 1AA", "I dispute this, I never received this bill", "no thanks"],
        "questions": [
            "Hello",
            "{reference}",
            "SW1A 1AA",
            "what is this debt for?",
            "are there any fees?",
            "how can I pay?",
            "thanks, bye",
        ],
    },
}


def new_account(client: httpx.Client, language: str, n: int) -> dict[str, Any]:
    account = {
        "reference": f"CR-8{n:04d}",
        "phone": f"+336130{n:05d}" if language == "fr" else f"+447701{n:06d}",
        "language": language,
        "balance_minor": 38000,
        "fees_minor": 2000,
        "due_date": "2026-10-15",
        "origin": "Facture d'électricité n° 2026-0815" if language == "fr" else "Electricity bill 2026-0815",
        **IDENTITY[language],
    }
    client.post("/api/v1/accounts", json=account).raise_for_status()
    return account


def run(stack: Stack) -> dict[str, Any]:
    results: dict[str, Any] = {}
    n = 0
    with httpx.Client(base_url=stack.api_url, headers={"X-API-Key": CREDITOR_KEY}, timeout=30) as client:
        for language, journeys in JOURNEYS.items():
            per_reply: list[int] = []
            per_journey: dict[str, int] = {}
            encodings: list[str] = []
            over_two: list[str] = []
            for name, messages in journeys.items():
                n += 1
                account = new_account(client, language, n)
                debtor = PhoneDebtor(stack.twilio_url, stack.database_url, account["phone"])
                sent = [m for message in messages for m in debtor.say(message.format(reference=account["reference"]))]
                segments = [int(m["num_segments"]) for m in sent]
                per_reply += segments
                encodings += [m["encoding"] for m in sent]
                over_two += [f"{m['num_segments']}: {m['body'][:70]}..." for m in sent if int(m["num_segments"]) > 2]
                per_journey[name] = sum(segments)
                print(f"{language} {name}: {len(sent)} replies, {sum(segments)} segments", flush=True)
            results[language] = {
                "replies": len(per_reply),
                "segments_per_reply_mean": round(statistics.fmean(per_reply), 2),
                "segments_per_reply_max": max(per_reply),
                "replies_over_2_segments": sum(1 for s in per_reply if s > 2),
                "replies_over_2_segments_start": over_two,
                "gsm7_share": round(encodings.count("GSM-7") / len(encodings), 3),
                "segments_per_journey": per_journey,
                "segments_per_journey_mean": round(statistics.fmean(per_journey.values()), 1),
                "segments_per_journey_max": max(per_journey.values()),
            }
    return results


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    api_port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CREDITOR_API_KEY": CREDITOR_KEY, "PYTHONPATH": str(ROOT)}
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "api.cli", command], cwd=ROOT, env=env, check=True, capture_output=True)
    stack = Stack(
        api_port=api_port,
        rasa_port=free_port(),
        actions_port=free_port(),
        twilio_port=free_port(),
        database_url=database_url,
        log_dir=workdir / "log",
        # Numbers send turns back to back: lift the per-sender limit for the measure.
        extra_env={"CREDITOR_API_KEY": CREDITOR_KEY, "INBOUND_MESSAGES_PER_SENDER_PER_MINUTE": "100000"},
    )
    print(f"starting the stack (logs in {workdir / 'log'})...", flush=True)
    stack.start()
    try:
        results = run(stack)
    finally:
        stack.stop()
    print("\n=== SMS segments (GSM-7: 160 / 153 per part; UCS-2: 70 / 67) ===")
    print("lang  replies  per reply: mean  max  >2   GSM-7   per journey: mean  max")
    for language, r in results.items():
        print(
            f"{language:4}  {r['replies']:7}  {r['segments_per_reply_mean']:15.2f}  {r['segments_per_reply_max']:3}"
            f"  {r['replies_over_2_segments']:3}  {r['gsm7_share']:6.1%}  {r['segments_per_journey_mean']:17.1f}"
            f"  {r['segments_per_journey_max']:3}"
        )
        for start in r["replies_over_2_segments_start"]:
            print(f"      over 2 segments: {start}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"written {OUT}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
