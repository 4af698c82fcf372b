"""Starts the services (Rasa server, action server, api, local fake Twilio) with readiness checks, and stops them.

Used by `make run` (in the foreground, Ctrl-C stops them all) and by the end-to-end tests (free ports,
a throw-away database). The fake Twilio (scripts/fake_twilio.py) stands in for Twilio's REST API in the
default configuration, so SMS and WhatsApp work locally without reaching the internet; `twilio_port=None`
leaves it out (for a deployment that sets TWILIO_API_BASE_URL to Twilio itself).

`ScaledStack` (`make run-scaled`, the scaled tests and the load benchmark) is the scaled topology on this
machine: a throw-away PostgreSQL server, Redis, two Rasa servers each with its action server, two api
workers, and nginx in front of the workers (the same topology as deploy/compose.yml).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RASA_BIN = ROOT / ".venv" / "rasa" / "bin"
API_BIN = ROOT / ".venv" / "api" / "bin"
if str(ROOT) not in sys.path:  # `python scripts/stack.py` (make run): the api's modules are importable too
    sys.path.insert(0, str(ROOT))


MODEL = ROOT / "models" / "current.tar.gz"

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
    # Readiness for a service that is not an HTTP server (Redis); otherwise a GET of `ready_url`.
    ready: Callable[[], bool] | None = None
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

    @property
    def is_rasa(self) -> bool:
        return self.name == "rasa" or self.name.startswith("rasa-")

    def is_ready(self) -> bool:
        from api.core.rasa_auth import bearer

        if self.ready is not None:
            return self.ready()
        headers = bearer(Path(self.env["RASA_JWT_PRIVATE_KEY_FILE"])) if self.is_rasa else {}
        try:
            response = httpx.get(self.ready_url, timeout=2, headers=headers)
        except httpx.HTTPError:
            return False
        if self.is_rasa:  # up is not enough: the model must be loaded
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
    _public_key: str = ""

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
                # One Rasa server: its lock store in memory (bot/lock_store.py); Redis when scaled.
                "RASA_LOCK_STORE_URL": "",
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
        env = self._prepare()
        self.services = self._twilio(env) + [
            self._actions("actions", self.actions_port, env),
            self._rasa("rasa", self.rasa_port, env),
            self._api("api", self.api_port, env),
        ]
        for service in self.services:
            service.start()
        self.wait_ready(self.services, timeout)

    def _prepare(self) -> dict[str, str]:
        """The services' environment, with the key pair that signs the api's calls to Rasa's HTTP API."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._env()
        if not MODEL.exists():
            raise RuntimeError("No trained model: run `make setup` first.")
        from api.core.rasa_auth import ensure_key_pair

        key_file = Path(env.get("RASA_JWT_PRIVATE_KEY_FILE") or ROOT / "var" / "rasa-jwt-key.pem")
        env["RASA_JWT_PRIVATE_KEY_FILE"] = str(key_file)
        self._public_key = ensure_key_pair(key_file)
        return env

    def _twilio(self, env: dict[str, str]) -> list[Service]:
        if self.twilio_port is None:
            return []
        command = [str(API_BIN / "python"), "scripts/fake_twilio.py"]
        return [Service("twilio-fake", command, f"{self.twilio_url}/_fake/health", env, self.log_dir / "twilio-fake.log")]

    def _actions(self, name: str, port: int, env: dict[str, str]) -> Service:
        command = [str(RASA_BIN / "python"), "-m", "actions.server", "--port", str(port)]
        return Service(name, command, f"http://127.0.0.1:{port}/health", env, self.log_dir / f"{name}.log")

    def _rasa(self, name: str, port: int, env: dict[str, str]) -> Service:
        command = [
            str(RASA_BIN / "rasa"),
            "run",
            "--enable-api",
            # Only the public key: the api signs with the private one (api/core/rasa_auth.py).
            "--jwt-secret",
            self._public_key,
            "--jwt-method",
            "RS256",
            # sanic-jwt insists on a private key for RS256 though Rasa never signs anything: a
            # placeholder (tokens are verified with the public key only).
            "--jwt-private-key",
            "unused-rasa-never-signs",
            "--model",
            str(MODEL.resolve()),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ]
        return Service(name, command, f"http://127.0.0.1:{port}/status", env, self.log_dir / f"{name}.log")

    def _api(self, name: str, port: int, env: dict[str, str], *, behind_proxy: bool = False) -> Service:
        command = [str(API_BIN / "uvicorn"), "api.main:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        if behind_proxy:  # the client's address from nginx on this machine, and from nobody else
            command += ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
        return Service(name, command, f"http://127.0.0.1:{port}/health", env, self.log_dir / f"{name}.log")

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


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  # The api refuses larger bodies itself (MAX_REQUEST_BODY_BYTES); this only stops them earlier.
  client_max_body_size 256k;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  # Any worker takes a new socket.io session, a webhook or an API call; a worker that refuses is skipped.
  upstream api_any {{
{any}
  }}
{each}
  # socket.io's polling transport is sticky: each engine.io session id starts with its worker's name.
  map $arg_sid $api_upstream {{
{routes}
    default api_any;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://$api_upstream;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      # Twilio signs the public URL: the api must see the host the request was sent to.
      proxy_set_header Host $http_host;
      # Replaced, not appended to: the workers trust this header from nginx only (the rate limits' client).
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 3600s;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
    }}
  }}
}}
"""


def nginx_conf(root: Path, port: int, workers: dict[str, int]) -> str:
    """nginx in front of the api workers (`workers`: name -> port)."""
    return NGINX_CONF.format(
        user="user root;\n" if os.geteuid() == 0 else "",
        root=root,
        port=port,
        any="\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in workers.values()),
        each="\n".join(f"  upstream api_{name} {{ server 127.0.0.1:{p}; }}" for name, p in workers.items()),
        routes="\n".join(f"    ~^{name}\\. api_{name};" for name in workers),
    )


@dataclass
class ScaledStack(Stack):
    """The scaled topology on this machine: PostgreSQL (throw-away, from Debian's binaries), Redis, `rasa_servers`
    Rasa servers each with its own action server, `workers` api workers, and nginx on `api_port` in front of
    them. The api's database is migrated and loaded with the demo data (as `make run` does)."""

    workers: int = 2
    rasa_servers: int = 2
    redis_port: int = 0
    root: Path | None = None
    postgres: Any = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}"

    def start(self, timeout: float = 300) -> None:
        from scripts.postgres import PostgresServer, server_bin_dir

        self.root = Path(tempfile.mkdtemp(prefix="debtor-scaled-"))
        self.root.chmod(0o755)  # PostgreSQL runs as its own user when we are root: it must reach its directory
        self.redis_port = self.redis_port or free_port()
        self.postgres = PostgresServer(root=self.root / "postgres", bin_dir=server_bin_dir(), database="debtor")
        self.postgres.root.mkdir()
        self.postgres.init()
        self.postgres.start()
        self.database_url = self.postgres.url
        self.tracker_store_url = self.postgres.create_database("rasa_trackers").replace("postgresql+psycopg://", "postgresql://")
        env = self._prepare()
        rasa_ports = [free_port() for _ in range(self.rasa_servers)]
        api_ports = {f"w{i}": free_port() for i in range(1, self.workers + 1)}
        env.update(
            {
                "REDIS_URL": f"{self.redis_url}/0",
                "RASA_LOCK_STORE_URL": f"{self.redis_url}/1",
                "RASA_URLS": ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
                "PUBLIC_BASE_URL": self.api_url,
            }
        )
        for command in ("migrate", "seed-demo"):
            subprocess.run(
                [str(API_BIN / "python"), "-m", "api.cli", command], cwd=ROOT, env=env, check=True, capture_output=True
            )
        redis = Service(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            "",
            env,
            self.log_dir / "redis.log",
            ready=self._redis_answers,
        )
        self.services = [redis, *self._twilio(env)]
        for i, port in enumerate(rasa_ports, start=1):
            actions_port = free_port()
            # Each Rasa server has its own action server.
            self.services.append(self._actions(f"actions-{i}", actions_port, env))
            self.services.append(
                self._rasa(f"rasa-{i}", port, {**env, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook"})
            )
        for name, port in api_ports.items():
            self.services.append(self._api(f"api-{name[1:]}", port, {**env, "API_WORKER_NAME": name}, behind_proxy=True))
        nginx_root = self.root / "nginx"
        nginx_root.mkdir()
        (nginx_root / "nginx.conf").write_text(nginx_conf(nginx_root, self.api_port, api_ports))
        self.services.append(
            Service(
                "nginx",
                [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(nginx_root), "-c", str(nginx_root / "nginx.conf")],
                f"{self.api_url}/health",
                env,
                self.log_dir / "nginx.log",
            )
        )
        for service in self.services:
            service.start()
        self.wait_ready(self.services, timeout)

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def rasa_url_of(self, name: str) -> str:
        return self.service(name).ready_url.removesuffix("/status")

    def api_url_of(self, name: str) -> str:
        return self.service(name).ready_url.removesuffix("/health")

    def restart_postgres(self) -> None:
        self.postgres.restart()

    def stop(self) -> None:
        super().stop()
        if self.postgres is not None:
            self.postgres.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    scaled = "--scaled" in sys.argv[1:]
    api_port = int(os.environ.get("API_PORT", 8000))
    twilio_port = int(os.environ.get("FAKE_TWILIO_PORT", 8010))
    stack: Stack
    if scaled:
        stack = ScaledStack(api_port=api_port, twilio_port=twilio_port)
        print(
            "Starting PostgreSQL, Redis, 2 Rasa servers with their action servers, 2 api workers behind nginx and the "
            "fake Twilio (logs in var/log/; the database is a throw-away one, loaded with the demo data)...",
            flush=True,
        )
    else:
        stack = Stack(
            api_port=api_port,
            rasa_port=int(os.environ.get("RASA_PORT", 5005)),
            actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
            twilio_port=twilio_port,
        )
        print("Starting the action server, the Rasa server, the api and the fake Twilio (logs in var/log/)...", flush=True)
    stack.start()
    inside = "\n".join(
        f"  {s.name + ':':15} {s.ready_url or 'redis://127.0.0.1:' + str(getattr(stack, 'redis_port', ''))}"
        for s in stack.services
    )
    print(
        f"\nReady.\n  Web chat demo:  {stack.api_url}/   (English: {stack.api_url}/?lang=en)\n"
        f"  Agent console:  {stack.api_url}/console   (sign in as {os.environ.get('DEMO_AGENT_EMAIL', 'agent@demo.example')})\n"
        f"  Creditor API:   {stack.api_url}/docs\n"
        f"  Fake Twilio:    {stack.twilio_url}/_fake/messages   (try SMS: make sms FROM=+33612345678 BODY=bonjour)\n"
        f"Services (each checked at this address):\n{inside}\n"
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
