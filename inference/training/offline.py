"""Keep ultralytics from reaching the network while it trains or predicts.

ultralytics 8.4 looks up two public DNS names at import unless ``YOLO_OFFLINE``
is set, and its dataset check asks GitHub for the Arial.ttf font used only in
plots. A clinic network and this project's build both run offline, so the
environment variable is set before the first import and the font check is
replaced for the duration of a training run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Set before ultralytics is first imported anywhere in this process through this module.
os.environ.setdefault("YOLO_OFFLINE", "1")


def _no_font(font: str = "Arial.ttf") -> Path | None:
    """Return no font: plots are off, so no label font is needed."""
    return None


@contextlib.contextmanager
def offline_ultralytics() -> Iterator[None]:
    """Replace ultralytics' font download check with a no-op inside the block.

    NOTE: ``YOLO_OFFLINE`` only takes effect when it is set before ultralytics
    is imported; a process that imported ultralytics earlier keeps the value it
    had then.
    """
    from ultralytics.data import utils as data_utils
    from ultralytics.utils import checks, plotting

    patched: list[tuple[Any, Any]] = [(data_utils, data_utils.check_font), (checks, checks.check_font)]
    if hasattr(plotting, "check_font"):
        patched.append((plotting, plotting.check_font))
    for module, _ in patched:
        module.check_font = _no_font
    try:
        yield
    finally:
        for module, original in patched:
            module.check_font = original
