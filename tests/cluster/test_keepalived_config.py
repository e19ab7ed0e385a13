"""keepalived.conf as text: what the renderer writes for a VrrpSpec, what the spec refuses, and whether keepalived
itself accepts the result (`keepalived -t`, inside a namespace of the test's own that has the interface)."""

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from cluster.netns import TestNetwork, private_network
from strongbox.cluster.render.keepalived import SCRIPT, VrrpSpec, render_keepalived

CHECK = ("/usr/bin/curl", "-fsS", "-m", "1", "-o", "/dev/null", "http://127.0.0.1:8404/")


def spec(**changes) -> VrrpSpec:
    options = {"router_name": "lb1", "interface": "eth0", "virtual_router_id": 51, "priority": 150,
               "virtual_address": "198.51.100.100/24", "track_command": CHECK, **changes}
    return VrrpSpec(**options)


def block(text: str, header: str) -> str:
    """The body of the top-level block that opens with `header` (blocks nest one level at most here)."""
    match = re.search(rf"^{re.escape(header)} {{\n(.*?)^}}", text, re.S | re.M)
    assert match, f"no block {header!r} in:\n{text}"
    return match.group(1)


def directives(body: str) -> list[str]:
    return [line.strip() for line in body.splitlines() if line.strip()]


def test_it_puts_the_address_priority_and_check_in_one_instance():
    text = render_keepalived(spec())
    instance = directives(block(text, "vrrp_instance balancer"))
    assert "interface eth0" in instance
    assert "virtual_router_id 51" in instance
    assert "priority 150" in instance
    assert "198.51.100.100/24 dev eth0" in instance
    assert SCRIPT in instance[instance.index("track_script {") + 1]
    # Both balancers start as BACKUP; priority alone chooses the holder.
    assert "state BACKUP" in instance and "state MASTER" not in text


def test_it_runs_the_check_as_given_without_a_shell():
    script = directives(block(render_keepalived(spec(check_interval=2, check_fall=3, check_rise=4)),
                              f"vrrp_script {SCRIPT}"))
    assert f'script "{" ".join(CHECK)}"' in script
    assert {"interval 2", "fall 3", "rise 4", "timeout 1"} <= set(script)


def test_it_tracks_the_check_without_weight_so_a_failure_releases_the_address():
    # A weight would only lower the priority; FAULT sends priority 0 and the backup takes over at once.
    instance = block(render_keepalived(spec()), "vrrp_instance balancer")
    assert "weight" not in instance


def test_it_writes_fractional_advertisement_intervals_with_vrrp_version_3():
    instance = directives(block(render_keepalived(spec(advert_int=0.5)), "vrrp_instance balancer"))
    assert "advert_int 0.5" in instance and "version 3" in instance
    assert "advert_int 1" in directives(block(render_keepalived(spec()), "vrrp_instance balancer"))


def test_it_preempts_unless_told_not_to():
    assert "nopreempt" not in render_keepalived(spec())
    assert "nopreempt" in directives(block(render_keepalived(spec(preempt=False)), "vrrp_instance balancer"))


def test_it_sends_advertisements_to_unicast_peers_when_named():
    assert "unicast" not in render_keepalived(spec())
    instance = block(render_keepalived(spec(unicast_source="198.51.100.11", unicast_peers=["198.51.100.12"])),
                     "vrrp_instance balancer")
    assert "unicast_src_ip 198.51.100.11" in instance
    assert re.search(r"unicast_peer \{\s+198\.51\.100\.12\s+\}", instance)


def test_it_names_the_router_and_secures_scripts():
    defs = directives(block(render_keepalived(spec(router_name="lb2")), "global_defs"))
    assert {"router_id lb2", "script_user root", "enable_script_security"} <= set(defs)


@pytest.mark.parametrize("changes", [
    {"priority": 0}, {"priority": 255}, {"virtual_router_id": 0}, {"virtual_router_id": 256},
    {"virtual_address": "198.51.100.100"}, {"virtual_address": "not-an-address/24"},
    {"interface": "an-interface-name-too-long"}, {"interface": "eth0 garp"},
    {"track_command": ()}, {"track_command": ("curl", "http://x/")},
    {"track_command": ("/usr/bin/curl", 'a"; b')}, {"track_command": ("/bin/true", "}")},
    {"router_name": "lb1 # comment"}, {"advert_int": 0}, {"advert_int": 41}, {"check_interval": 0.5},
    {"check_fall": 0}, {"unicast_peers": ("198.51.100.12",)},
    {"unicast_source": "198.51.100.11", "unicast_peers": ("nowhere",)},
])
def test_it_refuses_a_spec_that_would_break_or_rewrite_the_config(changes):
    with pytest.raises(ValueError):
        spec(**changes)


def test_the_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec().priority = 200


@pytest.fixture
def keepalived(keepalived_binary) -> str:
    return keepalived_binary


def config_test(keepalived: str, namespace: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(TestNetwork.run(namespace, keepalived, "--config-test", "--use-file", str(path)),  # noqa: S603
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("changes", [{}, {"advert_int": 0.5, "preempt": False},
                                     {"unicast_source": "198.51.100.11", "unicast_peers": ("198.51.100.12",)}])
def test_keepalived_accepts_the_rendered_config(keepalived, tmp_path, changes):
    # The check needs the interface to exist, and the only one a test may make is in a namespace of its own.
    with private_network() as network:
        namespace = network.host("lb1", "198.51.100.11/24")
        config = tmp_path / "keepalived.conf"
        config.write_text(render_keepalived(spec(**changes)))
        checked = config_test(keepalived, namespace, config)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # The check is worth having: it refuses what keepalived would only warn about and ignore when running.
        config.write_text(render_keepalived(spec()).replace("interval 1", "interval 0.5"))
        refused = config_test(keepalived, namespace, config)
        assert refused.returncode != 0 and "interval" in refused.stderr


def test_the_operations_guide_shows_the_config_as_rendered():
    example = VrrpSpec(router_name="lb1", interface="eth0", virtual_router_id=51, priority=150,
                       virtual_address="192.0.2.10/24", unicast_source="10.0.0.11", unicast_peers=("10.0.0.12",),
                       track_command=("/usr/bin/curl", "-fsS", "-o", "/dev/null", "-m", "1", "http://127.0.0.1:8404/"))
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert f"```keepalived\n{render_keepalived(example)}```" in guide
