"""Full-text search, behind the contract in base.py; the backend is chosen by settings.SEARCH_BACKEND."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from strongbox.documents.search.base import IndexEntry, SearchBackend, query_terms

__all__ = ["IndexEntry", "SearchBackend", "get_backend", "query_terms"]


@cache
def get_backend() -> SearchBackend:
    return import_string(settings.SEARCH_BACKEND)()
