"""Quantitative Grad-CAM analysis: where the ensemble looks, by reference class.

For every labelled lumbar vertebra the crop is cut at the reference box, and
each classifier's Grad-CAM map is computed for its own predicted class. The
ensemble map (the scaled mean of the three) is divided into the regions of
``inference.regions``: anterior and posterior wall, superior and inferior
endplate, centre and outside. For each region the shares of the three reference
classes are compared with a Kruskal-Wallis H test, and the mean ensemble map
of each class is drawn.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import kruskal  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from inference.bundle import verify_bundle  # noqa: E402
from inference.classification import load_classifier, to_tensor_batch  # noqa: E402
from inference.crops import crop_window, model_crop  # noqa: E402
from inference.evaluation.report import write_json  # noqa: E402
from inference.gradcam import FeatureRecorder, classifier_weight, ensemble_map, gradcam_maps  # noqa: E402
from inference.orientation import maps_to_image_view  # noqa: E402
from inference.regions import region_shares  # noqa: E402
from inference.result import CAM_REGIONS, CLASSES, LUMBAR_LEVELS  # noqa: E402
from inference.training.data import LabelledImage, read_images  # noqa: E402

logger = logging.getLogger(__name__)

BATCH = 32


@dataclass(frozen=True)
class CamCases:
    """Ensemble Grad-CAM results of labelled vertebrae.

    ``shares`` is (N, len(CAM_REGIONS)) in ``CAM_REGIONS`` order, ``maps`` is
    (N, S, S) in 0..1 with the anterior side on the left (as the models see
    the crops, so that class means overlay), and ``labels`` the reference
    class index of each row.
    """

    labels: np.ndarray
    shares: np.ndarray
    maps: np.ndarray


def compute_cam_cases(
    bundle_dir: Path,
    images: Sequence[LabelledImage],
    *,
    device: str = "cpu",
    renderings: Mapping[str, np.ndarray] | None = None,
    progress: bool = True,
) -> CamCases:
    """Compute the ensemble map and its region shares for every labelled L1 to L5 vertebra of ``images``."""
    manifest = verify_bundle(bundle_dir)
    if renderings is None:
        images, renderings = read_images(images, progress=progress)
    rows = [
        (image, level)
        for image in images
        for level in LUMBAR_LEVELS
        if level in image.boxes and level in image.classes
    ]
    if not rows:
        raise ValueError("the labelled images contain no L1 to L5 vertebra with a box and a class")
    size = max(spec.input_size for spec in manifest.classifiers)
    margin = manifest.crop.margin

    per_model_maps = []
    for spec in tqdm(manifest.classifiers, desc="Grad-CAM", unit="model", disable=not progress, leave=False):
        model = load_classifier(
            str(Path(bundle_dir) / spec.file), spec, num_classes=len(CLASSES), device=device
        )
        weight = classifier_weight(model, spec.architecture)
        maps = []
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            crops = [
                model_crop(renderings[image.image_id], image.boxes[level], margin, spec.input_size, image.anterior_side)
                for image, level in chunk
            ]
            batch = to_tensor_batch(crops, spec).to(device)
            with torch.inference_mode(), FeatureRecorder(model, spec.architecture) as recorder:
                predicted = model(batch).argmax(dim=1).cpu().tolist()
                maps.append(gradcam_maps(recorder.features, weight, predicted, size))
        per_model_maps.append(np.concatenate(maps))

    ensemble = np.stack(
        [ensemble_map([maps[index] for maps in per_model_maps]) for index in range(len(rows))]
    )
    shares = np.array(
        [
            [
                region_shares(
                    # Regions are laid out on the image, so the map goes back to the image's orientation.
                    maps_to_image_view(ensemble[index][None], image.anterior_side)[0],
                    crop_window(image.boxes[level], margin).box_in_crop(image.boxes[level], size),
                    anterior_side=image.anterior_side,
                )[name]
                for name in CAM_REGIONS
            ]
            for index, (image, level) in enumerate(rows)
        ]
    )
    labels = np.array([CLASSES.index(image.classes[level]) for image, level in rows], dtype=np.int64)
    return CamCases(labels=labels, shares=shares, maps=ensemble)


def region_statistics(cases: CamCases) -> dict[str, Any]:
    """Return per region the mean and median share of each class and the Kruskal-Wallis test across classes.

    The test needs at least two classes with two or more vertebrae each;
    otherwise its statistic and p-value are None. A region whose shares are
    identical in every vertebra has no test either (scipy raises for it).
    """
    table: dict[str, Any] = {}
    for column, region in enumerate(CAM_REGIONS):
        groups = {name: cases.shares[cases.labels == index, column] for index, name in enumerate(CLASSES)}
        usable = [values for values in groups.values() if len(values) >= 2]
        statistic: float | None = None
        p_value: float | None = None
        if len(usable) >= 2:
            try:
                result = kruskal(*usable)
                if math.isfinite(result.statistic):
                    statistic, p_value = float(result.statistic), float(result.pvalue)
            except ValueError:
                logger.info("Kruskal-Wallis test skipped for region %s: all shares are equal", region)
        table[region] = {
            "by_class": {
                name: {
                    "count": len(values),
                    "mean": float(np.mean(values)) if len(values) else None,
                    "median": float(np.median(values)) if len(values) else None,
                }
                for name, values in groups.items()
            },
            "kruskal_h": statistic,
            "p_value": p_value,
        }
    return table


def markdown_table(statistics: Mapping[str, Any]) -> str:
    """Return the region table: mean share per class and the Kruskal-Wallis p-value."""
    lines = [
        "## Grad-CAM region shares by reference class",
        "",
        "Mean share of the ensemble Grad-CAM mass per region; Kruskal-Wallis H test across the classes.",
        "",
        "| region | " + " | ".join(f"{name} (n)" for name in CLASSES) + " | H | p |",
        "|---" * (len(CLASSES) + 3) + "|",
    ]
    for region, row in statistics.items():
        cells = []
        for name in CLASSES:
            block = row["by_class"][name]
            cells.append("n/a" if block["mean"] is None else f"{block['mean']:.3f} ({block['count']})")
        h = "n/a" if row["kruskal_h"] is None else f"{row['kruskal_h']:.2f}"
        p = "n/a" if row["p_value"] is None else f"{row['p_value']:.3g}"
        lines.append(f"| {region} | " + " | ".join(cells) + f" | {h} | {p} |")
    return "\n".join(lines) + "\n"


def plot_cam_analysis(cases: CamCases, statistics: Mapping[str, Any], path: Path) -> Path:
    """Draw the mean ensemble map per class and the mean region shares per class into one PNG."""
    figure, axes = plt.subplots(1, len(CLASSES) + 1, figsize=(4 * (len(CLASSES) + 1), 3.8), dpi=110)
    for index, name in enumerate(CLASSES):
        axis = axes[index]
        members = cases.maps[cases.labels == index]
        if len(members):
            axis.imshow(members.mean(axis=0), cmap="jet", vmin=0, vmax=1)
        axis.set_title(f"mean map: {name} (n={len(members)})")
        axis.axis("off")
    axis = axes[-1]
    positions = np.arange(len(CAM_REGIONS))
    width = 0.8 / len(CLASSES)
    for index, name in enumerate(CLASSES):
        means = [statistics[region]["by_class"][name]["mean"] or 0.0 for region in CAM_REGIONS]
        axis.bar(positions + index * width, means, width, label=name)
    axis.set_xticks(positions + width, [region.replace("_", "\n") for region in CAM_REGIONS], fontsize=7)
    axis.set_ylabel("mean share of CAM mass")
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def run_cam_analysis(
    bundle_dir: Path,
    images: Sequence[LabelledImage],
    out_dir: Path,
    *,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the analysis and write ``cam-analysis.json``, ``cam-analysis.md`` and ``cam-analysis.png``."""
    cases = compute_cam_cases(bundle_dir, images, device=device, progress=progress)
    statistics = region_statistics(cases)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"vertebrae": int(len(cases.labels)), "regions": statistics, "crop_boxes": "reference boxes"}
    write_json(report, out_dir / "cam-analysis.json")
    (out_dir / "cam-analysis.md").write_text(markdown_table(statistics), encoding="utf-8")
    plot_cam_analysis(cases, statistics, out_dir / "cam-analysis.png")
    return report
