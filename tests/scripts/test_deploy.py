"""deploy/ (the Compose file, the two images, nginx.conf) agrees with the code and with the local scaled run: the
same services and variables, each variable read by the process it is given to, each Rasa server with its own
action server, and nginx sending every request of a socket.io session to the worker that holds it.

Docker cannot run here, so this reads the files; nginx's routing is also tried for real when nginx is installed.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from fastapi.routing import APIWebSocketRoute

from api.core.config import REPO_ROOT, Settings
from api.routes import console

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yml"
NGINX_CONF = DEPLOY / "nginx.conf"
WITH_SECRETS = DEPLOY / "with-secrets.sh"
RUN_RASA = DEPLOY / "run-rasa.sh"

# The scaled topology, with the names `make run-scaled` (scripts/stack.py, ScaledStack) uses. Renaming a service
# means renaming it here, in nginx.conf's upstreams, in RASA_URLS and ACTION_ENDPOINT_URL, and in ScaledStack.
API_WORKERS = ("api-1", "api-2")
RASA_SERVERS = ("rasa-1", "rasa-2")
ACTION_SERVERS = ("actions-1", "actions-2")
SERVICES = {"postgres", "redis", "migrate", "nginx", *API_WORKERS, *RASA_SERVERS, *ACTION_SERVERS}
ONE_SHOT = {"migrate"}
API_PROCESSES = (*API_WORKERS, "migrate")

API_PORT, RASA_PORT, ACTIONS_PORT = 8000, 5005, 5055
# The path the api serves socket.io on (api/main.py, socketio_path) and the widget connects to.
SOCKETIO_PATH = "/socket.io/"

# Variables the api's processes are given that are not Settings fields, and what reads them.
API_ENV_NOT_IN_SETTINGS = {"PGPASSWORD": "libpq (psycopg): the database password, kept out of DATABASE_URL"}
# Variables Rasa reads itself rather than through endpoints.yml or credentials.yml.
RASA_OWN_ENV = {
    "RASA_TELEMETRY_ENABLED": "Rasa's telemetry switch",
    "SQL_POOL_SIZE": "Rasa's pool for a PostgreSQL tracker store",
    "SQL_MAX_OVERFLOW": "Rasa's pool for a PostgreSQL tracker store",
    "PGPASSWORD": "libpq (psycopg2): the database password, kept out of RASA_TRACKER_STORE_URL",
}


# --- Reading the files --------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"deploy/compose.yml has no service {name!r} (services: {sorted(services)})"
    found: dict[str, Any] = services[name]
    return found


def exported_secret(name: str) -> str | None:
    """The variable deploy/with-secrets.sh makes of a secret; None for the key files, read by path."""
    return None if name.startswith("rasa_jwt_") else name.upper()


def environment(name: str) -> dict[str, str]:
    """What a service's process sees: its `environment`, and the secrets with-secrets.sh exports."""
    env = {key: str(value) for key, value in (service(name).get("environment") or {}).items()}
    for secret in service(name).get("secrets", []):
        exported = exported_secret(secret)
        if exported:
            env[exported] = f"<secret {secret}>"
    return env


def variable(name: str, key: str) -> str:
    env = environment(name)
    assert key in env, f"{name} is not given {key} in deploy/compose.yml (given: {sorted(env)})"
    return env[key]


def host_and_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port


