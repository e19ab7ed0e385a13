"""What every service starter needs: a free loopback port, a wait for a port to accept connections, a process
that is stopped when the test session ends, and a loud failure when a binary is missing."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from strongbox.ops.ports import free_port  # noqa: F401  # re-exported: every starter takes its ports here


class ServiceUnavailable(RuntimeError):
    """A service could not be started (missing binary, failed start-up)."""


def require_binary(path: str) -> str:
    found = shutil.which(path)
    if not found:
        raise ServiceUnavailable(f"{path} is not installed (see SYSTEM_PACKAGES in the Makefile)")
    return found


def require_tool(binary: str, package: str | None = None) -> str:
    """Return the path of a program a test drives (also found in /usr/sbin); skip the test without it, or fail it
    when CI=true, where every test must run."""
    import pytest

    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found is None:
        source = f"Debian package {package}" if package else "make system-packages"
        if in_ci():
            pytest.fail(f"{binary} is not installed, and CI=true needs every test to run ({source})")
        pytest.skip(f"needs {binary} ({source})")
    return found


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceUnavailable(f"exited with {process.returncode}: {log_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceUnavailable(f"nothing listens on 127.0.0.1:{port} after {timeout} s: {log_tail(log)}")


def stop(process: subprocess.Popen, timeout: float = 10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return log.read_text(errors="replace")[-2000:]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
