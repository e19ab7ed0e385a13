"""What the SQLite and PostgreSQL backends share: an index that is a table of the default database, written in
the transaction of the rows it describes, queried with literal statements and bound parameters only."""

from abc import abstractmethod

from django.db import connection

from strongbox.documents.search.base import SearchBackend, highlight


class SqlSearchBackend(SearchBackend):
    """Subclasses give the statements, turn a user's query into the engine's expression (None: no terms) and
    order the parameters of the snippet statement."""

    delete_sql: str
    clear_sql: str
    search_sql: str  # parameters: expression, owner id, limit
    snippet_sql: str

    @abstractmethod
    def expression(self, query: str) -> str | None:
        """Return the engine's expression matching every term of `query` (the last as a prefix), or None."""

    @abstractmethod
    def snippet_params(self, expression: str, document_ids: list[int]) -> list:
        """Return the parameters of snippet_sql."""

    def _rows(self, sql: str, params: list) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def remove(self, document_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.delete_sql, [document_id])

    def search(self, *, owner_id: int, query: str, limit: int = 1000) -> list[int]:
        expression = self.expression(query)
        if expression is None:
            return []
        return [row[0] for row in self._rows(self.search_sql, [expression, owner_id, limit])]

    def snippets(self, *, document_ids: list[int], query: str) -> dict[int, str]:
        expression = self.expression(query)
        if expression is None or not document_ids:
            return {}
        rows = self._rows(self.snippet_sql, self.snippet_params(expression, list(document_ids)))
        return {document_id: highlight(text) for document_id, text in rows}

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(self.clear_sql)
