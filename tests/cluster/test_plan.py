"""The cluster's plan and the data tier's configuration, as data and text: no process is started here."""

import signal
from pathlib import Path

import pytest

from strongbox.cluster import plan
from strongbox.cluster.plan import Component, File, Layout, Ports, Step
from strongbox.cluster.render.services import render_postgresql_conf, render_redis_conf
from strongbox.cluster.spec import ClusterSpec

LAYOUT = Layout(root=Path("/srv/c"), postgres=Path("/srv/pg"), python="/venv/bin/python",
                postgres_bin=Path("/usr/lib/postgresql/15/bin"), haproxy="/usr/sbin/haproxy",
                redis="/usr/bin/redis-server", postgres_user="postgres")
PORTS = Ports(http=8080, https=8443, admin=9000, primary=9001, replica=9002, redis=9003, apps=(9010, 9011))


def build(**options):
    return plan.build(ClusterSpec(**options), LAYOUT, PORTS, {"PATH": "/usr/bin", "DATABASE_URL": "postgres://x/y",
                                                              "STRONGBOX_S3_BUCKET": "theirs", "LANG": "C.UTF-8"})


def components(stages) -> dict[str, Component]:
    return {stage.name: stage for stage in stages if isinstance(stage, Component)}


def test_it_starts_the_data_tier_before_the_app_servers_and_the_balancer_last():
    stages = build()
    names = [stage.name if not isinstance(stage, File) else f"file {stage.path.name}" for stage in stages]
    order = ["initdb", "postgres-primary", "create database", "base backup", "postgres-replica", "redis", "migrate",
             "app1", "app2", "worker1", "haproxy"]
    assert [name for name in names if name in order] == order
    assert names.index("file haproxy.cfg") < names.index("haproxy")


def test_it_keeps_the_data_of_an_earlier_run():
    steps = {stage.name: stage for stage in build() if isinstance(stage, Step)}
    assert steps["initdb"].creates == Path("/srv/pg/primary/PG_VERSION")
    assert steps["base backup"].creates == Path("/srv/pg/replica/PG_VERSION")
    assert "WHERE NOT EXISTS" in steps["create database"].stdin  # a second run finds the database there
    assert steps["collectstatic"].sources == plan.STATIC_SOURCES


def test_it_points_every_strongbox_process_at_the_cluster_and_nowhere_else():
    app = components(build())["app1"]
    env = app.env
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:9001/strongbox"
    assert env["DATABASE_REPLICA_URLS"] == "postgres://postgres@127.0.0.1:9002/strongbox"
    assert env["REDIS_URL"] == "redis://127.0.0.1:9003/0"
    assert env["STRONGBOX_STORAGE"] == "local" and "STRONGBOX_S3_BUCKET" not in env
    assert env["STRONGBOX_TRUSTED_PROXIES"] == "127.0.0.1/32"
    assert env["STRONGBOX_SITE_URL"] == "http://127.0.0.1:8080"
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8"
    assert app.command == ("/venv/bin/python", "-m", "strongbox", "serve", "--no-worker", "--host", "127.0.0.1",
                           "--port", "9010", "--workers", "2", "--threads", "4")
    assert app.probe == "http"


@pytest.mark.parametrize(("sessions", "store"), [("local", "file"), ("db", "db"), ("cache", "cache"),
                                                 ("cached_db", "cached_db"), ("signed_cookies", "signed_cookies")])
def test_it_gives_each_app_server_the_session_store_asked_for(sessions, store):
    apps = components(build(sessions=sessions, sticky=True))
    assert {apps[name].env["STRONGBOX_SESSION_STORE"] for name in ("app1", "app2")} == {store}
    # A directory of each server's own: with "local", a session exists only where it was made.
    assert apps["app1"].env["STRONGBOX_SESSION_DIR"] != apps["app2"].env["STRONGBOX_SESSION_DIR"]


def test_with_tls_the_app_servers_run_the_production_profile_at_the_https_address():
    env = components(build(tls=True, https_port=9443))["app1"].env
    assert env["STRONGBOX_ENV"] == "production"
    assert env["STRONGBOX_SITE_URL"] == "https://localhost:9443"
    assert env["STRONGBOX_TOTP_KEYS_FILE"] == "/srv/c/secrets/totp_keys"
    config = next(stage for stage in build(tls=True) if isinstance(stage, File) and stage.path.name == "haproxy.cfg")
    assert "ssl crt /srv/c/haproxy/balancer.pem" in config.text


def test_without_tls_an_inherited_production_profile_is_not_used():
    stages = plan.build(ClusterSpec(), LAYOUT, PORTS, {"STRONGBOX_ENV": "production"})
    assert components(stages)["app1"].env["STRONGBOX_ENV"] == "development"


def test_postgresql_runs_as_its_own_user_and_stops_fast():
    primary = components(build())["postgres-primary"]
    assert primary.user == "postgres" and primary.stop_signal == signal.SIGINT
    assert primary.command == ("/usr/lib/postgresql/15/bin/postgres", "-D", "/srv/pg/primary")


def test_the_balancer_runs_as_a_master_that_reloads_and_stops_softly():
    balancer = components(build(balance="leastconn"))["haproxy"]
    assert balancer.command[:3] == ("/usr/sbin/haproxy", "-W", "-db")
    assert balancer.stop_signal == signal.SIGUSR1 and balancer.port == 8080
    config = next(stage for stage in build(balance="leastconn") if isinstance(stage, File)
                  and stage.path.name == "haproxy.cfg").text
    assert "balance leastconn" in config
    assert "server app1 127.0.0.1:9010" in config and "server app2 127.0.0.1:9011" in config
    assert "stats socket /srv/c/haproxy/admin.sock" in config
    assert "server-state-file /srv/c/haproxy/state" in config


def test_postgresql_conf_listens_on_loopback_and_feeds_a_replica():
    text = render_postgresql_conf(9001, "/srv/pg", replica=False)
    for line in ("listen_addresses = '127.0.0.1'", "port = 9001", "unix_socket_directories = '/srv/pg'",
                 "wal_level = replica", "max_wal_senders = 5", "hot_standby = on"):
        assert line in text.splitlines()
    assert "primary_conninfo" in render_postgresql_conf(9002, "/srv/pg", replica=True)


def test_redis_conf_keeps_nothing_on_disk_and_evicts_expiring_keys_first():
    lines = render_redis_conf(9003, "/srv/c/redis").splitlines()
    for line in ("bind 127.0.0.1", "port 9003", 'save ""', "appendonly no", "maxmemory-policy volatile-lru",
                 "dir /srv/c/redis"):
        assert line in lines


@pytest.mark.parametrize(("options", "message"), [
    ({"servers": 0}, "servers must be a whole number from 1 to 64"),
    ({"workers": -1}, "workers must be a whole number from 0 to 64"),
    ({"balance": "fastest"}, "balance must be one of"),
    ({"sessions": "memory"}, "sessions must be one of"),
    ({"port": 0}, "port must be a port number"),
    ({"tls": True, "port": 9000, "https_port": 9000}, "the HTTP and HTTPS ports must differ"),
])
def test_the_spec_refuses_what_cannot_run(options, message):
    with pytest.raises(ValueError, match=message):
        ClusterSpec(**options)
