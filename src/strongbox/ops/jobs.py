"""Durable jobs: at-least-once background work on top of a task queue that may lose messages.

Calling a job kind (`tasks.extract_document_text(document_id=…)`) writes a `Job` row in the caller's transaction and,
once that commits, puts a nudge (the row's id) on the Huey queue. A worker claims the row (one conditional UPDATE, so
two nudges never run it twice at once), runs it under a lease of JOB_LEASE_SECONDS and deletes the row when it
succeeded. Nothing else is trusted to survive:
- a lost nudge (queue unreachable at commit, a Redis restart) or a worker killed mid-job (SIGKILL, OOM, power): the row
  stays; once it is due (the lease ran out) the sweep every worker runs nudges it again;
- a failed attempt: the row is due again after an exponential back-off, and nudged with that delay;
- the last attempt failed, or its worker died in each of them: the kind's `give_up` runs (e.g. the document is marked
  unreadable and its owner told) and the row goes. Nothing is retried forever.
Because a job may run more than once (a worker that dies after the work but before deleting the row), every job kind
must be idempotent.

Fairness: a job may belong to a group (`kind(…, group="owner:42")`), and a kind may limit how many jobs of one group
run at once (`per_group`). The limit is checked in the claim, against the rows every worker process shares, so it holds
however many workers there are: a job whose group is full is left pending (its worker thread is free at once for
someone else's job), and each job of the group that ends nudges the next ones. So one user's hundred uploads take one
slot, not every worker thread, and another user's upload waits for no more than a free slot.
"""

import inspect
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from strongbox.ops import metrics
from strongbox.ops.models import Job

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
_KINDS: dict[str, "JobKind"] = {}


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[..., None]
    max_attempts: int
    retry_delay: int
    give_up: Callable[..., None] | None
    per_group: Callable[[], int] | None = None
    # Kinds naming the same `shares_slots_with` count against one per-group limit (e.g. a document's text
    # extraction and its previews: one user's uploads take one slot, not one per kind). None: the kind's own.
    shares_slots_with: str | None = None

    @property
    def slot_kinds(self) -> list[str]:
        """The kinds whose running jobs of a group count against this kind's per-group limit."""
        if self.shares_slots_with is None:
            return [self.name]
        return [kind.name for kind in _KINDS.values() if kind.shares_slots_with == self.shares_slots_with]

    def __call__(self, *args, group: str = "", **kwargs) -> Job:
        """Record this job (of `group`, if given) in the current transaction and nudge a worker once it commits."""
        arguments = inspect.signature(self.run).bind(*args, **kwargs).arguments
        job = Job.objects.create(kind=self.name, args=arguments, group=group, due_at=timezone.now())
        transaction.on_commit(lambda: _nudge(job.pk), robust=True)
        return job

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.retry_delay * 2 ** (attempts - 1))


def job(*, max_attempts: int, retry_delay: int, give_up: Callable[..., None] | None = None,
        per_group: Callable[[], int] | None = None, shares_slots_with: str | None = None):
    """Make the decorated function a durable job kind; calling the result enqueues it (JSON-serializable
    arguments, and `group=` naming whose work it is). `give_up(error=…, **arguments)` runs once after the last
    attempt. `per_group()` is how many jobs of this kind and one group may run at once (None: no limit); kinds
    given the same `shares_slots_with` name share that limit."""

    def register(function: Callable[..., None]) -> JobKind:
        if "group" in inspect.signature(function).parameters:
            raise TypeError(f"{function.__qualname__}: a job cannot take an argument named 'group'")
        kind = JobKind(f"{function.__module__}.{function.__qualname__}", function, max_attempts, retry_delay, give_up,
                       per_group, shares_slots_with)
        _KINDS[kind.name] = kind
        return kind

    return register


def _nudge(job_id: int, delay: float = 0) -> None:
    from strongbox.ops.tasks import run_job

    if delay:
        run_job.schedule(args=(job_id,), delay=delay)
    else:
        run_job(job_id)


def _running(now) -> Q:
    return Q(leased_until__gt=now)


def _claim(job_id: int) -> Job | None:
    """Take the job for one attempt if it is due and its group has room; return it, or None if it is done, running
    elsewhere, not due, or its group is full."""
    row = Job.objects.filter(pk=job_id).values("kind", "group").first()
    if row is None:
        return None
    kind = _KINDS.get(row["kind"])
    limit = kind.per_group() if kind is not None and kind.per_group is not None and row["group"] else None
    now = timezone.now()
    lease_end = now + timedelta(seconds=settings.JOB_LEASE_SECONDS)
    with transaction.atomic():
        if limit is not None:
            group = Job.objects.filter(kind__in=kind.slot_kinds, group=row["group"])
            # Two workers claiming jobs of one group at once must count each other's claim: on PostgreSQL both lock
            # the group's rows (in one order, so they queue rather than deadlock); SQLite's transactions already
            # take the write lock when they begin (transaction_mode IMMEDIATE).
            list(group.select_for_update().order_by("pk").values_list("pk", flat=True))
            if group.filter(_running(now)).exclude(pk=job_id).count() >= limit:
                return None  # left pending: the group's running jobs nudge it when they end
        claimed = Job.objects.filter(pk=job_id, due_at__lte=now).update(
            attempts=F("attempts") + 1, due_at=lease_end, leased_until=lease_end, nudged_at=None)
        if not claimed:
            return None
    return Job.objects.filter(pk=job_id).first()


