"""``python -m inference phantom``: write a labelled folder of phantom radiographs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm


def _class_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            mix[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid class mix {text!r}; expected normal=0.6,old=0.2,fresh=0.2"
            ) from None
    return mix


def _image_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid range {text!r}; expected A-B, for example 1-2") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"invalid range {text!r}; it needs 1 <= A <= B")
    return bounds


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``phantom`` command."""
    parser = subparsers.add_parser(
        "phantom",
        help="write synthetic lateral lumbar radiographs with truth labels",
        description="Write phantom radiographs (T12 to S1, patient facing left) with one truth JSON per image.",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder; images/ and labels/ are created in it"
    )

    parser.add_argument("--patients", type=int, required=True, help="number of phantom patients")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files")
    parser.add_argument(
        "--formats",
        type=_names,
        default=("dicom",),
        help="comma-separated file formats: dicom, png, jpeg (default dicom)",
    )
    parser.add_argument(
        "--dicom-encodings",
        type=_names,
        default=None,
        help="comma-separated DICOM encodings (default: every one this installation can write)",
    )
    parser.add_argument(
        "--images-per-patient",
        type=_image_range,
        default=(1, 2),
        help="images per patient as A-B, inclusive (default 1-2)",
    )
    parser.add_argument(
        "--class-mix",
        type=_class_mix,
        default=None,
        help="expected share of L1-L5 vertebrae per class (default normal=0.6,old=0.2,fresh=0.2)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="image height in pixels (default: drawn from 896 to 1280)",
    )

    parser.add_argument(
        "--export-yolo", action="store_true", help="also write a YOLO detection dataset under OUT/yolo"
    )
    parser.add_argument(
        "--export-crops",
        type=int,
        default=None,
        metavar="SIZE",
        help="also write SIZE x SIZE classifier crops of L1-L5 under OUT/crops",
    )
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the split by patient used by the exports"
    )

    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the phantoms and the requested exports; write a JSON summary to stdout."""
    from inference.phantoms import generate_dataset

    total_bar = tqdm(desc="phantoms", unit="image", file=sys.stderr)
    try:
        info = generate_dataset(
            args.out,
            patients=args.patients,
            seed=args.seed,
            images_per_patient=args.images_per_patient,
            formats=args.formats,
            class_mix=args.class_mix,
            image_size=args.image_size,
            dicom_encodings=args.dicom_encodings,
            progress=total_bar.update,
        )
    except ValueError as error:
        total_bar.close()
        sys.stderr.write(f"error: {error}\n")
        return 2
    total_bar.close()
    summary = {
        "out": str(info.root),
        "patients": info.patients,
        "images": info.images,
        "class_counts": info.class_counts,
        "encodings": info.encodings,
    }
    if args.export_yolo or args.export_crops:
        summary.update(_export(args))
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


def _export(args: argparse.Namespace) -> dict[str, str]:
    from inference.datasets import load_labelled_folder, split_by_patient
    from inference.phantoms.export import export_crops, export_yolo

    splits = split_by_patient(load_labelled_folder(args.out), seed=args.split_seed).as_dict()
    written = {}
    if args.export_yolo:
        written["yolo_data"] = str(export_yolo(splits, args.out / "yolo"))
    if args.export_crops:
        written["crops"] = str(export_crops(splits, args.out / "crops", size=args.export_crops))
    return written
