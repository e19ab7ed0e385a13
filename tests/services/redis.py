"""A Redis server that keeps nothing on disk, on a free loopback port."""

import contextlib
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from services.common import free_port, require_binary, stop, wait_for_port


class RedisServer:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="strongbox-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = require_binary("redis-server")
        log = self.root / "redis.log"
        self.process = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--logfile", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, log=log)
        return self

    def pause(self):
        """Freeze the server (SIGSTOP): the kernel still accepts connections, nothing answers, as behind a
        partition."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    @contextlib.contextmanager
    def frozen(self):
        """Keep the server frozen inside the block, and running again after it whatever happens."""
        self.pause()
        try:
            yield self
        finally:
            self.resume()

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                self.resume()  # a frozen process would not act on SIGTERM
            stop(self.process)
            self.process = None

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
