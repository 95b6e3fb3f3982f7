"""End to end in headless Chromium: sign in, upload radiographs, read the reports.

Uses Debian's /usr/bin/chromium through Playwright's Python package (never a
downloaded browser) against pytest-django's live server, with the tiny bundle
installed and active and screening run synchronously inside the upload request.
Screenshots go to artifacts/e2e/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The live server needs committed rows; serialized_rollback restores the role groups that the
# data migrations created, because each transactional test ends by emptying the tables.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORD = "e2e-clinician-password"
# Screening on two CPU cores with the tiny bundle takes seconds; the limit leaves room for a busy machine.
SCREENING_TIMEOUT_MS = 180_000
# Playwright's default of 30 s for every navigation and wait is tight for a report page that loads
# several Grad-CAM images from the live server on a loaded two-core CI machine.
PAGE_TIMEOUT_MS = 90_000


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API keeps an event loop running in this thread, so Django's async-safety
    # check would reject the fixtures' database calls. The live server runs in its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def e2e_server(live_server: Any, tiny_bundle: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Return the live server with static files served from the source folders and eager screening."""
    from django.db import connection

    from screening import tasks

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # tests/e2e/conftest.py puts the test database in a file, but only when a browser test is the
        # first to set the database up. In memory, parallel image requests fail on SQLite's table locks.
        pytest.skip(
            "run the browser tests on their own (make e2e), so that the SQLite test database is a file"
        )

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    def dispatch_now(study_id: int, bundle_id: int | None = None) -> None:
        tasks.run_screening_task.apply(args=(study_id, bundle_id))

    monkeypatch.setattr(tasks, "dispatch_screening", dispatch_now)
    return live_server


@pytest.fixture
def e2e_clinician(clinician: Any) -> Any:
    clinician.set_password(PASSWORD)
    clinician.save()
    return clinician


def new_context(browser: Any, **options: Any) -> Any:
    """Open a browser context whose navigations and waits time out after PAGE_TIMEOUT_MS."""
    context = browser.new_context(**options)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/studies/$"))


def upload_and_open_report(page: Any, base_url: str, path: Path) -> None:
    page.goto(f"{base_url}/upload/")
    page.set_input_files("#upload-form input[type=file]", str(path))
    item = page.locator("#upload-list .upload-item").last
    link = item.locator(".upload-item__outcome a")
    link.wait_for(timeout=SCREENING_TIMEOUT_MS)
    assert item.get_attribute("data-outcome") == "accepted"
    link.click()
    page.wait_for_selector("[data-testid=banner]")


