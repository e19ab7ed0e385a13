"""Cluster capacity, side by side in one run: the signed-in document list page (50 documents) served

  (1) directly by one app server,
  (2) through HAProxy to that one server (the other in maint),
  (3) through HAProxy to both servers,

by a real `strongbox cluster up --servers 2 --web-workers 1`. Load comes from the open-model generator
(bench/openload.py): the peak of each setup is found by stepping the offered rate up a fixed ladder until p99
exceeds 1 s, a request fails or the queue grows within the step; then p50/p99 are measured at 50 % and 80 % of
the peak. Setups are interleaved over several rounds so drift on a shared machine hits all three alike. Server CPU
per request (the app server's process tree, from /proc) is the figure that stays stable on a noisy machine.

Writes bench/results/cluster.json, cluster.md and PNG plots; one progress line per step on stderr.

    make bench-cluster      # or: .venv/bin/python bench/cluster_capacity.py [--rounds 3] [--step 2.5]
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess  # noqa: S404 - starts `strongbox cluster` with fixed argument lists
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import openload

from strongbox.cluster.runtime import RuntimeAPI, set_server_state

RESULTS = Path(__file__).resolve().parent / "results"
STRONGBOX = [sys.executable, "-m", "strongbox"]
USERNAME, PASSWORD = "capacity", "correct horse battery staple"
PAGE = "/documents/"
P99_LIMIT_MS = 1000
SEED = """
from django.core.files.uploadedfile import SimpleUploadedFile
from strongbox.accounts.models import User
from strongbox.documents.services import document_create
from strongbox.lib.sniff import check_upload
user = User.objects.get(username={username!r})
for i in range(50):
    upload = SimpleUploadedFile(f"file{{i}}.txt", (b"word%d " % i) * 200)
    document_create(owner=user, title=f"Document {{i}}", description="capacity benchmark", category="other",
                    tags=["bench", f"t{{i % 5}}"], upload=upload, kind=check_upload(upload.name, upload))
"""


def say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """`strongbox cluster up` in a directory of its own, in its own session; stop() ends it and deletes it."""

    def __init__(self, servers: int = 2, web_workers: int = 1):
        self.root = Path(tempfile.mkdtemp(prefix="sbcap-"))  # short: UNIX socket paths are limited to 107 bytes
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "strongbox.settings", "STRONGBOX_ENV": "development",
                    "STRONGBOX_DATA_DIR": str(self.root / "embedded"), "STRONGBOX_LOG_LEVEL": "WARNING"}
        self.output = self.root.parent / f"{self.root.name}.out"
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603
                [*STRONGBOX, "cluster", "up", "--dir", str(self.root), "--servers", str(servers), "--workers", "1",
                 "--web-workers", str(web_workers), "--port", str(free_port())],
                env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    def command(self, *args: str, **env: str) -> str:
        result = subprocess.run([*STRONGBOX, "cluster", *args], env={**self.env, **env},  # noqa: S603
                                capture_output=True, text=True, timeout=120, check=False)
        if result.returncode:
            raise RuntimeError(f"strongbox cluster {args[0]}: {result.stdout}{result.stderr}")
        return result.stdout

    def status(self) -> dict:
        return json.loads(self.command("status", "--dir", str(self.root), "--json"))

    def manage(self, *args: str, **env: str) -> str:
        return self.command("manage", "--dir", str(self.root), *args, **env)

    def wait_ready(self, timeout: float = 240) -> dict:
        """Wait until every component runs and the balancer has every app server up; return the status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cluster up exited: {self.output.read_text(errors='replace')[-3000:]}")
            try:
                document = self.status()
            except (RuntimeError, json.JSONDecodeError):
                document = None
            if document and _ready(document):
                return document
            time.sleep(1)
        raise RuntimeError(f"the cluster was not ready after {timeout} s: {self.output.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        subprocess.run([*STRONGBOX, "cluster", "destroy", "--dir", str(self.root)], env=self.env,  # noqa: S603
                       capture_output=True, timeout=60, check=False)
        self.output.unlink(missing_ok=True)


