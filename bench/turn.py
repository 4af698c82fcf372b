"""Bot-turn benchmark: one full turn through the api's web chat against a bare Rasa REST call, same run.

Run with the api environment, from the project root:

    .venv/api/bin/python -m bench.turn [--turns N] [--concurrency 1,16] [--baseline-config bench/configs/rasa_init.yml]

Starts the three services with `scripts.stack.Stack` on free ports over a throw-away SQLite database
(migrate + seed-demo, as the end-to-end tests do), then, for each concurrency level C, runs C conversations
at once, each doing N timed turns of the same message, two ways:

- api:  a python-socketio client speaking the rasa-webchat protocol to the api (store, relay to Rasa,
        store the replies, emit them); latency = emit('user_uttered') -> first 'bot_uttered', and the turn
        ends when the known number of replies has arrived;
- bare: `POST {rasa}/webhooks/rest/webhook` straight to the Rasa server, same text and metadata, one fresh
        sender per conversation (a conversation the api knows, so the bot's session start is the same).

Every conversation first gets an untimed warm-up message (default "merci": the api adds the opening, so the
conversation is past its disclosure), then the timed turns repeat "merci" -> utter_you_are_welcome, a
rule-based single reply. ("bonjour" would open the verification form, after which "merci" becomes a form
validation turn with an action-server call and two replies; pass --warmup bonjour to time that instead.) Reports median/p95 latency, turns/s, the api/bare ratio
of the medians (target <= 1.15) and the resident memory of each service. Writes var/bench/turn.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import socketio

from scripts.stack import RASA_BIN, ROOT, Service, Stack, free_port

CREDITOR_KEY = "bench-creditor-key"
REPLY_TIMEOUT = 60.0  # per reply; a turn that exceeds it counts as an error
PROBE_QUIET_SECONDS = 1.5  # only while counting the replies of the warm-up probe
RATIO_TARGET = 1.15
DEFAULT_OUT = ROOT / "var" / "bench" / "turn.json"


# -------------------------------------------------------------------------------------------------------
# Memory: VmRSS summed over each service's process tree
# -------------------------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _vm_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root_pid: int) -> float:
    children = _children_map()
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += _vm_rss_kb(pid)
        stack.extend(children.get(pid, []))
    return total / 1024


class MemorySampler:
    """Samples each service's tree RSS in a thread; `snapshot()` for now, `peak` since the last reset."""

    def __init__(self, services: dict[str, int], interval: float = 0.25) -> None:
        self.services = dict(services)
        self.interval = interval
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> dict[str, float]:
        return {name: round(tree_rss_mb(pid), 1) for name, pid in self.services.items()}

    def add(self, name: str, pid: int) -> None:
        with self._lock:
            self.services[name] = pid

    def reset_peak(self) -> None:
        with self._lock:
            self.peak = {}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                services = dict(self.services)
            sample = {name: tree_rss_mb(pid) for name, pid in services.items()}
            with self._lock:
                for name, mb in sample.items():
                    self.peak[name] = round(max(self.peak.get(name, 0.0), mb), 1)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# -------------------------------------------------------------------------------------------------------
# The two clients
# -------------------------------------------------------------------------------------------------------


@dataclass
class TurnResult:
    first_ms: float | None  # to the first reply (api) / to the response (bare)
    all_ms: float | None  # to the last expected reply
    texts: list[str] = field(default_factory=list)
    error: str | None = None


