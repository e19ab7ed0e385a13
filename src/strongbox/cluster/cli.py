"""`strongbox cluster ACTION`: argument parsing and messages. It needs no Django: the cluster's processes load
Strongbox's settings themselves, each with the environment the plan gives it (plan.py)."""

import argparse
import os
import sys
from pathlib import Path

from strongbox.cluster import commands
from strongbox.cluster.autoscale import Policy, parse_range
from strongbox.cluster.control import NotRunning
from strongbox.cluster.release import Strategy, checkout
from strongbox.cluster.spec import BALANCE_METHODS, SESSION_STORES, ClusterSpec
from strongbox.cluster.supervisor import ClusterError

# Where Strongbox keeps its data unless told otherwise (settings.DATA_DIR reads the same variable).
DEFAULT_DIR = Path(os.environ.get("STRONGBOX_DATA_DIR", "var")) / "cluster"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="strongbox cluster", description="Run Strongbox as a cluster on this machine: PostgreSQL primary + "
        "replica, Redis, app servers and task workers behind HAProxy, on loopback (docs/operations.md).")
    actions = top.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                         help=f"The cluster's directory (default: {DEFAULT_DIR}).")
        return sub

    up = action("up", "Start the cluster and supervise it until Ctrl-C or SIGTERM.")
    up.add_argument("--servers", type=int, default=None,
                    help="App servers (default 2; with --autoscale its minimum).")
    up.add_argument("--workers", type=int, default=1, help="Task workers (default 1).")
    up.add_argument("--balance", choices=BALANCE_METHODS, default="roundrobin")
    up.add_argument("--sticky", action="store_true", help="Keep each browser on one server (a cookie).")
    up.add_argument("--sessions", choices=SESSION_STORES, default="cached_db",
                    help="Where sessions live (default cached_db); 'local' is each server's own (needs --sticky).")
    up.add_argument("--tls", action="store_true", help="HTTPS at the balancer, the production profile behind it.")
    up.add_argument("--port", type=int, default=8080, help="The balancer's HTTP port (default 8080).")
    up.add_argument("--https-port", type=int, default=8443, help="Its HTTPS port with --tls (default 8443).")
    up.add_argument("--web-workers", type=int, default=2, help="granian worker processes per app server (2).")
    up.add_argument("--autoscale", metavar="MIN:MAX", help="Add and remove app servers with the load, from MIN "
                    "to MAX (requests in flight per server, HAProxy's view).")
    _autoscale_options(up, "autoscale-")
    status = action("status", "Show every component, the balancer's view, the replica's lag, the queue.")
    status.add_argument("--json", action="store_true", help="One JSON object, for scripts.")
    kill = action("kill", "Send a signal to a component (default SIGKILL), as a crash or a hang would.")
    kill.add_argument("name")
    kill.add_argument("--signal", default="KILL", choices=("KILL", "TERM", "STOP", "CONT", "INT", "HUP"))
    for name, text in (("stop", "Stop a component on purpose (an app server is drained first)."),
                       ("start", "Start a stopped component again."),
                       ("restart", "Stop and start a component; 'all' restarts the app servers one by one.")):
        action(name, text).add_argument("name")
    action("scale", "Run N app servers (new ones join when ready; removed ones are drained first)."
           ).add_argument("count", type=int)
    autoscale = action("autoscale", "Autoscale the running cluster's app servers from MIN to MAX, or 'off'.")
    autoscale.add_argument("range", metavar="MIN:MAX|off")
    _autoscale_options(autoscale, "")
    release = action("release", "Switch the app servers and task workers to another checkout of the code without "
                     "failing a request (docs/operations.md, \"Releases\").")
    release.add_argument("--code", type=Path, help="The checkout to run (its migrations run first).")
    release.add_argument("--strategy", default="rolling", metavar="rolling|bluegreen|canary[:PERCENT]",
                         help="How the servers switch (default rolling; a canary gets PERCENT of the requests, 10).")
    release.add_argument("--promote", dest="release_action", action="store_const", const="promote",
                         help="Replace the old servers by the canary's code.")
    release.add_argument("--rollback", dest="release_action", action="store_const", const="rollback",
                         help="Remove the canary, or release the code that ran before the last release.")
    action("reload", "Rewrite the balancer's configuration and reload it without dropping a connection.")
    action("destroy", "Delete a stopped cluster's directory and data.")
    manage = action("manage", "Run a Strongbox command (createuser, migrate, ...) against the running cluster.")
    manage.add_argument("arguments", nargs=argparse.REMAINDER, metavar="COMMAND ...")
    return top


