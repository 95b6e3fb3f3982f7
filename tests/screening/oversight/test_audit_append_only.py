"""Audit events cannot be changed or deleted through the ORM or the admin site."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from screening.models import AuditEvent, AuditLogIsAppendOnly
from screening.services.audit import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    return record_event(AuditEvent.Action.EXPORT, details={"export": "test"})


@pytest.fixture
def superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "root-password-1")
    client = Client()
    client.force_login(user)
    return client


def test_orm_save_of_stored_event_raises(event):
    event.details = {"export": "changed"}

    with pytest.raises(AuditLogIsAppendOnly):
        event.save()


def test_orm_delete_of_event_raises(event):
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()


def test_queryset_update_and_delete_raise(event):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="sign_in")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.action == "export"


def test_admin_lists_events_read_only(event, superuser_client):
    response = superuser_client.get(reverse("admin:screening_auditevent_changelist"))

    assert response.status_code == 200
    assert b"export" in response.content
    assert reverse("admin:screening_auditevent_add").encode() not in response.content


def test_admin_add_is_forbidden(superuser_client):
    response = superuser_client.post(
        reverse("admin:screening_auditevent_add"), {"action": "export", "sequence": 99}
    )

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(sequence=99).exists()


def test_admin_change_is_not_saved(event, superuser_client):
    url = reverse("admin:screening_auditevent_change", args=[event.pk])

    view = superuser_client.get(url)
    response = superuser_client.post(url, {"action": "sign_in", "actor_username": "someone"})

    assert view.status_code == 200
    assert b'name="action"' not in view.content
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "export"


def test_admin_delete_is_forbidden(event, superuser_client):
    url = reverse("admin:screening_auditevent_delete", args=[event.pk])

    assert superuser_client.get(url).status_code == 403
    assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_admin_has_no_bulk_delete_action(event, superuser_client):
    url = reverse("admin:screening_auditevent_changelist")

    superuser_client.post(url, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})

    assert AuditEvent.objects.filter(pk=event.pk).exists()
