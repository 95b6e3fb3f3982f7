"""Management commands: first admin, bundle installation."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from screening import roles
from screening.models import ModelBundle
from tests.screening.helpers import write_hashed_bundle


def run_command(*args: Any) -> str:
    output = io.StringIO()
    call_command(*args, stdout=output)
    return output.getvalue()


def test_first_admin_gets_printed_one_time_password(db: Any) -> None:
    output = run_command("create_first_admin")

    password = re.search(r"one-time password: (\S+)", output)
    assert password is not None
    user = authenticate(username="admin", password=password.group(1))
    assert user is not None
    assert roles.is_admin(user)
    assert user.is_staff


def test_first_admin_is_not_created_when_users_exist(db: Any, clinician: Any) -> None:
    output = run_command("create_first_admin")

    assert "no admin was created" in output
    assert get_user_model().objects.count() == 1


def test_install_bundle_command_installs_and_activates(db: Any, tmp_path: Path) -> None:
    folder = write_hashed_bundle(tmp_path / "b")

    output = run_command("install_bundle", str(folder), "--activate")

    assert "is now active" in output
    assert ModelBundle.objects.get().is_active


def test_install_bundle_command_reports_bad_bundle(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not found"):
        run_command("install_bundle", str(tmp_path / "missing"))