# The autoscale options' defaults (the target's depends on the servers' threads); on a running cluster an option
# left out keeps the value it had.
AUTOSCALE_DEFAULTS = {"tolerance": 0.1, "stabilization": 300.0, "cooldown": 30.0, "interval": 2.0}


def _autoscale_options(sub: argparse.ArgumentParser, prefix: str) -> None:
    kept = " (default: as it is if autoscaling is on, else " if not prefix else " (default "
    sub.add_argument(f"--{prefix}target", dest="target", type=float, metavar="N",
                     help="Requests in flight per server to aim for (default: half of a server's threads, "
                     "web workers x 4 / 2).")
    sub.add_argument(f"--{prefix}tolerance", dest="tolerance", type=float, metavar="F",
                     help=f"No change while the metric is within this fraction of the target{kept}0.1).")
    sub.add_argument(f"--{prefix}window", dest="stabilization", type=float, metavar="S",
                     help="Stabilization window: remove servers only when every recommendation of the last S "
                     f"seconds was lower{kept}300).")
    sub.add_argument(f"--{prefix}cooldown", dest="cooldown", type=float, metavar="S",
                     help=f"Seconds after an action before the next{kept}30).")
    sub.add_argument(f"--{prefix}interval", dest="interval", type=float, metavar="S",
                     help=f"Seconds between two decisions{kept}2).")


def _policy(options: argparse.Namespace, web_workers: int, now: dict | None = None) -> Policy:
    """The policy the options ask for; what they leave out is as in `now` (the running policy), else default."""
    minimum, maximum = parse_range(options.range if options.action == "autoscale" else options.autoscale)
    base = {**AUTOSCALE_DEFAULTS, "target": web_workers * ClusterSpec.threads / 2, **(now or {})}
    chosen = {name: getattr(options, name) if getattr(options, name) is not None else base[name]
              for name in ("target", *AUTOSCALE_DEFAULTS)}
    return Policy(minimum=minimum, maximum=maximum, **chosen)


def run(options: argparse.Namespace) -> str:
    root = options.dir.resolve()
    if options.action == "up":
        policy = _policy(options, options.web_workers) if options.autoscale else None
        servers = options.servers if options.servers is not None else policy.minimum if policy else 2
        spec = ClusterSpec(servers=servers, workers=options.workers, balance=options.balance,
                           sticky=options.sticky, sessions=options.sessions, tls=options.tls, port=options.port,
                           https_port=options.https_port, web_workers=options.web_workers, autoscale=policy)
        if spec.sessions == "local" and not spec.sticky and spec.servers > 1:
            print("Warning: --sessions local without --sticky signs people out whenever the balancer sends them "
                  "to another server (that is what it demonstrates).", file=sys.stderr)
        commands.up(root, spec, say=lambda line: print(line, flush=True))
        return ""
    if options.action == "autoscale":
        if options.range == "off":
            return str(commands.call(root, {"op": "autoscale", "policy": None}))
        document = commands.call(root, {"op": "status"})
        policy = _policy(options, document["spec"]["web_workers"], document["autoscale"].get("policy"))
        return str(commands.call(root, {"op": "autoscale", "policy": policy.as_dict()}))
    if options.action == "status":
        return commands.show_status(root, options.json)
    if options.action == "destroy":
        return commands.destroy(root)
    if options.action == "manage":
        if not options.arguments:
            raise ClusterError("name the command to run, e.g. `strongbox cluster manage createuser --username YOU "
                               "--email YOU@example.com`")
        variables = commands.call(root, {"op": "environment"})
        os.execve(sys.executable, [sys.executable, "-m", "strongbox", *options.arguments],  # noqa: S606  # nosec B606
                  {**os.environ, **variables})
    if options.action == "release":
        if options.release_action:
            return str(commands.call(root, {"op": "release", "action": options.release_action}, timeout=1800))
        if options.code is None:
            raise ClusterError("name the checkout to release with --code PATH (or --promote, --rollback)")
        return str(commands.call(root, {"op": "release", "code": str(checkout(options.code)),
                                        "strategy": str(Strategy.parse(options.strategy))}, timeout=1800))
    request = {"op": options.action, **{key: getattr(options, key) for key in ("name", "count", "signal")
                                        if hasattr(options, key)}}
    return str(commands.call(root, request))


def main(argv: list[str]) -> int:
    options = parser().parse_args(argv)
    try:
        output = run(options)
    except (ClusterError, NotRunning, ValueError, RuntimeError) as error:  # a ReleaseError is a RuntimeError
        print(f"strongbox cluster: {error}", file=sys.stderr)
        return 1
    if output:
        print(output)
    return 0
