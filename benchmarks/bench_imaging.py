"""Measure ``inference.imaging.load`` on a 2,000 x 2,500 16-bit DICOM radiograph.

Run: ``python benchmarks/bench_imaging.py [--repeats N]``. The script writes
synthetic files to a temporary folder, pins itself to one CPU core, times
read-and-render (``load`` returns the float32 image and its uint8 rendering)
and prints a Markdown table. Target: at most 0.25 s for the uncompressed file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    generate_uid,
)

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from inference.imaging import load  # noqa: E402

ROWS, COLUMNS = 2500, 2000  # portrait, as a lateral lumbar film is stored
BITS_STORED = 14
TARGET_SECONDS = 0.25


def synthetic_radiograph(seed: int = 0) -> np.ndarray:
    """Return a uint16 image with smooth anatomy-like structure and detector noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ROWS, 0:COLUMNS].astype(np.float32)
    maximum = 2**BITS_STORED - 1
    body = np.exp(-(((x - COLUMNS / 2) / (COLUMNS / 3)) ** 2)) * 0.6
    vertebrae = 0.25 * (np.sin(y / 90.0) > 0.3) * (np.abs(x - COLUMNS * 0.55) < 180)
    image = (0.1 + body + vertebrae) * maximum * 0.8
    image += rng.normal(0.0, maximum * 0.01, size=image.shape).astype(np.float32)
    return np.clip(image, 0, maximum).astype(np.uint16)


def write_dicom(path: Path, pixels: np.ndarray, *, compress: bool, window: bool) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.BodyPartExamined = "LSPINE"
    ds.PixelSpacing = [0.15, 0.15]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = BITS_STORED
    ds.HighBit = BITS_STORED - 1
    ds.PixelRepresentation = 0
    if window:
        ds.WindowCenter = 7000
        ds.WindowWidth = 12000
    ds.PixelData = pixels.tobytes()
    if compress:
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    ds.save_as(path, enforce_file_format=True)
    return path


def time_load(path: Path, repeats: int) -> list[float]:
    load(path)  # warm the imports and the page cache
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        load(path)
        durations.append(time.perf_counter() - start)
    return durations


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per file (default: %(default)s)")
    args = parser.parse_args()

    pinning = pin_to_one_core()
    pixels = synthetic_radiograph()
    cases = [
        ("uncompressed, window in header", False, True),
        ("uncompressed, percentile window", False, False),
        ("JPEG 2000 lossless, window in header", True, True),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, (label, compress, window) in enumerate(cases):
            path = write_dicom(Path(folder) / f"case{index}.dcm", pixels, compress=compress, window=window)
            durations = time_load(path, args.repeats)
            rows.append((label, path.stat().st_size / 1e6, statistics.median(durations), min(durations)))

    load_average = (
        ", ".join(f"{value:.1f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    )
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("numpy", "pydicom", "pylibjpeg-openjpeg")
    )
    lines = [
        f"- {COLUMNS} x {ROWS} pixels (columns x rows), {BITS_STORED} of 16 bits, MONOCHROME2; "
        f"{args.repeats} timed runs per file after one warm-up; {pinning}.",
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores on the machine; Python {platform.python_version()}, "
        f"{versions}.",
        f"- Load average after the runs (1, 5, 15 min): {load_average}.",
        "",
        "| file | size (MB) | median (s) | fastest (s) |",
        "|---|---:|---:|---:|",
    ]
    for label, size, median, fastest in rows:
        lines.append(f"| {label} | {size:.1f} | {median:.3f} | {fastest:.3f} |")
    uncompressed_median = rows[0][2]
    verdict = "meets" if uncompressed_median <= TARGET_SECONDS else "misses"
    lines.append("")
    lines.append(f"Uncompressed median {uncompressed_median:.3f} s {verdict} the {TARGET_SECONDS} s target.")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
