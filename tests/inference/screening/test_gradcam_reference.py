"""Forward-pass Grad-CAM against the pytorch-grad-cam reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from inference.classification import ARCHITECTURES, build_classifier
from inference.crops import CropWindow
from inference.gradcam import FeatureRecorder, classifier_weight, ensemble_map, gradcam_maps, paste_into_image

CROP_SIZE = 64
TARGET_CLASSES = [0, 1, 2, 2, 0]


class _DenseNetWithReluModule(nn.Module):
    """DenseNet-161 sharing the weights of ``model``, with the final ReLU as a module pytorch-grad-cam can hook."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.features = model.features
        self.final_relu = nn.ReLU()
        self.classifier = model.classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.final_relu(self.features(x))
        out = torch.flatten(nn.functional.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def _reference(model: nn.Module, architecture: str, batch: torch.Tensor, classes: list[int]) -> np.ndarray:
    if architecture == "densenet161":
        wrapped = _DenseNetWithReluModule(model).eval()
        layer: nn.Module = wrapped.final_relu
    else:
        wrapped = model
        layer = model.layer4
    with GradCAM(model=wrapped, target_layers=[layer]) as cam:
        return cam(input_tensor=batch, targets=[ClassifierOutputTarget(c) for c in classes])


@pytest.fixture(scope="module")
def crops_batch() -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    return torch.randn(len(TARGET_CLASSES), 3, CROP_SIZE, CROP_SIZE, generator=generator)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_gradcam_matches_pytorch_grad_cam(architecture: str, crops_batch: torch.Tensor) -> None:
    torch.manual_seed(3)
    model = build_classifier(architecture).eval()

    with FeatureRecorder(model, architecture) as recorder, torch.inference_mode():
        model(crops_batch)
        fast = gradcam_maps(recorder.features, classifier_weight(model, architecture), TARGET_CLASSES, CROP_SIZE)
    reference = _reference(model, architecture, crops_batch, TARGET_CLASSES)

    assert fast.shape == reference.shape == (len(TARGET_CLASSES), CROP_SIZE, CROP_SIZE)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-4)
    assert fast.max() > 0.99  # the maps are not trivially all zero


def test_gradcam_maps_differ_between_classes(crops_batch: torch.Tensor) -> None:
    torch.manual_seed(3)
    model = build_classifier("resnet50").eval()

    with FeatureRecorder(model, "resnet50") as recorder, torch.inference_mode():
        model(crops_batch[:1])
        weight = classifier_weight(model, "resnet50")
        maps = [gradcam_maps(recorder.features, weight, [c], CROP_SIZE)[0] for c in range(3)]

    assert not np.allclose(maps[0], maps[1])
    assert not np.allclose(maps[1], maps[2])


def test_feature_recorder_removes_hook_on_exit() -> None:
    model = build_classifier("resnet50").eval()

    with pytest.raises(KeyError), FeatureRecorder(model, "resnet50"):
        assert len(model.layer4._forward_hooks) == 1
        raise KeyError("leave the block with an error")

    assert len(model.layer4._forward_hooks) == 0


def test_feature_recorder_rejects_read_before_forward() -> None:
    model = build_classifier("resnet50").eval()

    with FeatureRecorder(model, "resnet50") as recorder, pytest.raises(RuntimeError, match="no forward pass"):
        _ = recorder.features


def test_ensemble_map_is_scaled_mean() -> None:
    first = np.array([[0.0, 1.0], [0.5, 0.0]], dtype=np.float32)
    second = np.array([[0.0, 0.0], [0.5, 1.0]], dtype=np.float32)

    combined = ensemble_map([first, second])

    np.testing.assert_allclose(combined, [[0.0, 1.0], [1.0, 1.0]], atol=1e-6)


def test_paste_into_image_clips_window_and_keeps_maximum() -> None:
    canvas = np.zeros((10, 10), dtype=np.float32)
    canvas[0, 0] = 0.9

    paste_into_image(canvas, np.full((4, 4), 0.5, dtype=np.float32), CropWindow(x0=-2, y0=-2, side=6))

    assert canvas[0, 0] == pytest.approx(0.9)
    assert canvas[3, 3] == pytest.approx(0.5)
    assert canvas[4, 4] == 0.0
