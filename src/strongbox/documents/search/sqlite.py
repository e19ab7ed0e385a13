"""SQLite FTS5 search, stored in the default database next to the documents.

Every statement is a literal with parameters: user input only ever arrives as a bound value.
"""

import json
import unicodedata

from strongbox.documents.search._sql import SqlSearchBackend
from strongbox.documents.search.base import MARK_END, MARK_START, IndexEntry, every_term, query_terms

TABLE = "documents_fts"
# The owner is a token of its own column ("u42"), so a query matches it in the index like any word: filtering on
# an unindexed owner column instead read every match's row, most of a common term's cost (2 of 3 ms for 1,000
# matches). Users' terms are confined to the other columns, so no search for "u42" can match owners.
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
# Prefer an excerpt of the file's text (column 4), which says more than the title the user already sees.
SNIPPET_SQL = (
    "SELECT rowid, CASE WHEN instr(snippet(documents_fts, 4, %s, %s, '…', 16), %s) > 0 "
    "THEN snippet(documents_fts, 4, %s, %s, '…', 16) ELSE snippet(documents_fts, -1, %s, %s, '…', 16) END "
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


class SqliteSearchBackend(SqlSearchBackend):
    delete_sql = DELETE_SQL
    clear_sql = "DELETE FROM documents_fts"
    search_sql = SEARCH_SQL
    count_sql = COUNT_SQL
    newest_sql = NEWEST_SQL
    matching_sql = MATCHING_SQL
    snippet_sql = SNIPPET_SQL

    def expression(self, query: str) -> str | None:
        return self._in_columns(TEXT_COLUMNS, query)

    def title_expression(self, query: str) -> str | None:
        return self._in_columns("title", query)

    @staticmethod
    def _in_columns(columns: str, query: str) -> str | None:
        terms = every_term(query, quote='"', prefix="*", conjunction=" AND ")
        return None if terms is None else f"{columns} : ({terms})"

    def match_params(self, expression: str, owner_id: int) -> list:
        return [f'owner : "{owner_token(owner_id)}" AND {expression}']

    def snippet_expression(self, query: str) -> str | None:
        terms = query_terms(query)
        last = fold(terms[-1]) if terms else ""
        if len(last) <= INDEXED_PREFIX:
            return self.expression(query)
        words = [row[0] for row in self._rows(EXPANSIONS_SQL, [last, last + "\U0010ffff", MAX_EXPANSIONS + 1])]
        if not words or len(words) > MAX_EXPANSIONS:
            return self.expression(query)
        # Terms are runs of letters and digits (query_terms), the index's words too: quoting is enough.
        exact = [f'"{term}"' for term in terms[:-1]] + ["(" + " OR ".join(f'"{word}"' for word in words) + ")"]
        return f"{TEXT_COLUMNS} : ({' AND '.join(exact)})"

    def snippet_params(self, expression: str, document_ids: list[int]) -> list:
        marks = [MARK_START, MARK_END]
        return [*marks, MARK_START, *marks, *marks, expression, json.dumps(document_ids)]

    def index_many(self, entries: list[IndexEntry]) -> None:
        with self.writing().cursor() as cursor:
            cursor.executemany(DELETE_SQL, [[entry.document_id] for entry in entries])
            cursor.executemany(INSERT_SQL, [[entry.document_id, owner_token(entry.owner_id), entry.title, entry.tags,
                                             entry.description, entry.body] for entry in entries])
