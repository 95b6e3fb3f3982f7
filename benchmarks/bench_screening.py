"""Measure ``inference.pipeline.screen`` against the pure forward time of its four models.

Run: ``nice -n 10 python benchmarks/bench_screening.py [--threads 2] [--repeats 5]``.

The script builds a bundle of randomly initialised real architectures
(resnet50, densenet161, resnext50_32x4d at 224 px, and YOLOv8n at 640 px) in a
temporary folder and screens a 2,000 x 1,500 synthetic radiograph with five
vertebra blocks. An untrained detector finds no box, so the benchmark runs the
real YOLO predict call on every screen and then hands ``screen`` the five known
boxes. It measures, in the same process and interleaved to share the machine
load:

- end-to-end ``screen`` time over the pure forward time of the four models,
  with a target of at most 1.3. It times ``screen`` without overlays and
  separately with overlays. The pure forward time runs YOLO on its letterboxed
  input and each classifier on the batch of five crops;
- the forward-pass Grad-CAM of all three classifiers against their forward
  time (target at most 10 %) and against pytorch-grad-cam on the same model,
  layer, inputs and classes (target at least 10 times faster);
- the peak resident memory of a fresh process that loads the bundle and
  screens once (target at most 1.5 GB).

It prints a Markdown report with the machine and versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from inference.bundle import (  # noqa: E402
    BundleManifest,
    ClassifierSpec,
    CropSpec,
    DetectorSpec,
    ThresholdSpec,
    write_manifest,
)
from inference.classification import ARCHITECTURES, build_classifier, to_tensor_batch  # noqa: E402
from inference.crops import crop_square  # noqa: E402
from inference.detection import DetectionOutcome, Detector, check_detections, configure_ultralytics  # noqa: E402
from inference.gradcam import FeatureRecorder, classifier_weight, gradcam_maps  # noqa: E402
from inference.imaging.types import HeaderFacts, PixelSpacing, Provenance, Radiograph  # noqa: E402
from inference.pipeline import LoadedModels, load_models, screen  # noqa: E402
from inference.result import LUMBAR_LEVELS, Box, Detection  # noqa: E402

LEVEL_CLASSES = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
CLASSIFIER_INPUT = 224
DETECTOR_INPUT = 640
ROWS, COLUMNS = 2000, 1500
TARGET_RATIO = 1.3
TARGET_CAM_SHARE = 0.10
TARGET_CAM_SPEEDUP = 10.0
TARGET_PEAK_RSS_GB = 1.5


def build_bundle(out_dir: Path) -> Path:
    """Write a bundle of randomly initialised models at the production input sizes."""
    ultralytics = configure_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    detector = DetectionModel("yolov8n.yaml", nc=len(LEVEL_CLASSES), verbose=False)
    detector.names = dict(enumerate(LEVEL_CLASSES))
    torch.save(
        {
            "model": detector.half(),
            "ema": None,
            "train_args": {"task": "detect"},
            "version": ultralytics.__version__,
        },
        out_dir / "detector.pt",
    )
    specs = []
    for architecture in ARCHITECTURES:
        torch.save(build_classifier(architecture).state_dict(), out_dir / f"{architecture}.pt")
        specs.append(
            ClassifierSpec(architecture, f"{architecture}.pt", "", CLASSIFIER_INPUT, (0.5,) * 3, (0.25,) * 3)
        )
    manifest = BundleManifest(
        name="benchmark",
        version="0",
        demo=True,
        created_at="2026-12-04T00:00:00Z",
        detector=DetectorSpec("detector.pt", "", LEVEL_CLASSES, DETECTOR_INPUT, 0.25, 0.5),
        classifiers=tuple(specs),
        crop=CropSpec(0.15),
        thresholds=ThresholdSpec(0.3, "benchmark, not calibrated"),
    )
    write_manifest(out_dir, manifest)
    return out_dir


def synthetic_study(seed: int = 0) -> tuple[Radiograph, list[Detection]]:
    """Return a radiograph with five bright vertebra blocks and their boxes."""
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 60, size=(ROWS, COLUMNS), dtype=np.uint8)
    detections = []
    height, width, gap = 190, 260, 40
    for index, level in enumerate(LUMBAR_LEVELS):
        y1, x1 = 350 + index * (height + gap), 600
        image[y1 : y1 + height, x1 : x1 + width] = rng.integers(
            150, 220, size=(height, width), dtype=np.uint8
        )
        detections.append(Detection(level, Box(x1, y1, x1 + width, y1 + height), 0.9))
    radiograph = Radiograph(
        pixels=image.astype(np.float32) / 255.0,
        rendering=image,
        spacing=PixelSpacing(None, None, "unknown"),
        header=HeaderFacts(modality="DX", body_part_examined="LSPINE"),
        provenance=Provenance(file_type="png", decoder="synthetic", rows=ROWS, columns=COLUMNS),
    )
    return radiograph, detections


class PredictThenInject:
    """Run the real YOLO predict call, then return the known boxes (the detector is untrained)."""

    def __init__(self, detector: Detector, detections: list[Detection]) -> None:
        self.detector = detector
        self.detections = detections

    def detect(self, image: np.ndarray) -> DetectionOutcome:
        self.detector.predict_raw(image)
        return check_detections(self.detections)


def timed(function: Callable[..., object], *args: object, **kwargs: object) -> float:
    """Return the wall time in seconds of one call ``function(*args, **kwargs)``."""
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def forward_times(
    models: LoadedModels, radiograph: Radiograph, detections: list[Detection]
) -> dict[str, float]:
    """Time the pure forward pass of the detector and of each classifier on this study's inputs."""
    predictor = models.detector._model.predictor  # the letterboxing and fused model that predict uses
    stacked = np.repeat(radiograph.rendering[:, :, None], 3, axis=2)
    letterboxed = predictor.preprocess([stacked])
    times = {}
    with torch.inference_mode():
        times["detector"] = timed(predictor.model, letterboxed)
        for loaded in models.classifiers:
            crops = [
                crop_square(radiograph.rendering, d.box, models.manifest.crop.margin, loaded.spec.input_size)
                for d in detections
            ]
            batch = to_tensor_batch(crops, loaded.spec)
            times[loaded.spec.architecture] = timed(loaded.model, batch)
    times["input_shape"] = list(letterboxed.shape)  # type: ignore[assignment]
    return times


