"""Staff status follows membership of the admin group, so that admins can use /admin/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from screening.models import AuditEvent
from tests.conftest import make_persona


def _admin_group() -> Group:
    group, _ = Group.objects.get_or_create(name="admin")
    return group


def test_adding_user_to_admin_group_grants_staff(db: Any) -> None:
    user = make_persona("later-admin", None)
    assert not user.is_staff

    user.groups.add(_admin_group())

    user.refresh_from_db()
    assert user.is_staff


def test_adding_user_from_group_side_grants_staff(db: Any) -> None:
    user = make_persona("later-admin", None)

    _admin_group().user_set.add(user)

    user.refresh_from_db()
    assert user.is_staff


def test_removing_admin_role_revokes_staff(db: Any) -> None:
    user = make_persona("former-admin", "admin")

    user.groups.remove(_admin_group())

    user.refresh_from_db()
    assert not user.is_staff


def test_clearing_groups_revokes_staff(db: Any) -> None:
    user = make_persona("former-admin", "admin")

    user.groups.clear()

    user.refresh_from_db()
    assert not user.is_staff


def test_superuser_keeps_staff_without_admin_group(db: Any) -> None:
    user = get_user_model().objects.create_superuser(username="root", password="Pw-test-123456!")
    user.groups.add(_admin_group())

    user.groups.remove(_admin_group())

    user.refresh_from_db()
    assert user.is_staff


def test_other_roles_leave_staff_unchanged(db: Any) -> None:
    user = make_persona("clinician-only", "clinician")

    user.refresh_from_db()
    assert not user.is_staff


def test_staff_grant_is_audited(db: Any) -> None:
    user = make_persona("later-admin", None)

    user.groups.add(_admin_group())

    changes = [
        event.details.get("changes", {})
        for event in AuditEvent.objects.filter(action=AuditEvent.Action.USER_CHANGE)
    ]
    assert {"is_staff": {"from": False, "to": True}} in changes


def test_new_admin_can_open_admin_site(db: Any) -> None:
    user = make_persona("later-admin", None)
    user.groups.add(_admin_group())
    client = Client()
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 200
