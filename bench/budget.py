"""The performance budget of issue 11, held by one run: `make bench`.

Builds the corpora (bench/corpus.py: embedded SQLite with 10,000 and 100,000 documents, scale-out PostgreSQL +
Redis with 10,000), starts each server under test as production runs it (`strongbox serve --no-worker --workers 1`)
pinned to core 0, with the ceilings beside it (a bare Django view under granian, and the trivial signed-in page
through Strongbox's whole middleware stack), and measures every scenario of bench/budget_scenarios.py,
interleaved over the rounds, from core 1: peak responses/s with wrk (closed model), server CPU ms per response
(utime + stime of the whole serving tree from /proc, over the responses of the expected status), p50/p99 at 50 %
and 80 % of that peak with the open-model generator (bench/openload.py), RSS of every process; then a 256 MB
download and a 1 MB and a 256 MB upload with curl. Prints one progress line per measurement, then every budget
line PASS/FAIL; writes bench/results/budget.json and docs/benchmarks.md with plots in docs/benchmarks/.

    .venv/bin/python bench/budget.py                     # the full run (about 14 minutes on 2 cores)
    .venv/bin/python bench/budget.py --quick             # smoke run: 1 round, short, 10k only (~3 minutes)
    .venv/bin/python bench/budget.py --compare b5f8de8   # the same, interleaved, against another revision
    .venv/bin/python bench/budget.py --only "api list" healthz --rounds 5

Needs wrk, curl, PostgreSQL and redis-server (Debian packages wrk curl postgresql redis-server) and the bench
dependency group (matplotlib). Exit status 1 when a budget line fails (2 when the run itself failed).
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess  # noqa: S404 - git, fixed argument lists
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import budget_lines
import budget_load
import budget_procs
import budget_report
import budget_services as services
import openload
from budget_scenarios import BY_NAME, CEILING, E10, E100, S10, SCENARIOS, Scenario

SERVER_CORE, LOAD_CORE = 0, 1
RESULTS = services.BENCH / "results" / "budget.json"
DOCS = services.REPO / "docs"
RATE_LIMIT = "1000000000"  # STRONGBOX_API_RATE_LIMIT for the run: one user sends thousands of calls a minute
SERVER_ENV = {"STRONGBOX_API_RATE_LIMIT": RATE_LIMIT, "STRONGBOX_QUOTA_DOCUMENTS": "1000000",
              "STRONGBOX_QUOTA_BYTES": "100GB", "STRONGBOX_MAX_UPLOAD_SIZE": "1GB"}
OPENLOAD_MAX_RATE = 2000  # the Python generator's own limit on one core; above it the schedule would slip
BIG, SMALL = 256 * 1024 * 1024, 1024 * 1024


def say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


@dataclass
class Durations:
    peak: float
    steady: float

    @classmethod
    def of(cls, args: argparse.Namespace) -> "Durations":
        return cls(peak=args.peak_seconds, steady=args.steady_seconds)


@dataclass
class Target:
    """One corpus served by one revision: its controller, its server (and the trivial-page server on E10)."""

    corpus: str  # E10, E100, S10
    revision: str  # "current" or the compared revision
    count: int
    env: dict[str, str]
    data_dir: Path
    controller: services.Controller | None = None
    servers: dict[str, services.Server] = field(default_factory=dict)
    session: str = ""
    api_key: str = ""
    public_ids: list[str] = field(default_factory=list)
    download_id: str = ""
    requests: int = 0  # requests sent to the main server so far
    rss_samples: list[dict] = field(default_factory=list)
    uploads: int = 0

    @property
    def label(self) -> str:
        return self.corpus if self.revision == "current" else f"{self.corpus} @ {self.revision}"

    def bump(self) -> None:
        if self.controller:
            self.controller.ask(op="bump")


@dataclass
class Run:
    args: argparse.Namespace
    durations: Durations
    root: Path
    targets: list[Target] = field(default_factory=list)
    bare: services.Server | None = None
    measurements: list[dict] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commit: str = ""  # of the checkout when its servers started: the code they run


# ------------------------------------------------------------------------------------------------ starting up


def start_target(run: Run, stack: contextlib.ExitStack, target: Target, trivial: bool) -> None:
    log = run.root / f"{target.label.replace(' ', '-').replace('@', 'at')}"
    target.controller = services.Controller(target.env, LOAD_CORE, log.with_suffix(".control.log"))
    stack.callback(target.controller.stop)


def finish_target(run: Run, stack: contextlib.ExitStack, target: Target, trivial: bool) -> None:
    """After the corpus is built: the server(s), a real sign-in, the file the downloads fetch."""
    log = run.root / f"{target.label.replace(' ', '-').replace('@', 'at')}"
    port = services.free_port()
    server = services.Server(target.label, services.serve_command(port), target.env, port, SERVER_CORE,
                             log.with_suffix(".serve.log"))
    stack.callback(server.stop)
    target.servers["main"] = server
    if trivial:
        port = services.free_port()
        env = {**target.env, "DJANGO_SETTINGS_MODULE": "budget_settings"}
        trivial_server = services.Server(f"{target.label} trivial", services.serve_command(port), env, port,
                                         SERVER_CORE, log.with_suffix(".trivial.log"))
        stack.callback(trivial_server.stop)
        target.servers["trivial"] = trivial_server
    from budget_control import PASSWORD, USERNAME

    target.session = services.sign_in(server.url, USERNAME, PASSWORD)


def upload(run: Run, target: Target, path: Path, size: int) -> tuple[int, float, float, str]:
    """One API upload with curl; return (status, seconds, bytes, public id)."""
    target.uploads += 1
    answer = run.root / "upload.json"
    status, seconds, moved = budget_load.curl(
        ["-H", f"Authorization: Bearer {target.api_key}", "-H", "Expect:",
         "-F", f"title=bench upload {target.uploads} of {size} bytes", "-F", "category=other",
         "-F", f"file=@{path};type=application/pdf", target.servers["main"].url + "/api/v1/documents"], LOAD_CORE,
        output=str(answer))
    public_id = json.loads(answer.read_text()).get("id", "") if status == 201 else ""
    return status, seconds, moved, public_id


def build(run: Run, stack: contextlib.ExitStack, revisions: list[tuple[str, Path]]) -> None:
    corpora = [E10] if run.args.quick else [E10, E100]
    scale_out = not run.args.no_scale_out and any(E10 in scenario.targets or S10 in scenario.targets
                                                 for scenario in selected(run.args))
    postgres = redis = None
    if scale_out:
        postgres = services.Postgres(LOAD_CORE).start()
        stack.callback(postgres.stop)
        redis = services.Redis(LOAD_CORE)
        stack.callback(redis.stop)
        corpora.append(S10)
    for number, (revision, source) in enumerate(revisions):
        for corpus in corpora:
            data_dir = run.root / f"data-{number}-{corpus.replace(' ', '-')}"
            extra = dict(SERVER_ENV)
            if corpus == S10:
                extra.update(DATABASE_URL=postgres.create_database(f"strongbox{number}"), REDIS_URL=redis.url(number))
            count = 100_000 if corpus == E100 else 10_000
            run.targets.append(Target(corpus, revision, count, services.environment(source, data_dir, extra),
                                      data_dir))
    started = time.monotonic()
    for target in run.targets:
        start_target(run, stack, target, trivial=target.corpus == E10)
    # The corpora build side by side (each controller is a process of its own), before any measurement.
    for target in run.targets:
        target.controller.process.stdin.write(json.dumps({"op": "setup", "count": target.count}) + "\n")
        target.controller.process.stdin.flush()
    for target in run.targets:
        line = target.controller.process.stdout.readline()
        answer = json.loads(line) if line else {"error": "the controller stopped"}
        if "error" in answer:
            raise RuntimeError(f"{target.label}: corpus: {answer['error']} (log in {run.root})")
        target.api_key, target.public_ids = answer["api_key"], answer["public_ids"]
        say(f"corpus {target.label}: {answer['count']:,} documents in {answer['seconds']} s")
    run.notes.append(f"corpora built in {time.monotonic() - started:.0f} s (side by side)")
    for target in run.targets:
        finish_target(run, stack, target, trivial=target.corpus == E10)
        say(f"server {target.label}: serving tree {budget_procs.tree_rss(target.servers['main'].pid)}")
    if any(scenario.server == "bare" for scenario in selected(run.args)):
        port = services.free_port()
        env = {**os.environ, "PYTHONPATH": str(services.BENCH), "DJANGO_SETTINGS_MODULE": "budget_bare"}
        run.bare = services.Server("bare django", services.bare_command(port), env, port, SERVER_CORE,
                                   run.root / "bare.log", health="/healthz")
        stack.callback(run.bare.stop)
    if run.args.files:
        big = run.root / "big.pdf"
        budget_load.incompressible_pdf(big, BIG)
        budget_load.incompressible_pdf(run.root / "small.pdf", SMALL)
        for target in run.targets:
            if target.corpus == E10:
                status, _, _, target.download_id = upload(run, target, big, BIG)
                if status != 201:
                    raise RuntimeError(f"{target.label}: the upload of the download file answered {status}")


# ------------------------------------------------------------------------------------------------ measuring


def selected(args: argparse.Namespace) -> list[Scenario]:
    names = args.only or [scenario.name for scenario in SCENARIOS]
    unknown = [name for name in names if name not in BY_NAME and name != "files"]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {sorted(BY_NAME)} or files")
    return [BY_NAME[name] for name in names if name in BY_NAME]


def _statuses(report: openload.Report) -> Counter:
    return Counter(result.status for result in report.results)


def _bad(statuses: dict[int, int], expected: int) -> dict[str, int]:
    return {str(status): count for status, count in statuses.items() if status != expected}


class Skip(Exception):
    """The scenario cannot be measured on this server (said in the report, the run goes on)."""


def prepare(server: services.Server, scenario: Scenario, target: Target | None, headers: dict[str, str],
            warm: str) -> dict[str, str]:
    """Bump the user's version (nothing cached by earlier measurements is found), then warm: for a cached
    scenario the first request fills the cache; for the others it only runs the code once. Return the headers
    to send (with If-None-Match of the current ETag for a conditional scenario)."""
    if target is not None and scenario.server != "bare":
        target.bump()
    if scenario.conditional:
        status, answer_headers, _ = services.fetch(server.url + warm, headers)
        etag = {name.lower(): value for name, value in answer_headers.items()}.get("etag")
        if status != 200 or not etag:
            raise Skip(f"the answer ({status}) carried no ETag: no conditional request possible")
        headers = {**headers, "If-None-Match": etag}
    for _ in range(2):
        status, _, _ = services.fetch(server.url + warm, headers)
        if status != scenario.expect:
            raise Skip(f"{warm} answered {status}, expected {scenario.expect}"
                       + (" (the ETag changes from one answer to the next)" if scenario.conditional else ""))
    return headers


def measure(run: Run, scenario: Scenario, target: Target | None, round_: int) -> dict:
    server = run.bare if target is None else target.servers[scenario.server]
    label = CEILING if target is None else target.label
    public_ids = target.public_ids if target else []
    paths, warm = scenario.paths(public_ids), scenario.warm_path(public_ids)
    plain = {"Cookie": f"sessionid={target.session}"} if scenario.cookie and target else {}
    row = {"round": round_, "target": label, "corpus": target.corpus if target else CEILING,
           "revision": target.revision if target else "current", "scenario": scenario.name,
           "expect": scenario.expect, "paths": len(paths)}
    try:
        headers = prepare(server, scenario, target, plain, warm)
    except Skip as reason:
        row["skipped"] = str(reason)
        return row
    before = budget_procs.tree_cpu_seconds(server.pid)
    result = budget_load.wrk(server.url, paths, headers, run.durations.peak, once=scenario.once, core=LOAD_CORE)
    cpu = budget_procs.tree_cpu_seconds(server.pid) - before
    counted = result.counted(scenario.expect)
    row.update(rps=round(result.rate(scenario.expect), 1), counted=counted, bad=_bad(result.statuses, scenario.expect),
               socket_errors=result.socket_errors, wrapped=result.wrapped if len(paths) > 1 else 0,
               wrk_p50_ms=result.p50_ms, wrk_p99_ms=result.p99_ms,
               cpu_ms=round(cpu * 1000 / counted, 3) if counted else None)
    sent = sum(result.statuses.values())
    for fraction in (0.5, 0.8):
        rate = max(1.0, min(OPENLOAD_MAX_RATE, round(row["rps"] * fraction, 1)))
        try:
            headers = prepare(server, scenario, target, plain, warm)
        except Skip as reason:
            row["skipped"] = f"before the open-model run: {reason}"
            return row
        plan = [openload.Request(path=path) for path in paths]
        before = budget_procs.tree_cpu_seconds(server.pid)
        report = openload.run(server.url, rate, run.durations.steady, lambda index, plan=plan: plan[index % len(plan)],
                              timeout=10, headers=headers)
        cpu = budget_procs.tree_cpu_seconds(server.pid) - before
        summary, statuses = report.summary(), _statuses(report)
        good = statuses.get(scenario.expect, 0)
        ok_latency = [r.latency * 1000 for r in report.results if r.status == scenario.expect]
        row[f"at{int(fraction * 100)}"] = {
            "rate": rate, "achieved_rate": summary["achieved_rate"], "late_starts": summary["late_starts"],
            "counted": good, "bad": _bad(statuses, scenario.expect),
            "p50_ms": round(openload.percentile(ok_latency, 0.5), 2),
            "p99_ms": round(openload.percentile(ok_latency, 0.99), 2),
            "cpu_ms": round(cpu * 1000 / good, 3) if good else None,
            "capped": rate == OPENLOAD_MAX_RATE}
        sent += len(report.results)
    row["rss"] = budget_procs.tree_rss(server.pid)
    if target is not None:
        target.requests += sent
        if scenario.server == "main":
            target.rss_samples.append({"round": round_, "requests": target.requests, "rss": row["rss"]})
        row["requests_after"] = target.requests
    return row


def progress(row: dict) -> str:
    head = f"r{row['round']} {row['target']:<26} {row['scenario']:<22}"
    if "skipped" in row:
        return f"{head} skipped: {row['skipped']}"
    half, most = row["at50"], row["at80"]
    rss = "/".join(f"{mb:.0f}" for _, _, mb in row["rss"])
    bad = {**row["bad"], **half["bad"], **most["bad"]}
    warnings = ([f"UNEXPECTED {bad}"] if bad else []) + ([f"socket errors {row['socket_errors']}"]
                                                           if row["socket_errors"] else []) \
        + ([f"{row['wrapped']} repeated paths"] if row["wrapped"] else [])
    cpu = "–" if row["cpu_ms"] is None else f"{row['cpu_ms']:.2f}"
    return (f"{head} {row['rps']:>7.1f} req/s  {cpu:>6} ms CPU/req  "
            f"p50/p99 @50% {half['p50_ms']}/{half['p99_ms']} ms  @80% {most['p50_ms']}/{most['p99_ms']} ms  "
            f"RSS {rss} MB" + ("  " + "; ".join(warnings) if warnings else ""))


def files_round(run: Run, target: Target, round_: int) -> dict:
    """A 256 MB download, then a 1 MB and a 256 MB upload, with the worker's RSS after each upload."""
    server = target.servers["main"]
    workers = [pid for pid, _, _ in budget_procs.tree_rss(server.pid)][2:]
    status, seconds, moved = budget_load.curl(["-b", f"sessionid={target.session}",
                                               f"{server.url}/documents/{target.download_id}/download/"], LOAD_CORE)
    row = {"round": round_, "target": target.label, "revision": target.revision,
           "download": {"status": status, "mb_s": round(moved / seconds / 1e6, 1) if status == 200 else None}}
    for name, path, size in (("upload_1mb", run.root / "small.pdf", SMALL), ("upload_256mb", run.root / "big.pdf",
                                                                             BIG)):
        status, seconds, moved, _ = upload(run, target, path, size)
        row[name] = {"status": status, "mb_s": round(moved / seconds / 1e6, 1) if status == 201 else None,
                     "worker_rss_mb": round(max(budget_procs.rss_mb(pid) for pid in workers), 1)}
    target.requests += 3
    say(f"r{round_} {target.label:<26} files: download {row['download']['mb_s']} MB/s, upload 1 MB "
        f"{row['upload_1mb']['mb_s']} MB/s (worker {row['upload_1mb']['worker_rss_mb']} MB), 256 MB "
        f"{row['upload_256mb']['mb_s']} MB/s (worker {row['upload_256mb']['worker_rss_mb']} MB)")
    return row


