"""Check that every URL pattern of the URLconf returns, for each persona, the response its role rules allow.

The patterns are enumerated from ``get_resolver()``, so a new URL fails this
test until it is given an access rule in ``ACCESS`` below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from tests.screening.oversight.factories import make_bundle, make_study, signed_in

pytestmark = pytest.mark.django_db

# Who may use each URL name. "public" needs no sign-in, and "signed_in" needs any account.
# "screening" allows clinicians and admins, "statistics" managers and admins, and "admin" admins.
# "admin_site" is Django's admin, which redirects everyone without staff status to its sign-in page.
ACCESS: dict[str, str] = {
    "set_language": "public",
    "favicon": "public",  # a redirect to the static icon, which browsers request before sign-in
    "login": "public",
    "logout": "public",
    "password_change": "signed_in",
    "password_change_done": "signed_in",
    "api-schema": "signed_in",
    "api-study-list": "screening",
    "api-study-detail": "screening",
    "api-study-original": "screening",
    "api-study-file": "screening",
    "api-statistics": "statistics",
    "api-statistics-csv": "statistics",
    "screening:home": "signed_in",
    "screening:upload": "screening",
    "screening:study_list": "screening",
    "screening:study_status": "screening",
    "screening:report": "screening",
    "screening:original": "screening",
    "screening:run_file": "screening",
    "oversight:review_create": "screening",
    "oversight:outcome_create": "screening",
    "oversight:report_pdf": "screening",
    "oversight:trace": "admin",
    "oversight:trace_json": "admin",
    "oversight:study_rerun": "admin",
    "oversight:statistics": "statistics",
    "oversight:statistics_csv": "statistics",
    "oversight:chart_font": "signed_in",
    "oversight:audit": "admin",
    "oversight:audit_csv": "admin",
    "oversight:audit_verify": "admin",
    "oversight:bundle_list": "admin",
    "oversight:bundle_install": "admin",
    "oversight:bundle_detail": "admin",
    "oversight:bundle_activate": "admin",
}

ALLOWED_ROLES = {
    "signed_in": {"clinician", "manager", "admin", "no_role"},
    "screening": {"clinician", "admin"},
    "statistics": {"manager", "admin"},
    "admin": {"admin"},
}
PERSONAS = ("clinician", "manager", "admin", "no_role")
SUCCESS = {200, 302, 405}


def walk(patterns: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, str]]:
    """Yield (qualified name, pattern text) of every URL pattern, unnamed ones included."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace if pattern.namespace else None
            qualified = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), qualified)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or "<unnamed>"
            yield (f"{namespace}:{name}" if namespace else name), prefix + str(pattern.pattern)


def build_url(pattern: str, samples: dict[str, str]) -> str:
    """Fill the converters (``<int:pk>``) and named regex groups of ``pattern`` with sample values."""
    filled = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: samples[match.group(1)], pattern)
    filled = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: samples[match.group(1)], filled)
    return "/" + filled.replace("^", "").replace("$", "")


def write_png(media_root: Path, relative: str) -> None:
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8)).save(path)


@pytest.fixture
def samples(clinician: Any) -> dict[str, str]:
    """Sample values for every URL parameter, pointing at real rows and files."""
    bundle = make_bundle(version="walk-1")
    make_bundle(version="walk-2")
    study = make_study(uploaded_by=clinician, bundle=bundle)
    run = study.current_run
    media_root = Path(settings.MEDIA_ROOT)
    overview = f"runs/{run.pk}/overview.png"
    write_png(media_root, overview)
    run.overview_overlay = overview
    run.save()
    original = media_root / study.radiograph.original.name
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes(b"DICM")
    return {
        "pk": str(study.pk),
        "study_id": str(study.pk),
        "finding_id": str(run.findings.first().pk),
        "bundle_id": str(bundle.pk),
        "name": overview,
        "id": str(clinician.pk),
        "object_id": str(clinician.pk),
        "content_type_id": "1",
        "app_label": "auth",
        "url": "no-such-page/",
    }


@pytest.fixture
def all_urls(samples: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, build_url(pattern, samples)) for name, pattern in walk(get_resolver().url_patterns)]


def test_every_url_has_an_access_rule(all_urls):
    missing = sorted({name for name, _ in all_urls if not name.startswith("admin:") and name not in ACCESS})

    assert not missing, f"add these URL names to ACCESS: {missing}"


def test_walk_covers_oversight_urls(all_urls):
    names = {name for name, _ in all_urls}

    assert {"oversight:statistics", "oversight:audit", "oversight:bundle_list", "api-statistics"} <= names
    assert len(all_urls) > 40


def test_anonymous_is_sent_to_sign_in_everywhere(all_urls):
    client = Client()
    for name, url in all_urls:
        rule = "admin_site" if name.startswith("admin:") else ACCESS[name]
        response = client.get(url)
        if rule == "public":
            assert response.status_code < 500, url
        elif rule == "admin_site":
            assert response.status_code in {200, 302, 404, 405}, url
            if response.status_code == 200:
                assert url == "/admin/login/", url
        elif url.startswith("/api/"):
            assert response.status_code in {401, 403}, url
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_role_answer_everywhere(
    persona, all_urls, clinician, manager, admin_user, no_role_user
):
    users = {"clinician": clinician, "manager": manager, "admin": admin_user, "no_role": no_role_user}
    client = signed_in(users[persona])
    for name, url in all_urls:
        rule = "admin_site" if name.startswith("admin:") else ACCESS[name]
        response = client.get(url)
        if rule == "public":
            assert response.status_code < 500, url
        elif rule == "admin_site":
            # Django's admin lets only staff in; everyone else is sent to its sign-in page.
            assert response.status_code < 500, url
            if not users[persona].is_staff:
                assert response.status_code in {200, 302, 404, 405}, url
                assert response.status_code != 200 or url == "/admin/login/", url
        elif persona in ALLOWED_ROLES[rule]:
            assert response.status_code in SUCCESS, (url, response.status_code)
        else:
            assert response.status_code == 403, (url, response.status_code)
