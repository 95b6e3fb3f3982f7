"""The single entry point that turns a file into a radiograph."""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np

from inference.imaging import messages
from inference.imaging.dicom import read_dicom
from inference.imaging.limits import DEFAULT_LIMITS, ImagingLimits
from inference.imaging.raster import read_raster
from inference.imaging.sniff import SNIFF_BYTES, sniff
from inference.imaging.types import Radiograph

logger = logging.getLogger(__name__)


def load(path: str | Path, *, limits: ImagingLimits | None = None, frame: int | None = None) -> Radiograph:
    """Read a DICOM, PNG or JPEG file as one upright grayscale radiograph with bone bright.

    The type is decided from the content, never from the file name. ``frame``
    selects one frame of a multi-frame DICOM file, which is rejected when
    ``frame`` is None, and the same holds for an animated PNG. Raises NotAnImageError, DamagedImageError,
    UnsupportedImageError or ImageTooLargeError (all ImagingError) with
    English and Japanese messages. A path that does not exist or cannot be
    opened raises the usual OSError, because that is not a fault of the image.
    """
    path = Path(path)
    limits = limits or DEFAULT_LIMITS
    file_size = path.stat().st_size
    if file_size > limits.max_file_bytes:
        raise messages.file_too_large(file_size, limits.max_file_bytes)
    with path.open("rb") as stream:
        head = stream.read(SNIFF_BYTES)

    kind = sniff(head, file_size)
    if kind.file_type == "dicom":
        radiograph = read_dicom(path, has_preamble=kind.has_preamble, limits=limits, frame=frame)
    else:
        radiograph = read_raster(path, kind.file_type, limits=limits, frame=frame)
    radiograph = check_output(radiograph)

    # Never the path or header values here: either may contain a patient's name.
    logger.debug(
        "Read %s image %dx%d with %s; warnings %s",
        radiograph.provenance.file_type,
        radiograph.provenance.columns,
        radiograph.provenance.rows,
        radiograph.provenance.decoder,
        ",".join(warning.code for warning in radiograph.warnings) or "none",
    )
    return radiograph


def check_output(radiograph: Radiograph) -> Radiograph:
    """Check the final image of every file type, whatever path produced it.

    Raises DamagedImageError when a pixel or the recorded window is not finite,
    because such an image cannot be shown or written as JSON. Adds the blocking
    ``uniform_image`` warning when the 8-bit rendering, which the models see, has
    one value only.
    """
    provenance = radiograph.provenance
    for name, value in (
        ("window center", provenance.window_center),
        ("window width", provenance.window_width),
    ):
        if value is not None and not math.isfinite(value):
            raise messages.non_finite_pixels(f"{name} {value!r}")
    if not bool(np.isfinite(radiograph.pixels).all()):
        raise messages.non_finite_pixels("pixels contain NaN or infinity")

    rendering = radiograph.rendering
    uniform = rendering.size == 0 or int(rendering.min()) == int(rendering.max())
    if uniform and not any(warning.code == "uniform_image" for warning in radiograph.warnings):
        return dataclasses.replace(radiograph, warnings=(*radiograph.warnings, messages.uniform_image()))
    return radiograph
