"""SQLite FTS5 search, stored in the default database next to the documents.

Every statement is a literal with parameters: user input only ever arrives as a bound value.
"""

import json
import unicodedata

from strongbox.documents.search._sql import SqlSearchBackend
from strongbox.documents.search.base import MARK_END, MARK_START, IndexEntry, every_term, highlight, query_terms

TABLE = "documents_fts"
# The owner is a token of its own column ("u42"), so a query matches it in the index like any word: filtering on
# an unindexed owner column instead read every match's row, most of a common term's cost (2 of 3 ms for 1,000
# matches). Users' terms are confined to the other columns, so no search for "u42" can match owners. The users a
# document is shared with are tokens of the same column ("u42 u7"), so their searches match it the same way.
CREATE_SQL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5("
    "owner, title, tags, description, body, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
)
TEXT_COLUMNS = "{title tags description body}"
# bm25 weights per column: a word in the title counts most, then tags, description and the file's text.
SEARCH_SQL = (
    "SELECT rowid FROM documents_fts WHERE documents_fts MATCH %s "
    "ORDER BY bm25(documents_fts, 0, 10.0, 6.0, 3.0, 1.0) LIMIT %s OFFSET %s"
)
MATCHING_SQL = "SELECT rowid FROM documents_fts WHERE documents_fts MATCH %s"
COUNT_SQL = "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH %s"
NEWEST_SQL = "SELECT rowid FROM documents_fts WHERE documents_fts MATCH %s ORDER BY rowid DESC LIMIT %s"
# An excerpt of one column (4: the file's text, which says more than the title the user already sees; -1: the
# column that matches best) of the given documents, which are the searching user's own.
SNIPPET_SQL = (
    "SELECT rowid, snippet(documents_fts, %s, %s, %s, '…', 16) "
    "FROM documents_fts WHERE documents_fts MATCH %s AND rowid IN (SELECT value FROM json_each(%s))"
)
# The index's terms (fts5vocab), to spell a long prefix out as the words it stands for: FTS5 indexes prefixes of 2
# and 3 characters, and for a longer one it merges the positions of every matching document's words before it can
# make one excerpt (11 ms for the 50 excerpts of "invoice" in 100,000 documents; spelled out: 0.8 ms).
TERMS_SQL = "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts_terms USING fts5vocab(documents_fts, 'row')"
EXPANSIONS_SQL = "SELECT term FROM documents_fts_terms WHERE term >= %s AND term < %s LIMIT %s"
INDEXED_PREFIX = 3
MAX_EXPANSIONS = 16
DELETE_SQL = "DELETE FROM documents_fts WHERE rowid = %s"
INSERT_SQL = (
    "INSERT INTO documents_fts (rowid, owner, title, tags, description, body) VALUES (%s, %s, %s, %s, %s, %s)"
)


def fold(term: str) -> str:
    """Return the term as the index's tokenizer stores it: lower case, accents removed (remove_diacritics 2)."""
    return "".join(c for c in unicodedata.normalize("NFKD", term.lower()) if not unicodedata.combining(c))


def owner_token(owner_id: int) -> str:
    return f"u{int(owner_id)}"


def owner_tokens(entry: IndexEntry) -> str:
    """Return the owner column of an entry: a token for its owner and for every user it is shared with."""
    return " ".join(owner_token(user_id) for user_id in (entry.owner_id, *entry.reader_ids))


class SqliteSearchBackend(SqlSearchBackend):
    delete_sql = DELETE_SQL
    clear_sql = "DELETE FROM documents_fts"
    search_sql = SEARCH_SQL
    count_sql = COUNT_SQL
    newest_sql = NEWEST_SQL
    matching_sql = MATCHING_SQL

    def expression(self, query: str) -> str | None:
        return self._in_columns(TEXT_COLUMNS, query)

    def title_expression(self, query: str) -> str | None:
        return self._in_columns("title", query)

    def _in_columns(self, columns: str, query: str) -> str | None:
        """Match every term of `query` in `columns`, the last as a prefix: spelled out as the words it stands for
        when it is longer than the indexed prefixes and stands for at most MAX_EXPANSIONS of them."""
        terms = query_terms(query)
        if not terms:
            return None
        last = fold(terms[-1])
        words = ([row[0] for row in self._rows(EXPANSIONS_SQL, [last, last + "\U0010ffff", MAX_EXPANSIONS + 1])]
                 if len(last) > INDEXED_PREFIX else [])
        if not words or len(words) > MAX_EXPANSIONS:
            as_prefix = every_term(query, quote='"', prefix="*", conjunction=" AND ")
            return f"{columns} : ({as_prefix})"
        # Terms are runs of letters and digits (query_terms), the index's words too: quoting is enough.
        exact = [f'"{term}"' for term in terms[:-1]] + ["(" + " OR ".join(f'"{word}"' for word in words) + ")"]
        return f"{columns} : ({' AND '.join(exact)})"

    def match_params(self, expression: str, owner_id: int) -> list:
        return [f'owner : "{owner_token(owner_id)}" AND {expression}']

    def snippets(self, *, document_ids: list[int], query: str) -> dict[int, str]:
        """Excerpts of the file's text where it matches, else of whichever column does (the title or tags): one
        excerpt per document in all, the second statement only for those whose text has no match."""
        expression = self.expression(query)
        if expression is None or not document_ids:
            return {}
        marks = [MARK_START, MARK_END]
        found = dict(self._rows(SNIPPET_SQL, [4, *marks, expression, json.dumps(list(document_ids))]))
        elsewhere = [document_id for document_id, text in found.items() if MARK_START not in text]
        if elsewhere:
            found.update(self._rows(SNIPPET_SQL, [-1, *marks, expression, json.dumps(elsewhere)]))
        return {document_id: highlight(text) for document_id, text in found.items()}

    def index_many(self, entries: list[IndexEntry]) -> None:
        with self.writing().cursor() as cursor:
            cursor.executemany(DELETE_SQL, [[entry.document_id] for entry in entries])
            cursor.executemany(INSERT_SQL, [[entry.document_id, owner_tokens(entry), entry.title, entry.tags,
                                             entry.description, entry.body] for entry in entries])