def cam_times(models: LoadedModels, radiograph: Radiograph, detections: list[Detection]) -> dict[str, float]:
    """Time forward-pass Grad-CAM and pytorch-grad-cam for the same models, inputs and classes."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from torch import nn

    fast = reference = forward = 0.0
    for loaded in models.classifiers:
        architecture = loaded.spec.architecture
        crops = [
            crop_square(radiograph.rendering, d.box, models.manifest.crop.margin, loaded.spec.input_size)
            for d in detections
        ]
        batch = to_tensor_batch(crops, loaded.spec)
        with FeatureRecorder(loaded.model, architecture) as recorder, torch.inference_mode():
            started = time.perf_counter()
            logits = loaded.model(batch)
            forward += time.perf_counter() - started
            classes = [int(c) for c in logits.argmax(dim=1)]
            weight = classifier_weight(loaded.model, architecture)
            # screen() makes two maps per crop and model: the model's class and the ensemble class.
            fast += timed(gradcam_maps, recorder.features, weight, classes, loaded.spec.input_size)
            fast += timed(gradcam_maps, recorder.features, weight, classes, loaded.spec.input_size)
        if architecture == "densenet161":
            model: nn.Module = _DenseNetWithReluModule(loaded.model)
            layer = model.final_relu
        else:
            model, layer = loaded.model, loaded.model.layer4
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        with GradCAM(model=model, target_layers=[layer]) as cam:
            targets = [ClassifierOutputTarget(c) for c in classes]
            # Two reference calls, the same work as the two fast maps above.
            reference += timed(cam, input_tensor=batch, targets=targets)
            reference += timed(cam, input_tensor=batch, targets=targets)
        for parameter in loaded.model.parameters():
            parameter.requires_grad_(False)
        loaded.model.zero_grad(set_to_none=True)
    return {"fast": fast, "reference": reference, "forward": forward}


class _DenseNetWithReluModule(torch.nn.Module):
    """DenseNet-161 sharing ``model``'s weights, with the final ReLU as a hookable module."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.features = model.features
        self.final_relu = torch.nn.ReLU()
        self.classifier = model.classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.adaptive_avg_pool2d(self.final_relu(self.features(x)), (1, 1))
        return self.classifier(torch.flatten(pooled, 1))


def measure_memory(bundle: Path, threads: int) -> None:
    """Load the bundle, screen once and print the peak RSS in bytes (run in a fresh process)."""
    models = load_models(bundle, cpu_threads=threads)
    radiograph, detections = synthetic_study()
    models = replace(models, detector=PredictThenInject(models.detector, detections))  # type: ignore[arg-type]
    screen(radiograph, models)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    sys.stdout.write(json.dumps({"peak_rss_bytes": peak_kib * 1024}) + "\n")


