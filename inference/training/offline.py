"""Keep ultralytics from reaching the network while it trains.

``inference.detection.configure_ultralytics`` switches off ultralytics' online
check, version check, package installs, analytics and logger integrations.
Training needs one more step: the dataset check of ultralytics 8.4
(``ultralytics/data/utils.py``, ``check_det_dataset``) requests the
Arial.ttf font from GitHub that only its plots use. Plots are off in every training run,
so the font check is replaced by a no-op for the duration of the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inference.detection import configure_ultralytics


def _no_font(font: str = "Arial.ttf") -> Path | None:
    """Return no font: plots are off, so no label font is needed."""
    return None


@contextlib.contextmanager
def offline_ultralytics() -> Iterator[None]:
    """Configure ultralytics for offline use and disable its font download inside the block."""
    configure_ultralytics()
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