class WebChatConversation:
    """One debtor on the web chat (the rasa-webchat protocol, as tests/e2e/webchat_client.py)."""

    def __init__(self, base_url: str, language: str) -> None:
        self.base_url = base_url
        self.language = language
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session_id: str | None = None
        self.replies: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()

    async def open(self) -> None:
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sio.on("bot_uttered", lambda data: self.replies.put_nowait((time.perf_counter(), data)))
        self.sio.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        await self.sio.connect(self.base_url, socketio_path="socket.io", transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": None})
        self.session_id = await asyncio.wait_for(confirmed, 10)

    async def close(self) -> None:
        await self.sio.disconnect()

    async def _emit(self, text: str) -> float:
        while not self.replies.empty():  # a late reply of an earlier turn must not count for this one
            self.replies.get_nowait()
        start = time.perf_counter()
        await self.sio.emit(
            "user_uttered", {"message": text, "session_id": self.session_id, "customData": {"language": self.language}}
        )
        return start

    async def say_and_count(self, text: str) -> list[str]:
        """Untimed: every reply until a quiet period (to learn how many replies a message gets)."""
        await self._emit(text)
        texts = [(await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT))[1].get("text", "")]
        while True:
            try:
                texts.append((await asyncio.wait_for(self.replies.get(), PROBE_QUIET_SECONDS))[1].get("text", ""))
            except asyncio.TimeoutError:
                return texts

    async def turn(self, text: str, expected_replies: int) -> TurnResult:
        start = await self._emit(text)
        stamps, texts = [], []
        try:
            for _ in range(expected_replies):
                stamp, data = await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT)
                stamps.append(stamp)
                texts.append(data.get("text", ""))
        except asyncio.TimeoutError:
            return TurnResult(None, None, texts, f"timeout after {len(texts)}/{expected_replies} replies")
        return TurnResult((stamps[0] - start) * 1000, (stamps[-1] - start) * 1000, texts)


class RestConversation:
    """One conversation straight on Rasa's REST channel."""

    def __init__(self, client: httpx.AsyncClient, rasa_url: str, sender: str, metadata: dict[str, Any]) -> None:
        self.client = client
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = sender
        self.metadata = metadata

    async def post(self, text: str) -> list[str]:
        response = await self.client.post(self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata})
        response.raise_for_status()
        return [item.get("text", "") for item in response.json() or []]

    async def turn(self, text: str, expected_replies: int) -> TurnResult:
        start = time.perf_counter()
        try:
            texts = await self.post(text)
        except httpx.HTTPError as exc:
            return TurnResult(None, None, [], f"{type(exc).__name__}: {exc}")
        elapsed = (time.perf_counter() - start) * 1000
        return TurnResult(elapsed, elapsed, texts)


# -------------------------------------------------------------------------------------------------------
# Measurement
# -------------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarise(results: list[TurnResult], wall_seconds: float, expected_texts: list[str]) -> dict[str, Any]:
    ok = [r for r in results if r.error is None]
    first = [r.first_ms for r in ok if r.first_ms is not None]
    full = [r.all_ms for r in ok if r.all_ms is not None]
    return {
        "turns": len(results),
        "errors": sum(1 for r in results if r.error),
        "unexpected_replies": sum(1 for r in ok if r.texts != expected_texts),
        "error_examples": sorted({r.error for r in results if r.error})[:3],
        "median_ms": round(statistics.median(first), 1) if first else None,
        "p95_ms": round(percentile(first, 0.95), 1) if first else None,
        "median_all_replies_ms": round(statistics.median(full), 1) if full else None,
        "p95_all_replies_ms": round(percentile(full, 0.95), 1) if full else None,
        "turns_per_second": round(len(ok) / wall_seconds, 2) if wall_seconds > 0 else None,
        "wall_seconds": round(wall_seconds, 2),
    }


async def _run_conversations(conversations: list[Any], text: str, expected: int, turns: int) -> tuple[list[TurnResult], float]:
    async def one(conversation: Any) -> list[TurnResult]:
        return [await conversation.turn(text, expected) for _ in range(turns)]

    start = time.perf_counter()
    per_conversation = await asyncio.gather(*(one(c) for c in conversations))
    wall = time.perf_counter() - start
    return [r for results in per_conversation for r in results], wall


