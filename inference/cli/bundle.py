"""``python -m inference bundle verify|show DIR``: check or describe a model bundle.

``verify`` checks the manifest and the sha256 of every weight file; ``show``
prints the parsed manifest without reading the weights. Both print JSON on
stdout. Exit status 0 on success, 1 when the bundle is invalid or damaged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from inference.bundle import MANIFEST_NAME, load_manifest, sha256_file, verify_bundle
from inference.errors import BundleError

EXIT_INVALID_BUNDLE = 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bundle`` command with its ``verify`` and ``show`` subcommands."""
    parser = subparsers.add_parser(
        "bundle", help="verify or show a model bundle", description=__doc__.splitlines()[0]
    )
    actions = parser.add_subparsers(dest="bundle_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check the manifest and the sha256 of every weight file")
    verify.add_argument("bundle_dir", type=Path, metavar="DIR", help="model bundle folder")
    verify.set_defaults(func=run_verify)
    show = actions.add_parser("show", help="print the parsed manifest as JSON (weights are not read)")
    show.add_argument("bundle_dir", type=Path, metavar="DIR", help="model bundle folder")
    show.set_defaults(func=run_show)


def run_verify(args: argparse.Namespace) -> int:
    """Verify the bundle and print its identity, or the error."""
    try:
        manifest = verify_bundle(args.bundle_dir)
    except BundleError as error:
        _write_json({"valid": False, "error": error.to_dict()})
        return EXIT_INVALID_BUNDLE
    _write_json(
        {
            "valid": True,
            "name": manifest.name,
            "version": manifest.version,
            "demo": manifest.demo,
            "manifest_sha256": sha256_file(Path(args.bundle_dir) / MANIFEST_NAME),
            "files": manifest.weight_files,
        }
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the parsed manifest, or the error."""
    try:
        manifest = load_manifest(args.bundle_dir)
    except BundleError as error:
        _write_json({"error": error.to_dict()})
        return EXIT_INVALID_BUNDLE
    _write_json(manifest.to_dict())
    return 0


def _write_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
