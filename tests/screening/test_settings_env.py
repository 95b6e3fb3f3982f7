"""Environment readers of the settings reject malformed values instead of falling back silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from olvf_web.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional_int,
    env_path,
    env_secret,
    read_or_create_secret_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_env_bool_parses_common_spellings(raw: str, expected: bool) -> None:
    assert env_bool("DEBUG", False, {"DEBUG": raw}) is expected


def test_env_bool_rejects_unknown_word() -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe'"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})


def test_env_bool_default_when_unset() -> None:
    assert env_bool("DEBUG", False, {}) is False


def test_env_int_rejects_non_integer() -> None:
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("OLVF_MAX_PIXELS", 1, environ={"OLVF_MAX_PIXELS": "80M"})


def test_env_int_rejects_value_below_minimum() -> None:
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        env_int("OLVF_MAX_UPLOAD_BYTES", 10, minimum=1, environ={"OLVF_MAX_UPLOAD_BYTES": "0"})


def test_env_optional_int_is_none_when_empty() -> None:
    assert env_optional_int("OLVF_CPU_THREADS", environ={"OLVF_CPU_THREADS": ""}) is None
    assert env_optional_int("OLVF_CPU_THREADS", environ={"OLVF_CPU_THREADS": "4"}) == 4


def test_env_list_drops_blank_items() -> None:
    assert env_list("ALLOWED_HOSTS", [], {"ALLOWED_HOSTS": "a.example, ,b.example"}) == [
        "a.example",
        "b.example",
    ]


def test_env_path_rejects_relative_path() -> None:
    with pytest.raises(ImproperlyConfigured, match="absolute path"):
        env_path("MEDIA_ROOT", Path("/default"), {"MEDIA_ROOT": "var/media"})


def test_env_choice_rejects_unknown_value() -> None:
    with pytest.raises(ImproperlyConfigured, match="expected one of text, json"):
        env_choice("LOG_FORMAT", "json", ("text", "json"), {"LOG_FORMAT": "xml"})


def test_env_secret_reads_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("from-file\n", encoding="utf-8")
    assert env_secret("SECRET_KEY", {"SECRET_KEY_FILE": str(secret_file)}) == "from-file"


def test_env_secret_rejects_both_value_and_file(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="either SECRET_KEY or SECRET_KEY_FILE"):
        env_secret("SECRET_KEY", {"SECRET_KEY": "x", "SECRET_KEY_FILE": str(tmp_path / "key")})


def test_env_secret_rejects_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="could not be read"):
        env_secret("SECRET_KEY", {"SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_generated_secret_key_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    first = read_or_create_secret_key(path)
    second = read_or_create_secret_key(path)
    assert first == second
    assert len(first) >= 50
    assert path.stat().st_mode & 0o777 == 0o600