class Bench:
    def __init__(self, args: argparse.Namespace, stack: Stack, sampler: MemorySampler) -> None:
        self.args = args
        self.stack = stack
        self.sampler = sampler
        self.metadata = {"channel": "webchat", "language": args.language}
        self.http = httpx.AsyncClient(
            timeout=REPLY_TIMEOUT, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )
        self.expected: dict[str, list[str]] = {}

    def new_api_conversation_ids(self, count: int) -> list[str]:
        """Conversations the api knows (as the web chat would create them), for the bare Rasa senders, so
        that the action server's session start finds them exactly as on the api path."""
        from api.services.router import find_or_create_conversation  # noqa: PLC0415 (needs DATABASE_URL set)

        return [find_or_create_conversation("webchat", f"bench-{uuid.uuid4().hex}") for _ in range(count)]

    async def probe(self) -> dict[str, Any]:
        """Learns the replies of the warm-up and of the timed message on both paths."""
        web = WebChatConversation(self.stack.api_url, self.args.language)
        await web.open()
        try:
            api_warmup = await web.say_and_count(self.args.warmup)
            api_turn = await web.say_and_count(self.args.text)
            api_again = await web.say_and_count(self.args.text)
        finally:
            await web.close()
        rest = RestConversation(self.http, self.stack.rasa_url, self.new_api_conversation_ids(1)[0], self.metadata)
        rest_opening = await rest.post("/start_conversation")
        rest_warmup = await rest.post(self.args.warmup)
        rest_turn = await rest.post(self.args.text)
        rest_again = await rest.post(self.args.text)
        self.expected = {"api": api_turn, "bare": rest_turn}
        return {
            "api": {"warmup_replies": api_warmup, "turn_replies": api_turn, "repeat_consistent": api_again == api_turn},
            "bare": {
                "opening_replies": rest_opening,
                "warmup_replies": rest_warmup,
                "turn_replies": rest_turn,
                "repeat_consistent": rest_again == rest_turn,
            },
        }

    async def measure_api(self, concurrency: int, turns: int) -> tuple[list[TurnResult], float]:
        conversations = [WebChatConversation(self.stack.api_url, self.args.language) for _ in range(concurrency)]
        try:
            for conversation in conversations:
                await conversation.open()
            await asyncio.gather(*(c.say_and_count(self.args.warmup) for c in conversations))
            return await _run_conversations(conversations, self.args.text, len(self.expected["api"]), turns)
        finally:
            for conversation in conversations:
                await conversation.close()

    async def measure_bare(
        self,
        rasa_url: str,
        concurrency: int,
        turns: int,
        expected: list[str],
        api_known_senders: bool = True,
        opening: bool = True,
    ) -> tuple[list[TurnResult], float]:
        senders = (
            self.new_api_conversation_ids(concurrency)
            if api_known_senders
            else [f"bench-{uuid.uuid4().hex}" for _ in range(concurrency)]
        )
        conversations = [RestConversation(self.http, rasa_url, sender, self.metadata) for sender in senders]

        async def warm(conversation: RestConversation) -> None:
            if opening:
                await conversation.post("/start_conversation")  # what the api sends first in every conversation
            await conversation.post(self.args.warmup)

        await asyncio.gather(*(warm(c) for c in conversations))
        return await _run_conversations(conversations, self.args.text, len(expected), turns)

    async def interleaved(
        self, paths: dict[str, Any], concurrency: int, turns: int, expected: dict[str, list[str]]
    ) -> dict[str, Any]:
        """Times the paths in alternating blocks (A B, B A, A B...), so that the machine's drift during a run
        (other tenants of the host, caches) weighs on every path alike; each block opens fresh conversations."""
        sizes = [turns // self.args.blocks + (1 if i < turns % self.args.blocks else 0) for i in range(self.args.blocks)]
        results: dict[str, list[TurnResult]] = {name: [] for name in paths}
        walls: dict[str, float] = {name: 0.0 for name in paths}
        peaks: dict[str, dict[str, float]] = {name: {} for name in paths}
        for index, size in enumerate(s for s in sizes if s):
            for name in list(paths) if index % 2 == 0 else list(reversed(paths)):
                self.sampler.reset_peak()
                block, wall = await paths[name](concurrency, size)
                results[name] += block
                walls[name] += wall
                peaks[name] = {k: max(v, peaks[name].get(k, 0.0)) for k, v in self.sampler.peak.items()}
        return {name: {**summarise(results[name], walls[name], expected[name]), "peak_rss_mb": peaks[name]} for name in paths}

    async def close(self) -> None:
        await self.http.aclose()


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _rasa_model_loaded(status_url: str) -> bool:
    try:
        response = httpx.get(status_url, timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("model_file"))


def start_baseline_rasa(model: Path, stack: Stack, log_dir: Path) -> Service:
    port = free_port()
    # The same kind of tracker store as the stack's Rasa (a database of its own), so that the comparison
    # measures the api and nothing else.
    endpoints = log_dir / "rasa-baseline-endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: bot.tracker_store.ErasableSQLTrackerStore\n"
        f"  url: sqlite:///{(log_dir / 'rasa-baseline-trackers.db').resolve()}\n"
    )
    service = Service(
        "rasa-baseline",
        [
            str(RASA_BIN / "rasa"),
            "run",
            "--enable-api",
            "--model",
            str(model.resolve()),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(endpoints),
        ],
        f"http://127.0.0.1:{port}/status",
        stack._env(),
        log_dir / "rasa-baseline.log",
    )
    service.start()
    deadline = time.monotonic() + 240
    while not _rasa_model_loaded(service.ready_url):
        if service.process.poll() is not None or time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(f"the baseline Rasa server did not start; see {service.log_path}")
        time.sleep(0.5)
    return service


