"""``python -m inference inspect FILE``: show how a radiograph is read.

Prints the header facts, spacing, provenance and warnings as JSON on stdout
and can write the 8-bit rendering as PNG. When the file cannot be opened or
read as a radiograph, it prints the error as JSON on stdout and exits with
status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from PIL import Image

from inference.errors import ImagingError
from inference.imaging import ImagingLimits, load
from inference.imaging.limits import DEFAULT_LIMITS, MIB

EXIT_IMAGING_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``inspect`` command to ``subparsers``."""
    parser = subparsers.add_parser(
        "inspect",
        help="read a radiograph and print its header, provenance and warnings as JSON",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("file", type=Path, help="DICOM, PNG or JPEG file")
    parser.add_argument(
        "--png", type=Path, metavar="OUT.png", help="write the 8-bit rendering to this PNG file"
    )
    parser.add_argument(
        "--frame", type=int, metavar="K", help="frame index (from 0) of a multi-frame DICOM file"
    )
    parser.add_argument(
        "--max-file-mib",
        type=float,
        metavar="MIB",
        default=DEFAULT_LIMITS.max_file_bytes / MIB,
        help="maximum file size in MiB (default: %(default)g)",
    )
    parser.add_argument(
        "--max-megapixels",
        type=float,
        metavar="MEGAPIXELS",
        default=DEFAULT_LIMITS.max_pixels_per_frame / 1e6,
        help="maximum frame size in megapixels, rows x columns (default: %(default)g)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read ``args.file``, print the JSON report and return the exit status."""
    limits = ImagingLimits(
        max_file_bytes=int(args.max_file_mib * MIB),
        max_pixels_per_frame=int(args.max_megapixels * 1e6),
    )
    try:
        radiograph = load(args.file, limits=limits, frame=args.frame)
    except ImagingError as error:
        _write_json({"error": error.to_dict()})
        return EXIT_IMAGING_ERROR
    except OSError as error:
        _write_json({"error": _file_error(args.file, error)})
        return EXIT_IMAGING_ERROR

    report: dict[str, Any] = radiograph.to_dict()
    report["pixels"] = {
        "min": float(radiograph.pixels.min()),
        "max": float(radiograph.pixels.max()),
        "mean": float(radiograph.pixels.mean()),
    }
    if args.png is not None:
        Image.fromarray(radiograph.rendering).save(args.png)
        report["rendering_png"] = str(args.png)
    _write_json(report)
    return 0


def _file_error(path: Path, error: OSError) -> dict[str, str]:
    reason = error.strerror or type(error).__name__
    return {
        "code": "file_not_readable",
        "message_en": f"The file {path} could not be opened ({reason}). Check the path and its permissions.",
        "message_ja": f"ファイル {path} を開けませんでした（{reason}）。パスとアクセス権を確認してください。",
        "detail": f"{type(error).__name__}: {error}",
    }


def _write_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
