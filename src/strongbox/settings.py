"""Strongbox settings: one module, every knob read from the environment (see docs/configuration.md)."""

import base64
import os
import re
import secrets
from importlib.metadata import version as _package_version
from pathlib import Path

import dj_database_url
import redis
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from strongbox.lib.clientip import parse_networks
from strongbox.lib.env import env_bool, env_choice, env_int, env_list, env_secret, env_size, env_str

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = Path(env_str("STRONGBOX_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = env_choice("STRONGBOX_ENV", "development", ("development", "production", "test"))
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("STRONGBOX_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("STRONGBOX_DEBUG must be off when STRONGBOX_ENV=production.")


def _embedded_secret_key() -> str:
    # The embedded default must start with nothing configured, so it keeps a random key in the data directory.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _production_secret_key() -> str:
    key = env_secret("STRONGBOX_SECRET_KEY")
    if not key or len(key) < 50 or len(set(key)) < 10:
        raise ImproperlyConfigured(
            "STRONGBOX_ENV=production needs STRONGBOX_SECRET_KEY (or STRONGBOX_SECRET_KEY_FILE): at least 50 random "
            "characters, e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'")
    return key


SECRET_KEY = _production_secret_key() if PRODUCTION else env_secret("STRONGBOX_SECRET_KEY") or _embedded_secret_key()


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key)) == 32
    except ValueError:  # binascii.Error included
        return False


def _totp_keys() -> list[str]:
    # Two-factor secrets are encrypted at rest (accounts/secret_box.py) with the first key; every key decrypts, so
    # a new key goes first and the old ones stay after it until `strongbox rotatetotpkeys` has run.
    value = env_secret("STRONGBOX_TOTP_KEYS")
    if value is None and PRODUCTION:
        raise ImproperlyConfigured(
            "STRONGBOX_ENV=production needs STRONGBOX_TOTP_KEYS (or STRONGBOX_TOTP_KEYS_FILE): the key that encrypts "
            "two-factor secrets, e.g. from: python3 -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'")
    if value is None:
        path = DATA_DIR / "totp_key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())  # as Fernet.generate_key()
        value = path.read_text()
    keys = [key for key in re.split(r"[\s,]+", value) if key]
    # What Fernet() checks, without importing cryptography into every process (5 MB of each worker's memory).
    if not keys or not all(_is_fernet_key(key) for key in keys):
        raise ImproperlyConfigured("STRONGBOX_TOTP_KEYS holds something that is not a key: each comma-separated key is "
                                   "32 bytes in URL-safe base64, as Fernet.generate_key() makes them.") from None
    return keys


TOTP_KEYS = _totp_keys()
if PRODUCTION and not env_list("STRONGBOX_ALLOWED_HOSTS", []):
    raise ImproperlyConfigured("STRONGBOX_ENV=production needs STRONGBOX_ALLOWED_HOSTS: the host names users reach "
                               "Strongbox by, comma-separated.")
ALLOWED_HOSTS = env_list("STRONGBOX_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and "*" in ALLOWED_HOSTS:
    # Any Host header accepted: links built from it (and cache keys) would follow whatever a client sends.
    raise ImproperlyConfigured("STRONGBOX_ALLOWED_HOSTS must name the host names users reach Strongbox by when "
                               "STRONGBOX_ENV=production, not '*'.")
CSRF_TRUSTED_ORIGINS = env_list("STRONGBOX_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "strongbox.accounts",
    "strongbox.documents",
    "strongbox.ops",
    "strongbox.sharing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "csp",
]

MIDDLEWARE = [
    "strongbox.ops.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "strongbox.ops.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "strongbox.ops.middleware.CachePolicyMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "strongbox.documents.uploads.UploadSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "strongbox.api.middleware.ApiProblemMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "strongbox.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "strongbox.urls"
WSGI_APPLICATION = "strongbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "strongbox.templating.environment",
            "context_processors": ["strongbox.documents.context_processors.notifications",
                                   "strongbox.documents.context_processors.trash"],
        },
    },
    {
        # Only the admin renders with Django's template language.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Form widgets: Django's Jinja2 widget templates, the admin's from the Django template language.
FORM_RENDERER = "strongbox.templating.FormRenderer"

# The data tier. Embedded (the default): SQLite, an in-process cache, files in the data directory, a SQLite task
# queue. Scale-out: the same backends' shared counterparts, switched on by environment variables alone
# (docs/operations.md, "Scale-out"): DATABASE_URL, DATABASE_REPLICA_URLS, REDIS_URL, STRONGBOX_STORAGE.
DATABASE_URL = env_secret("DATABASE_URL") or ""
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS", [])
REDIS_URL = env_secret("REDIS_URL") or ""
if DATABASE_REPLICA_URLS and not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs DATABASE_URL: replicas serve reads for a primary.")

# PostgreSQL connections: "persistent" keeps one connection per app-server thread open between requests; "pool"
# shares a psycopg pool of DATABASE_POOL_SIZE connections among a process's threads. Measured the same throughput
# (bench/database_connections.py); Django holds a connection for a whole request, a streamed download included, so
# a pool smaller than the thread count makes requests wait. Hence persistent by default (docs/operations.md).
DATABASE_CONNECTIONS = env_choice("STRONGBOX_DATABASE_CONNECTIONS", "persistent", ("persistent", "pool"))
DATABASE_POOL_SIZE = env_int("STRONGBOX_DATABASE_POOL_SIZE", 4, minimum=1)

def _postgres(url: str, alias: str) -> dict:
    try:
        # Either way a connection is checked before use, so a restarted server costs no failed request.
        database = dj_database_url.parse(url, conn_max_age=0 if DATABASE_CONNECTIONS == "pool" else 600,
                                         conn_health_checks=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{alias}: {error}") from None
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{alias} must be a postgres:// URL (the embedded default is SQLite: leave "
                                   "DATABASE_URL unset for it).")
    options = database.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", 5)
    if DATABASE_CONNECTIONS == "pool":
        options["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": 10}
    return database


if DATABASE_URL:
    DATABASES = {"default": _postgres(DATABASE_URL, "DATABASE_URL")}
    for number, url in enumerate(DATABASE_REPLICA_URLS, start=1):
        DATABASES[f"replica{number}"] = _postgres(url, "DATABASE_REPLICA_URLS")
else:
    # SQLite in WAL mode: readers never wait for the writer; IMMEDIATE transactions take the write lock up front
    # so concurrent writers queue on the busy timeout instead of failing with "database is locked". Connections
    # stay open between requests (one per app-server thread): opening one and running its PRAGMAs cost about
    # 0.8 ms of every request (bench/budget.py).
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "strongbox.sqlite3",
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                "timeout": env_int("STRONGBOX_SQLITE_BUSY_TIMEOUT", 20, minimum=1),
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Reads go to a replica unless the request may write, the replica has not replayed the client's last write yet
# (a cookie holding its WAL position, kept REPLICA_PIN_SECONDS at most), or the replica is down or more than
# REPLICA_MAX_LAG_SECONDS behind; writes always go to the primary (ops/dbrouter.py).
DATABASE_ROUTERS = ["strongbox.ops.dbrouter.ReplicaRouter"] if DATABASE_REPLICA_URLS else []
if DATABASE_REPLICA_URLS:
    # Before anything reads the database (the session, the user) so those reads are routed with the pin.
    MIDDLEWARE.insert(1, "strongbox.ops.dbrouter.ReplicaPinMiddleware")
REPLICA_PIN_SECONDS = env_int("STRONGBOX_REPLICA_PIN_SECONDS", 10, minimum=0)
REPLICA_MAX_LAG_SECONDS = env_int("STRONGBOX_REPLICA_MAX_LAG_SECONDS", 5, minimum=0)
REPLICA_RETRY_SECONDS = env_int("STRONGBOX_REPLICA_RETRY_SECONDS", 5, minimum=1)

REDIS_TIMEOUT_SECONDS = env_int("STRONGBOX_REDIS_TIMEOUT_MILLISECONDS", 250, minimum=1) / 1000
if REDIS_URL:
    # A Redis outage degrades the cache to misses instead of failing requests (ops/cache.py); /readyz says so.
    # The timeout is what one call costs when Redis hangs instead of refusing (the breaker then skips it for a
    # few seconds): a healthy Redis on the same network answers in well under a millisecond.
    _redis_timeout = REDIS_TIMEOUT_SECONDS
    CACHES = {"default": {"BACKEND": "strongbox.ops.cache.ResilientRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "strongbox",
                          "OPTIONS": {"socket_connect_timeout": _redis_timeout, "socket_timeout": _redis_timeout}}}
else:
    # Shared by every process of the installation (the web workers and the task worker): SQLite files in the data
    # directory, with add and incr atomic across processes, so counters, limits and invalidations agree everywhere
    # (chosen over Django's database cache by bench/embedded_cache.py; docs/architecture.md, "Shared state").
    CACHES = {"default": {"BACKEND": "strongbox.ops.diskcache.SharedDiskCache", "LOCATION": str(DATA_DIR / "cache"),
                          "KEY_PREFIX": "strongbox", "SHARDS": 4, "DATABASE_TIMEOUT": 0.25,
                          "OPTIONS": {"size_limit": env_size("STRONGBOX_CACHE_SIZE", 256 * 1024**2)}}}

SESSION_STORE = env_choice("STRONGBOX_SESSION_STORE", "cached_db" if REDIS_URL else "db",
                           ("db", "cache", "cached_db", "signed_cookies", "file"))
# The database store is Django's with a cheaper read (accounts/sessions.py).
SESSION_ENGINE = ("strongbox.accounts.sessions" if SESSION_STORE == "db"
                  else f"django.contrib.sessions.backends.{SESSION_STORE}")
if SESSION_STORE == "file":
    # Files in a directory of this server's own: a session exists only where it was made, so behind a balancer
    # it needs sticky sessions (`strongbox cluster up --sessions local --sticky` shows why).
    SESSION_FILE_PATH = Path(env_str("STRONGBOX_SESSION_DIR", str(DATA_DIR / "sessions")))
    SESSION_FILE_PATH.mkdir(parents=True, exist_ok=True)

STORAGE = env_choice("STRONGBOX_STORAGE", "local", ("local", "s3"))
if STORAGE == "s3":
    S3_PRESIGNED_DOWNLOADS = env_bool("STRONGBOX_S3_PRESIGNED_DOWNLOADS", False)
    _files = {
        "BACKEND": "strongbox.ops.storage.StreamingS3Storage",
        "OPTIONS": {
            "bucket_name": env_str("STRONGBOX_S3_BUCKET", ""),
            "endpoint_url": env_str("STRONGBOX_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("STRONGBOX_S3_REGION", "us-east-1"),
            "access_key": env_secret("STRONGBOX_S3_ACCESS_KEY_ID"),
            "secret_key": env_secret("STRONGBOX_S3_SECRET_ACCESS_KEY"),
            "addressing_style": env_choice("STRONGBOX_S3_ADDRESSING_STYLE", "path", ("path", "virtual")),
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": env_int("STRONGBOX_S3_URL_SECONDS", 60, minimum=1),
        },
    }
    if not _files["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STRONGBOX_STORAGE=s3 needs STRONGBOX_S3_BUCKET.")
else:
    S3_PRESIGNED_DOWNLOADS = False
    _files = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Outside STATIC_ROOT and never routed by urls.py: files leave only through the download view.
        "OPTIONS": {"location": DATA_DIR / "files", "directory_permissions_mode": 0o700,
                    "file_permissions_mode": 0o600},
    }
STORAGES = {
    "default": _files,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Files Django's storages write (static files included) are for the service user alone, like everything in the
# data directory (ops/datadir.py); Django's default would chmod them 0644 whatever the umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STATIC_URL = "/static/"
# Collected by `collectstatic` (make run, strongbox cluster up); several installations may share one.
STATIC_ROOT = Path(env_str("STRONGBOX_STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
STATICFILES_DIRS = [PROJECT_DIR / "static"]

# Tasks: Huey, on a SQLite file in the data directory (consumed by `strongbox serve`) or on Redis (consumed by any
# number of `strongbox worker` processes; periodic jobs run once across all of them, see documents/tasks.py).
# A Redis that hangs must not hang the request that nudges a job: its socket timeout outlasts only the consumer's
# one-second blocking read.
_huey_storage = ({"huey_class": "huey.RedisHuey", "connection_pool": redis.ConnectionPool.from_url(
                     REDIS_URL, socket_connect_timeout=1, socket_timeout=2)} if REDIS_URL else
                 {"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "tasks.sqlite3")})
HUEY = {
    **_huey_storage,
    "name": "strongbox",
    "immediate": env_bool("STRONGBOX_TASKS_IMMEDIATE", False),
    # SIGTERM (what `serve`, systemd and Kubernetes send) lets the running tasks finish; jobs (ops/jobs.py) redo any
    # that a harder stop interrupts.
    "consumer": {"workers": env_int("STRONGBOX_WORKER_THREADS", 2, minimum=1), "worker_type": "thread",
                 "graceful_signal": "TERM"},
}
# Durable jobs: a job whose worker died is run again once its lease has run out, found by the sweep every worker
# runs every JOB_SWEEP_SECONDS. The lease must outlast the longest job (text extraction's EXTRACT_TIMEOUT).
JOB_LEASE_SECONDS = env_int("STRONGBOX_JOB_LEASE_SECONDS", 300, minimum=1)
JOB_SWEEP_SECONDS = env_int("STRONGBOX_JOB_SWEEP_SECONDS", 30, minimum=1)

# Accounts
AUTH_USER_MODEL = "accounts.User"
# Django's ModelBackend, which also lets the sign-in page say that an account is not activated yet; ModelBackend
# itself only for the sessions signed in before (see accounts/backends.py).
AUTHENTICATION_BACKENDS = ["strongbox.accounts.backends.AccountBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "documents:list"
LOGOUT_REDIRECT_URL = "accounts:login"
SIGNUP_OPEN = env_bool("STRONGBOX_SIGNUP_OPEN", True)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute force: failed sign-ins per account name and per client address, reset requests per address and per
# e-mail address, each within a fixed window, counted in the cache (shared by all app servers once on Redis).
LOGIN_FAILURES_PER_ACCOUNT = env_int("STRONGBOX_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("STRONGBOX_LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_LOCKOUT_WINDOW = env_int("STRONGBOX_LOGIN_LOCKOUT_WINDOW", 15 * 60, minimum=60)
# Failed sign-ins are padded to this many seconds so their timing does not tell which accounts exist, even for
# accounts whose password hash is of an older, slower kind: keep it above the slowest hash's verification time.
LOGIN_FAILURE_MIN_SECONDS = env_int("STRONGBOX_LOGIN_FAILURE_MIN_MILLISECONDS", 1000, minimum=0) / 1000
# Password checks (sign-in, two-factor code, re-authentication, password change) running at once in one app
# process; more are answered 503 at once. Keep it below STRONGBOX_WEB_THREADS so failed sign-ins, which hold their
# thread for the floor above, cannot hold every thread.
SIGNIN_CHECKS_PER_PROCESS = env_int("STRONGBOX_SIGNIN_CHECKS_PER_PROCESS", 2, minimum=1)
RESET_REQUESTS_PER_EMAIL = env_int("STRONGBOX_RESET_REQUESTS_PER_EMAIL", 3, minimum=1)
RESET_REQUESTS_PER_ADDRESS = env_int("STRONGBOX_RESET_REQUESTS_PER_ADDRESS", 10, minimum=1)
RESET_REQUEST_WINDOW = 3600
PASSWORD_RESET_TIMEOUT = env_int("STRONGBOX_PASSWORD_RESET_TIMEOUT", 3600, minimum=60)
ACCOUNT_ACTIVATION_TIMEOUT = env_int("STRONGBOX_ACCOUNT_ACTIVATION_TIMEOUT", 3 * 24 * 3600, minimum=60)
# Sign-ups per e-mail address typed and per client address within a fixed window (each sends a mail). A pending
# sign-up holds its username and address for ACCOUNT_ACTIVATION_TIMEOUT, then is removed.
SIGNUPS_PER_EMAIL = env_int("STRONGBOX_SIGNUPS_PER_EMAIL", 3, minimum=1)
SIGNUPS_PER_ADDRESS = env_int("STRONGBOX_SIGNUPS_PER_ADDRESS", 10, minimum=1)
SIGNUP_WINDOW = 3600

# A session ends after SESSION_IDLE_TIMEOUT without a request, and SESSION_COOKIE_AGE after sign-in at the latest.
SESSION_COOKIE_AGE = env_int("STRONGBOX_SESSION_AGE", 14 * 24 * 3600, minimum=300)
SESSION_IDLE_TIMEOUT = env_int("STRONGBOX_SESSION_IDLE_TIMEOUT", 12 * 3600, minimum=60)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
# Production runs behind TLS: cookies only over HTTPS, with __Host- names (no Domain, Path=/, Secure) that a
# sibling subdomain cannot set or overwrite.
# The same holds for every other cookie Strongbox sets (strongbox.lib.cookies): the list page's preferences and
# the messages shown on the next page.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
COOKIE_PREFIX = "__Host-" if PRODUCTION else ""
SESSION_COOKIE_NAME = f"{COOKIE_PREFIX}sessionid"
CSRF_COOKIE_NAME = f"{COOKIE_PREFIX}csrftoken"
MESSAGE_STORAGE = "strongbox.lib.cookies.MessageStorage"
CSRF_FAILURE_VIEW = "strongbox.ops.views.csrf_failure"

# Mail: a file outbox under the data directory unless an SMTP server is configured.
EMAIL_HOST = env_str("STRONGBOX_EMAIL_HOST", "")
# A mail server that hangs must not hold a worker thread for good; the job is retried (ops/jobs.py).
EMAIL_TIMEOUT = env_int("STRONGBOX_EMAIL_TIMEOUT", 30, minimum=1)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("STRONGBOX_EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("STRONGBOX_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = env_secret("STRONGBOX_EMAIL_PASSWORD") or ""
    EMAIL_USE_TLS = env_bool("STRONGBOX_EMAIL_STARTTLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = env_str("STRONGBOX_EMAIL_FROM", "Strongbox <strongbox@localhost>")


def _site_url() -> str:
    """The address links in mails point at. Production must name it, over HTTPS. Elsewhere it defaults to the port
    `strongbox serve` listens on (serve hands its address to its children, the mail-sending task worker too)."""
    url = env_str("STRONGBOX_SITE_URL", "").rstrip("/")
    if PRODUCTION and not url.lower().startswith("https://"):
        raise ImproperlyConfigured("STRONGBOX_ENV=production needs STRONGBOX_SITE_URL: the https:// address users "
                                   f"reach Strongbox at, which the links in mails use (got {url or 'nothing'!r}).")
    return url or f"http://127.0.0.1:{env_int('STRONGBOX_PORT', 8000, minimum=1)}"


SITE_URL = _site_url()

# Uploads: every file goes to a temporary file on disk, never to memory, and the size is counted as it streams.
MAX_UPLOAD_SIZE = env_size("STRONGBOX_MAX_UPLOAD_SIZE", 16 * 1024 * 1024)
# Every upload goes to a temporary file (never memory), hashed as it is written, in 256 KB chunks
# (documents/uploads.py); the temporary directory is on the file store's filesystem, so storing is a rename.
FILE_UPLOAD_HANDLERS = [
    "strongbox.documents.uploads.SizeLimitUploadHandler",
    "strongbox.documents.uploads.HashingFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(exist_ok=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# Django's backstop: documents/uploads.py allows one file per request, BATCH_FILES (100) on the upload form.
DATA_UPLOAD_MAX_NUMBER_FILES = 101
QUOTA_DOCUMENTS = env_int("STRONGBOX_QUOTA_DOCUMENTS", 10_000, minimum=1)
QUOTA_BYTES = env_size("STRONGBOX_QUOTA_BYTES", 5 * 1024**3)
# Text-extraction results for one user within this many seconds of each other are one notification ("12 documents
# are indexed"), not one per upload; 0 notifies each document on its own (documents/notification_groups.py).
NOTIFICATION_GROUP_SECONDS = env_int("STRONGBOX_NOTIFICATION_GROUP_SECONDS", 300, minimum=0)
ARCHIVE_MAX_ENTRIES = env_int("STRONGBOX_ARCHIVE_MAX_ENTRIES", 1000, minimum=1)
ARCHIVE_MAX_UNCOMPRESSED = env_size("STRONGBOX_ARCHIVE_MAX_UNCOMPRESSED", 100 * 1024 * 1024)
# Deleted documents leave a tombstone (no file, no text) this long, so a late update from another primary
# conflicts with it instead of bringing the document back.
TOMBSTONE_DAYS = env_int("STRONGBOX_TOMBSTONE_DAYS", 7, minimum=1)
# Days a deleted document stays in the trash, restorable, before the periodic job deletes it for good.
TRASH_DAYS = env_int("STRONGBOX_TRASH_DAYS", 30, minimum=1)
# Sharing (docs/sharing.md): the longest a share link may stay valid, and how many wrong passwords a link takes per
# link and per client address in a window, and how many unknown names a user may try to share with in one.
SHARE_LINK_MAX_DAYS = env_int("STRONGBOX_SHARE_LINK_MAX_DAYS", 30, minimum=1)
SHARE_LINK_FAILURES_PER_LINK = env_int("STRONGBOX_SHARE_LINK_FAILURES_PER_LINK", 10, minimum=1)
SHARE_LINK_FAILURES_PER_ADDRESS = env_int("STRONGBOX_SHARE_LINK_FAILURES_PER_ADDRESS", 30, minimum=1)
SHARE_LINK_LOCKOUT_WINDOW = env_int("STRONGBOX_SHARE_LINK_LOCKOUT_WINDOW", 15 * 60, minimum=60)
SHARE_LOOKUP_FAILURES_PER_USER = env_int("STRONGBOX_SHARE_LOOKUP_FAILURES_PER_USER", 20, minimum=1)
EXTRACT_TIMEOUT = env_int("STRONGBOX_EXTRACT_TIMEOUT", 60, minimum=1)
if JOB_LEASE_SECONDS <= max(EXTRACT_TIMEOUT, EMAIL_TIMEOUT):
    raise ImproperlyConfigured("STRONGBOX_JOB_LEASE_SECONDS must be longer than STRONGBOX_EXTRACT_TIMEOUT and "
                               "STRONGBOX_EMAIL_TIMEOUT, or a job still running would be started a second time.")
EXTRACT_MEMORY = env_size("STRONGBOX_EXTRACT_MEMORY", 512 * 1024 * 1024)
# Per file: EXTRACT_MIN_SECONDS plus EXTRACT_SECONDS_PER_MB for each MB, at most EXTRACT_TIMEOUT, so a tiny hostile
# file cannot take the whole timeout; a PDF's first EXTRACT_MAX_PAGES pages are indexed. Per owner: at most
# EXTRACTIONS_PER_OWNER extractions at once across all workers (keep it below STRONGBOX_WORKER_THREADS, so one user's
# uploads always leave a worker free for everyone else's).
EXTRACT_MIN_SECONDS = env_int("STRONGBOX_EXTRACT_MIN_SECONDS", 5, minimum=1)
EXTRACT_SECONDS_PER_MB = env_int("STRONGBOX_EXTRACT_SECONDS_PER_MB", 20, minimum=0)
EXTRACT_MAX_PAGES = env_int("STRONGBOX_EXTRACT_MAX_PAGES", 2000, minimum=1)
EXTRACTIONS_PER_OWNER = env_int("STRONGBOX_EXTRACTIONS_PER_OWNER", 1, minimum=1)
# Previews and OCR (docs/previews-and-ocr.md): page images of at most PREVIEW_MAX_PAGES pages, images of at most
# PREVIEW_MAX_PIXELS pixels, rendered in the extraction's limited child in PREVIEW_TIMEOUT at most; text recognised
# with Tesseract in OCR_LANGUAGES (installed tesseract-ocr-LANG packages, joined by "+") within OCR_TIMEOUT, on at
# most OCR_MAX_PAGES pages of a PDF without a text layer.
PREVIEW_MAX_PAGES = env_int("STRONGBOX_PREVIEW_MAX_PAGES", 50, minimum=1)
PREVIEW_MAX_PIXELS = env_int("STRONGBOX_PREVIEW_MAX_PIXELS", 50_000_000, minimum=1_000_000)
# The defaults of both timeouts shrink to fit a short STRONGBOX_JOB_LEASE_SECONDS; values set explicitly must fit it.
PREVIEW_TIMEOUT = env_int("STRONGBOX_PREVIEW_TIMEOUT", max(1, min(60, JOB_LEASE_SECONDS - 1)), minimum=1)
OCR = env_bool("STRONGBOX_OCR", True)
OCR_LANGUAGES = env_str("STRONGBOX_OCR_LANGUAGES", "eng+deu+fra")
if not re.fullmatch(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*", OCR_LANGUAGES):
    raise ImproperlyConfigured("STRONGBOX_OCR_LANGUAGES must be Tesseract language names joined by '+', "
                               "e.g. eng+deu+fra.")
OCR_TESSERACT = env_str("STRONGBOX_TESSERACT", "tesseract")
OCR_TIMEOUT = env_int("STRONGBOX_OCR_TIMEOUT", max(1, min(60, JOB_LEASE_SECONDS - EXTRACT_TIMEOUT - 5)), minimum=1)
OCR_MAX_PAGES = env_int("STRONGBOX_OCR_MAX_PAGES", 20, minimum=1)
if ("STRONGBOX_OCR_TIMEOUT" in os.environ and JOB_LEASE_SECONDS < EXTRACT_TIMEOUT + OCR_TIMEOUT + 5) or (
        "STRONGBOX_PREVIEW_TIMEOUT" in os.environ and JOB_LEASE_SECONDS <= PREVIEW_TIMEOUT):
    raise ImproperlyConfigured("STRONGBOX_JOB_LEASE_SECONDS must be longer than STRONGBOX_EXTRACT_TIMEOUT plus "
                               "STRONGBOX_OCR_TIMEOUT (and 5 s), and than STRONGBOX_PREVIEW_TIMEOUT, or a job still "
                               "running would be started a second time.")
# The API: requests per minute per key or signed-in user, and per client address for unauthenticated calls.
API_RATE_LIMIT = env_int("STRONGBOX_API_RATE_LIMIT", 600, minimum=1)
API_ANONYMOUS_RATE_LIMIT = env_int("STRONGBOX_API_ANONYMOUS_RATE_LIMIT", 60, minimum=1)
API_MAX_PAGE_SIZE = 100
try:
    TRUSTED_PROXIES = parse_networks(env_list("STRONGBOX_TRUSTED_PROXIES", []))
except ValueError as error:
    raise ImproperlyConfigured(f"STRONGBOX_TRUSTED_PROXIES: {error}.") from None
# Who may read /metrics: clients from these networks, or anyone sending `Authorization: Bearer <token>`; anyone
# else gets the 404 of a missing page.
try:
    METRICS_NETWORKS = parse_networks(env_list("STRONGBOX_METRICS_NETWORKS", ["127.0.0.0/8", "::1/128"]))
except ValueError as error:
    raise ImproperlyConfigured(f"STRONGBOX_METRICS_NETWORKS: {error}.") from None
METRICS_TOKEN = env_secret("STRONGBOX_METRICS_TOKEN")
BALANCER_STATS_URL = env_str("STRONGBOX_BALANCER_STATS_URL", "")
# A task worker started alone (`strongbox worker`) answers scrapes itself on this port; one that `serve` started
# counts in the app server's files instead (ops/metrics.py).
WORKER_METRICS_HOST = env_str("STRONGBOX_WORKER_METRICS_HOST", "127.0.0.1")
WORKER_METRICS_PORT = env_int("STRONGBOX_WORKER_METRICS_PORT", 0, minimum=0)
if METRICS_TOKEN is not None and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("STRONGBOX_METRICS_TOKEN must be at least 32 characters (e.g. the output of "
                               "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
# The file `serve` names to its app server and creates on SIGTERM: /readyz answers 503 while it exists, for
# STRONGBOX_DRAIN_SECONDS before the app server stops, which serve reads itself (ops/serve.py, drain_seconds).
DRAIN_FILE = env_str("STRONGBOX_DRAIN_FILE", "")
SEARCH_BACKEND = env_str("STRONGBOX_SEARCH_BACKEND", "strongbox.documents.search." + (
    "postgres.PostgresSearchBackend" if DATABASE_URL else "sqlite.SqliteSearchBackend"))

# Security headers. The CSP allows no inline script or style; every asset is a file under static/.
# TrustedProxyMiddleware drops X-Forwarded-Proto unless a trusted proxy sent it, so believing it here is safe.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancer probes may use plain HTTP
SECURE_HSTS_SECONDS = 2 * 365 * 24 * 3600 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("STRONGBOX_HSTS_PRELOAD", False)
# Preloading binds the whole domain and its subdomains to HTTPS for browsers' release cycles; that is the
# operator's decision (STRONGBOX_HSTS_PRELOAD=true), so its absence is not a deployment warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("STRONGBOX_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# text: one line a record, for people; json: one object a line (time, level, logger, message, request_id, user_id,
# route, and an access line's status and duration), for a log pipeline.
LOG_FORMAT = env_choice("STRONGBOX_LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # request_id: the id of the request a line was written for ("-" outside one), as in its X-Request-ID header.
    "formatters": {"text": {"format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"},
                   "json": {"()": "strongbox.ops.logformat.JsonLines"}},
    "filters": {"request_id": {"()": "strongbox.ops.requestid.RequestIdFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("STRONGBOX_LOG_LEVEL", "INFO")},
    # Huey's consumer adds a handler of its own to a "huey" logger that has none, which printed every line twice.
    "loggers": {"strongbox.audit": {"level": "INFO"},
                "huey": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Error tracking: exceptions (and ERROR log lines) to Sentry or a server speaking its protocol, scrubbed of
# anything personal or secret (ops/errors.py). Unset: nothing is sent anywhere.
SENTRY_DSN = env_secret("STRONGBOX_SENTRY_DSN")
RELEASE = env_str("STRONGBOX_RELEASE", _package_version("strongbox"))
if SENTRY_DSN:
    from strongbox.ops.errors import init_error_tracking

    init_error_tracking(SENTRY_DSN, environment=ENVIRONMENT, release=RELEASE)
