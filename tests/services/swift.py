"""A real S3-compatible object store for the test run: OpenStack Swift from Debian's packages (swift-proxy,
swift-account, swift-container, swift-object, python3-swift) with its ``s3api`` middleware.

One account, one container and one object server plus the proxy, each a foreground process on its own free
loopback port, with rings of one device and one replica, everything in a temporary directory that stop() removes.
Swift's packages are for the system Python, so the servers run under /usr/bin/python3, never under the venv.
Only the S3 API works (see the cache filter below), with path-style addressing (no storage_domain is set).

    swift = Swift().start()
    boto3.client("s3", endpoint_url=swift.endpoint_url, aws_access_key_id=swift.access_key,
                 aws_secret_access_key=swift.secret_key, region_name=swift.region)
    ...
    swift.stop()

Swift 2.30's DeleteObjects insists on a Content-MD5 header, which botocore >= 1.36 no longer sends (it sends a
CRC32 checksum instead): a client that deletes several objects at once needs to add the header itself.
"""

import base64
import email.utils
import getpass
import hmac
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from services.common import ServiceUnavailable, free_port, log_tail, require_binary, stop, wait_for_port

PYTHON = "/usr/bin/python3"
BACKENDS = ("account", "container", "object")

# The rings (one device "d1", one replica, 16 partitions) are written with the library behind swift-ring-builder:
# the command line tool would take three runs per ring (create, add, rebalance) of a second each; this takes one.
_BUILD_RINGS = """
import sys
from swift.common.ring import RingBuilder

swift_dir = sys.argv[1]
for name, port in zip(("account", "container", "object"), sys.argv[2:]):
    builder = RingBuilder(part_power=4, replicas=1, min_part_hours=0)
    builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save(f"{swift_dir}/{name}.ring.gz")
"""

# What swift-{account,container,object,proxy}-server do (run_wsgi on a paste config) with what they have no option
# for:
# - Swift's servers make themselves session leaders (os.setsid), out of reach of a terminal's Ctrl-C, so each one
#   ends itself once the process that started it is gone, should stop() never be called. The watcher is a real
#   thread, started before Swift monkey-patches threading with eventlet.
# - Swift reads swift.conf (hash path suffix, storage policies, constraints) from /etc/swift whatever swift_dir says:
#   set_swift_dir() points it at our directory, and the policies and constraints read at import are read again.
# - Swift always adds a syslog handler (UDP to localhost:514 when /dev/log is missing): it is replaced by a null
#   handler, and verbose=True logs to stderr instead, which is the server's log file.
_RUN_SERVER = """
import logging
import os
import signal
import sys
import threading
import time


def end_with_parent(parent=os.getppid()):
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


threading.Thread(target=end_with_parent, daemon=True).start()

from swift.common import utils

utils.set_swift_dir(sys.argv[1])
from swift.common import constraints, storage_policy

storage_policy.reload_storage_policies()
constraints.reload_constraints()
utils.ThreadSafeSysLogHandler = lambda *args, **kwargs: logging.NullHandler()

from swift.common.wsgi import run_wsgi

sys.exit(run_wsgi(sys.argv[2], sys.argv[3], verbose=True))
"""