# glibc gives each thread its own malloc arena; memory freed in one arena is not reused by another,
# so the peak varies between runs. MALLOC_ARENA_MAX=2 bounds the number of arenas.
MEMORY_SETUPS: tuple[tuple[str, str | None], ...] = (("default malloc", None), ("MALLOC_ARENA_MAX=2", "2"))


def peak_memory(bundle: Path, threads: int, arenas: str | None, runs: int) -> list[float]:
    """Return the peak RSS in GB of ``runs`` fresh processes that load the bundle and screen once."""
    environment = dict(os.environ)
    environment.pop("MALLOC_ARENA_MAX", None)
    if arenas is not None:
        environment["MALLOC_ARENA_MAX"] = arenas
    peaks = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, __file__, "--threads", str(threads), "--measure-memory", str(bundle)],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        )
        peaks.append(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_bytes"] / 1e9)
    return peaks


def machine() -> str:
    """Describe the CPU, the load and the software versions."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ultralytics

    load = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, load average {load[0]:.1f} at start; "
        f"Python {platform.python_version()}, torch {torch.__version__}, ultralytics {ultralytics.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: %(default)s)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed repetitions after one warm-up (default: %(default)s)"
    )
    parser.add_argument(
        "--memory-runs", type=int, default=3, help="fresh processes per memory setup (default: %(default)s)"
    )
    parser.add_argument("--measure-memory", type=Path, metavar="BUNDLE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure_memory:
        measure_memory(args.measure_memory, args.threads)
        return 0

    description = machine()
    with tempfile.TemporaryDirectory() as folder:
        bundle = build_bundle(Path(folder))
        peaks = {
            label: peak_memory(bundle, args.threads, arenas, args.memory_runs)
            for label, arenas in MEMORY_SETUPS
        }

        models = load_models(bundle, cpu_threads=args.threads)
        radiograph, detections = synthetic_study()
        injected = replace(models, detector=PredictThenInject(models.detector, detections))  # type: ignore[arg-type]
        overlay_dir = Path(folder) / "overlays"

        ratios, overlay_ratios, cam_shares, speedups = [], [], [], []
        rows = []
        for repeat in range(args.repeats + 1):
            forward = forward_times(models, radiograph, detections)
            pure = sum(v for k, v in forward.items() if k != "input_shape")
            end_to_end = timed(screen, radiograph, injected)
            with_overlays = timed(screen, radiograph, injected, overlay_dir=overlay_dir)
            cams = cam_times(models, radiograph, detections)
            if repeat == 0:
                continue  # warm-up
            ratios.append(end_to_end / pure)
            overlay_ratios.append(with_overlays / pure)
            cam_shares.append(cams["fast"] / cams["forward"])
            speedups.append(cams["reference"] / cams["fast"])
            rows.append((pure, end_to_end, with_overlays, cams["fast"], cams["forward"], cams["reference"]))

    median = statistics.median
    lines = [
        f"Machine: {description}; {args.threads} torch threads; {args.repeats} repetitions after one warm-up, medians.",
        f"Detector input {forward['input_shape']}, five crops of {CLASSIFIER_INPUT} px per classifier.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| pure forward of the four models | {median(r[0] for r in rows):.2f} s | |",
        f"| end-to-end `screen`, no overlays | {median(r[1] for r in rows):.2f} s | |",
        f"| end-to-end / pure forward | {median(ratios):.3f} | <= {TARGET_RATIO} |",
        f"| end-to-end with overlays / pure forward | {median(overlay_ratios):.3f} | (informative) |",
        f"| Grad-CAM, three models, two maps per crop | {median(r[3] for r in rows) * 1000:.1f} ms | |",
        f"| Grad-CAM / classifier forward | {median(cam_shares):.2%} | <= {TARGET_CAM_SHARE:.0%} |",
        f"| pytorch-grad-cam, same work | {median(r[5] for r in rows):.2f} s | |",
        f"| speed-up over pytorch-grad-cam | {median(speedups):.0f}x | >= {TARGET_CAM_SPEEDUP:.0f}x |",
    ]
    for label, values in peaks.items():
        lines.append(
            f"| peak RSS, bundle loaded and one screen, {label} ({len(values)} processes) | "
            f"median {median(values):.2f} GB, max {max(values):.2f} GB | <= {TARGET_PEAK_RSS_GB} GB |"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
