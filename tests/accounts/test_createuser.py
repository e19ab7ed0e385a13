import pytest
from django.core.management import CommandError, call_command

from strongbox.accounts.models import User

pytestmark = pytest.mark.django_db


def test_it_creates_an_active_account_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("STRONGBOX_PASSWORD", "a long enough passphrase")
    call_command("createuser", "--username", "admin", "--email", "admin@example.com", "--superuser")
    user = User.objects.get(username="admin")
    assert user.is_active and user.is_staff and user.is_superuser
    assert user.check_password("a long enough passphrase")
    assert "Created admin" in capsys.readouterr().out


def test_it_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("STRONGBOX_PASSWORD", "password")
    with pytest.raises(CommandError, match="too short"):
        call_command("createuser", "--username", "admin", "--email", "admin@example.com")
    assert not User.objects.exists()


def test_it_refuses_a_taken_username(monkeypatch, alice):
    monkeypatch.setenv("STRONGBOX_PASSWORD", "a long enough passphrase")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createuser", "--username", "ALICE", "--email", "other@example.com")
