"""One set of environment variables moves Strongbox from the embedded default to scale-out, and a wrong value
stops start-up with a message naming the variable."""

import json
import os
import subprocess
import sys

import pytest

SCALE_OUT = ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "STRONGBOX_STORAGE", "STRONGBOX_SESSION_STORE",
             "STRONGBOX_S3_BUCKET", "STRONGBOX_S3_ENDPOINT_URL")
SHOW = ("from django.conf import settings as s; import json; print(json.dumps({"
        "'databases': {alias: d['ENGINE'] for alias, d in s.DATABASES.items()}, 'routers': s.DATABASE_ROUTERS,"
        "'cache': s.CACHES['default']['BACKEND'], 'sessions': s.SESSION_ENGINE,"
        "'files': s.STORAGES['default']['BACKEND'], 'tasks': s.HUEY['huey_class'], 'search': s.SEARCH_BACKEND,"
        "'pool': 'pool' in s.DATABASES['default'].get('OPTIONS', {})}))")


def strongbox(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # Start from the embedded default whichever run of the suite this is.
    base = {name: value for name, value in os.environ.items() if name not in SCALE_OUT}
    environment = {**base, "STRONGBOX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "strongbox.settings",
                   **env}
    return subprocess.run([sys.executable, "-m", "strongbox", *args], env=environment,  # noqa: S603
                          capture_output=True, text=True, timeout=60)


def settings_of(tmp_path, **env: str) -> dict:
    result = strongbox(tmp_path, "shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_embedded_default_needs_no_service(tmp_path):
    assert settings_of(tmp_path) == {
        "databases": {"default": "django.db.backends.sqlite3"}, "routers": [],
        "cache": "strongbox.ops.diskcache.SharedDiskCache", "sessions": "strongbox.accounts.sessions",
        "files": "django.core.files.storage.FileSystemStorage", "tasks": "huey.SqliteHuey",
        "search": "strongbox.documents.search.sqlite.SqliteSearchBackend", "pool": False}


def test_environment_variables_alone_switch_every_backend_to_scale_out(tmp_path):
    assert settings_of(
        tmp_path, DATABASE_URL="postgres://sb@db1:5432/strongbox",
        DATABASE_REPLICA_URLS="postgres://sb@db2/strongbox,postgres://sb@db3/strongbox", REDIS_URL="redis://cache:6379/0",
        STRONGBOX_STORAGE="s3", STRONGBOX_S3_BUCKET="documents",
    ) == {
        "databases": {"default": "django.db.backends.postgresql", "replica1": "django.db.backends.postgresql",
                      "replica2": "django.db.backends.postgresql"},
        "routers": ["strongbox.ops.dbrouter.ReplicaRouter"],
        "cache": "strongbox.ops.cache.ResilientRedisCache", "sessions": "django.contrib.sessions.backends.cached_db",
        "files": "strongbox.ops.storage.StreamingS3Storage", "tasks": "huey.RedisHuey",
        "search": "strongbox.documents.search.postgres.PostgresSearchBackend", "pool": False}


@pytest.mark.parametrize("store", ["db", "cache", "cached_db", "signed_cookies"])
def test_the_session_store_is_a_choice(tmp_path, store):
    engine = settings_of(tmp_path, STRONGBOX_SESSION_STORE=store)["sessions"]
    # The database store is Django's with a cheaper read (accounts/sessions.py).
    assert engine == ("strongbox.accounts.sessions" if store == "db" else f"django.contrib.sessions.backends.{store}")


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_URL": "mysql://sb@db/strongbox"}, "DATABASE_URL must be a postgres:// URL"),
    ({"DATABASE_REPLICA_URLS": "postgres://sb@db2/strongbox"}, "DATABASE_REPLICA_URLS needs DATABASE_URL"),
    ({"STRONGBOX_STORAGE": "s3"}, "needs STRONGBOX_S3_BUCKET"),
    ({"STRONGBOX_STORAGE": "ftp"}, "STRONGBOX_STORAGE"),
    ({"STRONGBOX_SESSION_STORE": "redis"}, "STRONGBOX_SESSION_STORE"),
    ({"STRONGBOX_DATABASE_CONNECTIONS": "many"}, "STRONGBOX_DATABASE_CONNECTIONS"),
])
def test_a_wrong_value_stops_start_up_naming_the_variable(tmp_path, env, message):
    result = strongbox(tmp_path, "check", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_a_connection_pool_replaces_persistent_connections_when_asked(tmp_path):
    assert settings_of(tmp_path, DATABASE_URL="postgres://sb@db1/strongbox",
                       STRONGBOX_DATABASE_CONNECTIONS="pool")["pool"] is True
