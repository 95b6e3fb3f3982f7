"""Grad-CAM maps computed from the forward pass, without a backward pass.

For a network that ends in global average pooling and a linear layer, the
logit of class c is ``b_c + sum_k W[c, k] * mean_ij A[k, i, j]``, where A is
the output of the last feature layer. Its gradient with respect to
``A[k, i, j]`` is ``W[c, k] / (h * w)`` everywhere, so the Grad-CAM channel
weights are the classifier row divided by ``h * w`` and the map is
``ReLU(sum_k W[c, k] * A[k] / (h * w))``. The feature layer is:

- resnet50, resnext50_32x4d: the output of ``layer4``.
- densenet161: the output of ``features`` after the final ReLU, which
  torchvision's ``DenseNet.forward`` applies as a function (in place) before
  pooling. The gradient with respect to the ReLU output is again the classifier
  row over ``h * w``.

Post-processing reproduces pytorch-grad-cam 1.5.7 exactly, so the maps can be
compared with it: ReLU, per-map min-max scaling with ``1e-7`` added to the
maximum, ``cv2.resize`` (bilinear) to the crop size, then a second min-max
scaling. Maps are float32 in 0..1, shape (N, S, S) for S x S crops.

NOTE: pytorch-grad-cam with target layer ``densenet.features[-1]`` on CPU does
not compute the map of that layer. Its stored activation shares memory with the
tensor torchvision then changes with the in-place ReLU, so the result mixes the
ReLU output with gradients masked by the ReLU. The tests therefore compare
densenet161 maps with pytorch-grad-cam on a copy whose final ReLU is a module.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import cv2
import numpy as np
import torch
from torch import nn

from inference.crops import CropWindow

# The constant pytorch-grad-cam adds to the maximum when it scales a map to 0..1.
SCALE_EPSILON = 1e-7


def feature_layer(model: nn.Module, architecture: str) -> nn.Module:
    """Return the module whose output is the Grad-CAM feature map of ``architecture``."""
    name = {"resnet50": "layer4", "resnext50_32x4d": "layer4", "densenet161": "features"}.get(architecture)
    if name is not None:
        return model.get_submodule(name)
    raise ValueError(f"no Grad-CAM feature layer is defined for architecture {architecture!r}")


def classifier_weight(model: nn.Module, architecture: str) -> torch.Tensor:
    """Return the final linear layer's weight, shape (num_classes, channels)."""
    name = {"resnet50": "fc", "resnext50_32x4d": "fc", "densenet161": "classifier"}.get(architecture)
    if name is not None:
        return model.get_parameter(f"{name}.weight")
    raise ValueError(f"no classifier layer is defined for architecture {architecture!r}")


class FeatureRecorder:
    """Context manager that records the Grad-CAM feature map of every forward pass.

    The forward hook is registered on enter and removed on exit, also when the
    block raises. ``features`` is the map of the last forward pass, shape
    (N, C, h, w), with the final ReLU applied for densenet161.
    """

    def __init__(self, model: nn.Module, architecture: str) -> None:
        self.architecture = architecture
        self._layer = feature_layer(model, architecture)
        self._handle: torch.utils.hooks.RemovableHandle | None = None
        self._output: torch.Tensor | None = None

    def __enter__(self) -> FeatureRecorder:
        self._handle = self._layer.register_forward_hook(self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _record(self, module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        self._output = output

    @property
    def features(self) -> torch.Tensor:
        """Return the recorded feature map; raise RuntimeError before the first forward pass."""
        if self._output is None:
            raise RuntimeError("no forward pass was recorded; run the model inside the FeatureRecorder block")
        if self.architecture == "densenet161":
            # torchvision applies this ReLU in place, so the stored tensor may already be rectified;
            # applying it again changes nothing.
            return torch.relu(self._output)
        return self._output


def scale_maps(maps: np.ndarray, size: int | None) -> np.ndarray:
    """Scale each map of (N, h, w) to 0..1 and resize it to (size, size), as pytorch-grad-cam does.

    Returns float32 (N, size, size), or (N, h, w) when ``size`` is None.
    """
    if len(maps) == 0:
        raise ValueError("scale_maps needs at least one map")
    scaled = []
    for cam in maps:
        shifted = cam - np.min(cam)
        unit = (shifted / (SCALE_EPSILON + np.max(shifted))).astype(np.float32)
        scaled.append(unit if size is None else cv2.resize(unit, (size, size)))
    return np.stack(scaled).astype(np.float32, copy=False)


def gradcam_maps(features: torch.Tensor, weight: torch.Tensor, classes: Sequence[int], size: int) -> np.ndarray:
    """Compute one Grad-CAM map per crop, for the class given per crop.

    ``features`` is (N, C, h, w) from ``FeatureRecorder``; ``weight`` is the
    classifier weight (num_classes, C); ``classes`` has N class indices.
    Returns float32 (N, size, size) in 0..1. Computed in float64.
    """
    if features.ndim != 4:
        raise ValueError(f"features must be (N, C, h, w), got shape {tuple(features.shape)}")
    if len(classes) != features.shape[0]:
        raise ValueError(f"need one class per crop: {len(classes)} classes for {features.shape[0]} crops")
    height, width = int(features.shape[2]), int(features.shape[3])
    index = torch.as_tensor(list(classes), dtype=torch.long, device=weight.device)
    rows = weight.detach()[index].to(torch.float64)  # (N, C)
    weighted = torch.einsum("nc,nchw->nhw", rows, features.detach().to(torch.float64)) / (height * width)
    first = scale_maps(torch.relu(weighted).cpu().numpy(), size)
    # pytorch-grad-cam scales once per layer and once more after averaging over layers.
    return scale_maps(first.astype(np.float64), None)


def ensemble_map(maps: Sequence[np.ndarray]) -> np.ndarray:
    """Average equally shaped per-model maps and scale the mean to 0..1 (float32)."""
    if not maps:
        raise ValueError("ensemble_map needs at least one map")
    mean = np.mean(np.stack([np.asarray(m, dtype=np.float64) for m in maps]), axis=0)
    return scale_maps(mean[None], None)[0]


def paste_into_image(canvas: np.ndarray, cam: np.ndarray, window: CropWindow) -> None:
    """Resize a crop map to its window and write it into ``canvas`` (H, W) float32, keeping the maximum.

    Parts of the window outside the image are dropped. Where windows of
    neighbouring vertebrae overlap, the larger value wins.
    """
    resized = cv2.resize(np.asarray(cam, dtype=np.float32), (window.side, window.side))
    rows, columns = canvas.shape
    x_start, y_start = max(window.x0, 0), max(window.y0, 0)
    x_stop, y_stop = min(window.x0 + window.side, columns), min(window.y0 + window.side, rows)
    if x_start >= x_stop or y_start >= y_stop:
        return
    part = resized[y_start - window.y0 : y_stop - window.y0, x_start - window.x0 : x_stop - window.x0]
    np.maximum(canvas[y_start:y_stop, x_start:x_stop], part, out=canvas[y_start:y_stop, x_start:x_stop])
