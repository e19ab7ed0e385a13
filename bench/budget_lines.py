"""The budget of issue 11 as data, and its evaluation: pure functions of the run's medians, tested without a server.

`figures` maps (target, scenario) to the scenario's medians over the rounds: "cpu_ms" (server CPU ms per
counted response, closed-model peak run), "rps" (peak responses/s of the expected status), "p99_50" and "p99_80"
(ms at 50 and 80 % of peak, open model), and for the files "mb_s"; `memory` holds the RSS figures.
"""

from dataclasses import dataclass

# Fixed reference figures for paperless-ngx, as quoted in issue 11 ("Why"): measured on this machine in one run
# side by side with Strongbox (10,000 documents of this corpus, one app-server process, wrk -t1 -c16 -d10s,
# median of 3 rounds). Not re-measured here: paperless-ngx is not installed on this machine.
PAPERLESS_RPS = {
    "api list": 3.5,
    "api document": 10.7,
    "api search rare": 11.5,
    "api search common": 5.5,
    "api suggest repeated": 103,
    "api suggest new": 99,
    "trivial page": 299,
}
PAPERLESS_TREE_MB = 247
RATIO_GOAL = 40  # "Those budgets put list, detail and search at >= 40x paperless-ngx's measured throughput"
RATIO_SCENARIOS = ("api list", "api document", "api search rare", "api search common")


@dataclass(frozen=True)
class Line:
    text: str  # the budget as the issue words it
    figure: float | None  # None: not measured in this run
    limit: float
    unit: str
    at_most: bool = True  # False: the figure must be at least the limit

    @property
    def verdict(self) -> str:
        if self.figure is None:
            return "N/A"
        return "PASS" if (self.figure <= self.limit if self.at_most else self.figure >= self.limit) else "FAIL"

    def render(self) -> str:
        shown = "not measured" if self.figure is None else f"{self.figure:g} {self.unit}"
        bound = "≤" if self.at_most else "≥"
        return f"{self.verdict:4}  {self.text}: {shown} (budget {bound} {self.limit:g} {self.unit})"


E10, E100, S10 = "embedded 10k", "embedded 100k", "scale-out 10k"

# (issue's words, target, scenario, figure key, limit, unit)
CPU_BUDGETS = [
    ("trivial signed-in page through all middleware", E10, "trivial page", 1.0),
    ("/healthz", E10, "healthz", 0.3),
    ("JSON list of 50, uncached", E10, "api list", 5.0),
    ("HTML list, uncached", E10, "html list", 6.0),
    ("one document (JSON)", E10, "api document", 2.0),
    ("one document (HTML page)", E10, "html document", 2.0),
    ("rare-term search (JSON)", E10, "api search rare", 3.0),
    ("rare-term search (HTML)", E10, "html search rare", 3.0),
    ("common-term search, 1,000 hits of 10k (JSON)", E10, "api search common", 6.0),
    ("common-term search, 1,000 hits of 10k (HTML)", E10, "html search common", 6.0),
]
SUGGEST_BUDGETS = [("suggestions, repeated prefix", "suggest repeated", 1.0),
                   ("suggestions, a new prefix every request", "suggest new", 3.0)]
P99_BUDGETS = [  # at 100k, open model at 50 % of peak
    ("search p99, rare term (5 hits)", "api search rare", 20.0),
    ("search p99, common term (10k hits)", "api search common", 20.0),
    ("search p99, any single term (`document`: every document)", "api search all", 50.0),
    ("suggestions p99, repeated prefix", "api suggest repeated", 15.0),
    ("suggestions p99, a new prefix every request", "api suggest new", 15.0),
]
SCALE_OUT_SCENARIOS = ["api list", "api list cached", "html list", "html list cached", "api document",
                       "html document", "api search rare", "api search common", "api suggest repeated",
                       "api suggest new", "healthz"]


def _get(figures: dict, target: str, scenario: str, key: str) -> float | None:
    value = figures.get((target, scenario), {}).get(key)
    return None if value is None else round(value, 2)


