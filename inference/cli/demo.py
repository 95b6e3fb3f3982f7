"""``python -m inference build-demo-bundle``: phantoms, training, calibration and evaluation in one command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build-demo-bundle`` command."""
    parser = subparsers.add_parser(
        "build-demo-bundle",
        help="build the demo bundle from phantoms (not for clinical use)",
        description="Draw phantoms, train every model, calibrate and evaluate on unseen phantoms; write a demo bundle.",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="bundle folder to write; an existing one is replaced"
    )
    parser.add_argument(
        "--profile",
        choices=("tiny", "full"),
        default="full",
        help="tiny for tests, full for the demo (default full)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto uses CUDA when present (default auto)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the training phantoms; the test phantoms use seed + 1000 (default 0)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the bundle and print its headline metrics."""
    from inference.bundle import load_manifest
    from inference.demo import build_demo_bundle

    bundle = build_demo_bundle(args.out, profile=args.profile, device=args.device, seed=args.seed)
    metrics = load_manifest(bundle).training.get("metrics", {})
    sys.stdout.write(json.dumps({"bundle": str(bundle), "metrics": metrics}, indent=2) + "\n")
    return 0
