"""``python -m inference evaluate | cam-analysis``: measure a bundle on labelled data.

By default the test split of ``--data`` is used. It is the split by patient
that training used, given the same ``--split-seed`` and ``--fractions``.
``--split all`` takes the whole folder, for a set kept apart from training. ``--external`` names a
further labelled folder, reported separately as the external validation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.cli.train import add_split_arguments, load_split
from inference.evaluation.metrics import Bootstrap
from inference.training.data import LabelledImage, load_labelled_images

SPLITS = ("test", "validation", "train", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` and ``cam-analysis`` commands."""
    evaluate = subparsers.add_parser(
        "evaluate",
        help="detection mAP and classification metrics with 95 percent bootstrap intervals",
        description="Evaluate a bundle on labelled data; write JSON, Markdown, ROC and confusion-matrix plots.",
    )
    _add_common(evaluate)
    evaluate.add_argument(
        "--external",
        type=Path,
        default=None,
        help="a further labelled folder, evaluated whole as external validation",
    )
    evaluate.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="bootstrap resamples for the 95 percent intervals (default 1000)",
    )
    evaluate.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    evaluate.set_defaults(func=run_evaluate)

    cam = subparsers.add_parser(
        "cam-analysis",
        help="Grad-CAM region shares by class with a Kruskal-Wallis test, and mean maps",
        description="Compute ensemble Grad-CAM region shares per reference class and test their differences.",
    )
    _add_common(cam)
    cam.set_defaults(func=run_cam_analysis)


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_split_arguments(parser)
    parser.add_argument("--bundle", type=Path, required=True, help="model bundle folder")
    parser.add_argument(
        "--split", choices=SPLITS, default="test", help="which part of --data to use (default test)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the report files")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")


def _images(args: argparse.Namespace) -> list[LabelledImage]:
    if args.split == "all":
        return load_labelled_images(args.data)
    images = load_split(args)[args.split]
    if not images:
        raise SystemExit(
            f"the {args.split} split of {args.data} is empty; check --fractions or use --split all"
        )
    return images


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate on the chosen split and, when given, on the external folder."""
    from inference.evaluation.runner import evaluate_bundle

    settings = Bootstrap(resamples=args.resamples, seed=args.bootstrap_seed)
    reports = {
        "internal": evaluate_bundle(
            args.bundle,
            _images(args),
            args.out,
            title=f"{args.split} split of {args.data.name}",
            prefix="evaluation",
            device=args.device,
            settings=settings,
        )
    }
    if args.external is not None:
        reports["external"] = evaluate_bundle(
            args.bundle,
            load_labelled_images(args.external),
            args.out,
            title=f"external validation on {args.external.name}",
            prefix="external",
            device=args.device,
            settings=settings,
        )
    from inference.demo import headline_metrics

    sys.stdout.write(
        json.dumps({name: headline_metrics(report) for name, report in reports.items()}, indent=2) + "\n"
    )
    return 0


def run_cam_analysis(args: argparse.Namespace) -> int:
    """Run the Grad-CAM region analysis on the chosen split."""
    from inference.evaluation.cam_analysis import run_cam_analysis as analyse
    from inference.evaluation.runner import resolve_device

    report = analyse(args.bundle, _images(args), args.out, device=resolve_device(args.device))
    summary = {region: row["p_value"] for region, row in report["regions"].items()}
    sys.stdout.write(
        json.dumps({"vertebrae": report["vertebrae"], "kruskal_wallis_p": summary}, indent=2) + "\n"
    )
    return 0
