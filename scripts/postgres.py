"""A throw-away PostgreSQL server: `initdb` in a temporary directory, the server on a free loopback port (fsync
off: nothing here needs to survive a machine crash; but commits wait for their WAL to be written, so that a
committed row survives the server's own crash, which the fault tests cause), stopped and removed at the end. Uses Debian's server
binaries (/usr/lib/postgresql/<version>/bin, `apt-get install postgresql`). Used by the tests
(tests/postgres.py) and by the local scaled topology (`make run-scaled`, scripts/stack.py).

PostgreSQL refuses to run as root: as root, the server binaries run as the `postgres` system user, in a
temporary directory that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

__all__ = ["PostgresServer", "PostgresUnavailable", "server_bin_dir", "throwaway_postgres"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER_USER = "postgres"  # the system user the server runs as when the tests run as root
DEBIAN_BIN_DIRS = Path("/usr/lib/postgresql")
START_ATTEMPTS = 3  # a free port can be taken between choosing it and the server binding it


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or no user to run them as root) on this machine."""


def server_bin_dir() -> Path:
    """The newest Debian server binaries, else those of the `initdb` on PATH; as root, the server's user too."""
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailable(f"Running as root, and there is no {SERVER_USER!r} user to run PostgreSQL as.") from None
    versions = sorted(DEBIAN_BIN_DIRS.glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    on_path = shutil.which("initdb")
    candidates = [*reversed(versions), *([Path(on_path).resolve().parent] if on_path else [])]
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found: install Debian's postgresql package "
        "(apt-get install postgresql) to run the PostgreSQL tests."
    )


@dataclass
class PostgresServer:
    """One server in `root` (data, socket, log), reached at 127.0.0.1:`port` as `postgres` with trust auth."""

    root: Path
    bin_dir: Path
    port: int = 0
    database: str = "test"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database created with the server."""
        return self.url_of(self.database)

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """A server binary, as the server's user when we are root (PostgreSQL refuses root)."""
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        return subprocess.run(argv, cwd=self.root, capture_output=True, text=True, check=False)

    def init(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:  # the server's user owns its directory (initdb creates the data directory in it)
            user = pwd.getpwnam(SERVER_USER)
            for directory in (self.root, self.socket_dir):
                os.chown(directory, user.pw_uid, user.pw_gid)
        done = self.run(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        # Only the loopback address and the socket in our own directory: trust is safe nowhere else.
        (self.data_dir / "pg_hba.conf").write_text("local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n")

    def start(self) -> None:
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write(
                    f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.socket_dir}'\n"
                    "fsync = off\nsynchronous_commit = on\nfull_page_writes = off\n"
                )
            # -w: pg_ctl answers once the server accepts connections (a readiness check, not a sleep).
            started = self.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60", "start")
            if started.returncode == 0:
                break
        else:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{log}")
        self.create_database(self.database)

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Stops the server at once (connections cut, as in a crash) and starts it again on the same port."""
        self.run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        started = self.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60", "start")
        if started.returncode:
            raise RuntimeError(f"PostgreSQL did not start again:\n{started.stdout}\n{started.stderr}")

    def admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def create_database(self, name: str) -> str:
        self.admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_of(name)

    def drop_database(self, name: str) -> None:
        self.admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def new_database(self) -> tuple[str, str]:
        """A fresh database (name, URL) on this server."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        return name, self.create_database(name)


@contextmanager
def throwaway_postgres(bin_dir: Path | None = None) -> Iterator[PostgresServer]:
    """A PostgreSQL server with an empty database (`server.url`), stopped and removed on exit."""
    server = PostgresServer(root=Path(tempfile.mkdtemp(prefix="debtor-pg-")), bin_dir=bin_dir or server_bin_dir())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
