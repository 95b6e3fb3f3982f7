"""Each audited action, done through the real pages and admin site, leaves its event with actor and address."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image

from screening.models import AuditEvent
from tests.screening.helpers import png_bytes, uploaded, write_hashed_bundle
from tests.screening.oversight.factories import make_study, signed_in

pytestmark = pytest.mark.django_db

PASSWORD = "coverage-password-123"
MIDDLEWARE_PATH = "screening.signals.AuditRequestMiddleware"


@pytest.fixture(autouse=True)
def audit_middleware(settings: Any) -> None:
    """Install the middleware that gives user and role events their actor, after authentication."""
    if MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        position = settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
        settings.MIDDLEWARE = [
            *settings.MIDDLEWARE[:position],
            MIDDLEWARE_PATH,
            *settings.MIDDLEWARE[position:],
        ]


def newest(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-sequence").first()
    assert event is not None, f"no {action} event"
    return event


def test_sign_in_pages_are_audited(clinician):
    clinician.set_password(PASSWORD)
    clinician.save()
    client = Client(REMOTE_ADDR="10.0.0.7")

    client.post(reverse("login"), {"username": "clinician", "password": "wrong"})
    client.post(reverse("login"), {"username": "clinician", "password": PASSWORD})
    client.post(reverse("logout"))

    failed = newest("sign_in_failed")
    assert failed.details == {"username": "clinician"}
    assert failed.address == "10.0.0.7"
    assert newest("sign_in").actor_username == "clinician"
    assert newest("sign_out").actor_username == "clinician"


def test_clinician_actions_are_audited(clinician, clinician_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        clinician_client.post(
            reverse("screening:upload"),
            {"radiographs": [uploaded("lumbar.png", png_bytes(seed=3))], "patient_id": "P-77"},
        )
    upload = newest("upload")
    assert upload.actor_username == "clinician"

    study = make_study(uploaded_by=clinician)
    run = study.current_run
    media_root = Path(settings.MEDIA_ROOT)
    overlay = f"runs/{run.pk}/overview.png"
    (media_root / overlay).parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (4, 4)).save(media_root / overlay)
    run.overview_overlay = overlay
    run.save()
    original = media_root / study.radiograph.original.name
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes(b"DICM")
    finding = run.findings.get(level="L1")

    clinician_client.get(reverse("screening:report", args=[study.pk]))
    clinician_client.get(reverse("screening:original", args=[study.pk]))
    clinician_client.get(reverse("screening:run_file", args=[study.pk, overlay]))
    clinician_client.post(reverse("oversight:review_create", args=[finding.pk]), {"verdict": "agree"})
    clinician_client.post(reverse("oversight:outcome_create", args=[study.pk]), {"mri_done": "no"})
    clinician_client.get(reverse("oversight:report_pdf", args=[study.pk]))

    for action in (
        "report_view",
        "original_download",
        "overlay_download",
        "review",
        "mri_outcome",
        "pdf_download",
    ):
        event = newest(action)
        assert event.actor_username == "clinician", action
        assert (event.object_type, event.object_id) == ("study", str(study.pk)), action
        assert event.address == "127.0.0.1", action


def test_admin_actions_are_audited(admin_user, admin_client, tmp_path):
    admin_client.get(reverse("oversight:audit_csv"))
    folder = write_hashed_bundle(tmp_path / "bundle", name="coverage-bundle", version="1")
    admin_client.post(reverse("oversight:bundle_install"), {"path": str(folder), "activate": "on"})

    assert newest("export").details["export"] == "audit_csv"
    assert newest("bundle_install").actor_username == "admin"
    assert newest("bundle_activate").actor_username == "admin"


def test_user_and_role_changes_in_admin_site_are_audited():
    root = get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)
    target = get_user_model().objects.create_user("dr-target", password=PASSWORD)
    manager = Group.objects.get(name="manager")
    client = signed_in(root)

    response = client.post(
        reverse("admin:auth_user_change", args=[target.pk]),
        {
            "username": "dr-target",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [manager.pk],
            "date_joined_0": "2026-12-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-12-01",
            "initial-date_joined_1": "10:00:00",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    role = newest("role_change")
    assert role.details["username"] == "dr-target"
    assert role.details["roles"] == ["manager"]
    assert role.actor_username == "root"
    assert role.address == "127.0.0.1"


def test_audit_trail_of_all_actions_verifies(clinician_client, admin_client):
    clinician_client.get(reverse("screening:study_list"))
    admin_client.get(reverse("oversight:audit"))

    out = io.StringIO()
    call_command("verify_audit", stdout=out)

    assert "The audit trail is intact" in out.getvalue()
