"""static/oversight/statistics.js under Node with a stub canvas: the y-axis reaches the tallest bar."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

NODE = shutil.which("node")
STATISTICS_JS = Path(settings.BASE_DIR) / "static" / "oversight" / "statistics.js"

# Draws the page's charts into stub canvases and prints, per canvas, the numeric axis labels and the
# tallest bar as a share of the plot height.
HARNESS = r"""
const fs = require("fs");
const data = JSON.parse(process.env.CHART_DATA);
function canvas(id) {
  const drawn = { id, labels: [], bars: [] };
  return {
    drawn, width: 440, height: 240, clientWidth: 440, dataset: {}, style: {},
    getContext() {
      return {
        scale() {}, clearRect() {}, beginPath() {}, moveTo() {}, lineTo() {}, stroke() {},
        measureText(text) { return { width: text.length * 6 }; },
        fillText(text) { drawn.labels.push(text); },
        fillRect(x, y, width, height) { drawn.bars.push(height); },
      };
    },
  };
}
const canvases = ["chart-volume", "chart-results", "chart-levels"].map(canvas);
const scripts = {
  "statistics-data": JSON.stringify(data),
  "statistics-labels": JSON.stringify({ studies: "Studies", results: {}, classes: { normal: "Normal" }, empty: "-" }),
};
global.window = { devicePixelRatio: 1, addEventListener() {} };
global.document = {
  readyState: "complete",
  getElementById(id) {
    if (id in scripts) { return { textContent: scripts[id] }; }
    return canvases.find((item) => item.drawn.id === id) || null;
  },
  querySelectorAll() { return []; },
};
eval(fs.readFileSync(process.argv[process.argv.length - 1], "utf8"));
const volume = canvases[0].drawn;
console.log(JSON.stringify({
  ticks: volume.labels.filter((text) => /^\d+$/.test(text)).map(Number),
  tallestBar: Math.max(...volume.bars),
}));
"""

# The plot height of a 240 px canvas with one series: 240 - 10 (top) - 36 (bottom).
PLOT_HEIGHT = 194


def draw_volume(counts: dict[str, int]) -> dict[str, object]:
    if NODE is None:
        pytest.skip("node is not installed")
    data = {
        "overall": {
            "studies_by_period": {"day": counts},
            "results_by_status": {},
            "vertebrae_by_level_and_class": {},
        }
    }
    completed = subprocess.run(
        [NODE, "-e", HARNESS, "--", str(STATISTICS_JS)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"CHART_DATA": json.dumps(data), "PATH": "/usr/bin:/bin"},
    )
    return dict(json.loads(completed.stdout))


@pytest.mark.parametrize("tallest", [1, 4, 5, 18, 21, 99, 101])
def test_axis_reaches_tallest_bar(tallest: int) -> None:
    drawn = draw_volume({"2026-12-01": tallest, "2026-12-02": 1})
    ticks = drawn["ticks"]
    assert isinstance(ticks, list)
    assert max(ticks) >= tallest
    assert len(ticks) <= 5


def test_tallest_bar_scaled_to_axis_end() -> None:
    drawn = draw_volume({"2026-12-01": 21, "2026-12-02": 3})
    ticks = drawn["ticks"]
    assert isinstance(ticks, list)
    assert drawn["tallestBar"] == pytest.approx(PLOT_HEIGHT * 21 / max(ticks))
