"""Run on-commit callbacks in tests, which run inside a transaction that never commits."""

from django.test import TestCase


def committed():
    """Return a context in which the writes' on-commit work (cache bumps, file removal) runs as it would once they
    commit outside a test's transaction."""
    return TestCase.captureOnCommitCallbacks(execute=True)
