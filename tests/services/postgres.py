"""A PostgreSQL primary and a streaming replica of it, in a temporary directory, on free loopback ports.

PostgreSQL refuses to run as root, so as root the servers run as the `postgres` system user (which owns their
directory); as anyone else they run as that user.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from services.common import ServiceUnavailable, free_port

# Debian installs each major version side by side; take the newest.
BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name), default=Path("/missing"))
# Durability is worth nothing to a test database; speed is.
SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "wal_level=replica",
            "max_wal_senders=5", "hot_standby=on", "max_connections=200", "shared_buffers=64MB",
            "listen_addresses='127.0.0.1'"]


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]):
    result = subprocess.run(_as_owner(command), capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ServiceUnavailable(f"{Path(command[0]).name} failed: {result.stderr[-2000:]}")


class PostgresServer:
    def __init__(self, directory: Path, port: int):
        self.directory, self.port = directory, port
        self.log = directory.parent / f"{directory.name}.log"

    def url(self, database: str = "strongbox") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, check=True):
        command = _as_owner([str(BIN / "pg_ctl"), "-D", str(self.directory), "-l", str(self.log), *args])
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ServiceUnavailable(f"pg_ctl {' '.join(args)} failed: {result.stderr}{log}")

    def start(self):
        self._ctl("-w", "-t", "60", "-o", f"-p {self.port} -k {self.directory.parent}", "start")
        return self

    def stop(self):
        self._ctl("-m", "immediate", "-w", "stop", check=False)

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = _as_owner([str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                             "postgres", "-d", database, "-Atc", sql])
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
        if result.returncode != 0:
            raise ServiceUnavailable(f"psql on port {self.port}: {result.stderr}")
        return result.stdout.strip()


class PostgresCluster:
    """A primary and one streaming replica (`pg_basebackup -R`)."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="strongbox-pg-"))
        self.primary = PostgresServer(self.root / "primary", free_port())
        self.replica = PostgresServer(self.root / "replica", free_port())
        self._primary_conninfo: str | None = None  # the replica's, while its WAL receiver is stopped

    def start(self):
        if not (BIN / "postgres").exists():
            raise ServiceUnavailable(f"PostgreSQL is not installed ({BIN}/postgres is missing)")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o755)
        initdb = [str(BIN / "initdb"), "-D", str(self.primary.directory), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
        _run(initdb)
        with (self.primary.directory / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(SETTINGS) + "\n")
        self.primary.start()
        self.primary.psql("CREATE DATABASE strongbox")
        basebackup = [str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U",
                      "postgres", "-D", str(self.replica.directory), "-R", "-X", "stream", "--no-sync",
                      "--checkpoint=fast"]
        _run(basebackup)
        self.replica.start()
        return self

    def wait_for_replay(self, timeout: float = 10):
        """Wait until the replica has replayed everything the primary has written so far."""
        target = self.primary.psql("SELECT pg_current_wal_insert_lsn()")
        # WAL is streamed once flushed, and with synchronous_commit off an idle primary may keep its last records
        # unflushed: a synchronous commit flushes everything before it, the target included.
        self.primary.psql("SET synchronous_commit = on; SELECT txid_current()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.replica.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
                return
            time.sleep(0.02)
        raise TimeoutError("the replica did not catch up")

    def stop_wal_receiver(self, timeout: float = 10):
        """Stop the replica's WAL receiver, as a broken stream would: the replica keeps answering, with what it
        had. start_wal_receiver() undoes it."""
        if self._primary_conninfo is None:
            self._primary_conninfo = self.replica.psql("SHOW primary_conninfo")
        self.replica.psql("ALTER SYSTEM SET primary_conninfo = ''")
        self.replica.psql("SELECT pg_reload_conf()")
        self._wait_for_receiver("SELECT count(*) = 0 FROM pg_stat_wal_receiver", timeout)

    def start_wal_receiver(self, timeout: float = 30):
        """Stream again from the primary (a no-op unless stop_wal_receiver() ran)."""
        if self._primary_conninfo is None:
            return
        quoted = self._primary_conninfo.replace("'", "''")
        self.replica.psql(f"ALTER SYSTEM SET primary_conninfo = '{quoted}'")
        self.replica.psql("SELECT pg_reload_conf()")
        self._primary_conninfo = None
        self._wait_for_receiver("SELECT count(*) = 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'", timeout)

    def _wait_for_receiver(self, sql: str, timeout: float):
        deadline = time.monotonic() + timeout
        while self.replica.psql(sql) != "t":
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica's WAL receiver: not {sql!r} after {timeout} s")
            time.sleep(0.05)

    def stop(self):
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)
