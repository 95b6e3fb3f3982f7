"""Every page requires sign-in, and each persona reaches exactly the pages of its role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from pages.factories import make_study

pytestmark = pytest.mark.django_db

PASSWORD = "lumbar-screening-test-password"


def page_urls(study_id: int, overlay_name: str) -> list[str]:
    return [
        reverse("screening:upload"),
        reverse("screening:study_list"),
        reverse("screening:study_status") + f"?ids={study_id}",
        reverse("screening:report", args=[study_id]),
        reverse("screening:original", args=[study_id]),
        reverse("screening:run_file", args=[study_id, overlay_name]),
    ]


@pytest.fixture
def done_study() -> Any:
    return make_study()


def test_anonymous_redirected_on_every_page(done_study: Any) -> None:
    client = Client()
    urls = [reverse("screening:home"), *page_urls(done_study.pk, done_study.current_run.overview_overlay)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_anonymous_post_to_upload_redirects_and_stores_nothing(done_study: Any) -> None:
    response = Client().post(reverse("screening:upload"), {"radiographs": []})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["clinician", "admin"])
def test_screening_roles_open_every_page(
    persona: str, persona_clients: dict[str, Client], done_study: Any
) -> None:
    client = persona_clients[persona]
    for url in page_urls(done_study.pk, done_study.current_run.overview_overlay):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ["manager", "no_role"])
def test_other_roles_are_refused_with_403(
    persona: str, persona_clients: dict[str, Client], done_study: Any
) -> None:
    client = persona_clients[persona]
    for url in page_urls(done_study.pk, done_study.current_run.overview_overlay):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Access denied" in response.content, url


def test_home_sends_clinician_to_study_list(persona_clients: dict[str, Client]) -> None:
    response = persona_clients["clinician"].get(reverse("screening:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("screening:study_list")


def test_home_sends_manager_to_statistics(persona_clients: dict[str, Client]) -> None:
    response = persona_clients["manager"].get(reverse("screening:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("oversight:statistics")


def test_home_shows_role_hint_to_user_without_role(persona_clients: dict[str, Client]) -> None:
    response = persona_clients["no_role"].get(reverse("screening:home"))
    assert response.status_code == 200
    assert b"no role" in response.content


def test_sign_in_page_renders_in_japanese_by_default(db: Any) -> None:
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert response["Content-Language"] == "ja"
    assert "ログイン" in response.content.decode()


def test_sign_in_with_password_reaches_study_list(clinician: Any) -> None:
    clinician.set_password(PASSWORD)
    clinician.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("login"),
        {"username": clinician.username, "password": PASSWORD, "next": "/studies/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/studies/"


def test_sign_in_with_wrong_password_shows_error(clinician: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(reverse("login"), {"username": clinician.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_sign_out_requires_post_and_ends_session(persona_clients: dict[str, Client]) -> None:
    client = persona_clients["clinician"]
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("screening:study_list")).status_code == 302


def test_navigation_shows_links_for_role(persona_clients: dict[str, Client]) -> None:
    clinician_page = persona_clients["clinician"].get(reverse("screening:study_list")).content.decode()
    assert reverse("screening:upload") in clinician_page
    assert reverse("admin:index") not in clinician_page
    admin_page = persona_clients["admin"].get(reverse("screening:study_list")).content.decode()
    assert reverse("admin:index") in admin_page


def test_navigation_gives_admin_screening_links(persona_clients: dict[str, Client]) -> None:
    admin_page = persona_clients["admin"].get(reverse("screening:study_list")).content.decode()
    assert f'href="{reverse("screening:upload")}"' in admin_page
    assert f'href="{reverse("screening:study_list")}"' in admin_page


def test_unknown_url_gives_404_page(persona_clients: dict[str, Client]) -> None:
    response = persona_clients["clinician"].get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_missing_study_gives_404(persona_clients: dict[str, Client]) -> None:
    client = persona_clients["clinician"]
    assert client.get(reverse("screening:report", args=[999999])).status_code == 404
    assert client.get(reverse("screening:original", args=[999999])).status_code == 404


def test_run_file_outside_the_run_gives_404(persona_clients: dict[str, Client], done_study: Any) -> None:
    client = persona_clients["clinician"]
    for name in ["../../etc/passwd", "runs/other/overview.png", done_study.radiograph.original.name]:
        assert client.get(reverse("screening:run_file", args=[done_study.pk, name])).status_code == 404, name


def test_language_switch_sets_english(persona_clients: dict[str, Client]) -> None:
    client = persona_clients["clinician"]
    response = client.post(reverse("set_language"), {"language": "ja", "next": "/studies/"})
    assert response.status_code == 302
    page = client.get(reverse("screening:study_list"))
    assert page["Content-Language"] == "ja"
    assert "検査一覧" in page.content.decode()
