"""HAProxy's runtime API: pure helpers that build its commands and read its `show stat` CSV, and a small client
for its UNIX socket (`stats socket ... level admin` in the rendered config). `strongbox cluster status` and
`scale` use these; nothing here starts or stops a process."""

import csv
import io
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from strongbox.cluster.render.haproxy import BACKEND, server_options
from strongbox.cluster.spec import BalancerSpec, Server

SERVER_STATES = ("ready", "drain", "maint")


# A server state file with no servers in it, for the first start (a missing or empty one makes HAProxy warn).
EMPTY_SERVER_STATE = "1\n"
# What HAProxy answers when a command worked; most commands answer nothing then.
_SUCCESS = {"New server registered.", "Server deleted."}


class RuntimeCommandError(RuntimeError):
    """HAProxy refused a runtime command; the message is its answer."""


@dataclass(frozen=True)
class ServerState:
    """One server as the balancer sees it (a row of `show stat`)."""

    backend: str
    name: str
    status: str  # HAProxy's words: "UP", "DOWN", "DRAIN", "MAINT", "UP 1/2" (going down), "DOWN 1/2" (going up)
    current_sessions: int
    total_sessions: int
    session_rate: int  # sessions in the last second
    weight: int
    check_status: str  # L7OK, L4CON (refused), L7STS (wrong status), ... empty before the first check
    retries: int  # requests retried after this server failed them (wretr)
    redispatches: int  # requests sent to another server after this one failed them (wredis)
    queued: int = 0  # requests waiting in HAProxy for a connection slot on this server (qcur)
    throttle: int | None = None  # percent of its weight while ramping up after coming back (slowstart)

    @property
    def state(self) -> str:
        """up, down, drain or maint: where the server is going counts, so "UP 1/2" (one check failed) is up."""
        if self.status == "no check":  # a server without health checks is taken to be up
            return "up"
        word = self.status.split()[0].upper() if self.status else ""
        return {"UP": "up", "DOWN": "down", "NOLB": "drain", "DRAIN": "drain", "MAINT": "maint"}.get(word, "down")


def _server_path(backend: str, server: str) -> str:
    for what, name in (("backend", backend), ("server", server)):
        if not name or any(character in name for character in " \t\n;/"):
            raise ValueError(f"{what} name {name!r} cannot be used in a runtime command")
    return f"{backend}/{server}"


def show_stat() -> str:
    return "show stat"


def show_servers_state() -> str:
    """Return the command whose answer is the server state file (BalancerSpec.server_state_file) to save before
    a reload."""
    return "show servers state"


def set_server_state(server: str, state: str, backend: str = BACKEND) -> str:
    """Return the command that puts a server in rotation (ready), lets it finish what it has but sends it nothing
    new (drain), or takes it out at once (maint)."""
    if state not in SERVER_STATES:
        raise ValueError(f"state must be one of {', '.join(SERVER_STATES)}, not {state!r}")
    return f"set server {_server_path(backend, server)} state {state}"


def set_server_weight(server: str, weight: int, backend: str = BACKEND) -> str:
    """Return the command that sets a server's share of new requests (0: none, while it stays checked)."""
    if not isinstance(weight, int) or not 0 <= weight <= 256:
        raise ValueError(f"a weight is a whole number from 0 to 256, not {weight!r}")
    return f"set server {_server_path(backend, server)} weight {weight}"


def add_server_in_maintenance(spec: BalancerSpec, server: Server, backend: str = BACKEND) -> str:
    """Return the command that adds a server to the running balancer with the same health check and ramp-up
    as the rendered ones. HAProxy creates it in maintenance, its check disabled: it gets no request until
    `put_in_rotation`. HAProxy 2.6 gives a server added at run time no sticky cookie, so a sticky balancer gets
    new servers by a reload instead."""
    if spec.sticky:
        raise ValueError("HAProxy 2.6 cannot give a server added at run time a sticky cookie: render the config "
                         "with the new server and reload instead")
    return f"add server {_server_path(backend, server.name)} {server.address} {server_options(spec)}"


