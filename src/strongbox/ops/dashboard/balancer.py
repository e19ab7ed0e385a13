"""HAProxy's stats CSV (`STRONGBOX_BALANCER_STATS_URL`, e.g. http://127.0.0.1:8404/stats;csv): each server's state.

The page polls every 2 s, so a balancer that does not answer must cost well under a second and say so, never
raise: the rest of the page is still worth showing.
"""

import base64
import csv
import http.client
import io
import time
from urllib.parse import unquote, urlsplit, urlunsplit

TIMEOUT_SECONDS = 0.8  # for the whole exchange, connect to last byte
MAX_BYTES = 2 * 1024 * 1024
STATES = ("UP", "DOWN", "MAINT", "DRAIN", "NOLB")
_SERVER_ROW = "2"  # the CSV's `type` column: 0 frontend, 1 backend, 2 server, 3 listener


class Unreachable(Exception):
    """The stats could not be read: no answer in time, an error status, or not HAProxy's CSV."""


def shown_url(url: str) -> str:
    """Return the URL without the user name and password it may carry (HAProxy's `stats auth`)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def fetch(url: str, timeout: float = TIMEOUT_SECONDS) -> str:
    """Return the body at `url` (http or https only), read within `timeout` seconds in all: connecting, sending
    and every read get only the time still left. No proxy and no redirect: it is the balancer's own address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unreachable(f"not an http(s) URL with a host: {shown_url(url)}")
    headers = {"Accept": "text/csv, text/plain", "Connection": "close"}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete answer within {timeout:g} s")
        return remaining

    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    except ValueError as error:  # a port that is not a number
        raise Unreachable(str(error)) from None
    try:
        connection.connect()
        # The response reads through this socket even once the connection lets go of it (Connection: close).
        sock = connection.sock
        sock.settimeout(left())
        connection.request("GET", urlunsplit(("", "", parts.path or "/", parts.query, "")), headers=headers)
        sock.settimeout(left())
        response = connection.getresponse()
        if response.status != 200:
            raise Unreachable(f"HTTP {response.status} {response.reason}".strip())
        chunks, size = [], 0
        while True:
            sock.settimeout(left())
            chunk = response.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BYTES:
                raise Unreachable(f"the answer is larger than {MAX_BYTES} bytes")
    except TimeoutError as error:  # socket.timeout too
        raise Unreachable(str(error) if str(error) != "timed out" else f"no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise Unreachable(str(error) or type(error).__name__) from None
    finally:
        connection.close()
    return b"".join(chunks).decode("utf-8", errors="replace")


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def state_of(status: str) -> str:
    """Return UP, DOWN, MAINT, DRAIN or NOLB from HAProxy's status text ("UP 1/2", "MAINT (via app/web1)", "no
    check"…); anything else as HAProxy wrote it."""
    word = status.split(" ", 1)[0].upper()
    return word if word in STATES else status


def parse_servers(text: str) -> list[dict]:
    """Return the server rows of HAProxy's stats CSV."""
    if not text.startswith("# pxname,"):
        raise Unreachable("the answer is not HAProxy's stats CSV")
    rows = csv.DictReader(io.StringIO(text[2:]))
    servers = []
    for row in rows:
        if row.get("type") != _SERVER_ROW:
            continue
        status = row.get("status") or ""
        servers.append({
            "backend": row.get("pxname") or "", "name": row.get("svname") or "", "state": state_of(status),
            "status": status, "sessions": _number(row.get("scur")), "session_rate": _number(row.get("rate")),
            "response_ms": _number(row.get("rtime")), "responses_5xx": _number(row.get("hrsp_5xx")),
            "weight": _number(row.get("weight")),
        })
    return servers


def balancer_state(url: str) -> dict:
    """Return the balancer section: {"state": "not_configured"}, {"state": "unreachable", "url", "error"} or
    {"state": "ok", "url", "servers": [...]}."""
    if not url:
        return {"state": "not_configured"}
    try:
        servers = parse_servers(fetch(url))
    except Unreachable as error:
        return {"state": "unreachable", "url": shown_url(url), "error": str(error)[:200]}
    return {"state": "ok", "url": shown_url(url), "servers": servers}
