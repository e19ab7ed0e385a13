"""Strongbox's full settings and middleware, plus one bench-only URL (bench/budget_urls.py): the trivial
signed-in page that measures what the whole middleware stack costs before any real view runs."""

from strongbox.settings import *  # noqa: F403 - the production settings, unchanged but for the URLconf

ROOT_URLCONF = "budget_urls"
