"""Training of the three vertebra classifiers on crops cut the way screening cuts them.

Crops come from ``inference.crops.model_crop`` on the 8-bit rendering of
``inference.imaging.load`` and are normalised by
``inference.classification.to_tensor_batch``, so screening feeds a trained
model the same input that it was trained on.

Augmentation suits lateral radiographs: a small jitter of the box (position
and size, as detector boxes vary), a small rotation, brightness, contrast and
gamma changes, and Gaussian noise. There is no vertical flip, which would swap
the superior and inferior endplates, and no horizontal flip, because every crop
is cut with the anterior side on the left (``inference.crops.model_crop``) and
the anterior wall is where fresh fractures show cortical buckling. Classes are balanced with a
weighted cross-entropy loss (inverse class frequency). Training stops early
when the balanced validation accuracy has not improved for ``patience``
epochs, and the weights of the best epoch are kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.transforms import functional as tf
from tqdm.auto import tqdm

from inference.bundle import ClassifierSpec
from inference.classification import build_classifier, load_classifier, to_tensor_batch
from inference.crops import model_crop
from inference.orientation import DEFAULT_ANTERIOR_SIDE, AnteriorSide
from inference.result import CLASSES, Box

logger = logging.getLogger(__name__)

DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class VertebraSample:
    """One labelled vertebra: the image it is on, its level, box in image pixels and class index."""

    image_id: str
    patient_id: str
    level: str
    box: Box
    label: int  # index into CLASSES
    anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE  # crops are mirrored when "right"


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random training augmentation (all symmetric around no change)."""

    box_shift: float = 0.05  # share of the box side
    box_scale: float = 0.10  # relative change of the box size
    rotation_degrees: float = 7.0
    brightness: float = 0.10  # added to 0..1 intensities
    contrast: float = 0.15  # relative change
    gamma: float = 0.20  # log-uniform between 1/(1+g) and 1+g
    noise_std: float = 0.02  # of the 0..1 intensity range


@dataclass(frozen=True)
class ClassifierTrainingConfig:
    """Settings of a classifier training run shared by all three architectures."""

    input_size: int = 64
    margin: float = 0.15
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 4
    device: str = "cpu"
    seed: int = 0
    mean: tuple[float, float, float] = DEFAULT_MEAN
    std: tuple[float, float, float] = DEFAULT_STD
    augmentation: Augmentation = field(default_factory=Augmentation)


@dataclass(frozen=True)
class ClassifierTrainingResult:
    """A trained classifier: its spec for the bundle (sha256 filled in later) and its training history."""

    spec: ClassifierSpec
    weights: Path
    best_epoch: int
    best_balanced_accuracy: float
    history: tuple[dict[str, float], ...]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """Return the figures that go into the bundle manifest."""
        return {
            "architecture": self.spec.architecture,
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            "validation_balanced_accuracy": self.best_balanced_accuracy,
            "seconds": round(self.seconds, 1),
        }


def cut_crops(
    samples: Sequence[VertebraSample], renderings: Mapping[str, np.ndarray], margin: float, size: int
) -> np.ndarray:
    """Cut the unaugmented crop of every sample; returns (N, size, size) uint8."""
    crops = [
        model_crop(renderings[sample.image_id], sample.box, margin, size, sample.anterior_side) for sample in samples
    ]
    return np.stack(crops) if crops else np.zeros((0, size, size), dtype=np.uint8)


