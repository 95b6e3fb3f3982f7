"""ISO-style dates and 24-hour times with the zone named, in both languages, and formatted bundle values."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from screening.models import ModelBundle, Study
from tests.screening.oversight.factories import make_bundle, make_study

pytestmark = pytest.mark.django_db

# 08:42 in Tokyo, which a US format would show as "12/05/2026 8:42 a.m.".
UPLOADED = dt.datetime(2026, 12, 4, 23, 42, tzinfo=dt.UTC)


def signed_in(user: Any, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["en", "ja"])
def test_report_dates_are_iso_with_zone(clinician: Any, language: str) -> None:
    study = make_study(uploaded_by=clinician)
    Study.objects.filter(pk=study.pk).update(created_at=UPLOADED, patient_birth_date=dt.date(1941, 3, 9))

    html = signed_in(clinician, language).get(reverse("screening:report", args=[study.pk])).content.decode()

    assert "2026-12-05 08:42 JST" in html
    assert "1941-03-09" in html
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{4}", html)
    assert "a.m." not in html
    assert "p.m." not in html


def test_study_list_dates_are_iso_in_english(clinician: Any) -> None:
    study = make_study(uploaded_by=clinician)
    Study.objects.filter(pk=study.pk).update(created_at=UPLOADED)

    html = signed_in(clinician, "en").get(reverse("screening:study_list")).content.decode()

    assert "2026-12-05 08:42 JST" in html


@pytest.mark.parametrize("language", ["en", "ja"])
def test_bundle_page_formats_created_and_threshold(admin_user: Any, language: str) -> None:
    bundle = make_bundle(version="formats-1")
    manifest = dict(bundle.manifest, created_at="2026-12-04T23:53:38Z")
    manifest["thresholds"] = dict(manifest["thresholds"], fresh=0.1785961389541626)
    ModelBundle.objects.filter(pk=bundle.pk).update(manifest=manifest, installed_at=UPLOADED)

    response = signed_in(admin_user, language).get(reverse("oversight:bundle_detail", args=[bundle.pk]))
    html = response.content.decode()

    assert "2026-12-05 08:53 JST" in html
    assert "2026-12-04T23:53:38Z" not in html
    assert "17.9 %" in html
    assert "0.1785961389541626" not in html
    assert "2026-12-05 08:42 JST" in html


def test_iso_timestamp_leaves_other_text() -> None:
    from screening.templatetags.olvf_ui import iso_timestamp

    assert iso_timestamp("not a date") == "not a date"
    assert iso_timestamp("") == "–"
    with timezone.override("Asia/Tokyo"):
        assert iso_timestamp("2026-12-04T23:53:38") == "2026-12-05 08:53 JST"
