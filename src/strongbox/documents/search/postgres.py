"""PostgreSQL full-text search: a weighted tsvector over title (A), tags (B), description (C) and the file's text
(D), kept in its own table with a GIN index, ranked with ts_rank, excerpts from ts_headline.

The text search configuration `strongbox_search` is `simple` (no stemming, no stop words, like the SQLite backend)
with accents folded by the `unaccent` dictionary, so "creme" finds "Crème" and the excerpt still shows "Crème".
Every statement is a literal with parameters: user input only ever arrives as a bound value.
"""

from strongbox.documents.search._sql import SqlSearchBackend
from strongbox.documents.search.base import MARK_END, MARK_START, IndexEntry, every_term, highlight, query_terms

# tsvector values are limited to 1 MB: index the start of very long texts.
MAX_BODY_CHARS = 400_000
CREATE_SQL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION strongbox_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION strongbox_search ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    """CREATE TABLE documents_search_pg (
        document_id bigint PRIMARY KEY,
        owner_id bigint NOT NULL,
        title text NOT NULL,
        tags text NOT NULL,
        description text NOT NULL,
        body text NOT NULL,
        vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('strongbox_search', title), 'A') ||
            setweight(to_tsvector('strongbox_search', tags), 'B') ||
            setweight(to_tsvector('strongbox_search', description), 'C') ||
            setweight(to_tsvector('strongbox_search', body), 'D')
        ) STORED)""",
    "CREATE INDEX documents_search_pg_vector ON documents_search_pg USING gin (vector)",
    "CREATE INDEX documents_search_pg_owner ON documents_search_pg (owner_id)",
]
# The users each document is shared with, whose searches find it too (migration 0013_sharing_search).
READERS_SQL = [
    "ALTER TABLE documents_search_pg ADD COLUMN IF NOT EXISTS reader_ids bigint[] NOT NULL DEFAULT '{}'",
    "CREATE INDEX IF NOT EXISTS documents_search_pg_readers ON documents_search_pg USING gin (reader_ids)",
]
READERS_DROP_SQL = ["ALTER TABLE documents_search_pg DROP COLUMN IF EXISTS reader_ids"]
# Whose searches find an entry: its owner's and its readers' ("owner_id = %s OR reader_ids @> ARRAY[%s]" in the
# statements below). Parameters: the searching user's id, twice.
DROP_SQL = ["DROP TABLE IF EXISTS documents_search_pg", "DROP TEXT SEARCH CONFIGURATION IF EXISTS strongbox_search"]

UPSERT_SQL = """
    INSERT INTO documents_search_pg (document_id, owner_id, reader_ids, title, tags, description, body)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (document_id) DO UPDATE SET owner_id = EXCLUDED.owner_id, reader_ids = EXCLUDED.reader_ids,
        title = EXCLUDED.title, tags = EXCLUDED.tags, description = EXCLUDED.description, body = EXCLUDED.body
"""
DELETE_SQL = "DELETE FROM documents_search_pg WHERE document_id = %s"
SEARCH_SQL = """
    SELECT document_id FROM documents_search_pg, to_tsquery('strongbox_search', %s) AS query
    WHERE vector @@ query AND (owner_id = %s OR reader_ids @> ARRAY[%s]::bigint[])
    ORDER BY ts_rank(vector, query) DESC, document_id LIMIT %s OFFSET %s
"""
MATCHING_SQL = ("SELECT document_id FROM documents_search_pg WHERE vector @@ to_tsquery('strongbox_search', %s) "
                "AND (owner_id = %s OR reader_ids @> ARRAY[%s]::bigint[])")
NEWEST_SQL = ("SELECT document_id FROM documents_search_pg WHERE vector @@ to_tsquery('strongbox_search', %s) "
              "AND (owner_id = %s OR reader_ids @> ARRAY[%s]::bigint[]) ORDER BY document_id DESC LIMIT %s")
COUNT_SQL = ("SELECT count(*) FROM documents_search_pg WHERE vector @@ to_tsquery('strongbox_search', %s) "
             "AND (owner_id = %s OR reader_ids @> ARRAY[%s]::bigint[])")
# Prefer an excerpt of the file's text, which says more than the title the user already sees.
SNIPPET_SQL = """
    SELECT document_id, CASE WHEN strpos(from_body, %s) > 0 THEN from_body ELSE from_all END
    FROM (
        SELECT document_id,
               ts_headline('strongbox_search', body, query, options) AS from_body,
               ts_headline('strongbox_search', concat_ws(' · ', title, tags, description, body), query, options)
                   AS from_all
        FROM documents_search_pg, to_tsquery('strongbox_search', %s) AS query,
             concat('StartSel=', %s, ', StopSel=', %s, ', MaxWords=16, MinWords=6, ShortWord=0, MaxFragments=1')
                 AS options
        WHERE document_id = ANY(%s) AND vector @@ query
    ) AS excerpts
"""


class PostgresSearchBackend(SqlSearchBackend):
    delete_sql = DELETE_SQL
    clear_sql = "DELETE FROM documents_search_pg"
    search_sql = SEARCH_SQL
    count_sql = COUNT_SQL
    newest_sql = NEWEST_SQL
    matching_sql = MATCHING_SQL

    def expression(self, query: str) -> str | None:
        return every_term(query, quote="'", prefix=":*", conjunction=" & ")

    def title_expression(self, query: str) -> str | None:
        # ':A' keeps to lexemes of weight A, the title's; ':*A' is a prefix of one.
        terms = query_terms(query)
        if not terms:
            return None
        return " & ".join([f"'{term}':A" for term in terms[:-1]] + [f"'{terms[-1]}':*A"])

    def match_params(self, expression: str, owner_id: int) -> list:
        return [expression, owner_id, owner_id]

    def snippets(self, *, document_ids: list[int], query: str) -> dict[int, str]:
        expression = self.expression(query)
        if expression is None or not document_ids:
            return {}
        rows = self._rows(SNIPPET_SQL, [MARK_START, expression, MARK_START, MARK_END, list(document_ids)])
        return {document_id: highlight(text) for document_id, text in rows}

    def index_many(self, entries: list[IndexEntry]) -> None:
        with self.writing().cursor() as cursor:
            cursor.executemany(UPSERT_SQL, [[entry.document_id, entry.owner_id, list(entry.reader_ids), entry.title,
                                             entry.tags, entry.description, entry.body[:MAX_BODY_CHARS]]
                                            for entry in entries])
