"""Pieces of training that need no trained model: YOLO labels, class weights, augmentation, CLI parsing."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.cli.train import fractions_argument
from inference.result import Box
from inference.training.classifiers import (
    ClassifierTrainingConfig,
    VertebraSample,
    _augmented_batch,
    balanced_accuracy,
    class_weights,
)
from inference.training.detector import DetectorImage, write_yolo_dataset


def test_yolo_labels_are_relative_centre_and_size(tmp_path: Path) -> None:
    rendering = np.zeros((200, 100), dtype=np.uint8)
    image = DetectorImage("a", rendering, {"L1": Box(10, 20, 30, 60), "C7": Box(0, 0, 5, 5)})

    data_yaml = write_yolo_dataset({"train": [image], "val": [image]}, tmp_path)

    line = (tmp_path / "labels" / "train" / "a.txt").read_text().split()
    # L1 is class 1; centre (20, 40) and size (20, 40) relative to 100 x 200. C7 is not a detector class.
    assert [float(value) for value in line] == pytest.approx([1, 0.2, 0.2, 0.2, 0.2])
    assert len((tmp_path / "labels" / "train" / "a.txt").read_text().splitlines()) == 1
    assert "  6: S1" in data_yaml.read_text()


def test_yolo_images_shrink_to_max_side(tmp_path: Path) -> None:
    from PIL import Image

    image = DetectorImage("a", np.zeros((400, 300), dtype=np.uint8), {"L1": Box(10, 20, 30, 60)})

    write_yolo_dataset({"train": [image], "val": [image]}, tmp_path, max_side=200)

    assert Image.open(tmp_path / "images" / "train" / "a.png").size == (150, 200)


def test_class_weights_are_inverse_frequency() -> None:
    weights = class_weights(np.array([0, 0, 0, 0, 1, 1, 2, 2]))

    # Counts 4, 2, 2: inverse 1/4, 1/2, 1/2, scaled to mean 1.
    assert weights.tolist() == pytest.approx([0.6, 1.2, 1.2])


def test_class_weights_zero_for_missing_class() -> None:
    weights = class_weights(np.array([0, 0, 1]))

    assert weights[2] == 0.0
    assert weights[:2].mean() == pytest.approx(1.0)


def test_balanced_accuracy_averages_class_recall() -> None:
    labels = np.array([0, 0, 0, 0, 1, 2])
    predictions = np.array([0, 0, 0, 0, 0, 2])

    assert balanced_accuracy(labels, predictions) == pytest.approx((1.0 + 0.0 + 1.0) / 3)


def test_augmented_batch_shape_and_no_vertical_flip() -> None:
    from inference.bundle import ClassifierSpec

    # Bright top half, dark bottom half: any vertical flip would make the bottom brighter.
    rendering = np.zeros((200, 200), dtype=np.uint8)
    rendering[:100] = 220
    samples = [VertebraSample("a", "p", "L1", Box(60, 60, 140, 140), 0)] * 8
    config = ClassifierTrainingConfig(input_size=32)
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 32, config.mean, config.std)

    batch = _augmented_batch(
        samples, {"a": rendering}, spec, config, np.random.default_rng(0), torch.Generator().manual_seed(0)
    )

    assert batch.shape == (8, 3, 32, 32)
    top = batch[:, 0, :12].mean(dim=(1, 2))
    bottom = batch[:, 0, -12:].mean(dim=(1, 2))
    assert bool(torch.all(top > bottom))


def test_augmented_batch_mirrors_patient_facing_right() -> None:
    from inference.bundle import ClassifierSpec

    # Bright right half: a patient facing right has the anterior wall there, and the model must see it on the left.
    rendering = np.zeros((200, 200), dtype=np.uint8)
    rendering[:, 100:] = 220
    samples = [VertebraSample("a", "p", "L1", Box(60, 60, 140, 140), 0, anterior_side="right")] * 4
    config = ClassifierTrainingConfig(input_size=32)
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 32, config.mean, config.std)

    batch = _augmented_batch(
        samples, {"a": rendering}, spec, config, np.random.default_rng(0), torch.Generator().manual_seed(0)
    )

    left = batch[:, 0, :, :12].mean(dim=(1, 2))
    right = batch[:, 0, :, -12:].mean(dim=(1, 2))
    assert bool(torch.all(left > right))


def test_vertebra_samples_take_side_from_label_facing(tmp_path: Path) -> None:
    from inference.training.data import LabelledImage, vertebra_samples

    image = LabelledImage(
        "a", "p", tmp_path / "a.png", {"L1": Box(1, 1, 9, 9)}, {"L1": "normal"}, facing="right", anterior_side="right"
    )

    samples = vertebra_samples([image])

    assert [sample.anterior_side for sample in samples] == ["right"]


def test_read_images_resolves_side_from_header(phantom_dicom: Path) -> None:
    from inference.training.data import LabelledImage, read_images

    stated = LabelledImage("a", "p", phantom_dicom, {}, {}, facing="right", anterior_side="right")
    unstated = LabelledImage("b", "p", phantom_dicom, {}, {})

    images, renderings = read_images([stated, unstated], progress=False)

    assert [image.anterior_side for image in images] == ["right", "left"]  # the label wins over P\F
    assert set(renderings) == {"a", "b"}


def test_fractions_argument_parses_and_rejects() -> None:
    assert fractions_argument("0.7,0.15,0.15") == pytest.approx((0.7, 0.15, 0.15))
    with pytest.raises(argparse.ArgumentTypeError, match="sum to 1"):
        fractions_argument("0.5,0.5,0.5")
    with pytest.raises(argparse.ArgumentTypeError, match="three numbers"):
        fractions_argument("a,b,c")


def test_detector_epoch_log_line(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    from types import SimpleNamespace

    from inference.training.detector import _log_epoch

    trainer = SimpleNamespace(epoch=4, epochs=50, epoch_time=3.2, metrics={"metrics/mAP50-95(B)": 0.4567})
    with caplog.at_level(logging.INFO, logger="inference.training.detector"):
        _log_epoch(trainer)

    assert caplog.messages == ["detector epoch 5/50: 3 s, validation mAP50-95 0.457"]
