"""Error pages render on their own, so that a failing request never ends in Django's bare error text."""

from __future__ import annotations

from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("template, text", [("400.html", "Bad request"), ("500.html", "Server error")])
def test_error_template_renders_without_request(template: str, text: str) -> None:
    with translation.override("en"):
        html = render_to_string(template)
    assert text in html
    assert "screening aid" in html


def test_server_error_page_in_japanese() -> None:
    with translation.override("ja"):
        html = render_to_string("500.html")
    assert "サーバーエラー" in html


def test_csrf_failure_uses_own_page(clinician: Any) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(clinician)
    response = client.post(reverse("screening:upload"), {})
    assert response.status_code == 403
    assert b"Form expired" in response.content


def test_unsafe_method_on_status_is_refused_not_500(clinician_page_client: Client) -> None:
    response = clinician_page_client.post(reverse("screening:study_status"), {"ids": "1"})
    assert response.status_code in (403, 405)


def test_overlong_search_is_reported_not_500(clinician_page_client: Client) -> None:
    response = clinician_page_client.get(reverse("screening:study_list") + "?q=" + "x" * 5000)
    assert response.status_code == 200
