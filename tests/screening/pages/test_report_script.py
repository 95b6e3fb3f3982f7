"""static/js/report.js under Node with a stub DOM: the "Level boxes" checkbox matches what is shown."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

NODE = shutil.which("node")
REPORT_JS = Path(settings.BASE_DIR) / "static" / "js" / "report.js"

# A stub of the few DOM calls that report.js makes. Each step switches the layer or clicks the checkbox,
# then records the checkbox state and whether the vector boxes are hidden.
HARNESS = r"""
const fs = require("fs");
const listeners = new Map();
function element(props) {
  return Object.assign({
    attributes: new Set(), dataset: {},
    addEventListener(type, handler) { listeners.set(this, handler); },
    toggleAttribute(name, on) { if (on) { this.attributes.add(name); } else { this.attributes.delete(name); } },
  }, props);
}
const toggle = element({ checked: true, disabled: false });
const boxes = element({});
const image = element({ src: "" });
const radios = ["overview", "ensemble"].map((value, index) =>
  element({ value, checked: index === 0, dataset: { src: value + ".png" } }));
global.window = {};
global.document = {
  getElementById(id) {
    return { "toggle-boxes": toggle, "level-boxes": boxes, "viewer-image": image }[id] || null;
  },
  querySelectorAll(selector) { return selector.indexOf("layer") >= 0 ? radios : []; },
};
eval(fs.readFileSync(process.argv[process.argv.length - 1], "utf8"));
function choose(value) {
  radios.forEach((radio) => { radio.checked = radio.value === value; });
  listeners.get(radios.find((radio) => radio.value === value))();
}
function click() { toggle.checked = !toggle.checked; listeners.get(toggle)(); }
const states = [];
function record(step) {
  states.push({ step, checked: toggle.checked, disabled: toggle.disabled, hidden: boxes.attributes.has("hidden") });
}
record("load");
choose("ensemble"); record("cam");
click(); record("cam-unticked");
choose("overview"); record("overview");
choose("ensemble"); record("cam-again");
console.log(JSON.stringify(states));
"""


@pytest.fixture(scope="module")
def states() -> dict[str, dict[str, bool]]:
    if NODE is None:
        pytest.skip("node is not installed")
    completed = subprocess.run(
        [NODE, "-e", HARNESS, "--", str(REPORT_JS)], capture_output=True, text=True, timeout=30, check=True
    )
    return {state.pop("step"): state for state in json.loads(completed.stdout)}


def test_overview_shows_ticked_disabled(states: dict[str, dict[str, bool]]) -> None:
    assert states["load"] == {"checked": True, "disabled": True, "hidden": True}


def test_cam_layer_shows_vector_boxes(states: dict[str, dict[str, bool]]) -> None:
    assert states["cam"] == {"checked": True, "disabled": False, "hidden": False}


def test_unticking_hides_vector_boxes(states: dict[str, dict[str, bool]]) -> None:
    assert states["cam-unticked"] == {"checked": False, "disabled": False, "hidden": True}


def test_overview_after_untick_shows_ticked(states: dict[str, dict[str, bool]]) -> None:
    assert states["overview"] == {"checked": True, "disabled": True, "hidden": True}


def test_cam_layer_restores_user_choice(states: dict[str, dict[str, bool]]) -> None:
    assert states["cam-again"] == {"checked": False, "disabled": False, "hidden": True}
