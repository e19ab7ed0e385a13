"""What every scale-out test shares: the session's services, put back as they were after each test."""

import pytest
from django.db import connections

from helpers import wait_until_redis_is_trusted
from strongbox.ops.dbrouter import replicas


@pytest.fixture
def cluster():
    """The running services; whatever a test stops or pauses (Redis, the replica, its replay or its WAL receiver)
    is running again afterwards."""
    from services import session

    replicas.reset()
    yield session
    if session.redis.process is None:
        session.redis.start()
    replica = session.postgres.replica
    if replica.psql("SELECT 1") != "1":
        replica.start()
    session.postgres.start_wal_receiver()
    replica.psql("SELECT pg_wal_replay_resume()")
    connections["replica1"].close()
    replicas.reset()
    wait_until_redis_is_trusted()
