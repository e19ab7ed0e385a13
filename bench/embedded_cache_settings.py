"""Strongbox's settings with the cache backend chosen by BENCH_CACHE, for bench/embedded_cache.py only."""

import os

from strongbox.settings import *  # noqa: F403
from strongbox.settings import DATA_DIR, DATABASES

_BACKEND = os.environ["BENCH_CACHE"]
# The database cache's own SQLite file, so cache writes never wait for the application database's write lock.
DATABASES = {**DATABASES, "cache": {**DATABASES["default"], "NAME": DATA_DIR / "cache.sqlite3"}}
DATABASE_ROUTERS = ["embedded_cache_settings.CacheRouter"]


class CacheRouter:
    """Send Django's database cache to the "cache" database and everything else to "default"."""

    def _alias(self, model):
        return "cache" if model._meta.app_label == "django_cache" else "default"

    def db_for_read(self, model, **hints):
        return self._alias(model)

    def db_for_write(self, model, **hints):
        return self._alias(model)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == ("cache" if app_label == "django_cache" else "default")


if _BACKEND == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "strongbox"}}
elif _BACKEND == "database":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "strongbox_cache",
                          "KEY_PREFIX": "strongbox", "OPTIONS": {"MAX_ENTRIES": 100_000}}}
elif _BACKEND == "disk-reopened":
    # diskcache's own backend, which closes its SQLite connections at the end of every request.
    CACHES = {"default": {**CACHES["default"], "BACKEND": "diskcache.DjangoCache"}}  # noqa: F405
# "disk": Strongbox's own setting, unchanged.
