"""Time ``build_demo_bundle`` and write the stage times, metrics and machine to a JSON file.

Usage: ``python benchmarks/bench_demo_bundle.py --out bundles/demo [--profile full] [--device cpu]``.
The build replaces the bundle in ``--out``. The record goes to
``<out>.benchmark.json`` and to stdout. Run it on an otherwise idle machine:
the build uses every CPU core torch is given, so other load stretches the time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

# Run as a script from anywhere: the inference package is in the repository root.
REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from inference.bundle import load_manifest  # noqa: E402
from inference.demo import build_demo_bundle  # noqa: E402


def machine() -> dict[str, object]:
    """Return the CPU model, core counts and torch threads of this machine."""
    model = platform.processor() or "unknown"
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def main() -> int:
    """Build the bundle once and record how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bundles/demo"), help="bundle folder (replaced)")
    parser.add_argument("--profile", choices=("tiny", "full"), default="full", help="profile to build (default full)")
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="build seed (default 0)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    started = time.monotonic()
    bundle = build_demo_bundle(args.out, profile=args.profile, device=args.device, seed=args.seed)
    seconds = time.monotonic() - started
    training = load_manifest(bundle).training
    record = {
        "profile": args.profile,
        "device": args.device,
        "seconds": round(seconds, 1),
        "stage_seconds": training.get("timings_seconds", {}),
        "metrics": training.get("metrics", {}),
        "machine": machine(),
        "load_average_at_end": os.getloadavg(),
    }
    text = json.dumps(record, indent=2)
    args.out.with_name(args.out.name + ".benchmark.json").write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
