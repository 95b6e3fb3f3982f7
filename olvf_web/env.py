"""Readers of environment variables that reject malformed values.

Only ``olvf_web/settings.py`` calls them. Each reader raises ``ImproperlyConfigured``
naming the variable and the value it could not parse, so a typo stops the start
instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a string, or ``default`` when it is unset."""
    source = os.environ if environ is None else environ
    return source.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    source = os.environ if environ is None else environ
    if name not in source:
        return default
    value = source[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={source[name]!r} is not a boolean: use 1/0, true/false, yes/no or on/off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Return the variable as an integer, checked against ``minimum``."""
    source = os.environ if environ is None else environ
    if name not in source or source[name].strip() == "":
        return default
    try:
        value = int(source[name].strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={source[name]!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}.")
    return value


def env_optional_int(
    name: str,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int | None:
    """Return the variable as an integer, or None when it is unset or empty."""
    source = os.environ if environ is None else environ
    if source.get(name, "").strip() == "":
        return None
    return env_int(name, 0, minimum=minimum, environ=source)


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the variable as a comma-separated list with blank items removed."""
    source = os.environ if environ is None else environ
    if name not in source:
        return list(default)
    return [item.strip() for item in source[name].split(",") if item.strip()]


def env_path(name: str, default: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Return the variable as an absolute path; a relative value is rejected."""
    source = os.environ if environ is None else environ
    if name not in source or source[name].strip() == "":
        return default
    path = Path(source[name].strip())
    if not path.is_absolute():
        raise ImproperlyConfigured(f"{name}={source[name]!r} must be an absolute path.")
    return path


def env_choice(
    name: str,
    default: str,
    choices: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return the variable when it is one of ``choices``."""
    source = os.environ if environ is None else environ
    value = source.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}.")
    return value


def env_secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Return ``NAME`` or the stripped content of the file that ``NAME_FILE`` points to ("" when neither)."""
    source = os.environ if environ is None else environ
    value = source.get(name, "")
    file_name = source.get(f"{name}_FILE", "").strip()
    if value and file_name:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if not file_name:
        return value
    try:
        return Path(file_name).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ImproperlyConfigured(f"{name}_FILE={file_name!r} could not be read: {error}.") from None


def read_or_create_secret_key(path: Path) -> str:
    """Return the key stored in ``path``, first writing a new random one (mode 0600) when the file is missing."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between the read and the open; use its key.
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
