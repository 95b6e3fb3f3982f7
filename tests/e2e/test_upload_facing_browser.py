"""In headless Chromium: the "Patient faces" choice reaches the server with a dropped file and its screening."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

# The fixtures live in the main browser test module; importing them here makes pytest offer them.
from tests.e2e.test_browser import (  # noqa: F401
    SCREENING_TIMEOUT_MS,
    SCREENSHOTS,
    browser,
    e2e_clinician,
    e2e_server,
    new_context,
    sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Builds a DataTransfer holding one file, as a drag from the desktop delivers it to the drop event.
DATA_TRANSFER_SCRIPT = """([name, encoded]) => {
  const bytes = Uint8Array.from(atob(encoded), (character) => character.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "application/dicom" }));
  return transfer;
}"""


def test_dropped_file_is_screened_facing_right(
    browser: Any,  # noqa: F811
    e2e_server: Any,  # noqa: F811
    e2e_clinician: Any,  # noqa: F811
    phantom_dicom: Path,
) -> None:
    from screening.models import Study

    context = new_context(browser, locale="en-US", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, e2e_server.url, e2e_clinician.username)
    page.goto(f"{e2e_server.url}/upload/")

    page.check("input[name=facing][value=right]")
    encoded = base64.b64encode(phantom_dicom.read_bytes()).decode("ascii")
    transfer = page.evaluate_handle(DATA_TRANSFER_SCRIPT, ["phantom.dcm", encoded])
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})

    item = page.locator("#upload-list .upload-item").last
    assert item.locator(".upload-item__facing").inner_text() == "Patient faces right (stated at upload)"
    item.locator(".upload-item__outcome a").wait_for(timeout=SCREENING_TIMEOUT_MS)
    assert item.get_attribute("data-outcome") == "accepted"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "09-upload-facing-right-en.png"), full_page=True)

    item.locator(".upload-item__outcome a").click()
    page.wait_for_selector("[data-testid=banner]")
    assert "Right (stated at upload)" in page.locator("[data-testid=stated-facing]").inner_text()
    assert "The patient faces right (stated at upload)" in page.locator("[data-testid=orientation-note]").inner_text()
    context.close()

    study = Study.objects.get()
    assert study.radiograph.stated_facing == "right"
    geometry = study.current_run.result["cam_region_geometry"]
    assert geometry["anterior_side"] == "right"
    assert geometry["anterior_side_source"] == "stated"
