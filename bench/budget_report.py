"""docs/benchmarks.md and its plots (docs/benchmarks/*.png) from the JSON of bench/budget.py."""

import json
from pathlib import Path

import budget_lines
import corpus
from budget_scenarios import E10, E100, REPEATED_PREFIX, S10, new_prefixes


def _cell(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _figures(result: dict, revision: str) -> dict[tuple[str, str], dict]:
    raw = result["revisions"][revision]["figures"]
    return {tuple(key.split(" | ", 1)): values for key, values in raw.items()}


def _finish(plt, figure, axes, path: Path) -> str:
    """Give a horizontal chart the report's common finish, write it and return its file name."""
    axes.invert_yaxis()
    axes.grid(True, axis="x", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path.name


def plot(result: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(result, "current")
    written = []
    scenarios = sorted({scenario for corpus_, scenario in figures if corpus_ in (E10, E100, S10)})
    corpora = [name for name in (E10, E100, S10) if any(key[0] == name for key in figures)]
    figure, axes = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / max(1, len(corpora))
    for number, name in enumerate(corpora):
        values = [figures.get((name, scenario), {}).get("cpu_ms") or 0 for scenario in scenarios]
        axes.barh([index + number * width for index in range(len(scenarios))], values, height=width, label=name)
    axes.set_yticks([index + width * (len(corpora) - 1) / 2 for index in range(len(scenarios))], scenarios,
                    fontsize=8)
    bare = figures.get(("ceiling", "bare django"), {}).get("cpu_ms")
    if bare:
        axes.axvline(bare, color="grey", linestyle=":", label=f"bare Django view ({bare:g} ms)")
    axes.set(xlabel="server CPU ms per response (serving tree, /proc), median of the rounds", xscale="log",
             title="CPU per request, one granian worker pinned to one core")
    written.append(_finish(plt, figure, axes, out / "cpu-per-request.png"))

    figure, axes = plt.subplots(figsize=(10, 5.5))
    rows = [(scenario, values) for (name, scenario), values in sorted(figures.items()) if name == E100
            or (name == E10 and (E100, scenario) not in figures)]
    labels = [f"{scenario} ({'100k' if (E100, scenario) in figures else '10k'})" for scenario, _ in rows]
    for key, style, text in (("p99_50", "o", "p99 @50 %"), ("p99_80", "s", "p99 @80 %"), ("p50_50", ".", "p50 @50 %")):
        axes.plot([values.get(key) or 0 for _, values in rows], range(len(rows)), style, label=text)
    axes.set_yticks(range(len(rows)), labels, fontsize=8)
    axes.set(xlabel="latency from intended start (ms), open-model load", xscale="log",
             title="Latency at 50 % and 80 % of each scenario's peak")
    written.append(_finish(plt, figure, axes, out / "latency.png"))

    others = [revision for revision in result["revisions"] if revision != "current"]
    if others:
        before = _figures(result, others[0])
        keys = [key for key in sorted(figures) if key in before and key[0] == E10]
        figure, axes = plt.subplots(figsize=(10, 5.5))
        axes.barh([index - 0.2 for index in range(len(keys))], [before[key].get("cpu_ms") or 0 for key in keys],
                  height=0.4, label=f"before ({others[0]})")
        axes.barh([index + 0.2 for index in range(len(keys))], [figures[key].get("cpu_ms") or 0 for key in keys],
                  height=0.4, label="after (current)")
        axes.set_yticks(range(len(keys)), [key[1] for key in keys], fontsize=8)
        axes.set(xlabel="server CPU ms per response", xscale="log", title=f"Before and after, {E10}, one run")
        written.append(_finish(plt, figure, axes, out / "before-after.png"))
    return written


def _budget_table(budget: list[dict]) -> list[str]:
    lines = ["| budget line | figure | limit | verdict |", "|---|---:|---:|---|"]
    for line in budget:
        figure = "not measured" if line["figure"] is None else f"{line['figure']:g} {line['unit']}"
        lines.append(f"| {line['line']} | {figure} | {'≤' if line['at_most'] else '≥'} {line['limit']:g} "
                     f"{line['unit']} | **{line['verdict']}** |")
    return lines


def _scenario_table(figures: dict) -> list[str]:
    lines = ["| corpus | scenario | req/s (wrk) | CPU ms/req | p50 / p99 ms @50 % | p50 / p99 ms @80 % "
             "| CPU ms/req @80 % | unexpected answers | rounds |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (name, scenario), values in sorted(figures.items()):
        lines.append(f"| {name} | {scenario} | {_cell(values['rps'], 1)} | {_cell(values['cpu_ms'])} | "
                     f"{_cell(values['p50_50'])} / {_cell(values['p99_50'])} | {_cell(values['p50_80'])} / "
                     f"{_cell(values['p99_80'])} | {_cell(values['cpu_ms_80'])} | {values['bad']} | "
                     f"{values['rounds']} |")
    return lines


def _skipped(result: dict) -> list[str]:
    """Say which measurements could not be made, and which saw answers of another status than expected."""
    notes = sorted({(row["target"], row["scenario"], row["skipped"]) for row in result["measurements"]
                    if "skipped" in row})
    bad = sorted({(row["target"], row["scenario"], json.dumps({**row["bad"], **row["at50"]["bad"],
                                                               **row["at80"]["bad"]}))
                  for row in result["measurements"] if "skipped" not in row
                  and (row["bad"] or row["at50"]["bad"] or row["at80"]["bad"])})
    lines = [f"- Not measured: {target}, {scenario}: {reason}." for target, scenario, reason in notes]
    lines += [f"- Unexpected answers (not counted): {target}, {scenario}: {statuses}."
              for target, scenario, statuses in bad]
    lines += [f"- {note}" for note in result.get("notes", [])]
    return [*lines, ""] if lines else []


def _compare_table(result: dict, other: str) -> list[str]:
    after, before = _figures(result, "current"), _figures(result, other)
    lines = [f"| corpus | scenario | req/s before ({other}) | req/s after | CPU ms before | CPU ms after "
             "| CPU after/before |", "|---|---|---:|---:|---:|---:|---:|"]
    for key in sorted(set(after) & set(before)):
        a, b = after[key], before[key]
        ratio = round(a["cpu_ms"] / b["cpu_ms"], 2) if a.get("cpu_ms") and b.get("cpu_ms") else None
        lines.append(f"| {key[0]} | {key[1]} | {_cell(b['rps'], 1)} | {_cell(a['rps'], 1)} | {_cell(b['cpu_ms'])} "
                     f"| {_cell(a['cpu_ms'])} | {_cell(ratio)} |")
    now, then = result["revisions"]["current"], result["revisions"][other]
    lines += ["", f"| {E10} | before ({other}) | after |", "|---|---:|---:|"]
    for group, key, text in (("memory", "parent_mb", "parent RSS MB"), ("memory", "master_mb", "granian master RSS MB"),
                             ("memory", "worker_mb", "worker RSS MB (largest)"), ("memory", "tree_mb", "tree RSS MB"),
                             ("files", "download_mb_s", "download 256 MB, MB/s"),
                             ("files", "upload_mb_s", "upload 256 MB, MB/s")):
        lines.append(f"| {text} | {_cell(then[group].get(key), 1)} | {_cell(now[group].get(key), 1)} |")
    return lines


def markdown(result: dict, images: list[str]) -> str:
    current = result["revisions"]["current"]
    machine, args, durations = result["machine"], result["args"], result["durations"]
    memory, files = current["memory"], current["files"]
    passed = sum(line["verdict"] == "PASS" for line in current["budget"])
    failed = sum(line["verdict"] == "FAIL" for line in current["budget"])
    text = [
        "# Benchmarks: the performance budget (issue 11)",
        "",
        f"Measured {result['when']} on commit `{result['commit']}` by `bench/budget.py` (`make bench`), in one run "
        f"of {result['total_s'] / 60:.1f} minutes: {passed} budget lines pass, {failed} fail.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, Linux "
        f"{machine['kernel']}, Python {machine['python']}; load average at the end {machine['load_average_end']} "
        "(the machine is shared: other work ran beside the bench, which is why CPU ms per request, not req/s, is "
        "the figure the budget holds).",
        "",
        "## The budget",
        "",
        *_budget_table(current["budget"]),
        "",
        "## Method",
        "",
        "- **Server under test**: `strongbox serve --no-worker --workers 1` (granian, one worker, its default 4 "
        "threads), as production starts an app server, pinned with `taskset -c 0`; STRONGBOX_ENV=development "
        "(production's settings but for HTTPS-only cookies and redirects, which plain loopback HTTP cannot "
        "use). The load generators (wrk, curl, the open-model generator) and PostgreSQL and Redis run on core 1.",
        f"- **Bench-only settings**: STRONGBOX_API_RATE_LIMIT={result['rate_limit']} (one user sends thousands of "
        "API calls a minute; the default 600 would answer most with 429), STRONGBOX_QUOTA_DOCUMENTS=1000000 (the "
        "100k corpus), STRONGBOX_QUOTA_BYTES=100GB and STRONGBOX_MAX_UPLOAD_SIZE=1GB (the 256 MB uploads). "
        "Nothing else differs from the defaults.",
        "- **Ceilings**, measured in the same run with the same pinning: a bare Django view with Django's default "
        "middleware (`bench/budget_bare.py`, no database) under granian with the flags `serve` gives it; and the "
        "trivial signed-in page `/bench/trivial` (`bench/budget_urls.py`, settings `bench/budget_settings.py` = "
        "Strongbox's settings with that URLconf): a tiny response through Strongbox's whole middleware stack, "
        "served by its own `strongbox serve` on the 10k data.",
        f"- **Peak**: wrk -t1 -c16 for {durations['peak']:g} s (closed model), cycling through the scenario's "
        "paths with a Lua script that counts every status code: only answers of the expected status (200, or 304 "
        "for a conditional request) count, so a 302 to the sign-in page, a 429 or a 500 is never a fast success "
        "(the table's *unexpected answers* column). **CPU ms per request** = the change of utime + stime of the "
        "whole serving tree (serve's parent, granian's master, the worker; /proc/PID/stat, reaped children "
        "included) over the run ÷ the answers counted.",
        f"- **Latency**: the open-model generator (`bench/openload.py`: requests start on a fixed schedule, latency "
        f"from the intended start) at 50 % and 80 % of that round's peak, {durations['steady']:g} s each "
        "(capped at 2,000 req/s, the Python generator's own limit on one core).",
        f"- **Rounds**: {args['rounds']}, interleaved (round 1 runs every scenario on every server, then round 2 "
        "...), figures are medians over the rounds. Before every measurement the user's documents version is "
        "bumped (by a controller process in the server's environment, `bench/budget_control.py`), so nothing "
        "cached by an earlier measurement is found.",
        "- **Cached and uncached**: *cached* is the same request again with the user's documents unchanged "
        "(warmed by one request after the bump); *conditional* adds If-None-Match with the ETag of the first "
        "answer and expects 304 (skipped where the server sends no ETag). *Uncached* lists and searches add a "
        "parameter the app ignores with a different value for every request (`bench=N`, 60,000 of them): list "
        "pages and bodies are cached by the query string as sent, so each request misses them and takes the plain "
        "request's path to the same 50 rows. One document cycles through up to 3,000 different documents.",
        f"- **Suggestions**: *repeated* asks `q={REPEATED_PREFIX}` again and again; *new* uses each prefix (2 "
        f"letters or more) of the vocabulary's words once: {len(new_prefixes()):,} distinct prefixes exist, and "
        "a measurement that would need more reports its repeats (column *wrapped* in the JSON).",
        "- **Files**: a 256 MB download (`curl -o /dev/null`, session cookie) and a 1 MB and a 256 MB upload "
        "through the API (API key, multipart, incompressible PDF), MB = 10^6 bytes; the worker's RSS after each "
        "upload.",
        "- **Memory**: RSS (VmRSS) of each process of the 10k embedded serving tree after every measurement; "
        "growth = the worker's RSS at the end of the run against the end of round 1 (every scenario has run once "
        f"by then: the code is loaded and the caches are filled), over {memory.get('growth_requests', 0):,} "
        f"requests ({memory.get('requests', 0):,} in the whole run).",
        "",
        "## Corpus",
        "",
        f"`bench/corpus.py`: N documents of {corpus.WORDS_PER_DOCUMENT} words drawn with a fixed seed from a "
        f"fixed vocabulary of 1,000 made-up words; `{corpus.COMMON}` in every tenth document (10 %), "
        f"`{corpus.RARE}` in exactly {corpus.RARE_COUNT} whatever N; titles `Document 000001 <word> <word>` "
        "(so `document` matches every document); 8 categories in turn, two of 20 tags each. The same N gives "
        "the same documents byte for byte; `python bench/corpus.py export DIR --count 10000` writes them as "
        "files for another system. Loaded in bulk (rows and search index directly), owned by one user who signs "
        "in through the login form (a real session cookie). Corpora: embedded (SQLite, default settings, "
        "STRONGBOX_DATA_DIR in a temporary directory) with 10,000 and 100,000 documents; scale-out (a private "
        "PostgreSQL with fsync off, and Redis, on free loopback ports) with 10,000.",
        "",
        "## Every scenario",
        "",
        *_scenario_table(_figures(result, "current")),
        "",
        *_skipped(result),
        "## Memory and files",
        "",
        f"- Serving tree ({', '.join(memory.get('processes', []))}), largest RSS over the run: parent "
        f"{_cell(memory.get('parent_mb'), 1)} MB, "
        f"granian master {_cell(memory.get('master_mb'), 1)} MB, worker {_cell(memory.get('worker_mb'), 1)} MB "
        f"(first sample {_cell(memory.get('worker_first_mb'), 1)}, end of round 1 "
        f"{_cell(memory.get('worker_base_mb'), 1)}, last {_cell(memory.get('worker_last_mb'), 1)}), tree "
        f"{_cell(memory.get('tree_mb'), 1)} MB (paperless-ngx: {budget_lines.PAPERLESS_TREE_MB} MB).",
        f"- Download 256 MB: {_cell(files.get('download_mb_s'), 1)} MB/s; upload 256 MB "
        f"{_cell(files.get('upload_mb_s'), 1)} MB/s, 1 MB {_cell(files.get('upload_1mb_mb_s'), 1)} MB/s; worker "
        f"RSS after the 1 MB upload {_cell(files.get('worker_rss_after_1mb'), 1)} MB, after the 256 MB one "
        f"{_cell(files.get('worker_rss_after_256mb'), 1)} MB.",
        "",
        "## Ratios",
        "",
        "Against the ceilings measured in this run (req/s as a share of the bare Django view's and of the "
        "trivial signed-in page's):",
        "",
        "| scenario (10k embedded) | ÷ bare Django | ÷ trivial page |", "|---|---:|---:|",
        *[f"| {scenario} | {_cell(bare)} | {_cell(trivial)} |" for scenario, bare, trivial in current["ceilings"]],
        "",
        "Against paperless-ngx: fixed reference figures quoted in issue 11 (measured on this machine side by side "
        "with Strongbox on this corpus at 10,000 documents, one app-server process, `wrk -t1 -c16 -d10s`, median of "
        "3 rounds; paperless-ngx is not re-measured here). The goal is ≥ 40× for list, detail and search.",
        "",
        "| scenario | Strongbox req/s | paperless-ngx req/s | ratio |", "|---|---:|---:|---:|",
        *[f"| {scenario} | {_cell(ours, 1)} | {reference:g} | {_cell(ratio)}× |"
          for scenario, ours, reference, ratio in current["paperless"]],
        "",
    ]
    others = [revision for revision in result["revisions"] if revision != "current"]
    for other in others:
        text += [f"## Before and after: `{other}` ({result['revisions'][other]['commit']}) against the current "
                 "checkout, in the same run", "",
                 f"`{other}` was checked out with `git worktree add` and served with its `src/` first on "
                 "PYTHONPATH (same virtualenv, same corpus, same settings), interleaved with the current one.", "",
                 *_compare_table(result, other), ""]
    text += [*[f"![{image}](benchmarks/{image})" for image in images], "",
             "## Reproduce", "",
             "```",
             "make bench                                  # = .venv/bin/python bench/budget.py",
             ".venv/bin/python bench/budget.py --quick    # smoke run, 1 round, 10k only",
             ".venv/bin/python bench/budget.py --compare b5f8de8   # with a before/after table",
             ".venv/bin/python bench/budget.py --only 'api list' 'api list cached' --rounds 5",
             "```", "",
             "Needs wrk, curl, postgresql and redis-server (Debian packages) and the `bench` dependency group. "
             f"Raw figures, every measurement and round: `bench/results/budget.json`. This run: "
             f"`{' '.join(_argv(args))}`.", ""]
    return "\n".join(text)


def _argv(args: dict) -> list[str]:
    words = [".venv/bin/python", "bench/budget.py"]
    if args.get("quick"):
        words.append("--quick")
    if args.get("compare"):
        words += ["--compare", args["compare"]]
    if args.get("only"):
        words += ["--only", *[f"'{name}'" for name in args["only"]]]
    words += ["--rounds", str(args["rounds"])]
    return words


def write(result: dict, report: Path) -> None:
    images = plot(result, report.parent / "benchmarks")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(markdown(result, images))
