"""keepalived.conf from a VrrpSpec: one VRRP instance that holds a floating address on the balancer whose local
HAProxy answers, and hands it to a backup balancer when it stops answering.

Two balancers run the same config but for `priority` (and `router_name`): the higher one holds the address while
its check passes. When the check fails the instance enters FAULT and gives the address up at once (it sends an
advertisement of priority 0), so the backup takes over after its skew time instead of waiting for three missed
advertisements."""

import ipaddress
import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9_./:@%+=-]+")
_INTERFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # IFNAMSIZ is 16 with the terminating NUL


def _check_word(what: str, value: str) -> None:
    # One word of configuration each: a space, quote, '#', '!' or brace would split, end or comment the directive.
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise ValueError(f"{what} must be one word of letters, digits and ._/:@%+=-, not {value!r}")


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, not {value!r}")


def _seconds(value: float) -> str:
    # keepalived reads advert_int as a decimal; "1" rather than "1.0" keeps the config plain.
    return f"{value:g}"


@dataclass(frozen=True)
class VrrpSpec:
    """One balancer's side of a floating address shared through VRRP.

    `track_command` is run every `check_interval` seconds (no shell: words as given); `check_fall` failures in a
    row put the instance in FAULT, `check_rise` successes bring it back. With `preempt` a balancer of higher
    priority takes the address back once its check passes again; without, the address stays where it is until
    its holder fails."""

    router_name: str  # names this balancer in keepalived's log (global_defs router_id)
    interface: str  # where the VRRP advertisements go and the address is added
    virtual_router_id: int  # the same on every balancer sharing the address, unique on the link
    priority: int  # the highest whose check passes holds the address
    virtual_address: str  # with its prefix, e.g. 198.51.100.100/24
    track_command: tuple[str, ...]
    advert_int: float = 1
    check_interval: int = 1  # keepalived 2.2 runs checks at whole seconds only
    check_timeout: int = 1
    check_fall: int = 2
    check_rise: int = 2
    preempt: bool = True
    unicast_source: str | None = None  # with peers: advertisements go to them alone instead of multicast
    unicast_peers: tuple[str, ...] = ()
    script_user: str = "root"

    def __post_init__(self):
        object.__setattr__(self, "track_command", tuple(self.track_command))
        object.__setattr__(self, "unicast_peers", tuple(self.unicast_peers))
        _check_word("router_name", self.router_name)
        if not _INTERFACE.fullmatch(self.interface or ""):
            raise ValueError(f"interface must be a network interface name (at most 15 characters), not "
                             f"{self.interface!r}")
        _check_range("virtual_router_id", self.virtual_router_id, 1, 255)
        # 255 is reserved for the owner of the address; 0 means "I am giving it up".
        _check_range("priority", self.priority, 1, 254)
        ipaddress.ip_interface(self.virtual_address)  # raises ValueError naming the address
        if "/" not in self.virtual_address:
            raise ValueError(f"virtual_address needs its prefix length, e.g. {self.virtual_address}/24")
        if not self.track_command:
            raise ValueError("track_command must name the check that tells whether the local balancer answers")
        for word in self.track_command:
            _check_word("each word of track_command", word)
        if not self.track_command[0].startswith("/"):
            raise ValueError(f"track_command must start with an absolute path, not {self.track_command[0]!r}")
        self._check_timing()
        _check_range("check_fall", self.check_fall, 1, 255)
        _check_range("check_rise", self.check_rise, 1, 255)
        if self.unicast_peers and self.unicast_source is None:
            raise ValueError("unicast_peers need the unicast_source address they are sent from")
        for address in (self.unicast_source, *self.unicast_peers):
            if address is not None:
                ipaddress.ip_address(address)
        _check_word("script_user", self.script_user)

    def _check_timing(self) -> None:
        # VRRPv3 counts advertisement intervals in centiseconds, up to 40.95 s.
        if not isinstance(self.advert_int, int | float) or not 0.01 <= self.advert_int <= 40.95:
            raise ValueError(f"advert_int must be from 0.01 to 40.95 seconds, not {self.advert_int!r}")
        _check_range("check_interval", self.check_interval, 1, 3600)
        _check_range("check_timeout", self.check_timeout, 1, 3600)


SCRIPT = "balancer_answers"
INSTANCE = "balancer"


def _global_defs(spec: VrrpSpec) -> list[str]:
    return [
        "global_defs {",
        f"    router_id {spec.router_name}",
        # Checks run as this user, and keepalived refuses scripts that another user could rewrite.
        f"    script_user {spec.script_user}",
        "    enable_script_security",
        # Peers on the same host or link learn of a new holder at once, and again shortly after (some switches
        # and ARP caches miss the first gratuitous ARP).
        "    vrrp_garp_master_delay 1",
        "    vrrp_garp_master_repeat 3",
        "}",
    ]


def _script(spec: VrrpSpec) -> list[str]:
    return [
        f"vrrp_script {SCRIPT} {{",
        f'    script "{" ".join(spec.track_command)}"',
        f"    interval {spec.check_interval}",
        f"    timeout {spec.check_timeout}",
        f"    fall {spec.check_fall}",
        f"    rise {spec.check_rise}",
        "}",
    ]


def _instance(spec: VrrpSpec) -> list[str]:
    lines = [
        f"vrrp_instance {INSTANCE} {{",
        # Every balancer starts as BACKUP: the priorities decide, so one that restarts does not grab the address
        # from a healthy holder before it has heard from it.
        "    state BACKUP",
        f"    interface {spec.interface}",
        f"    virtual_router_id {spec.virtual_router_id}",
        f"    priority {spec.priority}",
        # Version 3 allows advertisement intervals below a second.
        "    version 3",
        f"    advert_int {_seconds(spec.advert_int)}",
    ]
    if not spec.preempt:
        lines.append("    nopreempt")
    if spec.unicast_peers:
        lines += [f"    unicast_src_ip {spec.unicast_source}", "    unicast_peer {",
                  *(f"        {peer}" for peer in spec.unicast_peers), "    }"]
    lines += [
        "    virtual_ipaddress {",
        f"        {spec.virtual_address} dev {spec.interface}",
        "    }",
        # No weight: a failing check puts the instance in FAULT, which releases the address at once.
        "    track_script {",
        f"        {SCRIPT}",
        "    }",
        "}",
    ]
    return lines


def render_keepalived(spec: VrrpSpec) -> str:
    """Return keepalived.conf for `spec`."""
    sections = [_global_defs(spec), _script(spec), _instance(spec)]
    return "# Written by strongbox cluster from its spec; changes here are lost.\n\n" + "\n\n".join(
        "\n".join(section) for section in sections) + "\n"
