"""The scenarios of bench/budget.py: which paths each sends, what status each answer must have, and how a
request is kept from hitting the app's caches when it must not.

"Uncached" scenarios add a parameter the app ignores, with a different value for every request (`bench=N`): the
app caches list pages and bodies by the query string as sent, so each request misses those caches and is answered
along the same path as the plain request (an earlier version added a date filter instead, which took the
filtered path: a count of every document and, for searches, the ORM's intersection with the index). A "new prefix"
suggestion uses each prefix of a vocabulary word once. Before every measurement the controller bumps the user's
documents version, so nothing cached by an earlier measurement or round is found; "cached" scenarios are warmed
with one request after the bump.
"""

from dataclasses import dataclass, field

import corpus

E10, E100, S10, CEILING = "embedded 10k", "embedded 100k", "scale-out 10k", "ceiling"
BUST_PARAMETER = "bench"  # ignored by the app
BUST_COUNT = 60_000  # distinct values per uncached list: more than any measurement sends
REPEATED_PREFIX = "ra"
SUGGEST_MIN_LENGTH = 2  # documents/views.py: shorter queries get no suggestions


def busters(count: int = BUST_COUNT) -> list[str]:
    return [f"{BUST_PARAMETER}={n}" for n in range(count)]


def new_prefixes() -> list[str]:
    """Every distinct prefix (at least SUGGEST_MIN_LENGTH letters) of the corpus's vocabulary, in a fixed
    order that alternates short and long ones, as people typing different words would."""
    prefixes = sorted({word[:length] for word in corpus.vocabulary()
                       for length in range(SUGGEST_MIN_LENGTH, len(word) + 1)})
    return prefixes[::2] + prefixes[1::2]


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "fixed" | "list" | "search" | "document" | "prefix"
    api: bool = True  # JSON (/api/v1/) rather than the HTML page
    query: str = ""  # search term, or the fixed path for "fixed"
    cached: bool = False  # the same request again and again
    conditional: bool = False  # with If-None-Match of the ETag the first answer carried: expect 304
    server: str = "main"  # "main" | "trivial" | "bare"
    cookie: bool = True
    targets: tuple[str, ...] = (E10,)
    expect: int = 200
    once: bool = field(default=False)  # each path at most once per measurement

    def paths(self, public_ids: list[str]) -> list[str]:
        """The paths one measurement cycles through."""
        if self.kind == "fixed":
            return [self.query]
        if self.kind == "document":
            return [f"/api/v1/documents/{pid}" if self.api else f"/documents/{pid}/" for pid in public_ids]
        if self.kind == "prefix":
            prefixes = new_prefixes() if self.once else [REPEATED_PREFIX]
            return [f"/api/v1/search/suggest?q={p}" if self.api else f"/documents/suggest/?q={p}" for p in prefixes]
        base = "/api/v1/documents" if self.api else "/documents/"
        search = [f"q={self.query}"] if self.query else []
        if self.cached or self.conditional:
            return [base + (f"?{search[0]}" if search else "")]
        return [f"{base}?{'&'.join([*search, buster])}" for buster in busters()]

    def warm_path(self, public_ids: list[str]) -> str:
        """A request like the measured ones that the measurement itself does not send (for uncached ones)."""
        paths = self.paths(public_ids)
        if self.cached or self.conditional or self.kind == "fixed":
            return paths[0]
        if self.kind == "prefix":
            return paths[0] if not self.once else (f"/api/v1/search/suggest?q={REPEATED_PREFIX}" if self.api
                                                   else f"/documents/suggest/?q={REPEATED_PREFIX}")
        if self.kind == "document":
            return paths[-1]
        return paths[0].replace(busters(1)[0], f"{BUST_PARAMETER}=warm")


ALL = (E10, E100, S10)
SCENARIOS = [
    Scenario("healthz", "fixed", query="/healthz", cookie=False, targets=ALL),
    Scenario("trivial page", "fixed", query="/bench/trivial", server="trivial"),
    Scenario("bare django", "fixed", query="/bare", server="bare", cookie=False, targets=(CEILING,)),
    Scenario("api list", "list", targets=ALL),
    Scenario("api list cached", "list", cached=True, targets=(E10, S10)),
    Scenario("api list conditional", "list", conditional=True, expect=304, targets=(E10, S10)),
    Scenario("html list", "list", api=False, targets=ALL),
    Scenario("html list cached", "list", api=False, cached=True, targets=(E10, S10)),
    Scenario("html list conditional", "list", api=False, conditional=True, expect=304, targets=(E10, S10)),
    Scenario("api document", "document", targets=(E10, S10)),
    Scenario("html document", "document", api=False, targets=(E10, S10)),
    Scenario("api search rare", "search", query=corpus.RARE, targets=ALL),
    Scenario("html search rare", "search", api=False, query=corpus.RARE),
    Scenario("api search common", "search", query=corpus.COMMON, targets=ALL),
    Scenario("html search common", "search", api=False, query=corpus.COMMON),
    Scenario("api search all", "search", query="document", targets=(E100,)),
    Scenario("api suggest repeated", "prefix", targets=ALL),
    Scenario("html suggest repeated", "prefix", api=False, targets=(E10, E100)),
    Scenario("api suggest new", "prefix", once=True, targets=ALL),
    Scenario("html suggest new", "prefix", api=False, once=True, targets=(E10, E100)),
]
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
