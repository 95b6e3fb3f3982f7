"""Sign-in, sign-out, failed sign-in, user and role changes each leave an audit event."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.test import RequestFactory

from screening.models import AuditEvent
from screening.signals import AuditRequestMiddleware
from tests.screening.oversight.factories import make_user

pytestmark = pytest.mark.django_db


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def run_in_request(actor, operation) -> None:
    """Run ``operation`` inside a request by ``actor`` that passes through the audit middleware."""
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.1.2.3")
    request.user = actor

    def view(request):
        operation()
        return HttpResponse()

    AuditRequestMiddleware(view)(request)


def test_sign_in_and_sign_out_are_audited(client):
    user = make_user("dr-sign", "clinician")

    assert client.login(username="dr-sign", password="pw-dr-sign")
    client.logout()

    [sign_in] = events("sign_in")
    [sign_out] = events("sign_out")
    assert sign_in.actor_id == user.pk
    assert sign_out.actor_username == "dr-sign"


def test_failed_sign_in_keeps_username_not_password(client):
    make_user("dr-fail", "clinician")

    assert not client.login(username="dr-fail", password="wrong-secret")

    [event] = events("sign_in_failed")
    assert event.details == {"username": "dr-fail"}
    assert "wrong-secret" not in str(event.details)
    assert event.actor_id is None


def test_sign_in_does_not_log_user_change(client):
    make_user("dr-quiet", "clinician")
    before = len(events("user_change"))

    client.login(username="dr-quiet", password="pw-dr-quiet")

    assert len(events("user_change")) == before


def test_user_change_records_fields_and_actor():
    admin = make_user("boss", "admin")
    user = make_user("dr-change", "clinician")

    def deactivate():
        user.is_active = False
        user.save()

    run_in_request(admin, deactivate)

    event = events("user_change")[-1]
    assert event.actor_username == "boss"
    assert event.address == "10.1.2.3"
    assert event.details["username"] == "dr-change"
    assert event.details["changes"] == {"is_active": {"from": True, "to": False}}


def test_user_creation_outside_request_has_no_actor():
    make_user("dr-new")

    [event] = events("user_change")
    assert event.details["created"] is True
    assert event.actor_id is None
    assert event.details["actor"].startswith("none")


def test_password_change_is_audited_without_value():
    user = make_user("dr-pass")

    user.set_password("new-secret-123")
    user.save()

    [event] = events("password_change")
    assert event.details == {"username": "dr-pass", "actor": "none: changed outside a web request"}


def test_role_add_and_remove_are_audited():
    admin = make_user("boss2", "admin")
    user = make_user("dr-role")
    manager = Group.objects.get(name="manager")

    run_in_request(admin, lambda: user.groups.add(manager))
    run_in_request(admin, lambda: user.groups.remove(manager))

    added, removed = [e for e in events("role_change") if e.details["username"] == "dr-role"]
    assert (added.details["operation"], added.details["roles"]) == ("added", ["manager"])
    assert (removed.details["operation"], removed.details["roles"]) == ("removed", ["manager"])
    assert added.actor_username == "boss2"


def test_role_change_from_group_side_is_audited():
    user = make_user("dr-reverse")
    clinicians = Group.objects.get(name="clinician")

    clinicians.user_set.add(user)
    clinicians.user_set.clear()

    changes = [e.details["operation"] for e in events("role_change") if e.details["username"] == "dr-reverse"]
    assert changes == ["added", "removed"]