def put_in_rotation(server: str, backend: str = BACKEND) -> list[str]:
    """Return the commands that start a server's health checks and take it out of maintenance: it ramps up
    over `slowstart` from there."""
    path = _server_path(backend, server)
    return [f"enable health {path}", f"set server {path} state ready"]


def add_server(spec: BalancerSpec, server: Server, backend: str = BACKEND) -> list[str]:
    """Return the commands that add a server to the running balancer and put it in rotation at once."""
    return [add_server_in_maintenance(spec, server, backend), *put_in_rotation(server.name, backend)]


def remove_server(server: str, backend: str = BACKEND) -> list[str]:
    """Return the commands that remove a server once drained (HAProxy refuses while it still has sessions)."""
    path = _server_path(backend, server)
    return [f"set server {path} state maint", f"del server {path}"]


def _int(value: str) -> int:
    return int(value) if value else 0


def _rows(text: str, backend: str) -> dict[str, ServerState]:
    if not text.startswith("# "):
        raise RuntimeCommandError(f"not the output of show stat: {text[:200]!r}")
    return {row["svname"]: ServerState(
        backend=row["pxname"], name=row["svname"], status=row["status"], current_sessions=_int(row["scur"]),
        total_sessions=_int(row["stot"]), session_rate=_int(row["rate"]), weight=_int(row["weight"]),
        check_status=row["check_status"], retries=_int(row["wretr"]), redispatches=_int(row["wredis"]),
        queued=_int(row.get("qcur") or ""), throttle=int(row["throttle"]) if row.get("throttle") else None)
        for row in csv.DictReader(io.StringIO(text[2:])) if row["pxname"] == backend and row["svname"] != "FRONTEND"}


def parse_show_stat(text: str, backend: str = BACKEND) -> dict[str, ServerState]:
    """Return the servers of `backend` by name, from the output of `show stat`."""
    return {name: row for name, row in _rows(text, backend).items() if name != "BACKEND"}


def parse_backend_queue(text: str, backend: str = BACKEND) -> int:
    """Return the requests queued in `backend` itself (qcur of its BACKEND row: waiting for any server), from
    the output of `show stat`."""
    row = _rows(text, backend).get("BACKEND")
    return row.queued if row is not None else 0


class RuntimeAPI:
    """A client for HAProxy's runtime API socket: one connection per command, as HAProxy's non-interactive mode
    expects."""

    def __init__(self, path: str, timeout: float = 5):
        self.path, self.timeout = path, timeout

    def execute(self, command: str) -> str:
        """Send one command and return HAProxy's whole answer."""
        if "\n" in command or ";" in command:
            raise ValueError("one command at a time, without newlines or ';'")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(self.timeout)
            connection.connect(self.path)
            connection.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def run(self, commands: list[str]) -> None:
        """Run commands that answer nothing on success (set, add, enable, del); raise with HAProxy's answer
        otherwise."""
        for command in commands:
            answer = self.execute(command).strip()
            if answer and answer not in _SUCCESS:
                raise RuntimeCommandError(f"{command}: {answer}")

    def servers(self, backend: str = BACKEND) -> dict[str, ServerState]:
        return parse_show_stat(self.execute(show_stat()), backend)

    def load(self, backend: str = BACKEND) -> tuple[dict[str, ServerState], int]:
        """Return the servers of `backend` and the requests queued in the backend itself, from one `show stat`."""
        text = self.execute(show_stat())
        return parse_show_stat(text, backend), parse_backend_queue(text, backend)


def wait_until_drained(api: RuntimeAPI, server: str, timeout: float, backend: str = BACKEND,
                       clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> bool:
    """Wait until a draining server has no request in flight; return False if it still has one after `timeout`
    seconds (the caller decides whether to stop it anyway)."""
    deadline = clock() + timeout
    while api.servers(backend)[server].current_sessions:
        if clock() >= deadline:
            return False
        sleep(0.1)
    return True
