"""The first admin must replace the printed one-time password before using the application."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
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
        "/accounts/password_change/",
        {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


def test_first_admin_is_sent_to_password_change(admin_session: Client) -> None:
    response = admin_session.get("/studies/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/"


def test_password_change_page_itself_is_reachable(admin_session: Client) -> None:
    assert admin_session.get("/accounts/password_change/").status_code == 200


def test_changed_password_lifts_the_requirement(admin_session: Client, first_admin: tuple[Any, str]) -> None:
    response = change_password(admin_session, first_admin[1])

    assert response.status_code == 200
    assert not first_admin[0].groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()
    assert admin_session.get("/studies/").status_code == 200


def test_change_without_done_page_lifts_requirement(
    admin_session: Client, first_admin: tuple[Any, str]
) -> None:
    response = admin_session.post(
        "/accounts/password_change/",
        {"old_password": first_admin[1], "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    fresh_session = Client()

    assert response.status_code == 302
    assert not first_admin[0].groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()
    assert fresh_session.login(username="admin", password=NEW_PASSWORD)
    assert fresh_session.get("/studies/").status_code == 200


def test_visiting_done_page_without_change_keeps_requirement(admin_session: Client) -> None:
    admin_session.get("/accounts/password_change/done/")

    assert admin_session.get("/studies/").status_code == 302


def test_other_users_are_not_redirected(clinician_client: Client) -> None:
    assert clinician_client.get("/studies/").status_code == 200


def test_non_staff_user_can_complete_forced_change(db: Any) -> None:
    # The admin site's password change page needs staff status, so sending this user there looped.
    user = get_user_model().objects.create_user("nurse", password="temporary-password-2026")
    user.groups.add(Group.objects.get_or_create(name=PASSWORD_CHANGE_REQUIRED)[0])
    client = Client()
    client.force_login(user)

    redirected = client.get("/studies/")
    assert redirected.status_code == 302
    assert redirected["Location"] == "/accounts/password_change/"
    assert client.get("/accounts/password_change/").status_code == 200

    response = change_password(client, "temporary-password-2026")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/accounts/password_change/done/"
    assert not user.groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()


def test_forced_change_page_explains_reason(admin_session: Client) -> None:
    html = admin_session.get("/accounts/password_change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Choose a new password before you continue." in html


def test_password_change_page_in_japanese(clinician_client: Client) -> None:
    clinician_client.cookies["django_language"] = "ja"
    html = clinician_client.get("/accounts/password_change/").content.decode()

    assert "パスワードの変更" in html
    assert "Choose a new password" not in html


def test_header_links_password_change_for_every_user(clinician_client: Client) -> None:
    html = clinician_client.get("/studies/").content.decode()

    assert 'href="/accounts/password_change/"' in html


def test_anonymous_password_change_redirects_to_sign_in(db: Any) -> None:
    response = Client().get("/accounts/password_change/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
