"""The ``screen`` and ``bundle`` commands of ``python -m inference``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from screening_helpers import spine_image

from inference.cli import main


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_screen_prints_one_result_per_file(
    screening_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, _ = spine_image()
    png = tmp_path / "spine.png"
    Image.fromarray(image).save(png)
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all")
    chest = get_testdata_file("RG1_UNCI.dcm")
    out = tmp_path / "out"

    status = main(
        [
            "screen",
            str(png),
            str(broken),
            chest,
            "--bundle",
            str(screening_bundle),
            "--out",
            str(out),
            "--threads",
            "2",
        ]
    )
    results = _lines(capsys.readouterr().out)

    assert status == 0
    assert len(results) == 3
    assert [r["status"] for r in results] == ["not_assessable"] * 3
    assert [r["not_assessable_reasons"][0]["code"] for r in results] == [
        "no_lumbar_levels",
        "unreadable",
        "body_part_not_lumbar",
    ]
    assert results[1]["imaging"]["error"]["code"] == "not_an_image"
    assert (out / "spine.png" / "overview.png").is_file()
    assert json.loads((out / "spine.png" / "result.json").read_text())["status"] == "not_assessable"
    assert (out / "broken.dcm" / "result.json").is_file()


def test_screen_facing_option_reaches_result(
    screening_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, _ = spine_image()
    png = tmp_path / "spine.png"
    Image.fromarray(image).save(png)

    status = main(["screen", str(png), "--bundle", str(screening_bundle), "--facing", "right"])
    geometry = _lines(capsys.readouterr().out)[0]["cam_region_geometry"]

    assert status == 0
    assert geometry["anterior_side"] == "right"
    assert geometry["anterior_side_source"] == "stated"


def test_screen_reports_invalid_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["screen", "x.png", "--bundle", str(tmp_path / "absent")])

    assert status == 2
    assert _lines(capsys.readouterr().out)[0]["error"]["code"] == "bundle_error"


def test_screen_reports_unknown_device(screening_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["screen", "x.png", "--bundle", str(screening_bundle), "--device", "tpu"])

    assert status == 2
    assert _lines(capsys.readouterr().out)[0]["error"]["code"] == "device_error"


def test_bundle_verify_accepts_intact_bundle(
    screening_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["bundle", "verify", str(screening_bundle)])
    report = json.loads(capsys.readouterr().out)

    assert status == 0
    assert report["valid"] is True
    assert set(report["files"]) == {"detector.pt", "resnet50.pt", "densenet161.pt", "resnext50_32x4d.pt"}


def test_bundle_verify_rejects_tampered_file(
    screening_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "bundle"
    copy.mkdir()
    for source in screening_bundle.iterdir():
        if source.name == "detector.pt":
            data = bytearray(source.read_bytes())
            data[-1] ^= 0x01
            (copy / source.name).write_bytes(bytes(data))
        elif source.name == "manifest.json":
            shutil.copy(source, copy / source.name)
        else:
            (copy / source.name).symlink_to(source)

    status = main(["bundle", "verify", str(copy)])
    report = json.loads(capsys.readouterr().out)

    assert status == 1
    assert report["valid"] is False
    assert report["error"]["code"] == "bundle_integrity"
    assert "detector.pt" in report["error"]["message_en"]


def test_bundle_show_prints_manifest(screening_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["bundle", "show", str(screening_bundle)])
    manifest = json.loads(capsys.readouterr().out)

    assert status == 0
    assert manifest["name"] == "screening-test"
    assert [c["architecture"] for c in manifest["classifiers"]] == [
        "resnet50",
        "densenet161",
        "resnext50_32x4d",
    ]
    assert manifest["thresholds"]["fresh"] == 0.3


def test_bundle_show_reports_missing_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["bundle", "show", str(tmp_path)])

    assert status == 1
    assert "manifest.json" in json.loads(capsys.readouterr().out)["error"]["message_en"]
