"""Pipeline comparison by stratified k-fold cross-validation, per language, on the training data.

Run with the Rasa environment, from the project root:

    .venv/rasa/bin/python -m bench.nlu_cv [--configs bench/configs/a.yml ...] [--folds 5] [--languages fr,en]

For each language, the examples of `data/nlu/<language>/` are split once into K stratified folds (fixed
seed, so every configuration sees exactly the same splits). For each configuration and fold, an NLU model is
trained on the other K-1 folds and parses the held-back one; the predicted intent is the one the bot would
act on (`nlu_fallback` counts as an error), scored as in `bench.nlu` (macro-F1 over intents, accuracy,
recall of the care signals). Reported per configuration: mean and standard deviation over the folds, training
time per fold and median parse time, and the fallback threshold that costs least on the out-of-fold
predictions (`calibrate`). Every finished fold is saved at once in `<out>/cv.json`; a rerun with `--resume`
skips the folds already there. `<out>/cv.md` holds the table for docs/nlu.md. Run with
`RASA_MAX_CACHE_SIZE=0` so that Rasa's training cache does not reuse work across configurations and folds.

The held-out test set of `bench.nlu` (tests/nlu/) is not used here: it stays for the final check of the
chosen configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.nlu import RECALL_TARGET_INTENTS, ROOT, evaluate_language, load_agent

DEFAULT_CONFIGS = [ROOT / "bench" / "configs" / name for name in ("tfidf_logreg.yml", "char_logreg.yml", "char_bag.yml")]
DEFAULT_OUT = ROOT / "var" / "bench" / "cv"
SEED = 1


def folds_for(language: str, k: int) -> list[tuple[Any, Any]]:
    """K stratified (train, test) splits of the language's training data, the same for every configuration."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    data = load_data(str(ROOT / "data" / "nlu" / language))
    examples = data.intent_examples
    labels = [example.get("intent") for example in examples]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    return [
        (TrainingData(training_examples=[examples[i] for i in train]), [examples[i] for i in test])
        for train, test in splitter.split(examples, labels)
    ]


def train(config: Path, train_data: Any, workdir: Path, name: str) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    nlu_path = workdir / f"{name}.yml"
    nlu_path.write_text(train_data.nlu_as_yaml(), encoding="utf-8")
    start = time.perf_counter()
    model = train_nlu(str(config), str(nlu_path), str(workdir), fixed_model_name=name)
    if model is None:
        raise RuntimeError(f"training failed for {name}")
    return Path(model), time.perf_counter() - start


async def score(model: Path, language: str, test: list[Any]) -> dict[str, Any]:
    agent = load_agent(model)
    model_intents = set(agent.domain.intents) if agent.domain else set()
    examples = [(message.get("text"), message.get("intent")) for message in test]
    predictions, latencies = [], []
    for text, _ in examples:
        start = time.perf_counter()
        predictions.append(await agent.parse_message(text))
        latencies.append((time.perf_counter() - start) * 1000)
    report = evaluate_language(language, examples, predictions, model_intents or {i for _, i in examples})
    return {
        # Out-of-fold: (true intent, the classifier's top intent before the fallback, its confidence), for
        # calibrating the fallback threshold (`calibrate`).
        "predictions": [[intent, *_top_without_fallback(p)] for (_, intent), p in zip(examples, predictions)],
        "macro_f1": report["macro_f1"],
        "accuracy": report["accuracy"],
        "fallbacks": report["fallbacks"],
        "recall": {intent: report["per_intent"].get(intent, {}).get("recall") for intent in RECALL_TARGET_INTENTS},
        "parse_ms_median": statistics.median(latencies),
        "examples": len(examples),
    }


def _top_without_fallback(parse: dict[str, Any]) -> tuple[str, float]:
    for item in parse.get("intent_ranking") or []:
        if item.get("name") != "nlu_fallback":
            return item.get("name") or "None", float(item.get("confidence") or 0.0)
    intent = parse.get("intent") or {}
    return intent.get("name") or "None", float(intent.get("confidence") or 0.0)


# What a message the bot asks to rephrase costs, against 1 for a message it acts on wrongly: asking again is
# half as bad as answering the wrong question (and a second miss in a row goes to a person).
FALLBACK_COST = 0.5
THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 19)]


def calibrate(folds: list[dict[str, Any]]) -> dict[str, Any]:
    """The fallback threshold that costs least on the out-of-fold predictions: below it the bot asks to
    rephrase (cost FALLBACK_COST), above it acts on its top intent (cost 1 when wrong)."""
    pooled = [row for fold in folds for row in fold.get("predictions", [])]
    if not pooled:
        return {}
    rows = []
    for threshold in THRESHOLDS:
        fallbacks = sum(1 for _, _, confidence in pooled if confidence < threshold)
        wrong = sum(1 for truth, top, confidence in pooled if confidence >= threshold and top != truth)
        rows.append(
            {
                "threshold": threshold,
                "fallback_rate": fallbacks / len(pooled),
                "wrong_rate": wrong / len(pooled),
                "cost": (wrong + FALLBACK_COST * fallbacks) / len(pooled),
            }
        )
    return {"best": min(rows, key=lambda row: (row["cost"], row["threshold"])), "table": rows, "examples": len(pooled)}


