"""What the SQLite and PostgreSQL backends share: an index that is a table of the default database, written in
the transaction of the rows it describes, queried with literal statements and bound parameters only.

The index goes where the documents go: written through the router's database for writing them (the primary), read
through its database for reading them, so a search reads from the same replica as the rest of the request, or from
the primary when the reader must see writes a replica may not have yet (ops/dbrouter.py)."""

from abc import abstractmethod

from django.db import connections, router

from strongbox.documents.search.base import SearchBackend


class SqlSearchBackend(SearchBackend):
    """Subclasses give the statements, turn a user's query into the engine's expression (None: no terms) and
    make excerpts (`snippets`), each the engine's own way."""

    delete_sql: str
    clear_sql: str
    search_sql: str  # parameters: match_params, limit, offset
    count_sql: str  # parameters: match_params
    newest_sql: str  # parameters: match_params, limit
    matching_sql: str  # parameters: match_params

    @abstractmethod
    def expression(self, query: str) -> str | None:
        """Return the engine's expression matching every term of `query` (the last as a prefix), or None."""

    def match_params(self, expression: str, owner_id: int) -> list:
        """Return the parameters selecting the owner's documents matching `expression`."""
        return [expression, owner_id]

    @abstractmethod
    def title_expression(self, query: str) -> str | None:
        """Return the engine's expression matching every term of `query` in titles only, or None."""

    @staticmethod
    def reading():
        """Return the connection searches read through."""
        from strongbox.documents.models import Document  # here: the migrations import the backends' statements

        return connections[router.db_for_read(Document)]

    @staticmethod
    def writing():
        """Return the connection index writes go through."""
        from strongbox.documents.models import Document

        return connections[router.db_for_write(Document)]

    def _rows(self, sql: str, params: list) -> list[tuple]:
        with self.reading().cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def remove(self, document_id: int) -> None:
        with self.writing().cursor() as cursor:
            cursor.execute(self.delete_sql, [document_id])

    def search(self, *, owner_id: int, query: str, limit: int = 1000, offset: int = 0) -> list[int]:
        expression = self.expression(query)
        if expression is None:
            return []
        params = [*self.match_params(expression, owner_id), limit, offset]
        return [row[0] for row in self._rows(self.search_sql, params)]

    def suggest(self, *, owner_id: int, query: str, limit: int = 8) -> list[int]:
        found: list[int] = []
        for expression in (self.title_expression(query), self.expression(query)):
            if expression is None or len(found) >= limit:
                continue
            rows = self._rows(self.newest_sql, [*self.match_params(expression, owner_id), limit + len(found)])
            found += [row[0] for row in rows if row[0] not in found]
        return found[:limit]

    def count(self, *, owner_id: int, query: str) -> int:
        expression = self.expression(query)
        return 0 if expression is None else self._rows(self.count_sql, self.match_params(expression, owner_id))[0][0]

    def matching(self, *, owner_id: int, query: str) -> tuple[str, list] | None:
        expression = self.expression(query)
        return None if expression is None else (self.matching_sql, self.match_params(expression, owner_id))

    def clear(self) -> None:
        with self.writing().cursor() as cursor:
            cursor.execute(self.clear_sql)
