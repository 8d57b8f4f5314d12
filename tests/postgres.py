"""A throwaway PostgreSQL server for the test session, and a fresh database per test.

Each test gets its own role and schema in one shared database (see `create_database`).
The server runs from Debian's binaries as the `postgres` system user when we are root
(PostgreSQL refuses to run as root), with durability switched off: its data dies with the
session. Where PostgreSQL is missing, tests skip with the install command; under CI they fail.
PG_BIN names another folder holding initdb and pg_ctl.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

INSTALL = "sudo apt-get install postgresql"


DATABASE = "facilitator_tests"


@dataclass(frozen=True)
class PostgresServer:
    """A running server on 127.0.0.1 that trusts every role (`postgres` is the superuser)."""

    port: int
    data: Path

    def url(self, role: str, database: str = DATABASE) -> str:
        """The SQLAlchemy URL of `database` as `role`."""
        return f"postgresql+asyncpg://{role}@127.0.0.1:{self.port}/{database}"

    async def _as_superuser(self, *statements: str, database: str = DATABASE) -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database=database
        )
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def create_database(self) -> str:
        """An empty place of one's own: a fresh login role (not a superuser, like a real bot)
        owning a schema of its name, which its default search_path ("$user", public) finds
        first. Much faster than CREATE DATABASE, which copies a template each time."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        await self._as_superuser(
            f'CREATE ROLE "{name}" LOGIN', f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"'
        )
        return self.url(name)


def find_bin() -> Path | None:
    """The newest installed PostgreSQL `bin` folder with pg_ctl, if any."""
    override = os.environ.get("PG_BIN")
    if override:
        return Path(override) if (Path(override) / "pg_ctl").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def unavailable(reason: str) -> None:
    """Fail under CI (PostgreSQL must be tested there), otherwise skip with the fix."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason} (install it: {INSTALL})")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def start_server(bin_dir: Path) -> PostgresServer:
    """initdb into a temporary folder and start the server on a free port."""
    root = Path(tempfile.mkdtemp(prefix="facilitator-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            unavailable("we run as root and there is no `postgres` user to run the server")
        os.chown(root, account.pw_uid, account.pw_gid)
    _run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                *("-D", str(data), "-A", "trust", "-U", "postgres"),
                # Linguistic (ICU) ordering, as on most real servers: string comparisons in
                # SQL must not silently depend on byte order.
                *("-E", "UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US"),
                "--no-sync",
            ]
        )
    )
    for attempt in range(3):  # another process may take the free port before the server does
        port = _free_port()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={port}",
                "-c unix_socket_directories=''",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c synchronous_commit=off",
                # A session time zone far from UTC, so a naive timestamp anywhere shows up.
                "-c timezone=Pacific/Chatham",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        try:
            _run(
                _as_server_user(
                    [
                        str(bin_dir / "pg_ctl"),
                        *("-D", str(data), "-l", str(root / "server.log")),
                        *("-o", options, "-w", "-t", "60", "start"),
                    ]
                )
            )
        except RuntimeError:
            if attempt == 2:
                log = (root / "server.log").read_text(errors="replace")[-2000:]
                shutil.rmtree(root, ignore_errors=True)
                raise RuntimeError(f"PostgreSQL did not start; its log ends:\n{log}") from None
            continue
        server = PostgresServer(port=port, data=data)
        asyncio.run(server._as_superuser(f"CREATE DATABASE {DATABASE}", database="postgres"))
        return server
    raise AssertionError("unreachable")


def stop_server(server: PostgresServer, bin_dir: Path) -> None:
    """Stop the server at once (nothing in it is worth keeping) and remove its files."""
    try:
        _run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"]
            )
        )
    finally:
        shutil.rmtree(server.data.parent, ignore_errors=True)