def at_threshold(fold: dict[str, Any], threshold: float) -> dict[str, Any]:
    """A fold's macro-F1, accuracy and care-signal recall had the fallback threshold been `threshold`,
    recomputed from its out-of-fold predictions: every configuration compared at its own calibrated threshold."""
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rows = fold.get("predictions") or []
    truth = [row[0] for row in rows]
    predicted = [row[1] if row[2] >= threshold else "nlu_fallback" for row in rows]
    labels = sorted(set(truth))
    recalls = recall_score(truth, predicted, labels=RECALL_TARGET_INTENTS, average=None, zero_division=0)
    return {
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(truth, predicted)),
        "recall": {intent: float(value) for intent, value in zip(RECALL_TARGET_INTENTS, recalls)},
    }


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key, folds in results["folds"].items():
        language, config = key.split("|")
        done = [folds[str(i)] for i in range(results["k"]) if str(i) in folds]
        if not done:
            continue
        row = {"folds": len(done)}
        for metric in ("macro_f1", "accuracy", "train_seconds", "parse_ms_median"):
            row[metric] = _mean_sd([fold[metric] for fold in done])
        row["recall"] = {
            intent: _mean_sd([fold["recall"][intent] for fold in done if fold["recall"][intent] is not None])
            for intent in RECALL_TARGET_INTENTS
        }
        row["calibration"] = calibrate(done).get("best")
        if row["calibration"] and all(fold.get("predictions") for fold in done):
            rescored = [at_threshold(fold, row["calibration"]["threshold"]) for fold in done]
            row["calibrated"] = {
                "macro_f1": _mean_sd([r["macro_f1"] for r in rescored]),
                "accuracy": _mean_sd([r["accuracy"] for r in rescored]),
                "recall": {i: _mean_sd([r["recall"][i] for r in rescored]) for i in RECALL_TARGET_INTENTS},
            }
        summary.setdefault(language, {})[config] = row
    return summary


def markdown(summary: dict[str, Any], k: int) -> str:
    short = {
        "report_hardship": "hardship",
        "dispute_debt": "dispute",
        "express_vulnerability": "vulnerab.",
        "stop_contact": "stop",
        "request_human": "human",
    }
    lines = []
    for language, rows in summary.items():
        lines += [
            f"**{language}** ({k}-fold, mean ± sd over the folds)",
            "",
            "| configuration | folds | macro-F1 | accuracy | "
            + " | ".join(f"recall {short[i]}" for i in RECALL_TARGET_INTENTS)
            + " | train s/fold | parse ms |",
            "|---|---|---|---|" + "---|" * len(RECALL_TARGET_INTENTS) + "---|---|",
        ]
        for config, row in rows.items():
            recalls = " | ".join(f"{row['recall'][i][0]:.3f}" for i in RECALL_TARGET_INTENTS)
            lines.append(
                f"| {config} | {row['folds']} | {row['macro_f1'][0]:.3f} ± {row['macro_f1'][1]:.3f} | "
                f"{row['accuracy'][0]:.3f} ± {row['accuracy'][1]:.3f} | {recalls} | "
                f"{row['train_seconds'][0]:.0f} | {row['parse_ms_median'][0]:.1f} |"
            )
        lines.append("")
        calibrated = [(config, row["calibration"]) for config, row in rows.items() if row.get("calibration")]
        if calibrated:
            lines += [
                f"Fallback threshold with the least cost on the out-of-fold predictions ({language}; a wrong action "
                f"costs 1, asking to rephrase {FALLBACK_COST}):",
                "",
                "| configuration | threshold | asked to rephrase | acted on wrongly |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {config} | {best['threshold']:.2f} | {best['fallback_rate']:.1%} | {best['wrong_rate']:.1%} |"
                for config, best in calibrated
            ]
            lines.append("")
        rescored = [(config, row["calibrated"]) for config, row in rows.items() if row.get("calibrated")]
        if rescored:
            lines += [
                f"Each configuration at its own calibrated threshold ({language}, recomputed from the same "
                "out-of-fold predictions):",
                "",
                "| configuration | macro-F1 | accuracy | "
                + " | ".join(f"recall {short[i]}" for i in RECALL_TARGET_INTENTS)
                + " |",
                "|---|---|---|" + "---|" * len(RECALL_TARGET_INTENTS),
            ]
            for config, row in rescored:
                recalls = " | ".join(f"{row['recall'][i][0]:.3f}" for i in RECALL_TARGET_INTENTS)
                lines.append(
                    f"| {config} | {row['macro_f1'][0]:.3f} ± {row['macro_f1'][1]:.3f} | "
                    f"{row['accuracy'][0]:.3f} ± {row['accuracy'][1]:.3f} | {recalls} |"
                )
            lines.append("")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cv.json"
    results: dict[str, Any] = {"k": args.folds, "seed": SEED, "folds": {}}
    if args.resume and path.exists():
        results = json.loads(path.read_text(encoding="utf-8"))
    configs = [Path(c) for c in args.configs]
    for language in args.languages.split(","):
        splits = folds_for(language, args.folds)
        for i, (train_data, test) in enumerate(splits):
            for config in configs:
                key = f"{language}|{config.stem}"
                if str(i) in results["folds"].get(key, {}):
                    continue
                with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
                    model, seconds = train(config, train_data, Path(tmp), f"{language}-{config.stem}-{i}")
                    fold = await score(model, language, test)
                fold["train_seconds"] = seconds
                results["folds"].setdefault(key, {})[str(i)] = fold
                path.write_text(json.dumps(results, indent=1), encoding="utf-8")
                print(
                    f"{language} fold {i + 1}/{args.folds} {config.stem}: macro-F1 {fold['macro_f1']:.3f}, "
                    f"accuracy {fold['accuracy']:.3f}, trained in {seconds:.0f}s",
                    flush=True,
                )
    results["summary"] = summarise(results)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = markdown(results["summary"], args.folds)
    (out / "cv.md").write_text(table, encoding="utf-8")
    print(table)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=[str(c) for c in DEFAULT_CONFIGS])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--languages", default="fr,en")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--resume", action="store_true", help="keep the folds already in <out>/cv.json")
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
