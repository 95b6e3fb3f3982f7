"""The command chain a clinic runs: train-detector, train-classifiers, calibrate, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

from inference.bundle import verify_bundle
from inference.cli import main
from inference.demo import PICO_YOLO_YAML
from inference.phantoms import generate_dataset


def test_commands_train_calibrate_and_evaluate_a_bundle(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bundle = tmp_path / "bundle"
    generate_dataset(
        data,
        patients=8,
        seed=5,
        images_per_patient=(1, 1),
        image_size=256,
        class_mix={"normal": 0.4, "old": 0.2, "fresh": 0.4},
    )
    split = ["--data", str(data), "--split-seed", "1", "--fractions", "0.5,0.25,0.25"]

    # Given one-epoch models, when the chain runs, then every command succeeds and writes its part.
    assert (
        main(
            [
                "train-detector",
                *split,
                "--out",
                str(bundle),
                "--model-yaml",
                PICO_YOLO_YAML,
                "--image-size",
                "64",
                "--epochs",
                "1",
                "--batch",
                "4",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train-classifiers",
                *split,
                "--out",
                str(bundle),
                "--architectures",
                "resnet50",
                "--input-size",
                "32",
                "--epochs",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "calibrate",
                *split,
                "--bundle",
                str(bundle),
                "--target-sensitivity",
                "0.9",
                "--name",
                "test-bundle",
                "--version",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                *split,
                "--bundle",
                str(bundle),
                "--out",
                str(tmp_path / "report"),
                "--resamples",
                "10",
                "--device",
                "cpu",
            ]
        )
        == 0
    )

    manifest = verify_bundle(bundle)
    assert manifest.name == "test-bundle"
    assert manifest.demo is False
    assert manifest.architectures == ("resnet50",)
    assert manifest.thresholds.target_sensitivity == 0.9
    assert manifest.training["calibration"]["sensitivity"] >= 0.9
    assert not (bundle / "detector-work").exists()
    assert (tmp_path / "bundle.detector-work").is_dir()
    report = json.loads((tmp_path / "report" / "evaluation.json").read_text())
    assert report["classification"]["cases"] > 0
