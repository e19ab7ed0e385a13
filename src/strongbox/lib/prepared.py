"""ORM queries compiled once and run again with new values.

A few fixed-shape statements run on nearly every request (one document by its public id, its tag names). Building
and compiling such a query through the ORM costs several times what SQLite takes to run it. `Prepared` builds the
query once with placeholder values, keeps the SQL the ORM compiled (so the model's managers and every filter stay
written once, in the ORM), and runs it with the values given, converting the rows as the ORM would.

Placeholders must be ints or strs that the fields pass through unchanged (ids, keys): a value the ORM changes on its
way to the database (a datetime on SQLite, say) could not be found again among the compiled parameters.
"""

import threading
from collections.abc import Callable

from django.db import connections, router
from django.db.models import QuerySet


class Prepared:
    """`Prepared(lambda owner, key: Model.objects.filter(...).values_list(...), -1, "\\0key")(42, "abc")` returns
    the rows of the query built with owner=42 and key="abc", as tuples, reading from the database the router picks
    for reading the query's model at the time of the call."""

    def __init__(self, build: Callable[..., QuerySet], *placeholders: int | str):
        if len(set(placeholders)) != len(placeholders):
            raise ValueError("placeholders must differ from each other")
        self._build, self._placeholders = build, placeholders
        self._model = build(*placeholders).model
        self._local = threading.local()  # compilers hold their thread's connection

    def _compiled(self, alias: str):
        compiled = self._local.__dict__.setdefault("by_alias", {})
        if alias not in compiled:
            compiler = self._build(*self._placeholders).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            slots = [self._placeholders.index(param) if param in self._placeholders else None for param in params]
            # A placeholder may appear more than once (the user of "owned by or shared with the user").
            if {slot for slot in slots if slot is not None} != set(range(len(self._placeholders))):
                raise ValueError(f"each placeholder must appear at least once among the compiled parameters: "
                                 f"{params!r}")
            compiled[alias] = compiler, sql, [(slot, param) for slot, param in zip(slots, params, strict=True)]
        return compiled[alias]

    def __call__(self, *values) -> list[tuple]:
        alias = router.db_for_read(self._model)
        compiler, sql, slots = self._compiled(alias)
        params = [param if slot is None else values[slot] for slot, param in slots]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return list(compiler.results_iter(results=[rows], tuple_expected=True))
