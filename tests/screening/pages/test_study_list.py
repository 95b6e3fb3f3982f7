"""Study list: newest first, search, filters, pagination and the JSON status endpoint."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pages.factories import make_study
from screening.models import AuditEvent, Study

pytestmark = pytest.mark.django_db


def listed_ids(client: Client, query: str = "") -> list[int]:
    response = client.get(reverse("screening:study_list") + query)
    assert response.status_code == 200
    return [int(value) for value in re.findall(r'<tr data-study-id="(\d+)"', response.content.decode())]


def test_list_shows_newest_first(clinician_page_client: Client) -> None:
    first, second, third = make_study(), make_study(), make_study()
    assert listed_ids(clinician_page_client) == [third.pk, second.pk, first.pk]


@pytest.mark.parametrize("term", ["KW-7731", "Suzuki", "ACC-XY-9"])
def test_search_matches_id_name_or_accession(clinician_page_client: Client, term: str) -> None:
    expected = make_study(patient_id="KW-7731", patient_name="Suzuki Hanako", accession_number="ACC-XY-9")
    make_study(patient_name="Tanaka Jiro")
    assert listed_ids(clinician_page_client, f"?q={term}") == [expected.pk]


def test_filters_by_status_mri_and_not_assessable(clinician_page_client: Client) -> None:
    mri = make_study(result_status="mri_recommended")
    clear = make_study(result_status="no_fresh_fracture_found", classes=("normal",) * 5)
    unassessable = make_study(result_status="not_assessable", classes=())
    queued = make_study(status="queued")
    assert listed_ids(clinician_page_client, "?status=queued") == [queued.pk]
    assert listed_ids(clinician_page_client, "?mri_recommended=yes") == [mri.pk]
    assert set(listed_ids(clinician_page_client, "?mri_recommended=no")) == {clear.pk, unassessable.pk}
    assert listed_ids(clinician_page_client, "?not_assessable=yes") == [unassessable.pk]


def test_filters_by_date_range(clinician_page_client: Client) -> None:
    old = make_study()
    Study.objects.filter(pk=old.pk).update(study_date=dt.date(2024, 1, 5))
    recent = make_study()
    Study.objects.filter(pk=recent.pk).update(study_date=dt.date(2026, 11, 30))
    assert listed_ids(clinician_page_client, "?date_from=2026-01-01") == [recent.pk]
    assert listed_ids(clinician_page_client, "?date_to=2024-12-31") == [old.pk]


def test_date_range_uses_local_upload_date(clinician_page_client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    # Without a study date the upload date counts: 15:30 UTC on 1 December is 2 December in Tokyo.
    study = make_study()
    Study.objects.filter(pk=study.pk).update(
        study_date=None, created_at=dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)
    )

    assert listed_ids(clinician_page_client, "?date_from=2026-12-02") == [study.pk]
    assert listed_ids(clinician_page_client, "?date_to=2026-12-02") == [study.pk]
    assert listed_ids(clinician_page_client, "?date_to=2026-12-01") == []
    assert listed_ids(clinician_page_client, "?date_from=2026-12-03") == []


def test_invalid_filters_are_reported_not_500(clinician_page_client: Client) -> None:
    make_study()
    for query in [
        "?status=exploded",
        "?date_from=not-a-date",
        "?date_from=2026-02-01&date_to=2026-01-01",
        "?page=abc",
        "?page=99999",
    ]:
        response = clinician_page_client.get(reverse("screening:study_list") + query)
        assert response.status_code == 200, query


def test_pagination_keeps_filters(clinician_page_client: Client) -> None:
    for _ in range(27):
        make_study(patient_name="Sato")
    response = clinician_page_client.get(reverse("screening:study_list") + "?q=Sato")
    html = response.content.decode()
    assert html.count('<tr data-study-id="') == 25
    assert "q=Sato&amp;page=2" in html
    assert len(listed_ids(clinician_page_client, "?q=Sato&page=2")) == 2


def test_list_shows_result_and_demo_badges(clinician_page_client: Client) -> None:
    make_study(result_status="mri_recommended", demo=True)
    html = clinician_page_client.get(reverse("screening:study_list")).content.decode()
    assert "badge--mri" in html
    assert "badge--demo" in html


def test_list_view_audit_omits_search_text(clinician_page_client: Client) -> None:
    make_study(patient_name="Kobayashi")
    clinician_page_client.get(reverse("screening:study_list") + "?q=Kobayashi")
    event = AuditEvent.objects.filter(action=AuditEvent.Action.STUDY_LIST_VIEW).first()
    assert event is not None
    assert "Kobayashi" not in str(event.details)
    assert event.details["filters"] == {"search": True}


def test_status_endpoint_returns_each_study(clinician_page_client: Client) -> None:
    queued = make_study(status="queued")
    done = make_study()
    response = clinician_page_client.get(reverse("screening:study_status") + f"?ids={queued.pk},{done.pk}")
    assert response.status_code == 200
    studies = {entry["id"]: entry for entry in response.json()["studies"]}
    assert studies[queued.pk]["status"] == "queued"
    assert studies[queued.pk]["result_label"] == ""
    assert studies[done.pk]["status"] == "done"
    assert studies[done.pk]["result_status"] == "mri_recommended"
    assert studies[done.pk]["result_label"] == "MRI recommended"


@pytest.mark.parametrize("ids", ["abc", "1;2", ",".join(str(n) for n in range(200)), "99999999999999999999"])
def test_status_endpoint_rejects_bad_ids(clinician_page_client: Client, ids: str) -> None:
    response = clinician_page_client.get(reverse("screening:study_status") + f"?ids={ids}")
    assert response.status_code == 400
    assert "error" in response.json()


def test_status_endpoint_ignores_unknown_ids(clinician_page_client: Client) -> None:
    response = clinician_page_client.get(reverse("screening:study_status") + "?ids=424242")
    assert response.json() == {"studies": []}


def test_empty_list_invites_upload(clinician_page_client: Client) -> None:
    html = clinician_page_client.get(reverse("screening:study_list")).content.decode()
    assert "No studies yet" in html


def test_list_query_count_does_not_grow(clinician_page_client: Client) -> None:
    for _ in range(2):
        make_study()
    clinician_page_client.get(reverse("screening:study_list"))  # warm the session and role caches
    with CaptureQueriesContext(connection) as few:
        clinician_page_client.get(reverse("screening:study_list"))
    for _ in range(8):
        make_study()
    with CaptureQueriesContext(connection) as many:
        clinician_page_client.get(reverse("screening:study_list"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_status_endpoint_query_count_does_not_grow(clinician_page_client: Client) -> None:
    studies = [make_study() for _ in range(6)]
    url = reverse("screening:study_status")
    with CaptureQueriesContext(connection) as one:
        clinician_page_client.get(f"{url}?ids={studies[0].pk}")
    with CaptureQueriesContext(connection) as six:
        clinician_page_client.get(f"{url}?ids={','.join(str(study.pk) for study in studies)}")
    assert len(six.captured_queries) == len(one.captured_queries)
