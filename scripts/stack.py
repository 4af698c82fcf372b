"""Starts the services (Rasa server, action server, api, local fake Twilio) with readiness checks, and stops them.

Used by `make run` (in the foreground, Ctrl-C stops them all) and by the end-to-end tests (free ports,
a throw-away database). The fake Twilio (scripts/fake_twilio.py) stands in for Twilio's REST API in the
default configuration, so SMS and WhatsApp work locally without reaching the internet; `twilio_port=None`
leaves it out (for a deployment that sets TWILIO_API_BASE_URL to Twilio itself).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RASA_BIN = ROOT / ".venv" / "rasa" / "bin"
API_BIN = ROOT / ".venv" / "api" / "bin"
if str(ROOT) not in sys.path:  # `python scripts/stack.py` (make run): the api's modules are importable too
    sys.path.insert(0, str(ROOT))


# Supervision: the longest pause before restarting a service that keeps dying, and how long a service must
# stay up for its next death to count as new (the pause starts again from 1 s).
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    command: list[str]
    ready_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    # Supervision: stopped on purpose (not restarted), restarts so far, and when the current run began.
    stopped: bool = False
    restarts: int = 0
    started_at: float = 0.0

    def start(self) -> None:
        self.stopped = False
        self.started_at = time.monotonic()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def is_ready(self) -> bool:
        from api.core.rasa_auth import bearer

        headers = bearer(Path(self.env["RASA_JWT_PRIVATE_KEY_FILE"])) if self.name == "rasa" else {}
        try:
            response = httpx.get(self.ready_url, timeout=2, headers=headers)
        except httpx.HTTPError:
            return False
        if self.name == "rasa":  # up is not enough: the model must be loaded
            return response.status_code == 200 and bool(response.json().get("model_file"))
        return response.status_code == 200

    def died(self) -> bool:
        """It exited without being asked to."""
        return not self.stopped and self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        self.stopped = True
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class Stack:
    api_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    database_url: str | None = None
    twilio_port: int | None = 8010
    log_dir: Path = ROOT / "var" / "log"
    # Where Rasa keeps the conversations' state (a database URL); default: SQLite beside the logs' folder.
    tracker_store_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    _supervisor: threading.Thread | None = None
    _supervising: threading.Event = field(default_factory=threading.Event)
    _changing: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def rasa_tracker_store_url(self) -> str:
        return self.tracker_store_url or f"sqlite:///{(self.log_dir.parent / 'rasa-trackers.db').resolve()}"

    @property
    def twilio_url(self) -> str:
        return f"http://127.0.0.1:{self.twilio_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "API_PORT": str(self.api_port),
                "API_URL": self.api_url,
                "RASA_URL": self.rasa_url,
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
                "RASA_TRACKER_STORE_URL": self.rasa_tracker_store_url,
                # Rasa -> action server secret; a deployment sets its own (refused as is in production).
                "ACTION_SERVER_TOKEN": os.environ.get("ACTION_SERVER_TOKEN", "dev-action-server-token"),
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                # A debtors' system sends nothing anywhere: Rasa's anonymous telemetry is off.
                "RASA_TELEMETRY_ENABLED": "false",
            }
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.twilio_port is not None:
            env.update(
                {
                    "TWILIO_API_BASE_URL": self.twilio_url,
                    "FAKE_TWILIO_PORT": str(self.twilio_port),
                    "FAKE_TWILIO_WEBHOOK_BASE": self.api_url,
                }
            )
            # The fake and the api must share the (development) credentials Twilio would sign with.
            env.setdefault("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000")
            env.setdefault("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token")
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 240) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        model = ROOT / "models" / "current.tar.gz"
        if not model.exists():
            raise RuntimeError("No trained model: run `make setup` first.")
        from api.core.rasa_auth import ensure_key_pair

        key_file = Path(env.get("RASA_JWT_PRIVATE_KEY_FILE") or ROOT / "var" / "rasa-jwt-key.pem")
        env["RASA_JWT_PRIVATE_KEY_FILE"] = str(key_file)
        public_key = ensure_key_pair(key_file)
        self.services = (
            []
            if self.twilio_port is None
            else [
                Service(
                    "twilio-fake",
                    [str(API_BIN / "python"), "scripts/fake_twilio.py"],
                    f"{self.twilio_url}/_fake/health",
                    env,
                    self.log_dir / "twilio-fake.log",
                )
            ]
        )
        self.services += [
            Service(
                "actions",
                [str(RASA_BIN / "python"), "-m", "actions.server", "--port", str(self.actions_port)],
                f"http://127.0.0.1:{self.actions_port}/health",
                env,
                self.log_dir / "actions.log",
            ),
            Service(
                "rasa",
                [
                    str(RASA_BIN / "rasa"),
                    "run",
                    "--enable-api",
                    # Only the public key: the api signs with the private one (api/core/rasa_auth.py).
                    "--jwt-secret",
                    public_key,
                    "--jwt-method",
                    "RS256",
                    # sanic-jwt insists on a private key for RS256 though Rasa never signs anything: a
                    # placeholder (tokens are verified with the public key only).
                    "--jwt-private-key",
                    "unused-rasa-never-signs",
                    "--model",
                    str(model.resolve()),
                    "--port",
                    str(self.rasa_port),
                    "--interface",
                    "127.0.0.1",
                    "--endpoints",
                    "endpoints.yml",
                    "--credentials",
                    "credentials.yml",
                ],
                f"{self.rasa_url}/status",
                env,
                self.log_dir / "rasa.log",
            ),
            Service(
                "api",
                [
                    str(API_BIN / "uvicorn"),
                    "api.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.api_port),
                    "--no-access-log",
                ],
                f"{self.api_url}/health",
                env,
                self.log_dir / "api.log",
            ),
        ]
        for service in self.services:
            service.start()
        self.wait_ready(self.services, timeout)

    def wait_ready(self, services: list[Service], timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        pending = list(services)
        while pending:
            for service in list(pending):
                if service.process and service.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{service.name} exited during start-up; see {service.log_path}")
                if service.is_ready():
                    pending.remove(service)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"not ready after {timeout:.0f}s: {[s.name for s in pending]}; see {self.log_dir}")
            time.sleep(0.5)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def restart(self, name: str, timeout: float = 240) -> None:
        """Stops one service and starts it again (fault tests: Rasa away, api restarted)."""
        service = self.service(name)
        with self._changing:
            service.stop()
            service.start()
        self.wait_ready([service], timeout)

    def supervise(self, report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> None:
        """Restarts, in a thread of its own, any service that dies, after a pause that doubles with each quick
        death (1 s up to `MAX_BACKOFF`; back to 1 s after `STABLE_AFTER` up): the other services keep serving
        meanwhile (the api answers debtors with its holding reply and relays their messages once Rasa is back)."""
        if self._supervisor is not None:
            return
        self._supervising.clear()

        def loop() -> None:
            due: dict[str, float] = {}
            while not self._supervising.wait(0.5):
                with self._changing:
                    for service in self.services:
                        if not service.died():
                            continue
                        now = time.monotonic()
                        if service.name not in due:
                            quick = now - service.started_at < STABLE_AFTER
                            pause = min(MAX_BACKOFF, 2.0**service.restarts) if quick else 1.0
                            service.restarts = service.restarts + 1 if quick else 0
                            due[service.name] = now + pause
                            code = service.process.returncode if service.process else None
                            report(f"{service.name} stopped unexpectedly (exit {code}); restarting in {pause:.0f} s")
                        elif now >= due[service.name]:
                            del due[service.name]
                            service.start()
                            report(f"{service.name} restarted; see {service.log_path}")

        self._supervisor = threading.Thread(target=loop, name="stack-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        if self._supervisor is not None:
            self._supervising.set()
            self._supervisor.join()
            self._supervisor = None
        with self._changing:
            for service in reversed(self.services):
                service.stop()


def main() -> None:
    stack = Stack(
        api_port=int(os.environ.get("API_PORT", 8000)),
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
        twilio_port=int(os.environ.get("FAKE_TWILIO_PORT", 8010)),
    )
    print("Starting the action server, the Rasa server, the api and the fake Twilio (logs in var/log/)...", flush=True)
    stack.start()
    print(
        f"\nReady.\n  Web chat demo:  {stack.api_url}/   (English: {stack.api_url}/?lang=en)\n"
        f"  Agent console:  {stack.api_url}/console   (sign in as the demo agent printed above)\n"
        f"  Creditor API:   {stack.api_url}/docs\n  Rasa server:    {stack.rasa_url}\n"
        f"  Action server:  http://127.0.0.1:{stack.actions_port}\n"
        f"  Fake Twilio:    {stack.twilio_url}/_fake/messages   (try SMS: make sms FROM=+33612345678 BODY=bonjour)\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def _stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    # A service that dies is restarted while the others keep serving: one crash takes no debtor offline.
    stack.supervise()
    try:
        while not stopping:
            time.sleep(0.5)
    finally:
        print("\nStopping...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
