"""Vertebra detection: coordinates in original pixels, plausibility rules, and no network access."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from screening_helpers import LEVEL_CLASSES, write_detector_checkpoint

from inference.bundle import DetectorSpec
from inference.detection import Detector, check_detections, configure_ultralytics
from inference.errors import BundleError
from inference.result import Box, Detection

REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("detector") / "detector.pt"
    write_detector_checkpoint(path)
    return path


def _spec(image_size: int) -> DetectorSpec:
    return DetectorSpec("detector.pt", "", LEVEL_CLASSES, image_size, 0.25, 0.5)


def _bright_block_forward(self: torch.nn.Module, x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
    """Report one L3 box around the bright block of the letterboxed input, measured to a fraction of a pixel.

    The block is 1.0 on a 0.0 background; ultralytics pads with 114/255. The
    width is the mass of the block's middle row, the height the mass of its
    middle column, and the centre the centroid of the mass.
    """
    image = x[0, 0].double()
    output = torch.zeros(x.shape[0], 4 + len(LEVEL_CLASSES), 1, dtype=x.dtype, device=x.device)
    core = (image > 0.9).nonzero()
    if len(core) == 0:
        return output
    top, left = (core.min(dim=0).values - 3).clamp(min=0).tolist()
    bottom, right = (core.max(dim=0).values + 4).tolist()
    window = image[top:bottom, left:right]
    mass = window.sum()
    rows = torch.arange(top, bottom, dtype=torch.float64)[:, None] + 0.5
    columns = torch.arange(left, right, dtype=torch.float64)[None, :] + 0.5
    centre_x = float((window * columns).sum() / mass)
    centre_y = float((window * rows).sum() / mass)
    middle_row, middle_column = int(centre_y) - top, int(centre_x) - left
    width = float(window[middle_row].sum())
    height = float(window[:, middle_column].sum())
    output[0, :4, 0] = torch.tensor([centre_x, centre_y, width, height])
    output[0, 4 + LEVEL_CLASSES.index("L3"), 0] = 0.9
    return output


@pytest.mark.parametrize(
    ("rows", "columns", "image_size", "block"),
    [
        (640, 640, 640, (200, 250, 380, 330)),
        (1203, 517, 640, (150, 400, 350, 560)),
        (300, 200, 640, (40, 100, 130, 160)),
        (900, 1500, 1024, (600, 300, 900, 480)),
        (2000, 1800, 1024, (700, 900, 1100, 1150)),
    ],
)
def test_boxes_map_back_to_original_pixels(
    detector_file: Path, rows: int, columns: int, image_size: int, block: tuple[int, int, int, int]
) -> None:
    detector = Detector(detector_file, _spec(image_size))
    detector.model.forward = types.MethodType(_bright_block_forward, detector.model)
    image = np.zeros((rows, columns), dtype=np.uint8)
    x1, y1, x2, y2 = block
    image[y1:y2, x1:x2] = 255

    found = detector.predict_raw(image)

    assert len(found) == 1
    assert found[0].level == "L3"
    box = found[0].box
    assert abs(box.x1 - x1) <= 1.0
    assert abs(box.y1 - y1) <= 1.0
    assert abs(box.x2 - x2) <= 1.0
    assert abs(box.y2 - y2) <= 1.0


def test_detector_accepts_three_channel_input(detector_file: Path) -> None:
    detector = Detector(detector_file, _spec(64))

    found = detector.predict_raw(np.zeros((120, 80, 3), dtype=np.uint8))

    assert found == []


def test_detector_keeps_cpu_thread_count(detector_file: Path) -> None:
    detector = Detector(detector_file, _spec(64))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        detector.predict_raw(np.zeros((64, 64), dtype=np.uint8))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_detector_rejects_other_class_names(detector_file: Path) -> None:
    spec = DetectorSpec("detector.pt", "", ("L1", "L2", "L3", "L4", "L5"), 64, 0.25, 0.5)

    with pytest.raises(BundleError, match="differ from the manifest"):
        Detector(detector_file, spec)


def test_detector_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not found"):
        Detector(tmp_path / "yolov8n.pt", _spec(64))


def test_configure_ultralytics_turns_sync_off() -> None:
    configure_ultralytics()
    from ultralytics.utils import ONLINE, SETTINGS

    assert SETTINGS["sync"] is False
    assert ONLINE is False


def test_predict_attempts_no_network_access(detector_file: Path, tmp_path: Path) -> None:
    # A fresh interpreter, so ultralytics is imported under the guard, with an empty settings folder.
    script = textwrap.dedent(
        f"""
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError(f"network access attempted: {{args!r}}")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        import numpy as np
        from inference.bundle import DetectorSpec
        from inference.detection import Detector

        names = {LEVEL_CLASSES!r}
        detector = Detector({str(detector_file)!r}, DetectorSpec("detector.pt", "", names, 64, 0.01, 0.5))
        image = np.random.default_rng(0).integers(0, 255, size=(300, 200), dtype=np.uint8)
        detector.predict_raw(image)
        detector.detect(image)
        print("done")
        """
    )
    environment = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path), "PYTHONPATH": str(REPOSITORY)}

    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300, cwd=tmp_path
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().endswith("done")


def _detection(level: str, y: float, *, height: float = 40.0, width: float = 60.0, confidence: float = 0.9) -> Detection:
    return Detection(level, Box(100.0, y, 100.0 + width, y + height), confidence)


def _spine(**overrides: Detection) -> list[Detection]:
    levels = ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    detections = {level: _detection(level, 50.0 * index) for index, level in enumerate(levels)}
    detections.update(overrides)
    return list(detections.values())


def test_check_detections_keeps_complete_spine() -> None:
    outcome = check_detections(_spine())

    assert [d.level for d in outcome.detections] == ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
    assert [d.level for d in outcome.lumbar] == ["L1", "L2", "L3", "L4", "L5"]
    assert [d.level for d in outcome.other] == ["T12", "S1"]
    assert outcome.missing_levels == ()
    assert outcome.warnings == ()


def test_check_detections_keeps_most_confident_box_per_level() -> None:
    weaker = _detection("L2", 400.0, confidence=0.3)

    outcome = check_detections([*_spine(), weaker])

    l2 = [d for d in outcome.detections if d.level == "L2"]
    assert len(l2) == 1
    assert l2[0].confidence == 0.9


def test_check_detections_drops_out_of_order_box() -> None:
    outcome = check_detections(_spine(L2=_detection("L2", 280.0, confidence=0.5)))

    assert outcome.missing_levels == ("L2",)
    assert [r.reason for r in outcome.rejected] == ["out_of_order"]
    assert [w.code for w in outcome.warnings] == ["detection_out_of_order"]


def test_check_detections_drops_box_below_its_lower_neighbour() -> None:
    swapped = _detection("L1", 400.0, confidence=0.4)

    outcome = check_detections(_spine(L1=swapped))

    assert [r.reason for r in outcome.rejected] == ["out_of_order"]
    assert outcome.rejected[0].detection.level == "L1"
    assert outcome.missing_levels == ("L1",)
    assert outcome.warnings[0].code == "detection_out_of_order"
    assert outcome.warnings[0].message_ja


def test_check_detections_drops_duplicate_box() -> None:
    same_as_l3 = _detection("L4", 150.0, confidence=0.5)

    outcome = check_detections(_spine(L4=same_as_l3))

    assert [(r.detection.level, r.reason) for r in outcome.rejected] == [("L4", "duplicate_box")]


def test_check_detections_drops_implausible_size() -> None:
    huge = _detection("L5", 250.0, height=45.0, width=200.0, confidence=0.5)

    outcome = check_detections(_spine(L5=huge))

    assert [(r.detection.level, r.reason) for r in outcome.rejected] == [("L5", "implausible_size")]
    assert outcome.missing_levels == ("L5",)


def test_check_detections_keeps_collapsed_vertebra() -> None:
    crushed = _detection("L3", 165.0, height=14.0)

    outcome = check_detections(_spine(L3=crushed))

    assert outcome.rejected == ()
    assert outcome.missing_levels == ()


def test_check_detections_drops_tiny_box() -> None:
    outcome = check_detections(_spine(L2=_detection("L2", 100.0, height=5.0, width=5.0)))

    assert [(r.detection.level, r.reason) for r in outcome.rejected] == [("L2", "box_too_small")]


def test_check_detections_without_lumbar_levels() -> None:
    outcome = check_detections([_detection("T12", 0.0)])

    assert outcome.lumbar == ()
    assert outcome.missing_levels == ("L1", "L2", "L3", "L4", "L5")
    assert outcome.warnings == ()
