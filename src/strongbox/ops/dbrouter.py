"""Reads on PostgreSQL replicas, writes on the primary, and every client reading its own writes.

A read goes to a replica only when the replica has replayed every write the reader may know of:
- writes of the current request: a request that may write (any method but GET, HEAD, OPTIONS) or that runs inside
  a transaction on the primary reads from the primary throughout;
- the client's earlier writes: after a request that wrote, ReplicaPinMiddleware sets a cookie holding the primary's
  WAL position (LSN) for REPLICA_PIN_SECONDS; until a replica has replayed that far, this client reads from the
  primary. This covers the session a sign-in just created, on whichever app server the next request lands;
- this process's own writes (from any thread, a task or a test), tracked the same way.
A write that only moves a session's bookkeeping forward (when it was last seen, its expiry) counts as none: an
older copy read from a replica does no harm, and counting it would pin every signed-in client once a minute.

One request reads from one replica, chosen at its first read, as long as that replica stays usable: a page never
mixes two replicas' views of the data. A replica is skipped for REPLICA_RETRY_SECONDS when it is unreachable,
when its WAL receiver is not streaming (a broken stream leaves it serving what it had, with nothing left to replay
and so no visible lag), or when its replay is behind the primary's WAL position and the last transaction it
replayed is older than REPLICA_MAX_LAG_SECONDS; with no replica usable, reads fall back to the primary.

Each request checks the replica it reads from once (a round trip on an open connection), so a replica stopped
between two requests costs no failed request; the lag is checked at most once a second per replica and process.
"""

import contextvars
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.db import DatabaseError, connections, transaction

from strongbox.accounts.middleware import SEEN, STARTED
from strongbox.ops import metrics

log = logging.getLogger(__name__)
PIN_COOKIE = "strongbox-primary"
LAG_CHECK_SECONDS = 1.0
# The receiver's status, as seen by a role without pg_read_all_stats (which PostgreSQL shows the receiver's pid
# only): it runs, whether it streams is not known.
RECEIVER_HIDDEN = "hidden"
_LAG_SQL = """
    SELECT pg_is_in_recovery(),
           (SELECT COALESCE(status, %s) FROM pg_stat_wal_receiver),
           pg_last_wal_replay_lsn()::text,
           EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float
"""
# What a session save that changed only these keys (and the expiry column) writes is bookkeeping.
SESSION_BOOKKEEPING_KEYS = frozenset({SEEN, STARTED})
_SESSION_UPDATE = re.compile(
    r'UPDATE "django_session" SET "session_data" = %s, "expire_date" = %s WHERE "django_session"."session_key" = %s')

# Per request (per thread outside requests): pinned to the primary; the WAL position the reader must see; the
# replica already checked; the replica this request reads from; whether this request wrote.
_pinned = contextvars.ContextVar("strongbox_pinned", default=False)
_required_lsn = contextvars.ContextVar("strongbox_required_lsn", default=0)
_checked = contextvars.ContextVar("strongbox_replica_checked", default=None)
_replica = contextvars.ContextVar("strongbox_replica", default=None)
_wrote = contextvars.ContextVar("strongbox_wrote", default=False)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


def parse_lsn(text: str) -> int:
    """Return a PostgreSQL WAL position ('16/B374D848') as a number."""
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def primary_lsn() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return parse_lsn(cursor.fetchone()[0])


def write_position() -> int:
    """Return the primary's flushed WAL position, or 0 without replicas. Called after a commit it covers that
    commit (a synchronous commit flushes its WAL first); unlike the insert position, a replica can always reach
    it, since WAL is streamed once flushed."""
    return _primary_flush_lsn() if replica_aliases() else 0


def read_at_least(lsn: int) -> None:
    """Let the rest of this request (or task) read only from a replica that has replayed up to `lsn`, or else
    from the primary: for data another process wrote, e.g. the writes behind a cache version (documents/cache.py)."""
    if lsn > _required_lsn.get():
        _required_lsn.set(lsn)


def _primary_flush_lsn() -> int:
    # What the primary has flushed is all a replica can have received: its WAL senders send no further.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
        return parse_lsn(cursor.fetchone()[0])