def measure_all(run: Run) -> None:
    scenarios = selected(run.args)
    for round_ in range(1, run.args.rounds + 1):
        for scenario in scenarios:
            if scenario.server == "bare":
                jobs = [None] if run.bare else []
            else:
                jobs = [target for target in run.targets if target.corpus in scenario.targets]
            # Revisions take turns going first, round by round, so drift on a shared machine favours neither.
            if round_ % 2 == 0:
                jobs.reverse()
            for target in jobs:
                row = measure(run, scenario, target, round_)
                run.measurements.append(row)
                say(progress(row))
        if run.args.files:
            for target in [target for target in run.targets if target.corpus == E10][:: -1 if round_ % 2 == 0 else 1]:
                run.files.append(files_round(run, target, round_))


# ------------------------------------------------------------------------------------------------ analysis


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.median(present), 3) if present else None


def figures_of(measurements: list[dict], revision: str) -> dict:
    """(corpus, scenario) -> medians over the rounds, for one revision."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in measurements:
        if row["revision"] == revision and "skipped" not in row:
            grouped.setdefault((row["corpus"], row["scenario"]), []).append(row)
    figures = {}
    for key, rows in grouped.items():
        figures[key] = {"cpu_ms": _median([row["cpu_ms"] for row in rows]),
                        "rps": _median([row["rps"] for row in rows]),
                        "p50_50": _median([row["at50"]["p50_ms"] for row in rows]),
                        "p99_50": _median([row["at50"]["p99_ms"] for row in rows]),
                        "p50_80": _median([row["at80"]["p50_ms"] for row in rows]),
                        "p99_80": _median([row["at80"]["p99_ms"] for row in rows]),
                        "cpu_ms_50": _median([row["at50"]["cpu_ms"] for row in rows]),
                        "cpu_ms_80": _median([row["at80"]["cpu_ms"] for row in rows]),
                        "rounds": len(rows),
                        "bad": sum(sum(row["bad"].values()) + sum(row["at50"]["bad"].values())
                                   + sum(row["at80"]["bad"].values()) for row in rows),
                        "wrapped": sum(row["wrapped"] for row in rows)}
    return figures


def memory_of(run: Run, revision: str) -> dict:
    """RSS of the embedded 10k serving tree: the largest of each process over the run, the tree's largest, and
    the worker's growth over the run's requests, from the end of round 1 (every scenario has run once, so the
    code is loaded and the caches filled: what grows after that is growth) to the end of the run; with one
    round, from the first sample."""
    target = next((t for t in run.targets if t.corpus == E10 and t.revision == revision), None)
    samples = [sample for sample in (target.rss_samples if target else []) if len(sample["rss"]) > 2]
    if not samples:
        return {}

    def worker(sample: dict) -> float:
        return max(mb for _, _, mb in sample["rss"][2:])

    first_round = [sample for sample in samples if sample["round"] == 1]
    base = first_round[-1] if len(first_round) < len(samples) else samples[0]
    last = samples[-1]
    return {"parent_mb": max(sample["rss"][0][2] for sample in samples),
            "master_mb": max(sample["rss"][1][2] for sample in samples),
            "worker_mb": max(worker(sample) for sample in samples),
            "tree_mb": round(max(sum(mb for _, _, mb in sample["rss"]) for sample in samples), 1),
            "worker_first_mb": worker(samples[0]), "worker_base_mb": worker(base), "worker_last_mb": worker(last),
            "growth_pct": round((worker(last) - worker(base)) / worker(base) * 100, 1),
            "growth_requests": last["requests"] - base["requests"], "requests": target.requests,
            "processes": ["strongbox serve (parent)", "granian master",
                          *["granian worker"] * (len(last["rss"]) - 2)]}


def files_of(run: Run, revision: str) -> dict:
    rows = [row for row in run.files if row["revision"] == revision]
    if not rows:
        return {}
    small = _median([row["upload_1mb"]["worker_rss_mb"] for row in rows])
    big = _median([row["upload_256mb"]["worker_rss_mb"] for row in rows])
    return {"download_mb_s": _median([row["download"]["mb_s"] for row in rows]),
            "upload_mb_s": _median([row["upload_256mb"]["mb_s"] for row in rows]),
            "upload_1mb_mb_s": _median([row["upload_1mb"]["mb_s"] for row in rows]),
            "worker_rss_after_1mb": small, "worker_rss_after_256mb": big,
            "upload_rss_growth_pct": round((big - small) / small * 100, 1) if small and big else None}


def analyse(run: Run, revisions: list[tuple[str, Path]], started: float) -> dict:
    result = {"when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "commit": run.commit, "args": {key: value for key, value in vars(run.args).items()
                                                          if key != "func"},
              "durations": vars(run.durations), "rate_limit": RATE_LIMIT, "server_env": SERVER_ENV,
              "notes": run.notes, "revisions": {}, "measurements": run.measurements, "files": run.files}
    if commit(services.REPO) != run.commit:
        run.notes.append(f"The checkout moved to {commit(services.REPO)} during the run; the servers ran the code "
                         f"of {run.commit}, which they had loaded at the start.")
    for revision, source in revisions:
        figures = figures_of(run.measurements, revision)
        memory, files = memory_of(run, revision), files_of(run, revision)
        lines = budget_lines.lines(figures, memory, files)
        result["revisions"][revision] = {
            "commit": commit(source), "figures": {f"{corpus} | {scenario}": values
                                                  for (corpus, scenario), values in figures.items()},
            "memory": memory, "files": files,
            "budget": [{"line": line.text, "figure": line.figure, "limit": line.limit, "unit": line.unit,
                        "at_most": line.at_most, "verdict": line.verdict} for line in lines],
            "ceilings": budget_lines.ceiling_ratios(figures), "paperless": budget_lines.paperless_table(figures)}
    result["total_s"] = round(time.monotonic() - started, 1)
    return result


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE")
                                                                      * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "load_average_end": [round(value, 2) for value in os.getloadavg()]}


def commit(source: Path) -> str:
    result = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"], capture_output=True,  # noqa: S603,S607
                            text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],  # noqa: S603,S607
                           capture_output=True, text=True, check=False).stdout.strip()
    return result.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


# ------------------------------------------------------------------------------------------------ main


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short runs, 10k corpora only (a smoke run)")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="these scenarios only ('files' for the "
                        f"download and uploads); names: {', '.join(BY_NAME)}")
    parser.add_argument("--compare", metavar="REV", help="also measure this git revision, interleaved")
    parser.add_argument("--peak-seconds", type=float, help="wrk run per measurement (default 2; 1 with --quick)")
    parser.add_argument("--steady-seconds", type=float, help="open-model run at 50 and 80 %% of peak (default 1.5)")
    parser.add_argument("--no-scale-out", action="store_true", help="skip PostgreSQL + Redis")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS})")
    parser.add_argument("--report", type=Path, default=DOCS / "benchmarks.md", help="the Markdown report")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the JSON")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.peak_seconds = args.peak_seconds or (1 if args.quick else 2)
    args.steady_seconds = args.steady_seconds or (1 if args.quick else 1.5)
    args.files = not args.only or "files" in args.only
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.report_only:
        result = json.loads(args.json.read_text())
        budget_report.write(result, args.report)
        return 0
    for tool in ("wrk", "curl", "taskset"):
        if not any((Path(directory) / tool).exists() for directory in os.environ.get("PATH", "").split(":")):
            raise SystemExit(f"{tool} is not installed (Debian package {'util-linux' if tool == 'taskset' else tool})")
    started = time.monotonic()
    os.umask(0o077)  # as `strongbox` itself does: the data directories stay private
    # The harness (wrk, curl, the open-model generator, the controllers) keeps to the load core.
    os.sched_setaffinity(0, {LOAD_CORE})
    say(f"budget bench: {args.rounds} round(s), wrk {args.peak_seconds} s, open model {args.steady_seconds} s "
        f"x 2 per measurement; servers on core {SERVER_CORE}, load on core {LOAD_CORE}")
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sbbudget-")))
        run = Run(args, Durations.of(args), root, commit=commit(services.REPO))
        revisions = [("current", services.REPO)]
        if args.compare:
            tree = services.Worktree(args.compare)
            stack.callback(tree.close)
            revisions.append((args.compare, tree.path))
            say(f"comparing with {args.compare} ({tree.commit}) checked out in {tree.path}")
        try:
            build(run, stack, revisions)
            measure_all(run)
        except (RuntimeError, OSError) as error:
            say(f"the run failed: {error}")
            for log in sorted(root.glob("*.log")):
                tail = log.read_text(errors="replace")[-1500:]
                if tail.strip():
                    say(f"--- {log.name}:\n{tail}")
            return 2
        result = analyse(run, revisions, started)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    budget_report.write(result, args.report)
    current = result["revisions"]["current"]["budget"]
    print()
    for line in current:
        print(budget_lines.Line(line["line"], line["figure"], line["limit"], line["unit"], line["at_most"]).render())
    failed = sum(line["verdict"] == "FAIL" for line in current)
    say(f"{len(current) - failed} of {len(current)} budget lines pass or were not measured; {failed} fail. "
        f"Total {result['total_s']:.0f} s. Wrote {args.json} and {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