class Swift:
    access_key = "test:tester"  # tempauth's "account:user", which s3api takes for the access key id ...
    secret_key = "testing"  # ... and the user's key for the secret
    region = "us-east-1"  # s3api's "location", which SigV4 signatures must name

    def __init__(self):
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.directory: Path | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self._no_memcache: socket.socket | None = None

    def start(self) -> "Swift":
        require_binary(PYTHON)
        for name in (*BACKENDS, "proxy"):
            # The scripts stand for their packages (which hold the servers' code); _RUN_SERVER does their job.
            require_binary(f"swift-{name}-server")
        self.directory = _directory_with_xattrs()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for process in self.processes.values():
            stop(process)
        self.processes.clear()
        if self._no_memcache is not None:
            self._no_memcache.close()
            self._no_memcache = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def client(self):
        """Return a boto3 S3 client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def create_bucket(self, name: str, timeout: float = 30):
        """Create a bucket, retrying while Swift answers 5xx: right after start-up the container server may still
        be opening its databases (a CI run once got InternalError twice in a row here)."""
        from botocore.exceptions import ClientError

        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().create_bucket(Bucket=name)
                return
            except ClientError as error:
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status < 500 or time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def log(self, name: str = "proxy") -> Path:
        """The log of a server ("account", "container", "object" or "proxy"), while it runs."""
        return self.directory / "log" / f"{name}.log"

    def _start(self):
        ports = {name: free_port() for name in BACKENDS}
        (self.directory / "srv" / "d1").mkdir(parents=True)
        (self.directory / "log").mkdir()
        (self.directory / "swift.conf").write_text(
            textwrap.dedent(f"""\
                [swift-hash]
                swift_hash_path_suffix = {secrets.token_hex(16)}

                [storage-policy:0]
                name = Policy-0
                default = yes
                """)
        )
        for name in BACKENDS:
            self._write_conf(name, ports[name], f"[pipeline:main]\npipeline = {name}-server\n\n"
                                                f"[app:{name}-server]\nuse = egg:swift#{name}\n")
            self._run(name)
        # The backends never read the rings, the proxy does: built while the backends start.
        rings = subprocess.run(  # noqa: S603 - fixed command: the system Python and our own script
            [PYTHON, "-c", _BUILD_RINGS, str(self.directory), *(str(ports[name]) for name in BACKENDS)],
            env=_server_env(), capture_output=True, text=True, timeout=60,
        )
        if rings.returncode:
            raise ServiceUnavailable(f"building Swift's rings failed: {rings.stderr[-2000:]}")
        self._write_conf("proxy", self.port, self._proxy_conf())
        self._run("proxy")
        for name, port in (*ports.items(), ("proxy", self.port)):
            try:
                wait_for_port(port, self.processes[name], log=self.log(name))
            except ServiceUnavailable as exc:
                raise ServiceUnavailable(f"Swift's {name} server: {exc}") from None
        self._wait_for_s3()

    def _run(self, name: str):
        with self.log(name).open("wb") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - fixed command: the system Python and our script
                [PYTHON, "-c", _RUN_SERVER, str(self.directory), str(self.directory / f"{name}-server.conf"),
                 f"{name}-server"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=_server_env(),
            )

    def _write_conf(self, name: str, port: int, body: str):
        (self.directory / f"{name}-server.conf").write_text(
            textwrap.dedent(f"""\
                [DEFAULT]
                bind_ip = 127.0.0.1
                bind_port = {port}
                # No forked workers: one process per server, which stop() ends with its SIGTERM.
                workers = 0
                # Only servers with forked workers switch users, to "swift" by default: not to be.
                user = {getpass.getuser()}
                swift_dir = {self.directory}
                devices = {self.directory / "srv"}
                mount_check = false
                # No preallocation, and so no refusal to write on a disk more than 99 % full (fallocate_reserve).
                disable_fallocate = true
                log_name = {name}

                """)
            + body
        )

    def _proxy_conf(self) -> str:
        # tempauth authorizes nothing without a memcache client in the request, and there is no memcached: the
        # cache filter gets an address that refuses connections (a port held bound here, never listened on) and,
        # after its first failure, stops trying for a day. Nothing is cached then, which costs only lookups of
        # account and container info: S3 requests are authorized by their signatures, each time. The Swift API's
        # tokens (/auth/v1.0) live in memcache only, so the Swift API does not work.
        self._no_memcache = socket.socket()
        self._no_memcache.bind(("127.0.0.1", 0))
        no_memcache_port = self._no_memcache.getsockname()[1]
        return textwrap.dedent(f"""\
            [pipeline:main]
            # The proxy would insert catch_errors, gatekeeper, listing_formats, copy, dlo and versioned_writes itself
            # (and log that it did) if they were missing.
            # - catch_errors: turns exceptions into 500s, gives each request a transaction id.
            # - gatekeeper: drops clients' attempts at Swift's internal (sysmeta) headers.
            # - proxy-logging (twice, as Swift wants it): access log of the client's requests, then of subrequests.
            # - cache: see above.
            # - listing_formats: JSON and XML container listings, which s3api reads.
            # - s3api: the S3 API, translated to Swift requests; before the auth filter.
            # - tempauth: the user, whose signatures s3api checks.
            # - bulk: bulk deletes, which s3api's documentation asks for.
            # - copy: server-side copies (CopyObject, UploadPartCopy).
            # - slo: static large objects, which s3api's multipart uploads complete into.
            # - dlo, versioned_writes: required by the proxy; s3api needs neither.
            pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth bulk copy slo dlo
                versioned_writes proxy-logging proxy-server

            [app:proxy-server]
            use = egg:swift#proxy
            # tempauth's accounts exist once created, and S3 users cannot create them.
            account_autocreate = true

            [filter:catch_errors]
            use = egg:swift#catch_errors

            [filter:gatekeeper]
            use = egg:swift#gatekeeper

            [filter:proxy-logging]
            use = egg:swift#proxy_logging

            [filter:cache]
            use = egg:swift#memcache
            memcache_servers = 127.0.0.1:{no_memcache_port}
            error_suppression_limit = 0
            error_suppression_interval = 86400
            # Else it logs an error for every request.
            log_level = CRITICAL

            [filter:listing_formats]
            use = egg:swift#listing_formats

            [filter:s3api]
            use = egg:swift#s3api
            location = {self.region}

            [filter:tempauth]
            use = egg:swift#tempauth
            # Account "test", user "tester", key "testing"; .admin: all rights on the account.
            user_test_tester = {self.secret_key} .admin

            [filter:bulk]
            use = egg:swift#bulk

            [filter:copy]
            use = egg:swift#copy

            [filter:slo]
            use = egg:swift#slo

            [filter:dlo]
            use = egg:swift#dlo

            [filter:versioned_writes]
            use = egg:swift#versioned_writes
            """)

    def _wait_for_s3(self, timeout: float = 30):
        """Until a signed ListBuckets answers 200: the proxy, s3api, tempauth and the account server work."""
        deadline = time.monotonic() + timeout
        error = None
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise ServiceUnavailable(f"Swift's {name} server exited with {process.returncode}: "
                                             f"{log_tail(self.log(name))}")
            try:
                if self._list_buckets() == 200:
                    return
            except OSError as exc:  # urllib's URLError and HTTPError included
                error = exc
            time.sleep(0.1)
        raise ServiceUnavailable(f"Swift's S3 API does not answer at {self.endpoint_url} after {timeout} s ({error}): "
                                 f"{log_tail(self.log('proxy'))}")

    def _list_buckets(self) -> int:
        # AWS signature version 2, which s3api accepts and which needs no more than this.
        date = email.utils.formatdate(usegmt=True)
        string_to_sign = f"GET\n\n\n{date}\n/"
        signature = base64.b64encode(hmac.digest(self.secret_key.encode(), string_to_sign.encode(), "sha1")).decode()
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 endpoint
            f"{self.endpoint_url}/", headers={"Date": date, "Authorization": f"AWS {self.access_key}:{signature}"}
        )
        # No HTTP proxy from the environment for a loopback address.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as response:
            return response.status


def _directory_with_xattrs() -> Path:
    """A new temporary directory on a file system with user extended attributes, where Swift keeps objects'
    metadata. tmpfs has them only since Linux 6.6, and /tmp is a tmpfs on many systems: /var/tmp, on disk, is the
    fallback."""
    for parent in (None, "/var/tmp"):
        directory = Path(tempfile.mkdtemp(prefix="swift-", dir=parent))
        try:
            os.setxattr(directory, "user.swift.test", b"1")
            return directory
        except OSError:
            shutil.rmtree(directory, ignore_errors=True)
    raise ServiceUnavailable("no temporary directory supports user extended attributes, which Swift needs")


def _server_env() -> dict[str, str]:
    """The environment without what would make /usr/bin/python3 look into the venv, and without eventlet's DNS
    resolver: it imports dnspython and httpx, most of a Swift server's start-up time, to resolve nothing but
    127.0.0.1 here."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    env["EVENTLET_NO_GREENDNS"] = "yes"
    return env