def turns_at(args: argparse.Namespace, concurrency: int) -> int:
    """Timed turns per conversation: `--turns`, or 100 for one conversation and 10 each above."""
    return args.turns or (100 if concurrency == 1 else 10)


async def run(args: argparse.Namespace, stack: Stack, log_dir: Path) -> dict[str, Any]:
    pids = {s.name: s.process.pid for s in stack.services if s.process}
    sampler = MemorySampler(pids)
    sampler.start()
    bench = Bench(args, stack, sampler)
    report: dict[str, Any] = {"text": args.text, "warmup": args.warmup, "language": args.language, "runs": {}}
    try:
        report["probe"] = await bench.probe()
        report["rss_mb_idle"] = sampler.snapshot()

        def bare_current(concurrency: int, turns: int) -> Any:
            return bench.measure_bare(stack.rasa_url, concurrency, turns, bench.expected["bare"])

        print(
            f"timed message {args.text!r}: api replies {len(bench.expected['api'])}, "
            f"bare replies {len(bench.expected['bare'])}: {bench.expected['api']!r}",
            flush=True,
        )
        for concurrency in args.concurrency:
            turns = turns_at(args, concurrency)
            print(f"concurrency {concurrency}: {concurrency} conversation(s) x {turns} turns...", flush=True)
            measured = await bench.interleaved(
                {
                    "api": bench.measure_api,
                    "bare": bare_current,
                },
                concurrency,
                turns,
                bench.expected,
            )
            api, bare = measured["api"], measured["bare"]
            report["runs"][str(concurrency)] = {
                "turns_per_conversation": turns,
                "api": api,
                "bare": bare,
                "ratio_api_bare_median": _ratio(api["median_ms"], bare["median_ms"]),
                "ratio_api_bare_p95": _ratio(api["p95_ms"], bare["p95_ms"]),
            }
        report["rss_mb_after"] = sampler.snapshot()

        if args.baseline_model:
            print(f"baseline model {args.baseline_model}: starting a second Rasa server...", flush=True)
            baseline = start_baseline_rasa(Path(args.baseline_model), stack, log_dir)
            try:
                sampler.add("rasa-baseline", baseline.process.pid)
                url = baseline.ready_url.rsplit("/status", 1)[0]
                probe = RestConversation(bench.http, url, f"bench-{uuid.uuid4().hex}", bench.metadata)
                await probe.post(args.warmup)
                expected = await probe.post(args.text)
                report["baseline"] = {
                    "model": str(Path(args.baseline_model).resolve()),
                    "turn_replies": expected,
                    "rss_mb_idle": sampler.snapshot()["rasa-baseline"],
                    "runs": {},
                }
                for concurrency in args.concurrency:
                    turns = turns_at(args, concurrency)
                    print(f"baseline, concurrency {concurrency}...", flush=True)
                    # The chosen model and the baseline, both bare Rasa, interleaved the same way.
                    pair = await bench.interleaved(
                        {
                            "current": bare_current,
                            "baseline": lambda c, t: bench.measure_bare(
                                url, c, t, expected, api_known_senders=False, opening=False
                            ),
                        },
                        concurrency,
                        turns,
                        {"current": bench.expected["bare"], "baseline": expected},
                    )
                    result, current = pair["baseline"], pair["current"]
                    report["baseline"]["runs"][str(concurrency)] = {
                        **result,
                        "ratio_current_baseline_median": _ratio(current["median_ms"], result["median_ms"]),
                    }
                report["baseline"]["ratio_rss_current_baseline"] = _ratio(
                    report["rss_mb_after"].get("rasa"), report["baseline"]["rss_mb_idle"]
                )
            finally:
                baseline.stop()
    finally:
        sampler.stop()
        await bench.close()
    return report


