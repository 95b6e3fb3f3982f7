"""Command line of the inference package: ``python -m inference COMMAND ...``.

Each command lives in its own module under ``inference.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a
callable that takes the parsed arguments and returns an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence

# Command modules, imported lazily so that `inspect` does not pay for torch.
COMMAND_MODULES: tuple[str, ...] = (
    "inference.cli.inspect",
    "inference.cli.screen",
    "inference.cli.bundle",
    "inference.cli.phantom",
    "inference.cli.train",
    "inference.cli.evaluate",
    "inference.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every command module that is installed."""
    parser = argparse.ArgumentParser(prog="python -m inference", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen command and return its exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The OpenJPEG encoder logs "tile number 1 / 1" at INFO for every JPEG 2000 DICOM file it writes.
    logging.getLogger("openjpeg").setLevel(logging.WARNING)
    return int(args.func(args))
