"""A password that an admin chose in /admin/ must be replaced by its user at the next sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from screening.models import AuditEvent
from screening.roles import PASSWORD_CHANGE_REQUIRED

ADMIN_CHOSEN_PASSWORD = "admin-chosen-password-2026"


def _admin_client(admin_user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    return client


def _must_change(user: Any) -> bool:
    return user.groups.filter(name=PASSWORD_CHANGE_REQUIRED).exists()


def _reset_password(client: Client, user: Any, **extra: str) -> Any:
    return client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {
            "password1": ADMIN_CHOSEN_PASSWORD,
            "password2": ADMIN_CHOSEN_PASSWORD,
            "usable_password": "true",
            **extra,
        },
    )


def test_user_added_in_admin_must_change_password(admin_user: Any) -> None:
    response = _admin_client(admin_user).post(
        "/admin/auth/user/add/",
        {
            "username": "new-clinician",
            "password1": ADMIN_CHOSEN_PASSWORD,
            "password2": ADMIN_CHOSEN_PASSWORD,
            "usable_password": "true",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = get_user_model().objects.get(username="new-clinician")
    assert _must_change(user)
    event = AuditEvent.objects.filter(action="role_change", object_id=str(user.pk)).get()
    assert event.details["operation"] == "added"
    assert event.details["groups"] == [PASSWORD_CHANGE_REQUIRED]
    assert event.actor_username == admin_user.username


def test_admin_added_user_redirected_to_change(admin_user: Any) -> None:
    _admin_client(admin_user).post(
        "/admin/auth/user/add/",
        {
            "username": "new-manager",
            "password1": ADMIN_CHOSEN_PASSWORD,
            "password2": ADMIN_CHOSEN_PASSWORD,
            "usable_password": "true",
        },
    )
    client = Client()

    assert client.login(username="new-manager", password=ADMIN_CHOSEN_PASSWORD)
    response = client.get("/studies/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/"


def test_user_added_without_password_needs_no_change(admin_user: Any) -> None:
    _admin_client(admin_user).post(
        "/admin/auth/user/add/", {"username": "no-password", "usable_password": "false"}
    )

    user = get_user_model().objects.get(username="no-password")
    assert not user.has_usable_password()
    assert not _must_change(user)


def test_password_reset_in_admin_must_be_changed(admin_user: Any, clinician: Any) -> None:
    assert not _must_change(clinician)

    response = _reset_password(_admin_client(admin_user), clinician)

    assert response.status_code == 302
    assert _must_change(clinician)


def test_invalid_password_reset_changes_nothing(admin_user: Any, clinician: Any) -> None:
    response = _admin_client(admin_user).post(
        f"/admin/auth/user/{clinician.pk}/password/",
        {"password1": ADMIN_CHOSEN_PASSWORD, "password2": "different", "usable_password": "true"},
    )

    assert response.status_code == 200
    assert not _must_change(clinician)


def test_own_password_reset_in_admin_needs_no_change(admin_user: Any) -> None:
    response = _reset_password(_admin_client(admin_user), admin_user)

    assert response.status_code == 302
    assert not _must_change(admin_user)


def test_disabling_password_needs_no_change(admin_user: Any, clinician: Any) -> None:
    response = _admin_client(admin_user).post(
        f"/admin/auth/user/{clinician.pk}/password/",
        {"usable_password": "false", "unset-password": "1"},
    )

    assert response.status_code == 302
    clinician.refresh_from_db()
    assert not clinician.has_usable_password()
    assert not _must_change(clinician)
