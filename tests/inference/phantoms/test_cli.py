"""``python -m inference phantom`` writes a labelled folder and its exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.cli import main


def test_phantom_command_writes_folder_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "phantoms"
    status = main(
        [
            "phantom", "--out", str(out), "--patients", "3", "--seed", "4", "--image-size", "320",
            "--formats", "dicom,png", "--images-per-patient", "1-1", "--class-mix", "normal=0.5,fresh=0.5",
            "--export-yolo", "--export-crops", "64",
        ]
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert status == 0
    assert summary["images"] == 3
    assert summary["class_counts"]["old"] == 0
    assert len(list((out / "labels").glob("*.json"))) == 3
    assert Path(summary["yolo_data"]).is_file()
    assert Path(summary["crops"]).is_file()
    assert len(list((out / "crops").rglob("*.png"))) == 15


def test_phantom_command_rejects_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["phantom", "--out", str(tmp_path), "--patients", "1", "--formats", "tiff"])
    assert status == 2
    assert "formats ['tiff'] are not valid" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--class-mix", "normal=lots"), ("--images-per-patient", "3-1"), ("--images-per-patient", "x")],
)
def test_phantom_command_rejects_malformed_option(tmp_path: Path, option: str, value: str) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["phantom", "--out", str(tmp_path), "--patients", "1", option, value])
    assert raised.value.code == 2