def class_weights(labels: np.ndarray, n_classes: int = len(CLASSES)) -> torch.Tensor:
    """Return inverse-frequency weights normalised to mean 1; a class without samples gets weight 0."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0)
    present = weights > 0
    weights[present] /= weights[present].mean()
    return torch.tensor(weights, dtype=torch.float32)


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray, n_classes: int = len(CLASSES)) -> float:
    """Return the mean per-class recall over the classes present in ``labels``."""
    recalls = [float(np.mean(predictions[labels == c] == c)) for c in range(n_classes) if np.any(labels == c)]
    return float(np.mean(recalls)) if recalls else math.nan


def train_classifier(
    architecture: str,
    train_samples: Sequence[VertebraSample],
    val_samples: Sequence[VertebraSample],
    renderings: Mapping[str, np.ndarray],
    out_path: Path,
    config: ClassifierTrainingConfig = ClassifierTrainingConfig(),
    *,
    initial_weights: Path | None = None,
    progress: bool = True,
) -> ClassifierTrainingResult:
    """Train one architecture on the training crops and save the best state dict to ``out_path``.

    ``renderings`` maps image ids to (H, W) uint8 renderings. ``initial_weights``
    is an optional state dict of ``build_classifier(architecture, 3)`` to start
    from (read with ``weights_only=True``). Raises ValueError when either split
    is empty.
    """
    if not train_samples or not val_samples:
        raise ValueError(
            f"need training and validation vertebrae, got {len(train_samples)} and {len(val_samples)}"
        )
    started = time.monotonic()
    device = torch.device(config.device)
    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)

    spec = ClassifierSpec(
        architecture=architecture,
        file=out_path.name,
        sha256="",
        input_size=config.input_size,
        mean=config.mean,
        std=config.std,
    )
    model = build_classifier(architecture, num_classes=len(CLASSES))
    if initial_weights is not None:
        state = torch.load(initial_weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        logger.info("starting %s from %s", architecture, initial_weights)
    model.to(device)

    train_labels = np.array([sample.label for sample in train_samples], dtype=np.int64)
    val_labels = np.array([sample.label for sample in val_samples], dtype=np.int64)
    val_batch = to_tensor_batch(
        list(cut_crops(val_samples, renderings, config.margin, config.input_size)), spec
    )
    loss_function = nn.CrossEntropyLoss(weight=class_weights(train_labels).to(device))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_samples) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch, pct_start=0.2
    )

    best_score, best_epoch, best_state = -1.0, 0, None
    history: list[dict[str, float]] = []
    # One bar for the model, reset at each epoch, so that it counts the batches of the current epoch.
    bar = tqdm(total=steps_per_epoch, unit="batch", disable=not progress, leave=False)
    for epoch in range(1, config.epochs + 1):
        bar.reset(total=steps_per_epoch)
        bar.set_description(f"{architecture} epoch {epoch}/{config.epochs}")
        model.train()
        order = rng.permutation(len(train_samples))
        epoch_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            chosen = [train_samples[index] for index in order[start : start + config.batch_size]]
            if len(chosen) < 2:
                continue  # BatchNorm needs at least two samples in training mode
            inputs = _augmented_batch(chosen, renderings, spec, config, rng, generator).to(device)
            targets = torch.from_numpy(np.array([sample.label for sample in chosen], dtype=np.int64)).to(
                device
            )
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(inputs), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            epoch_loss += loss.item() * len(chosen)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            bar.update(1)
        probabilities = predict_probabilities(
            model, val_batch, device=device, batch_size=config.batch_size * 2
        )
        score = balanced_accuracy(val_labels, probabilities.argmax(axis=1))
        history.append(
            {"epoch": epoch, "train_loss": epoch_loss / len(order), "val_balanced_accuracy": score}
        )
        logger.info(
            "%s epoch %d: train loss %.4f, validation balanced accuracy %.3f",
            architecture,
            epoch,
            epoch_loss / len(order),
            score,
        )
        if score > best_score:
            best_score, best_epoch = score, epoch
            best_state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            logger.info("%s stopped early after epoch %d; best epoch %d", architecture, epoch, best_epoch)
            break
    bar.close()

    assert best_state is not None  # the first epoch always sets it
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(best_state, out_path)
    return ClassifierTrainingResult(
        spec=spec,
        weights=out_path,
        best_epoch=best_epoch,
        best_balanced_accuracy=best_score,
        history=tuple(history),
        seconds=time.monotonic() - started,
    )


def predict_probabilities(
    model: nn.Module, batch: torch.Tensor, *, device: torch.device | str = "cpu", batch_size: int = 64
) -> np.ndarray:
    """Return softmax probabilities (N, classes) of ``model`` on a normalised input batch, in eval mode."""
    model.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(batch), batch_size):
            logits = model(batch[start : start + batch_size].to(device))
            outputs.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, len(CLASSES)), dtype=np.float32)


def config_summary(config: ClassifierTrainingConfig) -> dict[str, Any]:
    """Return the training settings as JSON-compatible data for the manifest."""
    return asdict(config)


def _jittered_box(box: Box, augmentation: Augmentation, rng: np.random.Generator) -> Box:
    width, height = box.width, box.height
    scale = 1.0 + rng.uniform(-augmentation.box_scale, augmentation.box_scale)
    centre_x = (box.x1 + box.x2) / 2 + rng.uniform(-augmentation.box_shift, augmentation.box_shift) * width
    centre_y = (box.y1 + box.y2) / 2 + rng.uniform(-augmentation.box_shift, augmentation.box_shift) * height
    half_width, half_height = width * scale / 2, height * scale / 2
    return Box(centre_x - half_width, centre_y - half_height, centre_x + half_width, centre_y + half_height)


def _augmented_batch(
    samples: Sequence[VertebraSample],
    renderings: Mapping[str, np.ndarray],
    spec: ClassifierSpec,
    config: ClassifierTrainingConfig,
    rng: np.random.Generator,
    generator: torch.Generator,
) -> torch.Tensor:
    """Cut jittered crops and apply rotation and intensity changes; returns the normalised (N, 3, S, S) batch."""
    augmentation = config.augmentation
    crops = [
        model_crop(
            renderings[sample.image_id],
            _jittered_box(sample.box, augmentation, rng),
            config.margin,
            config.input_size,
            sample.anterior_side,
        )
        for sample in samples
    ]
    images = torch.from_numpy(np.stack(crops)).float().div_(255.0).unsqueeze(1)  # (N, 1, S, S), 0..1
    count = len(samples)
    angles = rng.uniform(-augmentation.rotation_degrees, augmentation.rotation_degrees, size=count)
    images = torch.stack(
        [
            tf.rotate(images[i], float(angles[i]), interpolation=tf.InterpolationMode.BILINEAR)
            for i in range(count)
        ]
    )

    shape = (count, 1, 1, 1)
    gamma = torch.exp(
        torch.empty(shape).uniform_(-1, 1, generator=generator) * math.log1p(augmentation.gamma)
    )
    contrast = 1.0 + torch.empty(shape).uniform_(
        -augmentation.contrast, augmentation.contrast, generator=generator
    )
    brightness = torch.empty(shape).uniform_(
        -augmentation.brightness, augmentation.brightness, generator=generator
    )
    images = images.clamp(0, 1).pow(gamma)
    images = (images - 0.5) * contrast + 0.5 + brightness
    images = images + torch.randn(images.shape, generator=generator) * augmentation.noise_std
    # Quantise back to 8 bit, as screening feeds 8-bit crops, then normalise like to_tensor_batch.
    as_uint8 = (images.clamp(0, 1) * 255.0).round().to(torch.uint8).squeeze(1).numpy()
    return to_tensor_batch(list(as_uint8), spec)


def ensemble_probabilities(
    models: Sequence[tuple[Path, ClassifierSpec]],
    samples: Sequence[VertebraSample],
    renderings: Mapping[str, np.ndarray],
    margin: float,
    device: str = "cpu",
) -> np.ndarray:
    """Return the mean softmax output (N, 3) of saved classifiers on the unaugmented crops of ``samples``."""
    outputs = []
    for path, spec in models:
        model = load_classifier(str(path), spec, num_classes=len(CLASSES), device=device)
        crops = list(cut_crops(samples, renderings, margin, spec.input_size))
        outputs.append(predict_probabilities(model, to_tensor_batch(crops, spec), device=device))
    return np.mean(outputs, axis=0)
