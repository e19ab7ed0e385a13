"""Typed readers for environment variables.

Every reader raises ImproperlyConfigured naming the variable and what it accepts, so a typo stops start-up with
a message instead of running with a surprising value. Django's exception is imported only to be raised: the
processes that read the environment without Django (`strongbox serve`, `strongbox cluster`) stay without it.
"""

import os
import re
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _refused(message: str) -> Exception:
    from django.core.exceptions import ImproperlyConfigured  # only when a value is refused

    return ImproperlyConfigured(message)


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def env_str(name: str, default: str) -> str:
    """Return the variable's value, or `default` when it is unset or empty."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean written as 1/0, true/false, yes/no or on/off."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _refused(f"{name}={value!r} is not a boolean: use one of true, false, 1, 0, yes, no.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return an integer, refusing values below `minimum`."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _refused(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise _refused(f"{name}={number} is too small: the minimum is {minimum}.")
    return number


def env_size(name: str, default: int) -> int:
    """Return a size in bytes written as a number with an optional unit: 16MB, 512k, 1G, 1048576."""
    value = _raw(name)
    if value is None:
        return default
    match = _SIZE.match(value)
    if not match:
        raise _refused(f"{name}={value!r} is not a size: write e.g. 16MB, 512KB, 1GB or a byte count.")
    unit = (match.group(2) or "").lower()[:1]
    size = int(match.group(1)) * _UNITS[unit]
    if size <= 0:
        raise _refused(f"{name} must be greater than zero.")
    return size


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated list, without blanks."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return one of `choices`."""
    value = env_str(name, default)
    if value not in choices:
        raise _refused(f"{name}={value!r} is not allowed: use one of {', '.join(choices)}.")
    return value


def env_secret(name: str) -> str | None:
    """Return a secret from NAME, or from the file named by NAME_FILE (for container secrets)."""
    value = _raw(name)
    path = _raw(f"{name}_FILE")
    if value is not None and path is not None:
        raise _refused(f"Set either {name} or {name}_FILE, not both.")
    if path is not None:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise _refused(f"{name}_FILE={path!r} cannot be read: {exc.strerror}.") from None
    return value
