"""The first admin must replace the printed one-time password before using the application."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from screening.roles import PASSWORD_CHANGE_REQUIRED

NEW_PASSWORD = "a-much-longer-new-password-2026"


@pytest.fixture
def first_admin(db: Any) -> tuple[Any, str]:
    output = io.StringIO()
    call_command("create_first_admin", stdout=output)
    match = re.search(r"one-time password: (\S+)", output.getvalue())
    assert match is not None
    return get_user_model().objects.get(username="admin"), match.group(1)


@pytest.fixture
def admin_session(first_admin: tuple[Any, str]) -> Client:
    client = Client()
    assert client.login(username="admin", password=first_admin[1])
    return client


def change_password(client: Client, old_password: str) -> Any:
    return client.post(
        "/admin/password_change/",
        {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


def test_first_admin_is_sent_to_password_change(admin_session: Client) -> None:
    response = admin_session.get("/studies/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/password_change/"


def test_password_change_page_itself_is_reachable(admin_session: Client) -> None:
    assert admin_session.get("/admin/password_change/").status_code == 200


def test_changed_password_lifts_the_requirement(admin_session: Client, first_admin: tuple[Any, str]) -> None:
    response = change_password(admin_session, first_admin[1])

    assert response.status_code == 200
    assert not first_admin[0].groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()
    assert admin_session.get("/studies/").status_code == 200


def test_visiting_done_page_without_change_keeps_requirement(admin_session: Client) -> None:
    admin_session.get("/admin/password_change/done/")

    assert admin_session.get("/studies/").status_code == 302


def test_other_users_are_not_redirected(clinician_client: Client) -> None:
    assert clinician_client.get("/studies/").status_code == 200
