#!/bin/sh
# Make the secret files deploy/compose.yaml mounts, in deploy/compose/secrets/, each once (an existing file is
# kept): random passwords and keys, the URL of Redis with its password, and a self-signed certificate for HOST
# (default localhost) unless tls_certificate.pem is there already (your own: certificate chain, then key, PEM).
#
# The directory is private to you (0700); the files in it are readable by the containers' users (Strongbox runs
# as uid 10001, PostgreSQL as 999, HAProxy as 99), which bind-mounted compose secrets need.
set -eu
host=${1:-localhost}
dir=$(cd "$(dirname "$0")" && pwd)/secrets
mkdir -p "$dir" && chmod 0700 "$dir"
umask 022

random() { python3 -c 'import secrets; print(secrets.token_urlsafe(48))'; }
make() {  # make NAME COMMAND...: write the command's output to NAME unless it exists
    name=$1; shift
    [ -s "$dir/$name" ] && return
    "$@" >"$dir/$name.new" && mv "$dir/$name.new" "$dir/$name"
    echo "made secrets/$name"
}
make db_password random
make replication_password random
make redis_password random
make redis_url sh -c "printf 'redis://:%s@redis:6379/0\n' \"\$(cat '$dir/redis_password')\""
make s3_access_key_id python3 -c 'import secrets; print("strongbox" + secrets.token_hex(6))'
make s3_secret_access_key random
make strongbox_secret_key python3 -c 'import secrets; print(secrets.token_urlsafe(50))'
make strongbox_totp_keys python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'
if [ ! -s "$dir/tls_certificate.pem" ]; then
    work=$(mktemp -d)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=$host" \
        -addext "subjectAltName=DNS:$host" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
    cat "$work/cert.pem" "$work/key.pem" >"$dir/tls_certificate.pem"
    rm -rf "$work"
    echo "made secrets/tls_certificate.pem (self-signed for $host)"
fi