def _ready(document: dict) -> bool:
    components = document.get("components", [])
    apps = [entry for entry in components if entry["role"] == "app"]
    return bool(apps) and all(entry["state"] == "running" for entry in components) and \
        all((entry.get("balancer") or {}).get("state") == "up" for entry in apps)


def seed(cluster: Cluster) -> None:
    """A user made by `createuser` and 50 small documents made by the upload service, as in bench/servers.py."""
    cluster.manage("createuser", "--username", USERNAME, "--email", f"{USERNAME}@example.com",
                   STRONGBOX_PASSWORD=PASSWORD)
    cluster.manage("shell", "-c", SEED.format(username=USERNAME))


def wait_for_queue(cluster: Cluster, timeout: float = 120) -> None:
    """Wait until the worker has extracted every seeded document: extraction must not share the run's CPU."""
    deadline = time.monotonic() + timeout
    while cluster.status().get("queue", {}).get("jobs") and time.monotonic() < deadline:
        time.sleep(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base_url: str) -> dict[str, str]:
    """Sign in through the login form as a browser does; return the cookies (session and CSRF)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    login = base_url.rstrip("/") + "/accounts/login/"
    opener.open(login, timeout=30).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    form = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD,
                                   "csrfmiddlewaretoken": cookies["csrftoken"]}).encode()
    try:
        opener.open(urllib.request.Request(login, data=form, headers={"Referer": login}), timeout=30)  # noqa: S310
    except urllib.error.HTTPError as answer:
        if answer.code != 302:
            raise RuntimeError(f"sign-in answered {answer.code}") from answer
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        raise RuntimeError("sign-in gave no session cookie")
    return cookies


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and every live descendant, plus what their reaped children used (/proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we walked
        # Fields after the command name: state ppid ... utime(12) stime(13) cutime(14) cstime(15).
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(value) for value in fields[11:15]) / tick
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in family]
        family.update(children)
        frontier.extend(children)
    return sum(times.get(member, 0.0) for member in family)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (/proc/stat): who else was using the cores."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Setup:
    name: str
    url: str
    in_rotation: tuple[str, ...]  # app servers the balancer may use ("" for the direct setup)
    apps: dict[str, int]  # app server name -> pid, whose CPU counts
    haproxy: int = 0  # the balancer's pid (0: not in the path)
    steps: list[dict] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    steady: list[dict] = field(default_factory=list)


def prepare(runtime: RuntimeAPI, setup: Setup, all_apps: list[str]) -> None:
    """Put the setup's servers in rotation and the others in maint (the direct setup leaves the balancer be)."""
    if not setup.in_rotation:
        return
    runtime.run([set_server_state(name, "ready" if name in setup.in_rotation else "maint") for name in all_apps])
    time.sleep(0.5)  # let connections to a server just put in maint finish


def measure(setup: Setup, rate: float, duration: float, cookies: dict[str, str]) -> dict:
    """One open-model run at `rate`; the summary plus server CPU ms per answered request."""
    before = {name: tree_cpu_seconds(pid) for name, pid in setup.apps.items()}
    balancer, (busy, total) = tree_cpu_seconds(setup.haproxy) if setup.haproxy else 0.0, machine_ticks()
    report = openload.run(setup.url, rate, duration, openload.Request(path=PAGE), timeout=10, cookies=cookies)
    cpu = sum(tree_cpu_seconds(pid) - before[name] for name, pid in setup.apps.items())
    busy_after, total_after = machine_ticks()
    summary = report.summary()
    answered = summary["ok"] or 1
    summary["cpu_ms_per_request"] = round(cpu * 1000 / answered, 2)
    if setup.haproxy:
        summary["haproxy_cpu_ms_per_request"] = round((tree_cpu_seconds(setup.haproxy) - balancer) * 1000 / answered,
                                                      3)
    summary["machine_busy"] = round((busy_after - busy) / max(1, total_after - total), 2)
    summary["queue_growing"] = _queue_growing(report)
    return summary


