import pytest
from django.test import Client

from strongbox.accounts.services import api_key_create


def bearer_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def alice_key(alice) -> str:
    return api_key_create(user=alice, name="scanner", scope="write")[1]


@pytest.fixture
def alice_api(alice_key) -> Client:
    """alice's scripts: a read-write API key."""
    return bearer_client(alice_key)


@pytest.fixture
def alice_readonly_api(alice) -> Client:
    return bearer_client(api_key_create(user=alice, name="backup", scope="read")[1])


@pytest.fixture
def bob_api(bob) -> Client:
    return bearer_client(api_key_create(user=bob, name="bob's", scope="write")[1])