def _nudge_group(kind: JobKind, claimed: Job) -> None:
    """The claimed job ended: nudge the group's next pending jobs, which its running jobs kept waiting."""
    if kind.per_group is None or not claimed.group:
        return
    now = timezone.now()
    waiting = (Job.objects.filter(kind__in=kind.slot_kinds, group=claimed.group, due_at__lte=now)
               .exclude(_running(now)).order_by("due_at", "pk").values_list("pk", flat=True)[:kind.per_group()])
    try:
        for job_id in waiting:
            _nudge(job_id)
    except Exception:  # noqa: BLE001 - the queue is unreachable: the sweep nudges them
        log.warning("could not nudge the jobs waiting in group %s; the sweep will", claimed.group)


def run(job_id: int) -> None:
    """Run one attempt of the job, if it is due: delete it on success, schedule the next attempt on failure, give up
    after the last one."""
    claimed = _claim(job_id)
    if claimed is None:
        return
    kind = _KINDS.get(claimed.kind)
    if kind is None:
        log.error("job %s: unknown kind %s; dropped", claimed.pk, claimed.kind)
        claimed.delete()
        return
    try:
        _attempt(kind, claimed)
    finally:
        _nudge_group(kind, claimed)


def _attempt(kind: JobKind, claimed: Job) -> None:
    if claimed.attempts > kind.max_attempts:
        # Each attempt so far was cut off (the worker died during it): that is a failure too.
        _give_up(kind, claimed, claimed.last_error or f"the worker stopped during each of {kind.max_attempts} "
                                                      "attempts")
        return
    task = kind.name.rsplit(".", 1)[-1]
    if claimed.attempts == 1:
        metrics.TASK_LATENCY.labels(task).observe((timezone.now() - claimed.created_at).total_seconds())
    started = time.perf_counter()
    try:
        kind.run(**claimed.args)
    except Exception as error:  # noqa: BLE001 - any failure of the job is recorded, retried, finally given up
        metrics.TASK_SECONDS.labels(task, "failure").observe(time.perf_counter() - started)
        _failed(kind, claimed, error)
        return
    metrics.TASK_SECONDS.labels(task, "success").observe(time.perf_counter() - started)
    Job.objects.filter(pk=claimed.pk, attempts=claimed.attempts).delete()


def _failed(kind: JobKind, claimed: Job, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:300]
    if claimed.attempts >= kind.max_attempts:
        log.error("job %s (%s) failed its last attempt: %s", claimed.pk, kind.name, message)
        _give_up(kind, claimed, message)
        return
    delay = kind.backoff(claimed.attempts)
    log.warning("job %s (%s) attempt %s failed, next in %s s: %s", claimed.pk, kind.name, claimed.attempts,
                delay.total_seconds(), message)
    Job.objects.filter(pk=claimed.pk).update(due_at=timezone.now() + delay, leased_until=None, last_error=message)
    try:
        _nudge(claimed.pk, delay=delay.total_seconds())
    except Exception:  # noqa: BLE001 - the queue is unreachable: the sweep nudges the job when it is due
        log.warning("job %s: could not schedule its next attempt; the sweep will", claimed.pk)


def _give_up(kind: JobKind, claimed: Job, error: str) -> None:
    with transaction.atomic():
        if kind.give_up is not None:
            kind.give_up(error=error, **claimed.args)
        Job.objects.filter(pk=claimed.pk).delete()


def waiting(*, now=None) -> tuple[int, float]:
    """Return how many jobs are due and not running, and for how many seconds the oldest of them has been due."""
    now = now or timezone.now()
    due = Job.objects.filter(due_at__lte=now).exclude(_running(now)).aggregate(count=Count("pk"), oldest=Min("due_at"))
    return due["count"], (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0


def sweep(*, now=None) -> int:
    """Nudge jobs that are due but were not claimed (lost nudge, dead worker), at most once per lease each, however
    many workers sweep. Return how many were nudged."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
    quiet = Q(nudged_at__isnull=True) | Q(nudged_at__lte=now - lease)
    # A job just created is nudged by its own commit; give that nudge a moment before sending another.
    overdue = Q(due_at__lte=now - timedelta(seconds=min(settings.JOB_SWEEP_SECONDS, 10)))
    nudged = 0
    for job_id in Job.objects.filter(overdue & quiet).order_by("due_at").values_list("pk", flat=True)[:SWEEP_BATCH]:
        # The conditional update makes the nudge once-only when several workers sweep at the same moment.
        if Job.objects.filter(Q(pk=job_id) & quiet).update(nudged_at=now):
            _nudge(job_id)
            nudged += 1
    if nudged:
        log.info("sweep on %s:%s nudged %s job(s)", socket.gethostname(), os.getpid(), nudged)
    return nudged
