import pytest
from django.core.exceptions import ImproperlyConfigured

from strongbox.lib.env import env_bool, env_choice, env_int, env_list, env_secret, env_size


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("YES", True), ("off", False), ("false", False)])
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("SB_FLAG", raw)
    assert env_bool("SB_FLAG", not expected) is expected


def test_it_uses_defaults_for_unset_or_empty(monkeypatch):
    monkeypatch.setenv("SB_EMPTY", "  ")
    assert env_bool("SB_EMPTY", True) is True
    assert env_int("SB_UNSET_X", 7) == 7
    assert env_list("SB_UNSET_X", ["a"]) == ["a"]


@pytest.mark.parametrize(("reader", "raw", "message"), [
    (lambda: env_bool("SB_BAD", False), "maybe", "SB_BAD='maybe' is not a boolean"),
    (lambda: env_int("SB_BAD", 1), "ten", "SB_BAD='ten' is not a whole number"),
    (lambda: env_int("SB_BAD", 1, minimum=1), "0", "SB_BAD=0 is too small"),
    (lambda: env_size("SB_BAD", 1), "lots", "SB_BAD='lots' is not a size"),
    (lambda: env_choice("SB_BAD", "a", ("a", "b")), "c", "use one of a, b"),
])
def test_it_names_the_variable_and_the_accepted_values(monkeypatch, reader, raw, message):
    monkeypatch.setenv("SB_BAD", raw)
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        reader()


@pytest.mark.parametrize(("raw", "expected"), [("16MB", 16 * 1024**2), ("512k", 512 * 1024), ("1G", 1024**3),
                                               ("1000", 1000), ("2 MiB", 2 * 1024**2)])
def test_it_reads_sizes(monkeypatch, raw, expected):
    monkeypatch.setenv("SB_SIZE", raw)
    assert env_size("SB_SIZE", 1) == expected


def test_it_reads_secrets_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SB_KEY_FILE", str(secret))
    assert env_secret("SB_KEY") == "s3cret"
    monkeypatch.setenv("SB_KEY", "other")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("SB_KEY")


def test_it_reports_an_unreadable_secret_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SB_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("SB_KEY")
