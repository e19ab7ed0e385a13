"""The control socket of a running `strongbox cluster up`: one JSON request per connection, one JSON answer.
The other `strongbox cluster` commands are its clients."""

import json
import os
import signal
import socket
import socketserver
import threading
from pathlib import Path

from strongbox.cluster.autoscale import Policy

OPERATIONS = ("status", "environment", "kill", "stop", "start", "restart", "scale", "reload", "autoscale", "release")


class NotRunning(RuntimeError):
    """No cluster answers in that directory."""


def serve(supervisor, path: Path) -> socketserver.BaseServer:
    """Answer requests on `path` (mode 0600: whoever may use it may stop the cluster) in a thread of its own."""
    from strongbox.cluster.supervisor import ClusterError

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            try:
                request = json.loads(self.rfile.readline(65536))
                answer = {"ok": True, "result": _dispatch(supervisor, request)}
            except (ClusterError, ValueError, KeyError, TypeError, OSError, RuntimeError) as error:
                answer = {"ok": False, "error": str(error) or type(error).__name__}
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    path.unlink(missing_ok=True)
    server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
    server.daemon_threads = True
    os.chmod(path, 0o600)
    threading.Thread(target=server.serve_forever, name="control", daemon=True).start()
    return server


def _dispatch(supervisor, request: dict):
    operation = request.get("op")
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    if operation in ("status", "environment"):
        return getattr(supervisor, operation)()
    if operation == "kill":
        return supervisor.kill(request["name"], signal.Signals[f"SIG{request.get('signal', 'KILL')}"])
    if operation == "scale":
        return supervisor.scale(int(request["count"]))
    if operation == "reload":
        return supervisor.reload_balancer()
    if operation == "release":
        return supervisor.release(request)
    if operation == "autoscale":
        policy = request.get("policy")
        return supervisor.set_autoscale(None if policy is None else Policy(**policy))
    return getattr(supervisor, operation)(request["name"])


def call(path: Path, request: dict, timeout: float = 300):
    """Send one request to the cluster at `path`; return its result or raise RuntimeError with its error."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"no cluster is running in {path.parent} (start one with `strongbox cluster up`)") \
                from None
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("rb").readline())
    if not answer["ok"]:
        raise RuntimeError(answer["error"])
    return answer["result"]