def _queue_growing(report: openload.Report) -> bool:
    """Did a queue build up within the run: the last quarter's median latency over twice the first quarter's and
    250 ms more (20 % overload for a 2.5 s step leaves ~0.5 s of backlog; noise at low rates stays far below)?"""
    ordered = sorted(report.results, key=lambda result: result.intended)
    quarter = max(1, len(ordered) // 4)
    first = statistics.median(result.latency for result in ordered[:quarter])
    last = statistics.median(result.latency for result in ordered[-quarter:])
    return last - first > 0.25 and last > 2 * first


def overloaded(summary: dict) -> bool:
    return summary["p99_ms"] > P99_LIMIT_MS or summary["failed"] > 0 or summary["client_errors"] > 0 \
        or summary["queue_growing"]


def ladder(start: float, factor: float, top: float) -> list[float]:
    rates, rate = [], start
    while rate <= top:
        rates.append(round(rate, 1))
        rate *= factor
    return rates


def find_peak(setup: Setup, rates: list[float], first: int, step: float, cookies: dict, round_: int) -> float:
    """Walk `rates` from index `first` until the setup is overloaded; return the last rate it carried."""
    peak = 0.0
    for rate in rates[first:]:
        summary = measure(setup, rate, step, cookies)
        setup.steps.append({"round": round_, **summary})
        say(f"round {round_} {setup.name}: {rate:g}/s p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms "
            f"failed {summary['failed']} cpu {summary['cpu_ms_per_request']} ms/req machine busy "
            f"{summary['machine_busy']:.0%}"
            + (" -> overloaded" if overloaded(summary) else ""))
        if overloaded(summary):
            break
        peak = rate
    return peak


def build_setups(document: dict) -> tuple[list[Setup], list[str]]:
    apps = {entry["name"]: entry for entry in document["components"] if entry["role"] == "app"}
    names = sorted(apps)
    pids = {name: entry["pid"] for name, entry in apps.items()}
    first = names[0]
    haproxy = next(entry["pid"] for entry in document["components"] if entry["name"] == "haproxy")
    setups = [Setup("direct, 1 server", f"http://{apps[first]['address']}/", (), {first: pids[first]}),
              Setup("HAProxy, 1 server", document["url"], (first,), {first: pids[first]}, haproxy),
              Setup("HAProxy, 2 servers", document["url"], tuple(names[:2]), {n: pids[n] for n in names[:2]},
                    haproxy)]
    return setups, names


def run_bench(cluster: Cluster, args: argparse.Namespace) -> dict:
    document = cluster.wait_ready()
    say(f"cluster ready at {document['url']}; seeding 50 documents")
    seed(cluster)
    wait_for_queue(cluster)
    cookies = sign_in(document["url"])
    if args.cpu is not None:
        # The generator keeps to one core so it cannot take both from the servers; they still share it.
        os.sched_setaffinity(0, {args.cpu})
    setups, names = build_setups(document)
    runtime = RuntimeAPI(document["balancer"]["runtime_socket"])
    rates = ladder(args.start, args.factor, args.max_rate)
    for round_ in range(1, args.rounds + 1):
        for setup in setups:
            prepare(runtime, setup, names)
            # Later rounds start a few rungs below the first round's peak: the low rungs only repeat.
            first = 0 if not setup.peaks else max(0, rates.index(setup.peaks[0]) - 3) if setup.peaks[0] else 0
            setup.peaks.append(find_peak(setup, rates, first, args.step, cookies, round_))
    one_server = min(statistics.median(setup.peaks) for setup in setups[:2])
    for round_ in range(1, args.rounds + 1):
        for setup in setups:
            prepare(runtime, setup, names)
            # (1) and (2) at the same rates, so their difference is the balancer's own cost.
            base = one_server if not setup.name.endswith("2 servers") else statistics.median(setup.peaks)
            base = base or rates[0]  # overloaded on the first rung: measure below it rather than not at all
            for fraction in (0.5, 0.8):
                summary = measure(setup, round(base * fraction, 1), args.steady, cookies)
                setup.steady.append({"round": round_, "fraction": fraction, **summary})
                say(f"round {round_} {setup.name}: {fraction:.0%} of peak = {summary['rate']:g}/s "
                    f"p50 {summary['p50_ms']} ms p99 {summary['p99_ms']} ms cpu {summary['cpu_ms_per_request']} ms/req "
                    f"machine busy {summary['machine_busy']:.0%}")
    prepare(runtime, setups[-1], names)
    return analyse(setups, args, document)


def _median_of(rows: list[dict], key: str) -> float:
    return round(statistics.median(row[key] for row in rows), 2)


def added_latency(result: dict) -> dict:
    """(2) − (1) at the same rate: the median over the rounds of each round's difference, and its range (the
    noise a reader must set against it)."""
    direct, one = (result["setups"][name]["steady_runs"] for name in ("direct, 1 server", "HAProxy, 1 server"))
    added = {}
    for fraction in (0.5, 0.8):
        pairs = [(a, b) for a in direct for b in one if a["fraction"] == b["fraction"] == fraction
                 and a["round"] == b["round"]]
        added[f"{fraction:.0%}"] = {
            key: {"median": round(statistics.median(b[key] - a[key] for a, b in pairs), 2),
                  "range": [round(min(b[key] - a[key] for a, b in pairs), 2),
                            round(max(b[key] - a[key] for a, b in pairs), 2)]}
            for key in ("p50_ms", "p99_ms")}
    return added


def analyse(setups: list[Setup], args: argparse.Namespace, document: dict) -> dict:
    """Medians over the rounds: peaks, latency and CPU at 50/80 % of peak, the balancer's cost, the scaling."""
    result = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
              "load_average_start": args.load_start, "load_average_end": [round(value, 2) for value in os.getloadavg()],
              "page": PAGE, "rounds": args.rounds, "step_s": args.step, "steady_s": args.steady,
              "ladder": {"start": args.start, "factor": args.factor}, "generator_core": args.cpu,
              "spec": document.get("spec"), "setups": {}}
    for setup in setups:
        steady = {}
        for fraction in (0.5, 0.8):
            rows = [row for row in setup.steady if row["fraction"] == fraction]
            steady[f"{fraction:.0%}"] = {key: _median_of(rows, key) for key in
                                         ("rate", "p50_ms", "p99_ms", "cpu_ms_per_request", "achieved_rate",
                                          "machine_busy")}
            steady[f"{fraction:.0%}"]["failed"] = sum(row["failed"] for row in rows)
            if setup.haproxy:
                steady[f"{fraction:.0%}"]["haproxy_cpu_ms_per_request"] = _median_of(rows,
                                                                                     "haproxy_cpu_ms_per_request")
        result["setups"][setup.name] = {"peak_rate": statistics.median(setup.peaks), "peaks": setup.peaks,
                                        "steady": steady, "steady_runs": setup.steady, "steps": setup.steps}
    one, two = (result["setups"][setup.name] for setup in setups[1:])
    result["balancer_added_ms"] = added_latency(result)
    result["scaling"] = {"peak_ratio": round(two["peak_rate"] / one["peak_rate"], 2) if one["peak_rate"] else None}
    result["scaling"]["efficiency_per_server"] = (round(result["scaling"]["peak_ratio"] / 2, 2)
                                                  if result["scaling"]["peak_ratio"] else None)
    return result


