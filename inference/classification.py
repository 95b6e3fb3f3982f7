"""The three vertebra classifiers: building them and turning crops into their input.

Every classifier is a torchvision model with random initialisation and a final
layer of ``num_classes`` outputs, in the class order of ``inference.result.CLASSES``.
Weight files are ``torch.save(model.state_dict())`` of ``build_classifier``.
Nothing here downloads weights.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torchvision import models as tv_models

from inference.bundle import SUPPORTED_ARCHITECTURES, ClassifierSpec
from inference.errors import BundleError

ARCHITECTURES: tuple[str, ...] = SUPPORTED_ARCHITECTURES

_BUILDERS = {
    "resnet50": tv_models.resnet50,
    "densenet161": tv_models.densenet161,
    "resnext50_32x4d": tv_models.resnext50_32x4d,
}


def build_classifier(architecture: str, num_classes: int = 3) -> nn.Module:
    """Build a randomly initialised torchvision ``architecture`` with ``num_classes`` outputs.

    Raises ValueError for an architecture outside ``ARCHITECTURES``.
    """
    if architecture not in _BUILDERS:
        raise ValueError(f"unknown classifier architecture {architecture!r}; expected one of {list(ARCHITECTURES)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    # weights=None: random initialisation, so torchvision never tries to download.
    return _BUILDERS[architecture](weights=None, num_classes=num_classes)


def to_tensor_batch(crops: Sequence[np.ndarray], spec: ClassifierSpec) -> torch.Tensor:
    """Stack uint8 crops into the normalised input batch of one classifier.

    Each crop is (S, S) uint8 with S = ``spec.input_size``. Returns a float32
    tensor of shape (N, 3, S, S): pixel / 255 on three equal channels, minus
    ``spec.mean`` and divided by ``spec.std`` per channel. Raises ValueError for
    an empty list or a crop of another shape or type.
    """
    if len(crops) == 0:
        raise ValueError("to_tensor_batch needs at least one crop")
    size = spec.input_size
    for index, crop in enumerate(crops):
        if crop.dtype != np.uint8 or crop.shape != (size, size):
            raise ValueError(
                f"crop {index} must be uint8 of shape ({size}, {size}) for {spec.architecture}, "
                f"got {crop.dtype} {crop.shape}"
            )
    gray = torch.from_numpy(np.stack(crops)).to(torch.float32).div_(255.0)  # (N, S, S)
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
    return (gray.unsqueeze(1).expand(-1, 3, -1, -1) - mean) / std


def load_classifier(path: str, spec: ClassifierSpec, *, num_classes: int, device: torch.device | str = "cpu") -> nn.Module:
    """Build ``spec.architecture``, load its state dict from ``path`` and return it in ``eval()`` mode.

    The file is read with ``weights_only=True``, so it cannot run code. The
    model is built on the meta device and takes the loaded tensors as its
    parameters, so the weights are held in memory once and no random
    initialisation runs. Raises BundleError when the file is not a state dict
    that fits the architecture.
    """
    with torch.device("meta"):
        model = build_classifier(spec.architecture, num_classes=num_classes)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, pickle.UnpicklingError, TypeError, AttributeError) as error:
        raise BundleError(
            f"The weight file {spec.file} does not fit {spec.architecture} with {num_classes} classes. "
            "Rebuild the bundle.",
            f"重みファイル {spec.file} が {spec.architecture} ({num_classes} クラス) と一致しません。"
            "バンドルを再作成してください。",
            detail=str(error)[:2000],
        ) from error
    # strict=True lists every missing key, so nothing can still be on the meta device; check anyway.
    assert not any(t.is_meta for t in (*model.parameters(), *model.buffers())), spec.architecture
    model.to(device)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model