def without_comments(text: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


@cache
def nginx() -> str:
    return without_comments(NGINX_CONF.read_text(encoding="utf-8"))


def upstreams() -> dict[str, list[str]]:
    """Each upstream block's servers, as host:port."""
    return {
        name: re.findall(r"^\s*server\s+([\w.-]+:\d+)", body, re.MULTILINE)
        for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", nginx())
    }


def sid_map() -> tuple[list[tuple[str, str]], str]:
    """nginx's `map $arg_sid $api_upstream`: its regular expressions with their upstreams, and the default."""
    block = re.search(r"map\s+\$arg_sid\s+\$api_upstream\s*\{([^}]*)\}", nginx())
    assert block, "nginx.conf has no `map $arg_sid $api_upstream` (socket.io's polling needs sticky sessions)"
    patterns, default = [], ""
    for key, upstream in re.findall(r"(\"[^\"]*\"|\S+)\s+(\w+);", block.group(1)):
        key = key.strip('"')
        if key == "default":
            default = upstream
        else:
            assert key.startswith("~"), f"map entry {key!r} is not a regular expression"
            patterns.append((key[1:], upstream))
    return patterns, default


def route_of_sid(sid: str) -> str:
    patterns, default = sid_map()
    return next((upstream for pattern, upstream in patterns if re.search(pattern, sid)), default)


def locations() -> dict[str, str]:
    return {path: body for path, body in re.findall(r"location\s+(?:=\s*)?(\S+)\s*\{([^}]*)\}", nginx())}


def dockerfile(name: str) -> str:
    return without_comments((DEPLOY / name).read_text(encoding="utf-8"))


def copied_sources(name: str) -> list[str]:
    """The paths a Dockerfile copies from the build context (the repository root), not from another stage."""
    sources = []
    for line in dockerfile(name).splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(word.startswith("--from") for word in words):
            continue
        sources += [word for word in words[1:-1] if not word.startswith("--")]
    return sources


def copied_destinations(name: str) -> list[str]:
    return [line.split()[-1] for line in dockerfile(name).splitlines() if line.startswith("COPY ")]


def first_party_imports(packages: tuple[str, ...]) -> set[str]:
    """The top-level first-party packages that the modules of `packages` import."""
    found: set[str] = set()
    for package in packages:
        for path in (REPO_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found & {"api", "channels", "actions", "bot", "scripts", "bench", "tests"}


def run_script(script: Path, secrets: dict[str, str], tmp_path: Path, *command: str, path: str = "") -> str:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, value in secrets.items():
        (secrets_dir / name).write_text(value)
    env = {"SECRETS_DIR": str(secrets_dir), "PATH": f"{path}:/usr/bin:/bin" if path else "/usr/bin:/bin"}
    done = subprocess.run(["sh", str(script), *command], env=env, capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


# --- The services --------------------------------------------------------------------------------------------


def test_the_services_are_those_of_the_scaled_topology() -> None:
    services = set(compose()["services"])
    assert services == SERVICES, (
        f"missing: {sorted(SERVICES - services)}, unexpected: {sorted(services - SERVICES)}. A renamed service is "
        "renamed in nginx.conf, RASA_URLS, ACTION_ENDPOINT_URL, scripts/stack.py (ScaledStack) and this test."
    )


def test_only_nginx_publishes_a_port() -> None:
    publishing = {name for name, spec in compose()["services"].items() if spec.get("ports") or spec.get("network_mode") == "host"}
    assert publishing == {"nginx"}, "the Rasa HTTP API, the action servers, the database and Redis stay private"


@pytest.mark.parametrize("name", sorted(SERVICES - ONE_SHOT))
def test_every_long_running_service_restarts_and_is_checked(name: str) -> None:
    spec = service(name)
    assert spec.get("restart") == "unless-stopped"
    assert spec.get("healthcheck", {}).get("test") and not spec["healthcheck"].get("disable")


def test_the_migration_runs_once_before_the_api_workers() -> None:
    assert service("migrate")["command"] == ["python", "-m", "api.cli", "migrate"]
    assert service("migrate").get("restart") == "no"
    for worker in API_WORKERS:
        assert service(worker)["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_health_checks_ask_each_process_on_its_port() -> None:
    expected = {
        **{worker: f"http://127.0.0.1:{API_PORT}/health" for worker in API_WORKERS},
        **{server: f"http://127.0.0.1:{ACTIONS_PORT}/health" for server in ACTION_SERVERS},
        **{server: f"http://127.0.0.1:{RASA_PORT}/" for server in RASA_SERVERS},
    }
    for name, url in expected.items():
        assert f"'{url}'" in " ".join(service(name)["healthcheck"]["test"]), name


# --- Who talks to whom ---------------------------------------------------------------------------------------


def test_each_rasa_server_calls_its_own_action_server() -> None:
    for rasa, actions in zip(RASA_SERVERS, ACTION_SERVERS, strict=True):
        url = variable(rasa, "ACTION_ENDPOINT_URL")
        assert host_and_port(url) == (actions, ACTIONS_PORT) and urlsplit(url).path == "/webhook", rasa
    for actions in ACTION_SERVERS:
        command = service(actions)["command"]
        assert command[:3] == ["python", "-m", "actions.server"]
        # The action server listens on loopback unless told otherwise.
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert command[command.index("--port") + 1] == str(ACTIONS_PORT)


def test_the_api_workers_relay_to_exactly_the_rasa_servers() -> None:
    for name in API_PROCESSES:
        urls = variable(name, "RASA_URLS").split(",")
        assert [host_and_port(url) for url in urls] == [(rasa, RASA_PORT) for rasa in RASA_SERVERS], name


def test_the_action_servers_reach_the_api_through_the_load_balancer() -> None:
    for name in ACTION_SERVERS:
        assert host_and_port(variable(name, "API_URL"))[0] == "nginx"


def test_the_api_and_rasa_share_postgresql_and_redis_in_separate_databases() -> None:
    initdb = without_comments("\n".join(p.read_text() for p in sorted((DEPLOY / "postgres" / "initdb").iterdir())))
    databases = {service("postgres")["environment"]["POSTGRES_DB"], *re.findall(r"CREATE DATABASE (\w+)", initdb)}
    assert {"debtor", "rasa_trackers"} <= databases, f"databases made by the postgres service: {sorted(databases)}"
    for name in API_PROCESSES:
        url = variable(name, "DATABASE_URL")
        assert url.startswith("postgresql+psycopg://"), f"{name}: the api's driver is psycopg 3 (api.in)"
        assert host_and_port(url) == ("postgres", 5432) and urlsplit(url).path == "/debtor", url
        assert host_and_port(variable(name, "REDIS_URL")) == ("redis", 6379) and variable(name, "REDIS_URL").endswith("/0")
    for name in RASA_SERVERS:
        url = variable(name, "RASA_TRACKER_STORE_URL")
        assert host_and_port(url) == ("postgres", 5432) and urlsplit(url).path == "/rasa_trackers", url
        lock_store = variable(name, "RASA_LOCK_STORE_URL")
        assert host_and_port(lock_store) == ("redis", 6379) and lock_store.endswith("/1"), "DB 0 is the api's"


def test_the_rasa_servers_differ_only_by_their_action_server() -> None:
    environments = [environment(name) for name in RASA_SERVERS]
    for env in environments:
        env.pop("ACTION_ENDPOINT_URL")
    assert all(env == environments[0] for env in environments)


def test_the_pools_fit_in_postgresql() -> None:
    """SQLAlchemy's default pool (5 + 10) for each api process, Rasa's pool as set here, under PostgreSQL's 100."""
    rasa = sum(int(variable(name, "SQL_POOL_SIZE")) + int(variable(name, "SQL_MAX_OVERFLOW")) for name in RASA_SERVERS)
    assert 15 * len(API_PROCESSES) + rasa < 100


# --- Every variable is read by the process it is given to ----------------------------------------------------


@pytest.mark.parametrize("name", API_PROCESSES)
def test_the_api_reads_every_variable_it_is_given(name: str) -> None:
    fields = {field.upper() for field in Settings.model_fields}
    unknown = set(environment(name)) - fields - set(API_ENV_NOT_IN_SETTINGS)
    assert not unknown, f"not fields of api.core.config.Settings: {sorted(unknown)}"


def test_the_api_workers_differ_only_by_their_name() -> None:
    environments = [environment(worker) for worker in API_WORKERS]
    names = [env.pop("API_WORKER_NAME") for env in environments]
    assert len(set(names)) == len(names), f"API_WORKER_NAME values must differ: {names}"
    for worker_name in names:
        assert Settings.model_validate({"api_worker_name": worker_name}).api_worker_name == worker_name  # its pattern
    assert all(env == environments[0] for env in environments)
    migrate = environment("migrate")
    assert "API_WORKER_NAME" not in migrate and migrate == environments[0]
    assert environments[0]["APP_ENV"] == "production" and environments[0]["SCHEDULER_ENABLED"] == "true"
    assert environments[0]["RASA_JWT_PRIVATE_KEY_FILE"] == "/run/secrets/rasa_jwt_private_key"
    assert "rasa_jwt_private_key" in service("api-1")["secrets"]


@pytest.mark.parametrize("name", ACTION_SERVERS)
def test_the_action_servers_read_every_variable_they_are_given(name: str) -> None:
    source = (REPO_ROOT / "actions" / "api_client.py").read_text(encoding="utf-8")
    read = set(re.findall(r"os\.environ\.get\(\"(\w+)\"", source))
    given = set(environment(name))
    assert given <= read, f"not read by actions/api_client.py: {sorted(given - read)}"
    # In production the action server refuses to start without both secrets.
    assert {"APP_ENV", "ACTIONS_TOKEN", "ACTION_SERVER_TOKEN"} <= given


@pytest.mark.parametrize("name", RASA_SERVERS)
def test_rasa_is_given_exactly_what_its_configuration_reads(name: str) -> None:
    configured = set()
    for file in ("endpoints.yml", "credentials.yml"):
        configured |= set(re.findall(r"\$\{(\w+)\}", without_comments((REPO_ROOT / file).read_text(encoding="utf-8"))))
    given = set(environment(name))
    # Rasa refuses to start when endpoints.yml names a variable that is not set.
    assert configured <= given, f"endpoints.yml or credentials.yml read {sorted(configured - given)}, not given to {name}"
    assert given <= configured | set(RASA_OWN_ENV), f"read by nothing: {sorted(given - configured - set(RASA_OWN_ENV))}"


# --- Secrets -------------------------------------------------------------------------------------------------


def test_every_secret_used_is_a_git_ignored_file_in_deploy_secrets() -> None:
    declared = compose()["secrets"]
    for name, spec in compose()["services"].items():
        for secret in spec.get("secrets", []):
            assert secret in declared, f"{name} uses the undeclared secret {secret}"
            assert declared[secret] == {"file": f"./secrets/{secret}"}
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert "secrets/" in ignored and ".env" in ignored
    assert service("postgres")["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/pgpassword"


def test_with_secrets_exports_the_tokens_and_leaves_the_keys_as_files(tmp_path: Path) -> None:
    secrets = {"actions_token": "a token\n", "pgpassword": "p$w 'd", "rasa_jwt_private_key": "-----BEGIN PRIVATE KEY-----\n"}
    printed = run_script(
        WITH_SECRETS, secrets, tmp_path, sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"
    )
    env = json.loads(printed)
    assert env["ACTIONS_TOKEN"] == "a token" and env["PGPASSWORD"] == "p$w 'd"
    assert not any(key.startswith("RASA_JWT") for key in env)
    assert {exported_secret(name) for name in secrets} == {"ACTIONS_TOKEN", "PGPASSWORD", None}


def test_run_rasa_starts_rasa_with_the_public_key_only(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "rasa").write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\0" "$arg"; done\n')
    (fake / "rasa").chmod(0o755)
    public_key = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"
    args = run_script(RUN_RASA, {"rasa_jwt_public_key": public_key + "\n"}, tmp_path, path=str(fake)).split("\0")[:-1]
    assert args == [
        "run",
        "--enable-api",
        "--jwt-secret",
        public_key,
        "--jwt-method",
        "RS256",
        "--jwt-private-key",
        "unused-rasa-never-signs",
        "--model",
        "/app/models/current.tar.gz",
        "--port",
        str(RASA_PORT),
        "--interface",
        "0.0.0.0",
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]
    for rasa in RASA_SERVERS:
        assert service(rasa)["command"] == ["run-rasa"] and "rasa_jwt_public_key" in service(rasa)["secrets"]
        assert "rasa_jwt_private_key" not in service(rasa)["secrets"]


# --- nginx ---------------------------------------------------------------------------------------------------


def test_nginx_sends_each_socketio_session_to_the_worker_that_holds_it() -> None:
    servers = upstreams()
    assert sorted(servers["api_any"]) == sorted(f"{worker}:{API_PORT}" for worker in API_WORKERS)
    for worker in API_WORKERS:
        worker_name = variable(worker, "API_WORKER_NAME")
        # Engine.io session ids are `<worker name>.<random>` (channels/webchat/socket.py).
        upstream = route_of_sid(f"{worker_name}.Zx0A9Yb1")
        assert servers.get(upstream) == [f"{worker}:{API_PORT}"], f"sid of {worker} routed to {upstream}"
    assert route_of_sid("") == "api_any"
    assert "proxy_pass http://$api_upstream;" in locations()[SOCKETIO_PATH]


@pytest.mark.parametrize(
    "path", [SOCKETIO_PATH, *(route.path for route in console.router.routes if isinstance(route, APIWebSocketRoute))]
)
def test_nginx_upgrades_the_websockets(path: str) -> None:
    body = locations().get(path, "")
    assert "proxy_set_header Upgrade $http_upgrade;" in body, f"no websocket upgrade for {path} in nginx.conf"
    assert re.search(r"proxy_set_header Connection \$\w+;", body)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", body)
    assert timeout and int(timeout.group(1)) >= 3600, f"{path}: websockets stay open for long"
    assert re.search(r"^\s*proxy_http_version 1\.1;", nginx(), re.MULTILINE)


def test_nginx_passes_the_public_host_and_the_client_to_every_location() -> None:
    # A location that sets any proxy_set_header inherits none from the server block: each must set them all.
    for path, body in locations().items():
        assert "proxy_set_header Host $http_host;" in body, path
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in body, path
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in body, path
    assert re.search(r"proxy_next_upstream error timeout http_502 http_503;", nginx())


def test_nginx_takes_the_bodies_the_api_takes() -> None:
    size = re.search(r"client_max_body_size (\d+)k;", nginx())
    limit = Settings.model_fields["max_request_body_bytes"].default
    assert size and int(size.group(1)) * 1024 == limit, (
        f"nginx.conf: client_max_body_size {limit // 1024}k (MAX_REQUEST_BODY_BYTES)"
    )


def test_the_api_trusts_forwarded_headers_from_the_proxy() -> None:
    command = service("api-1")["command"]
    assert command[:2] == ["uvicorn", "api.main:app"]
    assert {"--proxy-headers", "--no-access-log"} <= set(command) and any(a.startswith("--forwarded-allow-ips") for a in command)
    assert command[command.index("--port") + 1] == str(API_PORT) and command[command.index("--host") + 1] == "0.0.0.0"


# --- The images ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "python", "requirements"), [("rasa.Dockerfile", "3.10", "rasa"), ("api.Dockerfile", "3.11", "api")]
)
def test_the_images_install_the_locked_requirements(image: str, python: str, requirements: str) -> None:
    text = dockerfile(image)
    assert f"FROM python:{python}-slim" in text
    assert re.search(rf"pip install -r requirements/{requirements}\.in -c requirements/{requirements}\.lock", text)
    for service_spec in compose()["services"].values():
        if service_spec.get("build", {}).get("dockerfile") == f"deploy/{image}":
            assert service_spec["build"]["context"] == ".."


@pytest.mark.parametrize("image", ["rasa.Dockerfile", "api.Dockerfile"])
def test_the_images_copy_files_that_exist_and_their_dockerignore_lets_in(image: str) -> None:
    allowed = [
        line[1:].rstrip("/") for line in (DEPLOY / f"{image}.dockerignore").read_text().splitlines() if line.startswith("!")
    ]
    for source in copied_sources(image):
        source = source.rstrip("/")
        if not source.startswith("models/"):  # the trained model comes from `make setup`, not from git
            assert (REPO_ROOT / source).exists(), f"{image} copies {source}, which does not exist"
        assert any(
            source == pattern or source.startswith(pattern + "/") or fnmatch.fnmatch(source, pattern) for pattern in allowed
        ), f"{image} copies {source}, which {image}.dockerignore leaves out"


def test_the_images_hold_every_package_their_code_imports() -> None:
    rasa_copied = {source.rstrip("/") for source in copied_sources("rasa.Dockerfile")}
    assert first_party_imports(("actions", "bot")) <= rasa_copied
    assert {"endpoints.yml", "credentials.yml", "models/current.tar.gz"} <= rasa_copied
    api_copied = {source.rstrip("/") for source in copied_sources("api.Dockerfile")}
    assert first_party_imports(("api", "channels")) <= api_copied
    # The widget, where Settings looks for it (relative to the code in /app).
    webchat_dir = Settings.model_fields["webchat_dir"].default.relative_to(REPO_ROOT)
    assert str(webchat_dir) in copied_destinations("api.Dockerfile")
    # The dashboard's Chart.js, likewise.
    assert str(Settings.model_fields["chartjs_file"].default.relative_to(REPO_ROOT)) in copied_destinations("api.Dockerfile")
    # The bot's responses, which the experiments API checks a response experiment against.
    assert str(Settings.model_fields["domain_file"].default.relative_to(REPO_ROOT)) in copied_destinations("api.Dockerfile")
    assert re.search(r"npm ci\b", dockerfile("api.Dockerfile"))


# --- nginx's routing, tried (when nginx is installed) ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Worker:
    """Stands in for an api worker: answers with its name and the headers it was sent."""

    name: str
    server: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        worker = self.name

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"worker": worker, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]


@dataclass
class Balancer:
    url: str
    workers: dict[str, Worker]


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Balancer]:
    binary = shutil.which("nginx")
    if binary is None:
        pytest.skip("nginx is not installed: its routing is checked by reading nginx.conf only")
    workers = {service_name: Worker(service_name) for service_name in API_WORKERS}
    port = free_port()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    for service_name, worker in workers.items():
        conf = conf.replace(f"{service_name}:{API_PORT}", f"127.0.0.1:{worker.port}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("/dev/stdout", str(tmp_path / "access.log"))
    conf = conf.replace("/dev/stderr", str(tmp_path / "error.log"))
    temp = "".join(f"    {kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"daemon off;\npid {tmp_path / 'nginx.pid'};\n" + conf.replace("http {\n", "http {\n" + temp, 1)
    (tmp_path / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {(tmp_path / 'error.log').read_text(errors='replace')}")
                time.sleep(0.05)
        yield Balancer(f"http://127.0.0.1:{port}", workers)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for worker in workers.values():
            worker.server.shutdown()


def served_by(balancer: Balancer, path: str, **headers: str) -> dict[str, Any]:
    response = httpx.get(balancer.url + path, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_nginx_routes_polling_sessions_and_spreads_new_ones(balancer: Balancer) -> None:
    for worker in API_WORKERS:
        worker_name = variable(worker, "API_WORKER_NAME")
        path = f"{SOCKETIO_PATH}?EIO=4&transport=polling&sid={worker_name}.Zx0A9Yb1"
        assert {served_by(balancer, path)["worker"] for _ in range(4)} == {worker}
    new_sessions = {served_by(balancer, f"{SOCKETIO_PATH}?EIO=4&transport=polling")["worker"] for _ in range(4)}
    assert new_sessions == set(API_WORKERS)


def test_nginx_forwards_the_upgrade_the_public_host_and_the_real_client(balancer: Balancer) -> None:
    answer = served_by(
        balancer,
        f"{SOCKETIO_PATH}?EIO=4&transport=websocket",
        Host="assistant.example.com",
        Upgrade="websocket",
        Connection="Upgrade",
        **{"X-Forwarded-For": "203.0.113.9"},
    )
    headers = answer["headers"]
    assert headers["upgrade"] == "websocket" and headers["connection"] == "upgrade"
    assert headers["host"] == "assistant.example.com"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # what the client claimed is replaced
    assert headers["x-forwarded-proto"] == "http"


def test_nginx_refuses_bodies_larger_than_the_api_takes(balancer: Balancer) -> None:
    limit = Settings.model_fields["max_request_body_bytes"].default
    response = httpx.post(balancer.url + "/channels/twilio/sms", content=b"x" * (limit + 1), timeout=10)
    assert response.status_code == 413


def test_nginx_leaves_out_a_worker_that_is_down(balancer: Balancer) -> None:
    balancer.workers[API_WORKERS[1]].server.shutdown()
    balancer.workers[API_WORKERS[1]].server.server_close()
    assert {served_by(balancer, "/health")["worker"] for _ in range(4)} == {API_WORKERS[0]}
