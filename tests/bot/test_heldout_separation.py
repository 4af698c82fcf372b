"""The held-out and independent NLU test sets stay held out: no test example is also a training example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def normalised(example: str) -> str:
    text = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", example)  # entity annotations
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def examples(paths: list[Path]) -> set[str]:
    found = set()
    for path in paths:
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in item.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    found.add(normalised(line.strip()[2:]))
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_held_out_example_is_in_the_training_data(language):
    training = examples(sorted((ROOT / "data" / "nlu" / language).glob("*.yml")))
    held_out = examples([ROOT / "tests" / "nlu" / f"{language}.yml"])
    assert len(held_out) >= 33 * 20
    assert sorted(held_out & training) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_independent_example_is_in_the_training_data(language):
    """The independent set (written by hands that never read the training data) must not leak into it either."""
    training = examples(sorted((ROOT / "data" / "nlu" / language).glob("*.yml")))
    independent = examples([ROOT / "tests" / "nlu_independent" / f"{language}.yml"])
    assert len(independent) >= 33 * 10
    assert sorted(independent & training) == []