# -------------------------------------------------------------------------------------------------------
# Output
# -------------------------------------------------------------------------------------------------------


def _f(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_report(report: dict[str, Any]) -> None:
    print(f"\n=== One bot turn: {report['text']!r} after a {report['warmup']!r} warm-up ===")
    header = f"{'conc':>4} {'path':<6}{'turns':>6}{'err':>5}{'median ms':>11}{'p95 ms':>9}{'all-replies med':>17}{'turns/s':>9}"
    print(header)
    for concurrency, run in report["runs"].items():
        for path in ("api", "bare"):
            r = run[path]
            errors = r["errors"] + r["unexpected_replies"]
            print(
                f"{concurrency:>4} {path:<6}{r['turns']:>6}{errors:>5}{_f(r['median_ms']):>11}{_f(r['p95_ms']):>9}"
                f"{_f(r['median_all_replies_ms']):>17}{_f(r['turns_per_second'], '.2f'):>9}"
            )
        ratio = run["ratio_api_bare_median"]
        verdict = "-" if ratio is None else ("PASS" if ratio <= RATIO_TARGET else "FAIL")
        print(
            f"{'':>4} api/bare median {_f(ratio, '.3f')} (target <= {RATIO_TARGET}) {verdict};"
            f"  p95 {_f(run['ratio_api_bare_p95'], '.3f')}"
        )
    if "baseline" in report:
        b = report["baseline"]
        print(f"\nbaseline model (bare Rasa): {b['model']}")
        for concurrency, r in b["runs"].items():
            print(
                f"{concurrency:>4} {'base':<6}{r['turns']:>6}{r['errors'] + r['unexpected_replies']:>5}{_f(r['median_ms']):>11}"
                f"{_f(r['p95_ms']):>9}{_f(r['median_all_replies_ms']):>17}{_f(r['turns_per_second'], '.2f'):>9}"
                f"   current/baseline median {_f(r['ratio_current_baseline_median'], '.3f')}"
            )
    print("\nresident memory (MB, VmRSS summed over each process tree)")
    names = list(report["rss_mb_idle"])
    print(f"{'':<22}" + "".join(f"{n:>10}" for n in names) + f"{'total':>10}")
    rows = [("idle (after probe)", report["rss_mb_idle"]), ("after the runs", report.get("rss_mb_after", {}))]
    rows += [(f"peak, conc {c} {p}", run[p]["peak_rss_mb"]) for c, run in report["runs"].items() for p in ("api", "bare")]
    for label, values in rows:
        total = sum(values.get(n, 0) for n in names)
        print(f"{label:<22}" + "".join(f"{_f(values.get(n)):>10}" for n in names) + f"{total:>10.1f}")
    if "baseline" in report:
        b = report["baseline"]
        print(f"baseline rasa idle {b['rss_mb_idle']:.1f} MB; rasa/baseline {_f(b['ratio_rss_current_baseline'], '.2f')}")
    bad = {k: v for k, v in report["probe"].items() if not v["repeat_consistent"]}
    if bad:
        print(f"warning: the timed message does not get the same replies twice on {', '.join(bad)}: figures may mix turns")


def baseline_model(config: Path) -> Path:
    """A model trained with `config` on this project's domain and data (cached: trained once per change)."""
    inputs = [config, ROOT / "domain.yml", *sorted((ROOT / "data").rglob("*.yml")), *sorted((ROOT / "bot").glob("*.py"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()[:16]
    out = ROOT / "var" / "bench" / "models"
    model = out / f"baseline-{config.stem}-{digest}.tar.gz"
    if not model.exists():
        print(f"training the baseline model with {config} (once per change of the data; ~20 min on 2 cores)...", flush=True)
        subprocess.run(
            [
                str(RASA_BIN / "rasa"),
                "train",
                "--config",
                str(config),
                "--out",
                str(out),
                "--fixed-model-name",
                model.name.removesuffix(".tar.gz"),
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--turns", type=int, default=None, help="timed turns per conversation (default: 100 at concurrency 1, 10 above)"
    )
    parser.add_argument("--concurrency", default="1,16", help="comma-separated concurrency levels (default 1,16)")
    parser.add_argument("--text", default="merci", help="the timed message (default: merci)")
    parser.add_argument(
        "--warmup", default="merci", help="untimed first message of every conversation (default: merci; see bench/README.md)"
    )
    parser.add_argument("--language", default="fr", choices=["fr", "en"])
    parser.add_argument(
        "--blocks", type=int, default=6, help="timed turns are split into this many blocks, the paths alternating (default 6)"
    )
    parser.add_argument("--baseline-model", default=None, help="also time bare Rasa turns with this model")
    parser.add_argument(
        "--baseline-config",
        default=None,
        help="train (once, cached in var/bench/models) a baseline model with this config and time it",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output (default var/bench/turn.json)")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away database and logs")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.baseline_config and not args.baseline_model:
        args.baseline_model = str(baseline_model(Path(args.baseline_config)))
    if any(c < 1 or c > 64 for c in args.concurrency) or (args.turns is not None and not 1 <= args.turns <= 500):
        parser.error("concurrency must be within 1..64 and --turns within 1..500")

    workdir = Path(tempfile.mkdtemp(prefix="bench-turn-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    api_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CREDITOR_API_KEY": CREDITOR_KEY,
        "API_PORT": str(api_port),
        "PYTHONPATH": str(ROOT),
    }
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "api.cli", command], cwd=ROOT, env=env, check=True, capture_output=True)
    # This process creates the bare path's conversations in the same database.
    os.environ.update({"DATABASE_URL": database_url, "CREDITOR_API_KEY": CREDITOR_KEY, "API_PORT": str(api_port)})

    stack = Stack(
        api_port=api_port,
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=database_url,
        twilio_port=None,
        log_dir=workdir / "log",
        # Every timed conversation is a new web-chat session from this one address, and a conversation sends
        # turns back to back: lift the per-client and per-sender limits.
        extra_env={
            "CREDITOR_API_KEY": CREDITOR_KEY,
            "WEBCHAT_SESSIONS_PER_CLIENT_PER_HOUR": "100000",
            "INBOUND_MESSAGES_PER_SENDER_PER_MINUTE": "100000",
            "SCHEDULER_ENABLED": "false",
        },
    )
    print(f"starting the stack (logs in {workdir / 'log'})...", flush=True)
    started = time.perf_counter()
    try:
        stack.start()
        print(f"ready in {time.perf_counter() - started:.0f}s: api {stack.api_url}, rasa {stack.rasa_url}", flush=True)
        report = asyncio.run(run(args, stack, workdir / "log"))
    finally:
        stack.stop()
    report["ratio_target"] = RATIO_TARGET
    report["cpus"] = os.cpu_count()
    print_report(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out}")
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
