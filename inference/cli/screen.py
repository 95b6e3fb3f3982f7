"""``python -m inference screen FILE... --bundle DIR``: screen radiographs from the command line.

Prints one JSON result per file on stdout, one line each (JSON Lines), in the
order of the arguments. With ``--out``, each file's overlays and its result
JSON go to their own folder under it. A file that cannot be read gives a
``not_assessable`` result with reason ``unreadable``. Exit status 0 when every
file produced a result, 2 when the bundle or the device cannot be used.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from inference.errors import BundleError, ImagingError

logger = logging.getLogger(__name__)

EXIT_SETUP_ERROR = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``screen`` command to ``subparsers``."""
    parser = subparsers.add_parser(
        "screen",
        help="screen lateral lumbar radiographs and print one JSON result per file",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="DICOM, PNG or JPEG radiograph")
    parser.add_argument("--bundle", type=Path, required=True, metavar="DIR", help="model bundle folder")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write overlays and result.json per file into DIR/<file name>/",
    )
    parser.add_argument(
        "--device", default="cpu", help="torch device: cpu, cuda or cuda:N (default: %(default)s)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="number of CPU threads torch may use (default: torch's choice)",
    )
    parser.add_argument(
        "--frame", type=int, metavar="K", help="frame index (from 0) to read from multi-frame DICOM files"
    )
    parser.add_argument(
        "--facing",
        choices=("left", "right"),
        help="the side every patient faces; overrides the DICOM Patient Orientation "
        "(default: from the DICOM header, else left)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the bundle once, screen every file and return the exit status."""
    from inference.detection import resolve_device
    from inference.imaging import load
    from inference.pipeline import load_models, screen, unreadable_result

    try:
        device = resolve_device(args.device)
    except (RuntimeError, ValueError) as error:
        message_ja = f"デバイス {args.device} を使用できません。--device の指定を確認してください。"
        _write_line(
            {
                "error": {
                    "code": "device_error",
                    "message_en": str(error),
                    "message_ja": message_ja,
                    "detail": "",
                }
            }
        )
        return EXIT_SETUP_ERROR
    if args.threads is not None and args.threads < 1:
        _write_line(
            {
                "error": {
                    "code": "invalid_threads",
                    "message_en": f"--threads must be at least 1, not {args.threads}.",
                    "message_ja": f"--threads は 1 以上で指定してください ({args.threads} は不正です)。",
                    "detail": "",
                }
            }
        )
        return EXIT_SETUP_ERROR
    try:
        models = load_models(args.bundle, device=device, cpu_threads=args.threads)
    except BundleError as error:
        _write_line({"error": error.to_dict()})
        return EXIT_SETUP_ERROR

    folders = _output_folders(args.files, args.out)
    for path, folder in zip(args.files, folders, strict=True):
        try:
            radiograph = load(path, frame=args.frame)
        except ImagingError as error:
            logger.warning(
                "cannot read %s: %s", path, error.code, extra={"file": str(path), "code": error.code}
            )
            result = unreadable_result(path, error, models)
        else:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            result = screen(radiograph, models, overlay_dir=folder, facing=args.facing)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "result.json").write_text(result.to_json(), encoding="utf-8")
        _write_line(result.to_dict())
    return 0


def _output_folders(files: list[Path], out: Path | None) -> list[Path | None]:
    """Return one distinct folder per file under ``out`` (named after the file), or None without ``out``."""
    if out is None:
        return [None] * len(files)
    folders: list[Path | None] = []
    used: set[str] = set()
    for path in files:
        name = path.name or "input"
        candidate, counter = name, 2
        while candidate in used:
            candidate = f"{name}-{counter}"
            counter += 1
        used.add(candidate)
        folders.append(out / candidate)
    return folders


def _write_line(data: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()
