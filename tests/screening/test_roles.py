"""Role groups from the data migration and the checks that pages and the API share."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group

from screening import roles


def test_migration_creates_the_three_role_groups(db: Any) -> None:
    names = set(Group.objects.values_list("name", flat=True))

    assert {"clinician", "manager", "admin"} <= names


def test_groups_carry_their_permissions(db: Any) -> None:
    clinician_permissions = set(
        Group.objects.get(name="clinician").permissions.values_list("codename", flat=True)
    )
    manager_permissions = set(
        Group.objects.get(name="manager").permissions.values_list("codename", flat=True)
    )

    assert "upload_study" in clinician_permissions
    assert "view_statistics" not in clinician_permissions
    assert manager_permissions == {"view_statistics"}


def test_clinician_screens_but_sees_no_statistics(clinician: Any) -> None:
    assert roles.can_screen(clinician)
    assert not roles.can_view_statistics(clinician)
    assert not roles.can_administer(clinician)


def test_manager_sees_statistics_only(manager: Any) -> None:
    assert roles.can_view_statistics(manager)
    assert not roles.can_screen(manager)
    assert not roles.can_administer(manager)


def test_admin_may_do_everything(admin_user: Any) -> None:
    assert roles.can_screen(admin_user)
    assert roles.can_view_statistics(admin_user)
    assert roles.can_administer(admin_user)


def test_superuser_counts_as_admin(db: Any) -> None:
    superuser = get_user_model().objects.create_superuser("root", password="x-long-password")

    assert roles.is_admin(superuser)


def test_user_without_group_has_no_role(no_role_user: Any) -> None:
    assert roles.role_names(no_role_user) == frozenset()
    assert not roles.can_screen(no_role_user)


def test_anonymous_and_inactive_users_have_no_role(clinician: Any) -> None:
    clinician.is_active = False

    assert roles.role_names(AnonymousUser()) == frozenset()
    assert roles.role_names(clinician) == frozenset()
