"""Job groups: a kind's per-group limit holds across every worker, and the group's waiting jobs run as slots free."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from strongbox.ops import jobs
from strongbox.ops.models import Job

ran: list[str] = []
limit = {"value": 1}


@jobs.job(max_attempts=2, retry_delay=10, per_group=lambda: limit["value"])
def work(name: str) -> None:
    ran.append(name)


@pytest.fixture(autouse=True)
def fresh():
    ran.clear()
    limit["value"] = 1


@pytest.mark.django_db
def test_a_full_group_leaves_the_job_pending_and_other_groups_run():
    first = work(name="alice 1", group="owner:1")
    second = work(name="alice 2", group="owner:1")
    other = work(name="bob", group="owner:2")
    assert jobs._claim(first.pk) is not None  # running on some worker
    assert jobs._claim(second.pk) is None
    second.refresh_from_db()
    assert second.attempts == 0 and second.leased_until is None  # untouched: still pending
    assert jobs._claim(other.pk) is not None


@pytest.mark.django_db
def test_jobs_without_a_group_are_not_limited():
    assert all(jobs._claim(work(name=str(index)).pk) is not None for index in range(3))


@pytest.mark.django_db
def test_a_job_that_ends_runs_the_next_waiting_job_of_its_group():
    first = work(name="alice 1", group="owner:1")
    second = work(name="alice 2", group="owner:1")
    assert jobs._claim(second.pk) is not None  # say "alice 2" got the slot first
    Job.objects.filter(pk=second.pk).update(due_at=timezone.now())  # due again, but its lease still runs
    jobs.run(first.pk)  # refused: the group is full
    assert ran == []
    Job.objects.filter(pk=second.pk).update(leased_until=None)  # "alice 2" ended …
    jobs.run(second.pk)  # … and the nudge after its end runs "alice 1" (tasks run inline in tests)
    assert ran == ["alice 2", "alice 1"] and not Job.objects.exists()


@pytest.mark.django_db
def test_a_dead_workers_lease_frees_its_slot_when_it_runs_out():
    first = work(name="alice 1", group="owner:1")
    second = work(name="alice 2", group="owner:1")
    assert jobs._claim(first.pk) is not None  # …and its worker is killed
    Job.objects.filter(pk=first.pk).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert jobs._claim(second.pk) is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's IMMEDIATE transactions serialize the claims "
                    "from their start; the test database (shared-cache, in memory) refuses concurrent writers with "
                    "'database table is locked' instead of waiting, as the file database does")
@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_when_workers_claim_at_the_same_moment():
    limit["value"] = 2
    # Rows only, no nudges: outside a transaction a nudge would run each job inline at once.
    pending = [Job.objects.create(kind=work.name, args={"name": str(index)}, group="owner:1",
                                  due_at=timezone.now()).pk for index in range(8)]
    barrier = threading.Barrier(len(pending))
    claimed = []

    def claim(job_id):
        try:
            barrier.wait()
            if jobs._claim(job_id) is not None:
                claimed.append(job_id)
        finally:
            connection.close()  # this thread's own connection, so the test database can be dropped

    threads = [threading.Thread(target=claim, args=(job_id,)) for job_id in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 2
    assert Job.objects.filter(leased_until__gt=timezone.now()).count() == 2
