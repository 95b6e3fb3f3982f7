"""Grad-CAM region statistics on made-up shares, and the analysis on the tiny bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inference.demo import PROFILES
from inference.evaluation.cam_analysis import CamCases, region_statistics, run_cam_analysis
from inference.phantoms import generate_dataset
from inference.result import CAM_REGIONS
from inference.training.data import load_labelled_images


def _cases(shift: float) -> CamCases:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    shares = rng.dirichlet(np.ones(len(CAM_REGIONS)), size=60)
    shares[:, 0] += shift * labels  # the anterior wall share grows with the class index
    shares /= shares.sum(axis=1, keepdims=True)
    return CamCases(labels=labels, shares=shares, maps=np.zeros((60, 4, 4)))


def test_kruskal_wallis_finds_shifted_region() -> None:
    statistics = region_statistics(_cases(shift=1.0))

    assert statistics["anterior_wall"]["p_value"] < 0.001
    assert (
        statistics["anterior_wall"]["by_class"]["fresh"]["mean"]
        > statistics["anterior_wall"]["by_class"]["normal"]["mean"]
    )


def test_kruskal_wallis_skips_class_with_one_vertebra() -> None:
    cases = _cases(shift=0.0)
    labels = cases.labels.copy()
    labels[labels == 2] = 0
    labels[0] = 2  # one fresh vertebra only
    statistics = region_statistics(CamCases(labels, cases.shares, cases.maps))

    # Normal and old still have enough vertebrae for the test.
    assert statistics["centre"]["p_value"] is not None
    assert statistics["centre"]["by_class"]["fresh"]["count"] == 1


def test_cam_analysis_writes_table_and_figure(tiny_bundle: Path, tmp_path: Path) -> None:
    generate_dataset(
        tmp_path / "data", patients=2, seed=77, images_per_patient=(1, 1), **PROFILES["tiny"].phantom_settings
    )

    report = run_cam_analysis(
        tiny_bundle, load_labelled_images(tmp_path / "data"), tmp_path / "out", progress=False
    )

    assert report["vertebrae"] == 10
    for region in CAM_REGIONS:
        means = [
            row["mean"] for row in report["regions"][region]["by_class"].values() if row["mean"] is not None
        ]
        assert all(0.0 <= mean <= 1.0 for mean in means)
    assert json.loads((tmp_path / "out" / "cam-analysis.json").read_text())["vertebrae"] == 10
    assert (tmp_path / "out" / "cam-analysis.png").stat().st_size > 0
    assert "Kruskal-Wallis" in (tmp_path / "out" / "cam-analysis.md").read_text()


def test_evaluate_command_on_phantom_folder(tiny_bundle: Path, tmp_path: Path) -> None:
    from inference.cli import main

    generate_dataset(
        tmp_path / "data", patients=3, seed=78, images_per_patient=(1, 1), **PROFILES["tiny"].phantom_settings
    )

    status = main(
        [
            "evaluate",
            "--bundle",
            str(tiny_bundle),
            "--data",
            str(tmp_path / "data"),
            "--split",
            "all",
            "--out",
            str(tmp_path / "out"),
            "--resamples",
            "20",
            "--device",
            "cpu",
        ]
    )

    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert status == 0
    assert report["detection"]["images"] == 3
    assert report["classification"]["cases"] == 15
    assert set(report["detection"]["per_level"]) == {"L1", "L2", "L3", "L4", "L5"}
    assert (tmp_path / "out" / "evaluation-confusion.png").is_file()
