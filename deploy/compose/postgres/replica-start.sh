#!/bin/bash
# The replica's entry point (as user postgres): on first start, a base backup of the primary that writes its own
# standby configuration (-R) and creates its replication slot, then PostgreSQL as a hot standby streaming from it.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --quiet --host db-primary --username replicator --dbname postgres; do sleep 1; done
    PGPASSWORD=$(cat /run/secrets/replication_password) pg_basebackup --host db-primary --username replicator \
        --pgdata "$PGDATA" --wal-method stream --write-recovery-conf --create-slot --slot replica1 \
        --checkpoint fast
    chmod 0700 "$PGDATA"
fi
exec postgres
