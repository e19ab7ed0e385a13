"""The search-backend contract. Every backend passes tests/documents/test_search_contract.py."""

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Terms are words of letters and digits; everything else in a query is a separator, so no query syntax of the
# underlying engine can be injected.
_TERM = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12

# Private-use characters mark highlights inside snippets: they cannot come from extracted text meaningfully,
# and survive HTML escaping, after which they become <mark> tags.
MARK_START, MARK_END = "\ue000", "\ue001"


def query_terms(query: str) -> list[str]:
    """Return the searchable terms of a user's query, lower-cased, at most MAX_TERMS."""
    return [term.lower() for term in _TERM.findall(query or "")][:MAX_TERMS]


def every_term(query: str, *, quote: str, prefix: str, conjunction: str) -> str | None:
    """Return an engine expression matching every term of a user's query, the last one as a prefix, or None
    without terms. Terms are runs of letters and digits, each quoted: nothing in them acts as query syntax."""
    terms = query_terms(query)
    if not terms:
        return None
    quoted = [f"{quote}{term}{quote}" for term in terms]
    quoted[-1] += prefix
    return conjunction.join(quoted)


def highlight(snippet: str) -> SafeString:
    """Escape a snippet and turn its highlight markers into <mark> tags."""
    html = escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 - escaped above; only our own markers become tags  # nosec B308 B703


@dataclass(frozen=True)
class IndexEntry:
    document_id: int
    owner_id: int
    title: str
    description: str
    tags: str
    body: str
    # The other users the document is shared with (sharing.Share): their searches find it as the owner's do.
    reader_ids: tuple[int, ...] = ()


class SearchBackend(ABC):
    """Full-text search over the documents one user may read: the `owner_id` of every query is the searching
    user, whose searches match the entries they own and those that list them among `reader_ids`.

    `search` returns document ids, best match first; `snippets` returns for some of those ids a short excerpt
    as HTML, escaped, with matched words in <mark>. Writes are upserts and are safe to repeat.
    """

    def index(self, entry: IndexEntry) -> None:
        """Add or replace the entry for entry.document_id."""
        self.index_many([entry])

    @abstractmethod
    def index_many(self, entries: list[IndexEntry]) -> None:
        """Add or replace the entries (one statement per kind for a bulk load)."""

    @abstractmethod
    def remove(self, document_id: int) -> None:
        """Forget a document; removing an unknown id is not an error."""

    @abstractmethod
    def search(self, *, owner_id: int, query: str, limit: int = 1000, offset: int = 0) -> list[int]:
        """Return up to `limit` ids of the owner's documents matching every term, best first, skipping the
        `offset` best."""

    @abstractmethod
    def suggest(self, *, owner_id: int, query: str, limit: int = 8) -> list[int]:
        """Return up to `limit` ids of the owner's documents for a partly typed query (every term, the last as a
        prefix): those whose title matches first, then the others, newest first within each. Unranked, so its
        cost does not grow with the number of matches."""

    @abstractmethod
    def count(self, *, owner_id: int, query: str) -> int:
        """Return how many of the owner's documents match every term (all of them, not capped)."""

    @abstractmethod
    def matching(self, *, owner_id: int, query: str) -> tuple[str, list] | None:
        """Return SQL selecting the ids of the owner's matching documents, with its parameters, for a query of
        the documents to filter by (`id IN (...)`); None for a query without terms."""

    @abstractmethod
    def snippets(self, *, document_ids: list[int], query: str) -> dict[int, str]:
        """Return highlighted excerpts (safe HTML) for the given ids."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every entry."""
