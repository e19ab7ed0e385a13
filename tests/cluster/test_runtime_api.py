"""The runtime API helpers: commands built as text, `show stat` read into server states, and both used on a real
HAProxy to drain, add and remove servers."""

import pytest
import requests

from strongbox.cluster.runtime import (
    EMPTY_SERVER_STATE,
    RuntimeCommandError,
    add_server,
    parse_show_stat,
    remove_server,
    set_server_state,
    show_servers_state,
    show_stat,
)
from strongbox.cluster.spec import BalancerSpec, Server

# The header of HAProxy 2.6's `show stat`, and rows as it writes them (trimmed to the first columns it needs).
HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,"
          "weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
          "rate_lim,rate_max,check_status,check_code,check_duration")
ROWS = [
    "www,FRONTEND,,,3,9,4000,120,1,2,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,4,0,9,,,",
    "app,app1,0,0,2,5,,61,1,2,,0,,0,0,1,1,UP,1,1,0,0,0,30,0,,1,3,1,,61,,2,3,,8,L7OK,200,1",
    "app,app2,0,0,0,4,,59,1,2,,0,,0,0,0,0,DOWN 1/2,1,1,0,1,0,2,0,,1,3,2,,59,,2,0,,7,L4CON,,0",
    "app,app3,0,0,1,1,,7,1,2,,0,,0,0,0,0,DRAIN,0,1,0,0,0,9,0,,1,3,3,,7,,2,0,,2,L7OK,200,1",
    "app,BACKEND,0,0,3,9,400,127,1,2,0,0,,0,0,1,1,UP,2,2,0,,0,30,0,,1,3,0,,127,,1,4,,9,,,",
]


def test_it_reads_each_server_of_the_backend_from_show_stat():
    servers = parse_show_stat("\n".join([HEADER, *ROWS]) + "\n\n")
    assert list(servers) == ["app1", "app2", "app3"]
    app1, app2, app3 = servers.values()
    assert (app1.current_sessions, app1.total_sessions, app1.session_rate, app1.retries, app1.redispatches) == (
        2, 61, 3, 1, 1)
    assert (app1.status, app1.state, app1.check_status, app1.weight) == ("UP", "up", "L7OK", 1)
    # Going up after a failed check is still down; a draining server is in drain whatever its weight.
    assert (app2.status, app2.state, app2.check_status) == ("DOWN 1/2", "down", "L4CON")
    assert (app3.state, app3.weight) == ("drain", 0)
    assert parse_show_stat("\n".join([HEADER, *ROWS]), backend="other") == {}
    unchecked = ROWS[1].replace(",UP,", ",no check,").replace(",L7OK,", ",,")
    assert parse_show_stat("\n".join([HEADER, unchecked]))["app1"].state == "up"
    maintained = ROWS[1].replace(",UP,", ",MAINT (via app/app2),")
    assert parse_show_stat("\n".join([HEADER, maintained]))["app1"].state == "maint"


def test_it_refuses_what_is_not_show_stat_output():
    with pytest.raises(RuntimeCommandError, match="not the output of show stat"):
        parse_show_stat("Unknown command.\n")


def test_it_builds_commands_for_named_servers_only():
    assert show_stat() == "show stat"
    assert set_server_state("app1", "drain") == "set server app/app1 state drain"
    assert set_server_state("app1", "ready", backend="web") == "set server web/app1 state ready"
    with pytest.raises(ValueError, match="state must be one of"):
        set_server_state("app1", "down")
    with pytest.raises(ValueError, match="cannot be used"):
        set_server_state("app1; shutdown sessions", "ready")
    assert remove_server("app3") == ["set server app/app3 state maint", "del server app/app3"]
    spec = BalancerSpec(servers=[Server("app1", "127.0.0.1", 8001)], runtime_socket="/run/h.sock")
    assert add_server(spec, Server("app3", "127.0.0.1", 8003)) == [
        "add server app/app3 127.0.0.1:8003 check inter 1s fastinter 500ms fall 2 rise 2 slowstart 10s",
        "enable health app/app3", "set server app/app3 state ready"]
    with pytest.raises(ValueError, match="sticky cookie"):
        add_server(BalancerSpec(servers=spec.servers, runtime_socket="/run/h.sock", sticky=True),
                   Server("app3", "127.0.0.1", 8003))


def answered_by(url: str, count: int) -> list[str]:
    return [requests.get(url, timeout=10).json()["server"] for _ in range(count)]


def test_it_drains_a_server_and_puts_it_back(balancer, recording_servers):
    app1, app2 = recording_servers("app1"), recording_servers("app2")
    running = balancer([app1.server, app2.server])
    running.wait_until_checked()
    running.api.run([set_server_state("app1", "drain")])
    assert running.servers()["app1"].state == "drain"
    assert answered_by(f"{running.url}/page", 6) == ["app2"] * 6
    running.api.run([set_server_state("app1", "ready")])
    assert sorted(answered_by(f"{running.url}/page", 6)) == ["app1"] * 3 + ["app2"] * 3


def test_it_adds_a_server_at_run_time_and_removes_it(balancer, recording_servers):
    app1, app2 = recording_servers("app1"), recording_servers("app2")
    # Without the ramp-up a newcomer gets (slowstart), so that a few requests show it in rotation.
    running = balancer([app1.server], slowstart=0)
    running.api.run(add_server(running.spec, app2.server))
    running.wait_until_checked()
    assert set(running.servers()) == {"app1", "app2"}
    assert set(answered_by(f"{running.url}/page", 6)) == {"app1", "app2"}
    running.api.run(remove_server("app2"))
    assert set(running.servers()) == {"app1"}
    assert answered_by(f"{running.url}/page", 4) == ["app1"] * 4
    with pytest.raises(RuntimeCommandError, match="No such server"):
        running.api.run([set_server_state("app2", "ready")])


def test_a_drained_server_stays_drained_when_the_balancer_restarts(balancer, recording_servers, tmp_path):
    app1, app2 = recording_servers("app1"), recording_servers("app2")
    state_file = tmp_path / "servers.state"
    state_file.write_text(EMPTY_SERVER_STATE)
    running = balancer([app1.server, app2.server], server_state_file=str(state_file))
    running.wait_until_checked()
    running.api.run([set_server_state("app1", "drain")])
    # What the command does before a reload: save the states where the new process will read them.
    state_file.write_text(running.api.execute(show_servers_state()))
    running.stop()
    running.start()
    assert running.servers()["app1"].state == "drain"
    assert answered_by(f"{running.url}/page", 4) == ["app2"] * 4
