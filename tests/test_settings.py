"""Settings for the test suite: the real settings, pointed at a throw-away data directory."""

import os
import tempfile

os.environ.setdefault("STRONGBOX_DATA_DIR", tempfile.mkdtemp(prefix="strongbox-test-"))
os.environ.setdefault("STRONGBOX_ENV", "test")

# The second run of the suite: the same tests against PostgreSQL (primary + streaming replica), Redis and an S3
# server, each started here from the installed binaries.
SCALE_OUT_RUN = os.environ.get("STRONGBOX_TEST_SCALE_OUT") == "1"
if SCALE_OUT_RUN:
    from services import session
    from services.common import ServiceUnavailable, in_ci

    try:
        session.start()
    except ServiceUnavailable as missing:
        session.stop()
        if in_ci():
            raise
        import pytest

        pytest.exit(f"scale-out run skipped: {missing}", returncode=0)

from strongbox.settings import *  # noqa: E402,F403

# Tasks run inline, at the moment they would be enqueued (tests capture on_commit callbacks to trigger them).
HUEY = {**HUEY, "immediate": True}  # noqa: F405

# Tests do not run collectstatic, so pages link to unhashed static files.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405

# Let the test client see the context of Jinja2 renders.
TEMPLATES = [{**TEMPLATES[0], "BACKEND": "instrumented_jinja2.InstrumentedJinja2"}, *TEMPLATES[1:]]  # noqa: F405

# Tests that need the failed-sign-in time floor set it themselves; elsewhere it would only slow the suite down.
LOGIN_FAILURE_MIN_SECONDS = 0

if SCALE_OUT_RUN:
    # Django creates the test database on the primary only; the replica receives it by streaming replication.
    # conftest.py points this alias at the replica server once the test database exists.
    DATABASES["replica1"]["TEST"] = {"MIRROR": "default"}  # noqa: F405