def _best_cached(figures: dict, target: str, form: str) -> tuple[float | None, str]:
    """The cheaper of the repeated request and the conditional one (If-None-Match): the issue allows either."""
    options = [(value, name) for name in (f"{form} list cached", f"{form} list conditional")
               if (value := _get(figures, target, name, "cpu_ms")) is not None]
    return min(options) if options else (None, "")


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def lines(figures: dict, memory: dict, files: dict) -> list[Line]:
    """Every budget line of issue 11, in its order, from the run's medians."""
    out = [Line(f"{text} [CPU, {target}]", _get(figures, target, scenario, "cpu_ms"), limit, "ms")
           for text, target, scenario, limit in CPU_BUDGETS[:3]]
    for form, limit in (("api", 1.5), ("html", 2.0)):
        value, which = _best_cached(figures, E10, form)
        out.append(Line(f"{'JSON' if form == 'api' else 'HTML'} list, user's documents unchanged ({which or 'cached'})"
                        f" [CPU, {E10}]", value, limit, "ms"))
    out += [Line(f"{text} [CPU, {target}]", _get(figures, target, scenario, "cpu_ms"), limit, "ms")
            for text, target, scenario, limit in CPU_BUDGETS[3:]]
    for target in (E10, E100):
        for text, scenario, limit in SUGGEST_BUDGETS:
            for form in ("api", "html"):
                out.append(Line(f"{text} ({'JSON' if form == 'api' else 'HTML'}) [CPU, {target}]",
                                _get(figures, target, f"{form} {scenario}", "cpu_ms"), limit, "ms"))
    out += [Line(f"{text} [{E100}, 50 % of peak]", _get(figures, E100, scenario, "p99_50"), limit, "ms")
            for text, scenario, limit in P99_BUDGETS]
    out.append(Line("download of a 256 MB file, loopback", files.get("download_mb_s"), 1000, "MB/s", at_most=False))
    out.append(Line("upload of a 256 MB file (API)", files.get("upload_mb_s"), 250, "MB/s", at_most=False))
    out.append(Line("worker RSS after a 256 MB upload vs after a 1 MB upload (growth)",
                    files.get("upload_rss_growth_pct"), 10, "%"))
    for form in ("api", "html"):
        out.append(Line(f"{'JSON' if form == 'api' else 'HTML'} list cost, 100k vs 10k (difference)",
                        _difference_pct(_get(figures, E100, f"{form} list", "cpu_ms"),
                                        _get(figures, E10, f"{form} list", "cpu_ms")), 10, "%"))
    out += [
        Line("one worker's RSS (largest seen)", memory.get("worker_mb"), 80, "MB"),
        Line(f"worker RSS growth over the run ({memory.get('growth_requests', 0):,} requests after round 1)",
             memory.get("growth_pct"), 10, "%"),
        Line("the supervising parent's RSS", memory.get("parent_mb"), 20, "MB"),
        Line(f"the web-serving tree (parent, granian master, worker) (paperless-ngx: {PAPERLESS_TREE_MB} MB)",
             memory.get("tree_mb"), 140, "MB"),
    ]
    for scenario in SCALE_OUT_SCENARIOS:
        out.append(Line(f"scale-out vs embedded CPU, {scenario} ({S10} / {E10})",
                        _ratio(_get(figures, S10, scenario, "cpu_ms"), _get(figures, E10, scenario, "cpu_ms")),
                        1.5, "×"))
    for scenario in RATIO_SCENARIOS:
        out.append(Line(f"throughput vs paperless-ngx, {scenario} ({PAPERLESS_RPS[scenario]:g} req/s)",
                        _ratio(_get(figures, E10, scenario, "rps"), PAPERLESS_RPS[scenario]), RATIO_GOAL, "×",
                        at_most=False))
    return out


def _difference_pct(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return round(abs(value - reference) / reference * 100, 1)


def ceiling_ratios(figures: dict) -> list[tuple[str, float | None, float | None]]:
    """(scenario, req/s as a share of the bare-Django ceiling, of the trivial-page ceiling) at 10k embedded."""
    bare = _get(figures, "ceiling", "bare django", "rps")
    trivial = _get(figures, E10, "trivial page", "rps")
    rows = []
    for (target, scenario), values in sorted(figures.items()):
        if target == E10 and values.get("rps"):
            rows.append((scenario, _ratio(values["rps"], bare), _ratio(values["rps"], trivial)))
    return rows


def paperless_table(figures: dict) -> list[tuple[str, float | None, float, float | None]]:
    """(scenario, Strongbox req/s, paperless-ngx req/s, ratio) for the scenarios paperless-ngx was measured on."""
    return [(scenario, _get(figures, E10, scenario, "rps"), reference,
             _ratio(_get(figures, E10, scenario, "rps"), reference)) for scenario, reference in PAPERLESS_RPS.items()]
