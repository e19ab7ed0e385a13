"""A private test network: network namespaces the test creates, joined by veth pairs to a bridge in a namespace of
their own. Names carry a random tag, so parallel runs cannot collide, and every interface lives inside those
namespaces (none in the host's), so deleting them removes everything. `private_network()` tears it down even when
the test fails."""

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from services.common import in_ci

PREFIX = "sbx-"  # every namespace a test makes starts so; the tests look for leftovers by it


def ip(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=timeout)  # noqa: S603, S607


def namespaces() -> set[str]:
    """The names `ip netns list` shows."""
    return {line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()}


def require_namespaces() -> None:
    """Skip (fail under CI=true) unless this process may create network namespaces."""
    probe = f"{PREFIX}{secrets.token_hex(4)}-probe"
    try:
        created = ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        created = None
    if created is not None and created.returncode == 0:
        ip("netns", "del", probe)
        return
    reason = "needs the ip command and the right to create network namespaces (root)"
    if in_ci():
        pytest.fail(f"{reason}, and CI=true needs every test to run: {created.stderr if created else 'no ip'}")
    pytest.skip(reason)


class TestNetwork:
    """Namespaces named `sbx-<tag>-<role>`; one of them ("lan") holds the bridge every other one plugs into."""

    __test__ = False  # a helper, not a test class, despite its name

    def __init__(self, bridge_role: str = "lan"):
        self.tag = secrets.token_hex(3)
        self.created: list[str] = []
        try:
            self.lan = self.namespace(bridge_role)
            ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
            # Without snooping the bridge floods multicast (VRRP advertisements) to every port, as a switch does.
            ip("-n", self.lan, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
            ip("-n", self.lan, "link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def name(self, role: str) -> str:
        return f"{PREFIX}{self.tag}-{role}"

    def namespace(self, role: str) -> str:
        """Create the namespace for `role`, its loopback up; return its name."""
        name = self.name(role)
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def host(self, role: str, *addresses: str) -> str:
        """A namespace plugged into the bridge: eth0 holding `addresses` (with prefix, e.g. 198.51.100.11/24)."""
        name = self.namespace(role)
        port = f"p-{role}"[:15]
        # Both ends are made in the bridge's namespace and one is moved, so no interface ever exists in the host's.
        ip("-n", self.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
        ip("-n", self.lan, "link", "set", port, "master", "br0", "up")
        for address in addresses:
            ip("-n", name, "addr", "add", address, "dev", "eth0")
        ip("-n", name, "link", "set", "eth0", "up")
        return name

    @staticmethod
    def run(namespace: str, *command: str) -> list[str]:
        """`command` as run inside `namespace` (ip netns exec replaces itself with it: the pid is the command's)."""
        return ["ip", "netns", "exec", namespace, *command]

    @staticmethod
    def addresses(namespace: str, device: str = "eth0") -> list[str]:
        """The IPv4 addresses on `device` in `namespace`, with prefix."""
        words = ip("-n", namespace, "-4", "-br", "addr", "show", "dev", device).stdout.split()
        return [word for word in words[2:] if "/" in word]

    def processes(self) -> list[int]:
        pids = []
        for name in self.created:
            listed = ip("netns", "pids", name, check=False)
            pids += [int(pid) for pid in listed.stdout.split()]
        return pids

    def close(self) -> None:
        """Kill whatever still runs in these namespaces (a test's own teardown should have stopped it), then delete
        them; deleting a namespace deletes the interfaces in it."""
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        for name in reversed(self.created):
            ip("netns", "del", name, check=False)
        self.created.clear()

    def __enter__(self) -> "TestNetwork":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@contextlib.contextmanager
def private_network() -> Iterator[TestNetwork]:
    """A new TestNetwork, deleted on leaving however the block ends (skips, or fails under CI, without rights)."""
    require_namespaces()
    network = TestNetwork()
    try:
        yield network
    finally:
        network.close()
