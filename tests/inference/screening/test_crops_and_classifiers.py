"""Vertebra crops and the classifier input batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference.bundle import ClassifierSpec
from inference.classification import ARCHITECTURES, build_classifier, load_classifier, to_tensor_batch
from inference.crops import crop_square, crop_window
from inference.errors import BundleError
from inference.result import Box


def test_crop_window_is_square_around_box_with_margin() -> None:
    window = crop_window(Box(100, 200, 140, 220), margin=0.25)

    assert window.side == 60  # 40 px longer side plus 2 x 25 %
    assert window.x0 == 90
    assert window.y0 == 180


def test_crop_square_copies_pixels_at_native_size() -> None:
    rendering = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100).astype(np.uint8)

    crop = crop_square(rendering, Box(10, 20, 30, 40), margin=0.0, size=20)

    np.testing.assert_array_equal(crop, rendering[20:40, 10:30])


def test_crop_square_pads_outside_image_with_black() -> None:
    rendering = np.full((50, 50), 200, dtype=np.uint8)

    crop = crop_square(rendering, Box(0, 0, 20, 20), margin=0.5, size=40)

    assert crop.shape == (40, 40)
    assert crop.dtype == np.uint8
    assert crop[:10, :].max() == 0  # the window starts 10 px above and left of the image
    assert crop[:, :10].max() == 0
    np.testing.assert_array_equal(crop[10:, 10:], 200)


def test_crop_square_resizes_to_requested_size() -> None:
    rendering = np.zeros((300, 300), dtype=np.uint8)
    rendering[100:200, 100:200] = 255

    crop = crop_square(rendering, Box(100, 100, 200, 200), margin=0.0, size=32)

    assert crop.shape == (32, 32)
    assert crop[4:28, 4:28].min() == 255


@pytest.mark.parametrize(
    ("rendering", "box", "margin", "size"),
    [
        (np.zeros((10, 10), dtype=np.float32), Box(0, 0, 5, 5), 0.1, 8),
        (np.zeros((10, 10, 3), dtype=np.uint8), Box(0, 0, 5, 5), 0.1, 8),
        (np.zeros((10, 10), dtype=np.uint8), Box(5, 5, 5, 8), 0.1, 8),
        (np.zeros((10, 10), dtype=np.uint8), Box(0, 0, 5, 5), -0.1, 8),
        (np.zeros((10, 10), dtype=np.uint8), Box(0, 0, 5, 5), 0.1, 0),
    ],
)
def test_crop_square_rejects_invalid_input(rendering: np.ndarray, box: Box, margin: float, size: int) -> None:
    with pytest.raises(ValueError):
        crop_square(rendering, box, margin, size)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_build_classifier_has_three_outputs(architecture: str) -> None:
    model = build_classifier(architecture, num_classes=3).eval()

    with torch.inference_mode():
        logits = model(torch.zeros(2, 3, 64, 64))

    assert logits.shape == (2, 3)


def test_build_classifier_rejects_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="vgg16"):
        build_classifier("vgg16")


def test_to_tensor_batch_normalises_per_channel() -> None:
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 4, (0.5, 0.4, 0.3), (0.25, 0.5, 1.0))
    crops = [np.full((4, 4), 255, dtype=np.uint8), np.zeros((4, 4), dtype=np.uint8)]

    batch = to_tensor_batch(crops, spec)

    assert batch.shape == (2, 3, 4, 4)
    assert batch.dtype == torch.float32
    assert batch[0, :, 0, 0].tolist() == pytest.approx([2.0, 1.2, 0.7])
    assert batch[1, :, 0, 0].tolist() == pytest.approx([-2.0, -0.8, -0.3])


def test_to_tensor_batch_rejects_wrong_crop_size() -> None:
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 8, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))

    with pytest.raises(ValueError, match="shape"):
        to_tensor_batch([np.zeros((4, 4), dtype=np.uint8)], spec)


def test_load_classifier_restores_saved_weights(tmp_path: Path) -> None:
    torch.manual_seed(11)
    original = build_classifier("resnet50").eval()
    torch.save(original.state_dict(), tmp_path / "resnet50.pt")
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 64, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))

    loaded = load_classifier(str(tmp_path / "resnet50.pt"), spec, num_classes=3)

    assert not loaded.training
    assert all(not p.requires_grad for p in loaded.parameters())
    batch = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(batch), original(batch))


def test_load_classifier_rejects_other_architecture(tmp_path: Path) -> None:
    torch.save(build_classifier("resnext50_32x4d").state_dict(), tmp_path / "resnet50.pt")
    spec = ClassifierSpec("resnet50", "resnet50.pt", "", 64, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))

    with pytest.raises(BundleError, match="does not fit resnet50"):
        load_classifier(str(tmp_path / "resnet50.pt"), spec, num_classes=3)
