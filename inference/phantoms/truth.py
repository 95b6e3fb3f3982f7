"""The truth JSON written beside every phantom image (the labelled-folder format)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.phantoms.anatomy import PatientAnatomy
from inference.phantoms.writers import WrittenImage

if TYPE_CHECKING:
    from inference.phantoms.generator import PhantomImage

TRUTH_FORMAT_VERSION = 1


def _round(value: float) -> float:
    return round(float(value), 2)


def build_truth(
    phantom: PhantomImage, anatomy: PatientAnatomy, written: WrittenImage, root: Path, *, seed: int
) -> dict[str, Any]:
    """Return the truth of one phantom image as JSON-compatible data.

    Boxes and points are in pixels of the written image (x right, y down, the
    pixel in column i spans x from i to i + 1). Heights are the distances
    between the superior and inferior endplate points.
    """
    spacing = phantom.spacing_mm
    levels: dict[str, Any] = {}
    for placed, vertebra in zip(phantom.vertebrae, anatomy.vertebrae, strict=True):
        heights = placed.heights()
        reference = vertebra.reference_height / spacing
        loss = 1.0 - min(heights) / reference
        levels[placed.level] = {
            "box": [_round(c) for c in placed.box],
            "corners": {name: [_round(x), _round(y)] for name, (x, y) in placed.corners().items()},
            "heights": {
                "anterior": _round(heights[0]),
                "middle": _round(heights[1]),
                "posterior": _round(heights[2]),
            },
            "heights_mm": {
                "anterior": _round(heights[0] * spacing),
                "middle": _round(heights[1] * spacing),
                "posterior": _round(heights[2] * spacing),
            },
            "reference_height": _round(reference),
            "height_loss": round(loss, 4),
            "class": vertebra.vertebra_class,
            "deformity": vertebra.deformity,
            "genant_grade": vertebra.grade,
            "signs": list(vertebra.signs),
            "osteophytes": list(vertebra.osteophytes),
            "schmorl_node": vertebra.schmorl_node,
        }
    acquisition = phantom.acquisition
    rows, columns = phantom.values.shape
    return {
        "format_version": TRUTH_FORMAT_VERSION,
        "image_id": phantom.image_id,
        "patient_id": anatomy.patient_id,
        "source": "phantom",
        "image": {
            "file": written.path.relative_to(root).as_posix(),
            "format": written.file_format,
            "encoding": written.encoding,
            "rows": rows,
            "columns": columns,
            "photometric_interpretation": written.photometric_interpretation,
            "bits_stored": written.bits_stored,
        },
        "pixel_spacing": {"row_mm": round(spacing, 6), "column_mm": round(spacing, 6)},
        "facing": "left",
        "levels": levels,
        "phantom": {
            "seed": seed,
            "age": anatomy.age,
            "sex": anatomy.sex,
            "bone_density": round(anatomy.bone_density, 3),
            "disc_heights_mm": [_round(d) for d in anatomy.discs],
            "rotation_degrees": round(acquisition.rotation_degrees, 2),
            "lordosis_mm": _round(acquisition.lordosis_mm),
            "modality": acquisition.modality,
            "spacing_tag": acquisition.spacing_tag,
            "photons_per_pixel": round(acquisition.photons, 1),
            "window_in_header": written.window is not None,
            "distractors": phantom.distractors,
        },
    }
