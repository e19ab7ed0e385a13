import pytest

from strongbox.lib.clientip import client_ip, parse_networks

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("203.0.113.5", "", "203.0.113.5"),
    ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # not from a proxy: the header is ignored
    ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a client cannot prepend its own choice
    ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # skips trusted hops
    ("127.0.0.1", "garbage", "127.0.0.1"),
    ("::1", "2001:db8::1", "2001:db8::1"),
])
def test_it_believes_forwarded_addresses_only_from_trusted_proxies(remote, forwarded, expected):
    assert client_ip(remote, forwarded, PROXIES) == expected


def test_it_names_a_bad_network():
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks(["nope"])
