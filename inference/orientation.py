"""The side of a lateral film that the patient faces, and the mirroring that gives models one orientation.

On a lateral radiograph the patient may face left (anterior wall on the left of
the image) or right, depending on the side that lay on the detector and on how
the film is hung. The classifiers are trained on crops with the anterior side
on the left, so a crop of a patient facing right is mirrored before it goes
to a model, and its Grad-CAM map is mirrored back. CAM regions then name the
anterior and posterior walls on the original image.

The side comes from, in order:

1. what a person stated: the reference label of a training image (``"facing"``),
   or the side given at upload;
2. the DICOM attribute Patient Orientation (0020,0020), whose first value is
   the patient direction of the image rows (left to right on screen): ``P``
   means the patient faces left, ``A`` that the patient faces right;
3. otherwise the convention that the patient faces left, recorded as assumed.

NOTE: PNG and JPEG files and DICOM files without Patient Orientation carry no
side, so a film of a patient facing right in such a file is read as facing
left. The report shows the side used and where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from inference.imaging.types import Radiograph

AnteriorSide = Literal["left", "right"]
# "stated": a training label or a person at upload gave it; "header": DICOM Patient Orientation.
OrientationSource = Literal["stated", "header", "assumed"]

DEFAULT_ANTERIOR_SIDE: AnteriorSide = "left"


@dataclass(frozen=True)
class Orientation:
    """The side of the image on which the patient's anterior lies, and where that fact came from."""

    anterior_side: AnteriorSide = DEFAULT_ANTERIOR_SIDE
    source: OrientationSource = "assumed"

    @property
    def mirrored_for_models(self) -> bool:
        """Return True when crops are mirrored so that the models see the anterior side on the left."""
        return self.anterior_side != DEFAULT_ANTERIOR_SIDE


def side_from_patient_orientation(value: str | None) -> AnteriorSide | None:
    """Return the anterior side that a DICOM Patient Orientation value gives, or None when it gives none.

    ``value`` is the attribute as text, its two values joined by a backslash
    (for example ``"P\\F"``). Only the row direction matters. A row direction
    that names neither or both of A and P (a frontal film, or a malformed
    value) gives None.
    """
    if not value:
        return None
    row_direction = value.split("\\")[0].strip().upper()
    has_anterior = "A" in row_direction
    has_posterior = "P" in row_direction
    if has_anterior == has_posterior:
        return None
    return "right" if has_anterior else "left"


def resolve_orientation(*, stated_facing: str | None = None, patient_orientation: str | None = None) -> Orientation:
    """Decide the anterior side from a stated ``facing`` first, then from the DICOM header, else assume left."""
    if stated_facing in ("left", "right"):
        return Orientation(anterior_side=stated_facing, source="stated")  # type: ignore[arg-type]
    from_header = side_from_patient_orientation(patient_orientation)
    if from_header is not None:
        return Orientation(anterior_side=from_header, source="header")
    return Orientation()


def radiograph_orientation(radiograph: Radiograph, *, stated_facing: str | None = None) -> Orientation:
    """Decide the anterior side of a radiograph read by ``inference.imaging.load``."""
    return resolve_orientation(stated_facing=stated_facing, patient_orientation=radiograph.header.patient_orientation)


def to_model_view(crop: np.ndarray, anterior_side: AnteriorSide) -> np.ndarray:
    """Return ``crop`` (H, W) with the anterior side on the left, as the classifiers were trained."""
    if anterior_side == DEFAULT_ANTERIOR_SIDE:
        return crop
    return np.ascontiguousarray(crop[:, ::-1])


def maps_to_image_view(maps: np.ndarray, anterior_side: AnteriorSide) -> np.ndarray:
    """Mirror Grad-CAM maps (N, H, W) computed on model-view crops back to the orientation of the image."""
    if anterior_side == DEFAULT_ANTERIOR_SIDE:
        return maps
    return np.ascontiguousarray(maps[:, :, ::-1])