def test_clinician_screens_lumbar_and_chest(
    browser: Any, e2e_server: Any, e2e_clinician: Any, phantom_dicom: Path
) -> None:
    from pydicom.data import get_testdata_file

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = new_context(browser, locale="ja-JP", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    base_url = e2e_server.url

    sign_in(page, base_url, e2e_clinician.username)
    assert page.locator("html").get_attribute("lang") == "ja"
    page.screenshot(path=str(SCREENSHOTS / "01-study-list-empty-ja.png"), full_page=True)

    upload_and_open_report(page, base_url, phantom_dicom)
    page.screenshot(path=str(SCREENSHOTS / "02-report-lumbar-ja.png"), full_page=True)
    banner = page.locator("[data-testid=banner]")
    assert banner.get_attribute("data-result") in {"mri_recommended", "no_fresh_fracture_found"}
    levels = page.locator("#level-boxes rect.level-box").evaluate_all(
        "boxes => boxes.map(b => b.dataset.level)"
    )
    assert sorted(levels) == ["L1", "L2", "L3", "L4", "L5"]
    assert page.locator("#findings-table tbody > tr[data-level]").count() == 5
    assert page.locator("[data-testid=demo-label]").is_visible()
    assert page.locator("[data-testid=screening-aid-statement]").is_visible()
    layer_values = page.locator("#layer-switch input[name=layer]").evaluate_all(
        "inputs => inputs.map(i => i.value)"
    )
    assert "ensemble" in layer_values
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=cam-grid] img')).every(img => img.complete && img.naturalWidth > 0)"
    )
    assert page.locator("[data-testid=cam-grid] img").count() >= 5
    page.screenshot(path=str(SCREENSHOTS / "02-report-lumbar-ja.png"), full_page=True)
    assert page.locator("#level-boxes").is_hidden(), "the overview image has its own boxes"
    page.check("#layer-switch input[value=ensemble]", force=True)
    assert page.locator("#level-boxes").is_visible()
    page.wait_for_function(
        "() => { const img = document.getElementById('viewer-image'); return img.complete && img.naturalWidth > 0 && img.src.includes('/files/'); }"
    )
    page.screenshot(path=str(SCREENSHOTS / "03-report-lumbar-gradcam-ja.png"), full_page=True)

    chest = Path(get_testdata_file("RG1_UNCR.dcm"))
    upload_and_open_report(page, base_url, chest)
    banner = page.locator("[data-testid=banner]")
    assert banner.get_attribute("data-result") == "not_assessable"
    assert banner.locator("[data-code=body_part_not_lumbar]").count() == 1
    assert "評価不能" in banner.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "04-report-chest-not-assessable-ja.png"), full_page=True)

    page.goto(f"{base_url}/studies/")
    assert page.locator("#study-table tbody tr").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "05-study-list-ja.png"), full_page=True)

    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Studies" in page.locator("h1").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "06-study-list-en.png"), full_page=True)
    context.close()


def test_bad_file_reason_in_japanese(
    browser: Any, e2e_server: Any, e2e_clinician: Any, tmp_path: Path
) -> None:
    bad_file = tmp_path / "not-a-radiograph.dcm"
    bad_file.write_bytes(b"<html><body>not an image</body></html>" * 10)
    context = new_context(browser, locale="ja-JP", viewport={"width": 1200, "height": 800})
    page = context.new_page()
    sign_in(page, e2e_server.url, e2e_clinician.username)

    page.goto(f"{e2e_server.url}/upload/")
    page.set_input_files("#upload-form input[type=file]", str(bad_file))
    item = page.locator("#upload-list .upload-item").last
    page.wait_for_function("() => document.querySelector('#upload-list .upload-item[data-outcome]') !== null")
    assert item.get_attribute("data-outcome") == "rejected"
    outcome = item.locator(".upload-item__outcome").inner_text()
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", outcome), outcome
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "07-upload-rejected-ja.png"), full_page=True)
    context.close()


def test_png_upload_asks_for_patient_id(
    browser: Any, e2e_server: Any, e2e_clinician: Any, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image

    from screening.models import Study

    png = tmp_path / "lateral.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, size=(256, 160), dtype=np.uint8)).save(png)
    context = new_context(browser, locale="en-US", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, e2e_server.url, e2e_clinician.username)

    page.goto(f"{e2e_server.url}/upload/")
    page.set_input_files("#upload-form input[type=file]", str(png))
    item = page.locator("#upload-list .upload-item").last
    panel = item.locator(".upload-item__patient")
    panel.wait_for(state="visible")
    item.locator(".upload-item__start").click()
    assert panel.is_visible(), "the file must not be sent without a patient ID"
    item.locator("input[name=patient_id]").fill("PNG-E2E-1")
    item.locator("input[name=patient_name]").fill("Kato Yumi")
    item.locator(".upload-item__start").click()
    item.locator(".upload-item__outcome a").wait_for(timeout=SCREENING_TIMEOUT_MS)
    assert item.get_attribute("data-outcome") == "accepted"
    assert item.locator("progress").get_attribute("value") == "100"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "08-upload-png-en.png"), full_page=True)
    context.close()

    study = Study.objects.get(patient_id="PNG-E2E-1")
    assert study.patient_name == "Kato Yumi"
    assert study.radiograph.file_type == "png"
