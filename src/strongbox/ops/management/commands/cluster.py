from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from strongbox.cluster import commands
from strongbox.cluster.control import NotRunning
from strongbox.cluster.spec import BALANCE_METHODS, SESSION_STORES, ClusterSpec
from strongbox.cluster.supervisor import ClusterError


class Command(BaseCommand):
    help = ("Run Strongbox as a cluster on this machine: PostgreSQL primary + replica, Redis, app servers and task "
            "workers behind HAProxy, all on loopback (docs/operations.md, 'The local cluster').")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        def action(name: str, help: str):
            sub = actions.add_parser(name, help=help, description=help)
            sub.add_argument("--dir", type=Path, default=settings.DATA_DIR / "cluster",
                             help="The cluster's directory (default: the data directory's cluster/).")
            return sub

        up = action("up", "Start the cluster and supervise it until Ctrl-C or SIGTERM.")
        up.add_argument("--servers", type=int, default=2, help="App servers (default 2).")
        up.add_argument("--workers", type=int, default=1, help="Task workers (default 1).")
        up.add_argument("--balance", choices=BALANCE_METHODS, default="roundrobin")
        up.add_argument("--sticky", action="store_true", help="Keep each browser on one server (a cookie).")
        up.add_argument("--sessions", choices=SESSION_STORES, default="cached_db",
                        help="Where sessions live; 'local' is each server's own (needs --sticky).")
        up.add_argument("--tls", action="store_true", help="HTTPS at the balancer, the production profile behind.")
        up.add_argument("--port", type=int, default=8080, help="The balancer's HTTP port (default 8080).")
        up.add_argument("--https-port", type=int, default=8443, help="Its HTTPS port with --tls (default 8443).")
        up.add_argument("--web-workers", type=int, default=2, help="granian worker processes per app server.")
        status = action("status", "Show every component, the balancer's view and the replica's lag.")
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
        action("reload", "Rewrite the balancer's configuration and reload it without dropping a connection.")
        action("destroy", "Delete a stopped cluster's directory and data.")

    def handle(self, *args, action, dir, **options):
        root = dir.resolve()
        try:
            self.stdout.write(self._run(action, root, options))
        except (ClusterError, NotRunning, ValueError) as error:
            raise CommandError(str(error)) from None
        except RuntimeError as error:  # the running cluster refused the request
            raise CommandError(str(error)) from None

    def _run(self, action: str, root: Path, options: dict) -> str:
        if action == "up":
            spec = ClusterSpec(servers=options["servers"], workers=options["workers"], balance=options["balance"],
                               sticky=options["sticky"], sessions=options["sessions"], tls=options["tls"],
                               port=options["port"], https_port=options["https_port"],
                               web_workers=options["web_workers"])
            if spec.sessions == "local" and not spec.sticky and spec.servers > 1:
                self.stderr.write("Warning: --sessions local without --sticky signs people out whenever the "
                                  "balancer sends them to another server (that is what it demonstrates).")
            commands.up(root, spec, say=self._say)
            return ""
        if action == "status":
            return commands.show_status(root, options["json"])
        if action == "destroy":
            return commands.destroy(root)
        request = {"op": action, **{key: options[key] for key in ("name", "count", "signal") if key in options}}
        return str(commands.call(root, request))

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
