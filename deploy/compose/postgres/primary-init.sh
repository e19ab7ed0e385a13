#!/bin/bash
# Run once by the postgres image when it creates the primary's cluster (/docker-entrypoint-initdb.d): the role the
# replica streams as, with the password from its secret, and the pg_hba line that lets it connect for replication.
set -euo pipefail
password=$(cat /run/secrets/replication_password)
psql --variable ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --set password="$password" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