def replica_problem(*, in_recovery: bool, receiver: str | None, replayed: int | None, primary: int,
                    replay_age: float | None, max_lag: float) -> str | None:
    """Return why a replica must not serve reads, or None when it may.

    `receiver` is its WAL receiver's status (None: no receiver runs), `replayed` its replay position, `primary`
    the primary's WAL position read just before, `replay_age` the seconds since the commit of the last transaction
    it replayed (None: none yet). A server not in recovery (a promoted replica) has nothing to lag behind.
    """
    if not in_recovery:
        return None
    if receiver is None:
        return "its WAL receiver is not running"
    if receiver not in ("streaming", RECEIVER_HIDDEN):
        return f"its WAL receiver is {receiver}, not streaming"
    # Behind alone is normal for a few milliseconds after every write; behind with an old last replay is lag.
    if replayed is not None and replayed < primary and replay_age is not None and replay_age > max_lag:
        return f"behind the primary, its last replayed transaction {replay_age:.1f} s old"
    return None


class _Replicas:
    """What this process knows of each replica, and of its own last write."""

    def __init__(self):
        self._lock = threading.Lock()
        self.down_until: dict[str, float] = {}
        self.lag_checked: dict[str, float] = {}
        self.replayed: dict[str, int] = {}
        # Writes this process made (counted), and how many of them process_lsn covers: a thread that finds them
        # unequal reads the primary's position before it reads a replica. (A flag cleared before the position was
        # stored let another thread read a replica in between, without the write.)
        self.process_writes = 0
        self.covered_writes = 0
        self.process_lsn = 0

    def note_process_write(self):
        with self._lock:
            self.process_writes += 1

    def required_lsn(self) -> int:
        writes = self.process_writes
        if writes != self.covered_writes:
            lsn = primary_lsn()  # read after the writes counted in `writes` committed: it covers them
            with self._lock:
                self.process_lsn = max(self.process_lsn, lsn)
                self.covered_writes = max(self.covered_writes, writes)
        return max(self.process_lsn, _required_lsn.get())

    def usable(self, alias: str) -> bool:
        now = time.monotonic()
        if self.down_until.get(alias, 0) > now:
            return False
        try:
            connection = connections[alias]
            if _checked.get() != alias:
                # Django's own health check (CONN_HEALTH_CHECKS), run here, where a dead replica can still send the
                # read to the primary; marked done, so the query does not repeat it.
                connection.health_check_done = False
                connection.close_if_health_check_failed()
                connection.ensure_connection()
                _checked.set(alias)
            if now - self.lag_checked.get(alias, 0) >= LAG_CHECK_SECONDS:
                self._check_lag(alias, now)
            required = self.required_lsn()
            if required > self.replayed.get(alias, 0):
                self._check_replayed(alias)
            return required <= self.replayed.get(alias, 0) and self.down_until.get(alias, 0) <= now
        except DatabaseError as error:
            self._mark_down(alias, f"unreachable: {error}")
            return False

    def _check_lag(self, alias: str, now: float):
        primary = _primary_flush_lsn()  # first: the replica is then asked to have at least this
        with connections[alias].cursor() as cursor:
            cursor.execute(_LAG_SQL, [RECEIVER_HIDDEN])
            in_recovery, receiver, replayed, replay_age = cursor.fetchone()
        self.lag_checked[alias] = now
        replayed = parse_lsn(replayed) if replayed else None
        problem = replica_problem(in_recovery=in_recovery, receiver=receiver, replayed=replayed, primary=primary,
                                  replay_age=replay_age, max_lag=settings.REPLICA_MAX_LAG_SECONDS)
        if problem:
            self._mark_down(alias, problem)
        elif replayed is not None:
            with self._lock:
                self.replayed[alias] = max(self.replayed.get(alias, 0), replayed)

    def _check_replayed(self, alias: str):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            (replayed,) = cursor.fetchone()
        if replayed is not None:
            with self._lock:
                self.replayed[alias] = max(self.replayed.get(alias, 0), parse_lsn(replayed))

    def _mark_down(self, alias: str, why: str):
        log.warning("Replica %s skipped for %s s: %s", alias, settings.REPLICA_RETRY_SECONDS, why)
        with self._lock:
            self.down_until[alias] = time.monotonic() + settings.REPLICA_RETRY_SECONDS
            self.replayed.pop(alias, None)
        try:
            connections[alias].close()
        except DatabaseError:
            pass

    def reset(self):
        with self._lock:
            self.down_until.clear()
            self.lag_checked.clear()
            self.replayed.clear()


replicas = _Replicas()


_task_pins = threading.local()


