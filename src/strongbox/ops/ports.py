"""Free TCP ports for the services Strongbox starts itself (the cluster's, the tests').

A port the kernel hands out for `bind(("", 0))` comes from the ephemeral range, the same range every outgoing
connection on the machine takes its local port from: in the seconds between choosing it and the service binding
it (PostgreSQL's initdb, a balancer started last), a busy machine's connections can take it ("Address already in
use"). A port below that range is only ever taken by a program that binds it by number, so it is chosen there.
"""

import random
import socket
from pathlib import Path

LOWEST = 20000
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port on `host` that nothing listens on now, below the ephemeral range when there is room."""
    top = _ephemeral_start()
    if top - LOWEST >= 1000:
        for port in random.sample(range(LOWEST, top), 50):  # noqa: S311  # nosec B311 - a port, not a secret
            if _bindable(host, port):
                return port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
