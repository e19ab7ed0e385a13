"""Configuration of the data tier `strongbox cluster` runs: PostgreSQL (primary and streaming replica) and Redis,
as text from plain values. Pure functions; the command writes the files."""


def render_postgresql_conf(port: int, socket_dir: str, replica: bool) -> str:
    """Return the settings Strongbox's cluster appends to the postgresql.conf initdb wrote (the last setting
    wins). Loopback only, trust authentication (pg_hba from initdb -A trust): the cluster is one machine's."""
    lines = [
        "# Written by strongbox cluster; changes here are lost on the next `cluster up`.",
        "listen_addresses = '127.0.0.1'",
        f"port = {port}",
        f"unix_socket_directories = '{socket_dir}'",
        "max_connections = 200",  # N app servers x 2 granian workers x 4 threads, workers, psql for status
        "shared_buffers = 128MB",
        # A streaming replica: WAL for it, and room for the replica's base backup and its WAL receiver.
        "wal_level = replica",
        "max_wal_senders = 5",
        "wal_keep_size = 256MB",  # a replica stopped for a while catches up from the primary's WAL
        "hot_standby = on",
        "hot_standby_feedback = on",  # long replica reads do not get cancelled by the primary's vacuum
        "log_destination = 'stderr'",
        "log_min_duration_statement = 1000",
    ]
    if replica:
        lines.append("# primary_conninfo is in postgresql.auto.conf, written by pg_basebackup -R.")
    return "\n".join(lines) + "\n"


def render_redis_conf(port: int, directory: str) -> str:
    """Return redis.conf: loopback, no persistence (Redis holds the cache, the task queue's nudges and, with
    --sessions cache, sessions; every durable fact is in PostgreSQL), a memory cap that evicts rather than
    refuses."""
    return "\n".join([
        "# Written by strongbox cluster; changes here are lost on the next `cluster up`.",
        "bind 127.0.0.1",
        f"port {port}",
        "protected-mode yes",
        f"dir {directory}",
        'save ""',
        "appendonly no",
        "maxmemory 256mb",
        # Keys with a time to live (cache entries, sessions) go first; the task queue's lists have none.
        "maxmemory-policy volatile-lru",
        "daemonize no",
        "loglevel notice",
        'logfile ""',
    ]) + "\n"
