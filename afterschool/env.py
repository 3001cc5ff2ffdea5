"""Typed readers for settings that come from the environment.

They refuse values they do not understand (``DEBUG=yes-please``) instead of guessing,
and secrets may come from a file named by ``<NAME>_FILE`` (Docker/systemd credentials).
"""

import os
import time

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "on"}
_FALSE = {"0", "false", "off", ""}


def envstr(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/on/off, not {raw!r}")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envsecret(name: str) -> str | None:
    """``NAME`` itself, or the stripped content of the file that ``NAME_FILE`` names."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return os.environ.get(name)


def read_or_create_secret(path) -> str:
    """The secret stored at ``path``; a new random one is written there the first time.

    Several workers may start at once: the file is created exclusively, readable by its owner
    only, and whoever loses the race reads the winner's key.
    """
    import secrets

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _attempt in range(50):
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
            time.sleep(0.01)  # the winner has created the file but not yet written it
        raise ImproperlyConfigured(f"{path} is empty; delete it or set SECRET_KEY.") from None
    value = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value