def task_started(task):
    """Pin a task's reads to the primary: it usually follows a write that a replica may not have replayed yet."""
    _task_pins.__dict__.setdefault("tokens", []).append(_pinned.set(True))


def task_finished(task, value, exception):
    _pinned.reset(_task_pins.tokens.pop())


def is_session_bookkeeping(sql: str, params, many: bool, connection) -> bool:
    """Return whether a statement only moves a session's bookkeeping forward: it updates a session row whose data
    stays the same but for SESSION_BOOKKEEPING_KEYS (one primary-key read of the row as it is before)."""
    if many or not params or not _SESSION_UPDATE.fullmatch(sql.strip()):
        return False
    data, _, key = params
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session WHERE session_key = %s", [key])
        row = cursor.fetchone()
    if row is None:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    before, after = store.decode(row[0]), store.decode(data)

    def content(session: dict) -> dict:
        return {name: value for name, value in session.items() if name not in SESSION_BOOKKEEPING_KEYS}

    # An undecodable row decodes as {}: then it is not known what changed.
    return bool(before) and content(before) == content(after)


def _note_write(execute, sql, params, many, context):
    if not sql.lstrip()[:6].upper().startswith(("SELECT", "SAVEPO", "RELEAS", "SET", "SHOW")) \
            and not is_session_bookkeeping(sql, params, many, context["connection"]):
        _wrote.set(True)
        connection = context["connection"]
        if connection.in_atomic_block:
            transaction.on_commit(replicas.note_process_write, using=connection.alias)
        else:
            replicas.note_process_write()
    return execute(sql, params, many, context)


def watch_writes(sender, connection, **kwargs):
    """Track writes on the primary's connections (connected to connection_created when replicas are set)."""
    if connection.alias == "default" and _note_write not in connection.execute_wrappers:
        connection.execute_wrappers.append(_note_write)


@dataclass(frozen=True)
class ReplicaState:
    streaming: bool
    lag_bytes: int | None  # None: not known (the replica did not answer)
    lag_seconds: float


def replica_state(alias: str) -> ReplicaState:
    """Return how the replica stands now, for the metrics (whether this process routes reads to it is `usable`)."""
    try:
        primary = _primary_flush_lsn()
        with connections[alias].cursor() as cursor:
            cursor.execute(_LAG_SQL, [RECEIVER_HIDDEN])
            in_recovery, receiver, replayed, replay_age = cursor.fetchone()
    except DatabaseError:
        return ReplicaState(streaming=False, lag_bytes=None, lag_seconds=0.0)
    behind = max(0, primary - parse_lsn(replayed)) if replayed else None
    # The last replayed transaction of a replica that has everything ages with an idle primary: that is no lag.
    return ReplicaState(streaming=bool(in_recovery) and receiver in ("streaming", RECEIVER_HIDDEN), lag_bytes=behind,
                        lag_seconds=float(replay_age or 0.0) if behind else 0.0)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        alias = self._choose()
        metrics.REPLICA_READS.labels(alias).inc()
        return alias

    def _choose(self):
        if _pinned.get() or connections["default"].in_atomic_block:
            return "default"
        chosen = _replica.get()
        if chosen is not None and replicas.usable(chosen):
            return chosen
        aliases = [alias for alias in replica_aliases() if alias != chosen]
        random.shuffle(aliases)  # noqa: S311 (spreading load, not a secret)
        for alias in aliases:
            if replicas.usable(alias):
                _replica.set(alias)
                return alias
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaPinMiddleware:
    """Read from the primary in requests that may write, and until the replicas have a client's last write."""

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tokens = [(_pinned, _pinned.set(request.method not in self.SAFE_METHODS)),
                  (_required_lsn, _required_lsn.set(self._client_lsn(request))),
                  (_checked, _checked.set(None)), (_replica, _replica.set(None)), (_wrote, _wrote.set(False))]
        try:
            response = self.get_response(request)
            if _wrote.get() and settings.REPLICA_PIN_SECONDS:
                lsn = primary_lsn()
                response.set_cookie(PIN_COOKIE, f"{lsn:x}", max_age=settings.REPLICA_PIN_SECONDS,
                                    secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
        finally:
            for variable, token in reversed(tokens):
                variable.reset(token)
        return response

    @staticmethod
    def _client_lsn(request) -> int:
        # A forged value only sends this client's own reads to the primary, so the cookie needs no signature.
        try:
            return int(request.COOKIES.get(PIN_COOKIE, "0"), 16)
        except ValueError:
            return 0
