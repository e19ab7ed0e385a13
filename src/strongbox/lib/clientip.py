"""The client's address, believing X-Forwarded-For only from configured proxies."""

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """Parse addresses or CIDR blocks (ValueError names the bad one)."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return networks


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def is_trusted(address: str, trusted: list[Network]) -> bool:
    """Return whether `address` lies in one of the trusted networks."""
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted)


def client_ip(remote_addr: str, forwarded_for: str, trusted: list[Network]) -> str:
    """Return the address of the client behind any trusted proxies.

    X-Forwarded-For is read right to left, skipping trusted proxies; the first address that is not one is the
    client. A request that does not come from a trusted proxy is its own client, whatever its headers say, so
    a client cannot choose its address by sending the header itself.
    """
    if not is_trusted(remote_addr, trusted):
        return remote_addr
    for hop in reversed([part for part in forwarded_for.split(",") if part.strip()]):
        address = _address(hop)
        if address is None:
            break
        if not is_trusted(str(address), trusted):
            return str(address)
    return remote_addr
