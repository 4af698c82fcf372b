"""`rasa data validate`, made strict: every warning fails, except one that Rasa cannot know about.

Rasa warns that a response is "not used in any story or rule" when only a custom action utters it
(with values the action computes) or when a form asks for a slot with it (`utter_ask_<slot>`). Such a
response is accepted when the actions' code names it or a form requires the slot. Rasa also warns about an
intent without training examples: accepted only for intents the api sends as payloads, never typed.
Any other warning, or a response nobody utters, fails the check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
UNUSED = re.compile(r"The utterance '(utter_[a-z_]+)' is not used in any story or rule\.")
NO_EXAMPLES = re.compile(r"The intent '([a-z_]+)' is listed in the domain file, but is not found in the NLU training data\.")
# Sent by the api (router.OPENING_PAYLOAD), never typed by a debtor.
PAYLOAD_ONLY_INTENTS = {"start_conversation"}


def asked_by_a_form(name: str, domain: dict) -> bool:
    required = {slot for form in (domain.get("forms") or {}).values() for slot in form.get("required_slots", [])}
    return name.startswith("utter_ask_") and name.removeprefix("utter_ask_") in required


def uttered_by_actions(name: str, actions_code: str) -> bool:
    if f'"{name}"' in actions_code:
        return True
    # Responses chosen by a reason code, e.g. response=f"utter_reason_{reason}".
    return any(name.startswith(prefix) for prefix in re.findall(r'f"(utter_[a-z_]+)\{', actions_code))


def main() -> int:
    rasa = ROOT / ".venv" / "rasa" / "bin" / "rasa"
    result = subprocess.run([str(rasa), "data", "validate", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    output = result.stdout + result.stderr
    actions_code = "\n".join(p.read_text() for p in (ROOT / "actions").glob("*.py"))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    problems = []
    for line in output.splitlines():
        if "UserWarning" not in line and "Error" not in line:
            continue
        unused = UNUSED.search(line)
        if unused and (uttered_by_actions(unused.group(1), actions_code) or asked_by_a_form(unused.group(1), domain)):
            continue
        no_examples = NO_EXAMPLES.search(line)
        if no_examples and no_examples.group(1) in PAYLOAD_ONLY_INTENTS:
            continue
        problems.append(line.strip())
    if result.returncode != 0 or problems:
        print(output if result.returncode != 0 else "\n".join(problems))
        print(f"rasa data validate: {len(problems)} problem(s), exit code {result.returncode}")
        return 1
    print("rasa data validate: clean (responses uttered only by custom actions are accounted for)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