def plot(result: dict, out: Path) -> list[str]:
    """latency.png: p50 and p99 against the offered rate for each setup (median over the rounds at each rung);
    cpu.png: server CPU per request against the offered rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {"latency": plt.subplots(figsize=(8, 4.5)), "cpu": plt.subplots(figsize=(8, 4.5))}
    for (name, setup), colour in zip(result["setups"].items(), ("tab:blue", "tab:orange", "tab:green"), strict=False):
        by_rate: dict[float, list[dict]] = {}
        for step in setup["steps"]:
            by_rate.setdefault(step["rate"], []).append(step)
        rates = sorted(by_rate)
        latency_axes, cpu_axes = figures["latency"][1], figures["cpu"][1]
        for key, style in (("p99_ms", "-"), ("p50_ms", "--")):
            latency_axes.plot(rates, [_median_of(by_rate[rate], key) for rate in rates], style, color=colour,
                              marker=".", label=f"{name} {key[:3]}")
        cpu_axes.plot(rates, [_median_of(by_rate[rate], "cpu_ms_per_request") for rate in rates], "-",
                      color=colour, marker=".", label=name)
    axes = figures["latency"][1]
    axes.set(xlabel="offered rate (requests/s, open model)", ylabel="latency from intended start (ms)",
             yscale="log", title=f"Signed-in list page {PAGE}: latency vs offered rate")
    axes.axhline(P99_LIMIT_MS, color="grey", linewidth=0.8, linestyle=":")
    figures["cpu"][1].set(xlabel="offered rate (requests/s)", ylabel="app server CPU ms per request",
                          title="Server CPU per request (app server process trees, /proc)")
    written = []
    for name, (figure, axes) in figures.items():
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(out / f"cluster-{name}.png", dpi=100)
        plt.close(figure)
        written.append(f"cluster-{name}.png")
    return written


def markdown(result: dict, images: list[str]) -> str:
    lines = [
        "# Cluster capacity: one app server, behind HAProxy, two behind HAProxy",
        "",
        f"Measured {result['when']} by `bench/cluster_capacity.py` (`make bench-cluster`) on a {result['cores']}-core "
        f"machine against `strongbox cluster up` ({json.dumps(result['spec'])}, one granian worker per app server). "
        f"Page: the signed-in document list `{result['page']}` with 50 documents. {result['rounds']} rounds, the three "
        "setups interleaved in each; figures are medians over the rounds.",
        "",
        "Load: the open-model generator `bench/openload.py` (requests start on a fixed schedule; latency counts from "
        "the intended start, so queueing shows). **Peak** = the highest rung of an open-model ladder "
        f"({result['ladder']['start']:g}/s × {result['ladder']['factor']:g} per rung, {result['step_s']:g} s each) "
        "with p99 ≤ 1 s, no failed or refused request and no latency growth within the step. Latency at 50 % and "
        f"80 % of peak from {result['steady_s']:g} s runs; (1) and (2) run at the same rates (of the lower of their "
        "two peaks) so their difference is the balancer's own cost.",
        "",
        f"On this {result['cores']}-core machine the load generator, HAProxy, PostgreSQL, Redis and the app servers "
        "share the cores" + (f" (the generator pinned to core {result['generator_core']})"
                             if result["generator_core"] is not None else "")
        + ": absolute rates are lower bounds, and the 2-server setup competes with the generator for the second core. "
        "CPU ms per request (from /proc, the app servers' process trees) is the figure that stays stable.",
        "",
        f"Load average (1, 5, 15 min) at the start {result['load_average_start']}, at the end "
        f"{result['load_average_end']}: other work shared the machine during the run. \"Machine busy\" is the share "
        "of all cores in use during a run (/proc/stat), everything included.",
        "",
        "| setup | peak (req/s) | peaks by round | rate @50 % | p50 / p99 ms @50 % | rate @80 % | p50 / p99 ms @80 % "
        "| app CPU ms/req @80 % | HAProxy CPU ms/req @80 % | machine busy @80 % |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, setup in result["setups"].items():
        half, most = setup["steady"]["50%"], setup["steady"]["80%"]
        lines.append(f"| {name} | {setup['peak_rate']:g} | {', '.join(f'{peak:g}' for peak in setup['peaks'])} | "
                     f"{half['rate']:g} | {half['p50_ms']} / {half['p99_ms']} | {most['rate']:g} | "
                     f"{most['p50_ms']} / {most['p99_ms']} | {most['cpu_ms_per_request']} | "
                     f"{most.get('haproxy_cpu_ms_per_request', '–')} | {most['machine_busy']:.0%} |")
    added, scaling = result["balancer_added_ms"], result["scaling"]
    lines += [
        "",
        "- **Balancer's added latency** ((2) − (1) at the same rate, median of the rounds' differences [their "
        "range]): " + "; ".join(
            f"at {fraction} p50 {added[fraction]['p50_ms']['median']} ms {added[fraction]['p50_ms']['range']}, p99 "
            f"{added[fraction]['p99_ms']['median']} ms {added[fraction]['p99_ms']['range']}" for fraction in added)
        + ". Where the range spans zero the balancer's cost is below this machine's noise; its own CPU per request "
        "(table) is the direct measure.",
        f"- **Scaling** (peak of (3) ÷ peak of (2)): {scaling['peak_ratio']}× with 2 servers, "
        f"{scaling['efficiency_per_server']} per server (1.0 would be linear)." + _saturation(result),
        "- Failed requests in the steady runs: "
        + ", ".join(f"{name} {setup['steady']['50%']['failed'] + setup['steady']['80%']['failed']}"
                    for name, setup in result["setups"].items()) + ".",
        "",
        *[f"![{image}]({image})" for image in images],
        "",
        "CPU per request is higher at the lowest rates because the servers' idle work (a health check from the "
        "balancer every second, housekeeping) is shared by few requests.",
        "",
        "Raw figures, every ladder step and steady run: [cluster.json](cluster.json).",
        "",
    ]
    return "\n".join(lines)


def _saturation(result: dict) -> str:
    """Say so when the cores were nearly all busy already at 80 % of the two-server peak."""
    busy = result["setups"]["HAProxy, 2 servers"]["steady"]["80%"]["machine_busy"]
    if busy < 0.85:
        return ""
    return (f" At 80 % of the two-server peak the machine was already {busy:.0%} busy: the second server found no "
            "idle core, so this ratio measures the machine, not the balancer; CPU ms per request is what carries "
            "over to a machine with a core per server.")


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.json").write_text(json.dumps(result, indent=1) + "\n")
    images = plot(result, out)
    (out / "cluster.md").write_text(markdown(result, images))
    say(f"wrote {out / 'cluster.md'}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step", type=float, default=2.5, help="seconds per ladder rung")
    parser.add_argument("--steady", type=float, default=4, help="seconds per run at 50/80 %% of peak")
    parser.add_argument("--start", type=float, default=5, help="first rung, requests/s")
    parser.add_argument("--factor", type=float, default=1.25, help="growth per rung")
    parser.add_argument("--max-rate", type=float, default=1500)
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                        help="core for the load generator (-1: not pinned)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from OUT/cluster.json")
    args = parser.parse_args()
    args.cpu = None if args.cpu < 0 else args.cpu
    return args


def rewrite_report(out: Path) -> None:
    """Write cluster.md and the plots again from cluster.json (after a change to the report, not the run)."""
    result = json.loads((out / "cluster.json").read_text())
    result["balancer_added_ms"] = added_latency(result)
    write(result, out)


def main() -> None:
    args = arguments()
    if args.report_only:
        rewrite_report(args.out)
        return
    started = time.monotonic()
    args.load_start = [round(value, 2) for value in os.getloadavg()]
    cluster = Cluster()
    say(f"starting the cluster in {cluster.root}")
    try:
        result = run_bench(cluster, args)
    finally:
        say("stopping the cluster")
        cluster.stop()
    result["total_s"] = round(time.monotonic() - started, 1)
    write(result, args.out)


if __name__ == "__main__":
    main()
