"""The DICOM grayscale pipeline: modality LUT, window, polarity, bit depth and header warnings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import JPEG2000Lossless, RLELossless

from inference.imaging import load

MAXIMUM_12_BIT = 4095

WriteDicom = Callable[..., Path]


def _codes(radiograph) -> set[str]:
    return {warning.code for warning in radiograph.warnings}


@pytest.fixture
def image(gradient_image) -> np.ndarray:
    return gradient_image(96, 80)


# ----------------------------------------------------------------------- polarity


def test_monochrome1_and_monochrome2_give_same_output_without_window(
    write_dicom: WriteDicom, image: np.ndarray
) -> None:
    monochrome2 = load(write_dicom(image))
    monochrome1 = load(write_dicom(MAXIMUM_12_BIT - image, PhotometricInterpretation="MONOCHROME1"))

    np.testing.assert_allclose(monochrome1.pixels, monochrome2.pixels, atol=1e-5)
    assert int(np.abs(monochrome1.rendering.astype(int) - monochrome2.rendering.astype(int)).max()) <= 1
    assert monochrome1.provenance.inverted is True
    assert monochrome2.provenance.inverted is False


def test_monochrome1_and_monochrome2_give_same_output_with_window(
    write_dicom: WriteDicom, image: np.ndarray
) -> None:
    center, width = 1800.0, 2400.0
    monochrome2 = load(write_dicom(image, WindowCenter=center, WindowWidth=width))
    # The LINEAR function of PS3.3 C.11.2.1.2.1 is offset by half a step, so the mirrored
    # center is (maximum + 1 - center) rather than (maximum - center).
    monochrome1 = load(
        write_dicom(
            MAXIMUM_12_BIT - image,
            PhotometricInterpretation="MONOCHROME1",
            WindowCenter=MAXIMUM_12_BIT + 1 - center,
            WindowWidth=width,
        )
    )

    np.testing.assert_allclose(monochrome1.pixels, monochrome2.pixels, atol=1e-5)
    assert monochrome1.provenance.window_width == width


def test_presentation_lut_inverse_inverts_monochrome2(write_dicom: WriteDicom, image: np.ndarray) -> None:
    plain = load(write_dicom(image))

    inverse = load(write_dicom(image, PresentationLUTShape="INVERSE"))

    np.testing.assert_allclose(inverse.pixels, 1.0 - plain.pixels, atol=1e-6)
    assert inverse.provenance.inverted is True


def test_monochrome1_with_inverse_shape_inverts_once(write_dicom: WriteDicom, image: np.ndarray) -> None:
    monochrome1 = load(write_dicom(image, PhotometricInterpretation="MONOCHROME1"))

    with_shape = load(
        write_dicom(image, PhotometricInterpretation="MONOCHROME1", PresentationLUTShape="INVERSE")
    )

    np.testing.assert_array_equal(with_shape.pixels, monochrome1.pixels)
    assert any(
        "MONOCHROME1 and Presentation LUT Shape INVERSE" in note for note in with_shape.provenance.notes
    )


# ------------------------------------------------------------------------ windows


def test_first_window_pair_is_used(write_dicom: WriteDicom, image: np.ndarray) -> None:
    radiograph = load(write_dicom(image, WindowCenter=[1000, 3000], WindowWidth=[500, 4000]))

    assert radiograph.provenance.window_center == 1000.0
    assert radiograph.provenance.window_width == 500.0
    assert radiograph.provenance.voi_lut.endswith("(first of several)")


def test_linear_window_follows_dicom_formula(write_dicom: WriteDicom) -> None:
    values = np.array([[0, 1499, 1500, 1999, 2000, 2499, 2500, 4095]], dtype=np.uint16)

    radiograph = load(write_dicom(values, WindowCenter=2000, WindowWidth=1001))

    # y = ((x - (c - 0.5)) / (w - 1) + 0.5), 0 below c - 0.5 - (w-1)/2, 1 above c - 0.5 + (w-1)/2.
    expected = np.clip((values.astype(np.float64) - 1999.5) / 1000.0 + 0.5, 0.0, 1.0)
    np.testing.assert_allclose(radiograph.pixels, expected, atol=1e-6)


def test_sigmoid_window_function(write_dicom: WriteDicom) -> None:
    values = np.array([[1000, 2000, 3000]], dtype=np.uint16)

    radiograph = load(write_dicom(values, WindowCenter=2000, WindowWidth=1000, VOILUTFunction="SIGMOID"))

    expected = 1.0 / (1.0 + np.exp(-4.0 * (values.astype(np.float64) - 2000.0) / 1000.0))
    np.testing.assert_allclose(radiograph.pixels, expected, atol=1e-6)
    assert "SIGMOID" in radiograph.provenance.voi_lut


def test_invalid_window_falls_back_to_percentiles(write_dicom: WriteDicom, image: np.ndarray) -> None:
    radiograph = load(write_dicom(image, WindowCenter=2000, WindowWidth=0))

    assert "window_invalid" in _codes(radiograph)
    assert radiograph.provenance.voi_lut.startswith("percentile window p1..p99")


def test_percentile_window_ignores_outliers(write_dicom: WriteDicom, image: np.ndarray) -> None:
    with_marker = image.copy()
    with_marker[:2, :2] = MAXIMUM_12_BIT  # a burnt-in marker brighter than the anatomy

    radiograph = load(write_dicom(with_marker))

    assert radiograph.provenance.window_center is not None
    assert radiograph.provenance.window_center + radiograph.provenance.window_width / 2 < MAXIMUM_12_BIT
    assert float(radiograph.pixels.min()) == 0.0
    assert float(radiograph.pixels.max()) == 1.0


def test_rescale_is_applied_before_window(write_dicom: WriteDicom) -> None:
    stored = np.array([[0, 1000, 2000, 3000]], dtype=np.uint16)

    radiograph = load(
        write_dicom(
            stored,
            RescaleSlope=2,
            RescaleIntercept=-1000,
            WindowCenter=1000,
            WindowWidth=2000,
            VOILUTFunction="LINEAR_EXACT",
        )
    )

    # Modality values -1000, 1000, 3000, 5000 through the window 0..2000.
    np.testing.assert_allclose(radiograph.pixels, [[0.0, 0.5, 1.0, 1.0]], atol=1e-6)
    assert radiograph.provenance.modality_lut == "rescale slope=2 intercept=-1000"


def test_signed_pixels_are_read_with_their_sign(write_dicom: WriteDicom) -> None:
    stored = np.array([[-2048, -1000, 0, 1000, 2047]], dtype=np.int16)

    radiograph = load(write_dicom(stored, WindowCenter=0, WindowWidth=4096, VOILUTFunction="LINEAR_EXACT"))

    np.testing.assert_allclose(radiograph.pixels, (stored + 2048) / 4096.0, atol=1e-6)
    assert radiograph.provenance.pixel_representation == 1


def test_uniform_image_blocks_assessment(write_dicom: WriteDicom) -> None:
    radiograph = load(write_dicom(np.full((32, 32), 700, dtype=np.uint16)))

    assert [warning.code for warning in radiograph.blocking_warnings] == ["uniform_image"]
    assert float(radiograph.pixels.max()) == 0.0


def test_values_above_bits_stored_are_clipped_with_warning(
    write_dicom: WriteDicom, image: np.ndarray
) -> None:
    out_of_range = image.copy()
    out_of_range[0, :10] = 5000  # above the 12-bit maximum of 4095

    radiograph = load(write_dicom(out_of_range, WindowCenter=2048, WindowWidth=4096))

    warning = next(warning for warning in radiograph.warnings if warning.code == "pixel_values_clipped")
    assert "10 pixel values" in warning.message_en
    assert "12-bit" in warning.message_en
    assert float(radiograph.pixels[0, :10].min()) == 1.0


# --------------------------------------------------------------- lossless codecs


@pytest.mark.parametrize(("syntax", "plugin"), [(RLELossless, "pydicom"), (JPEG2000Lossless, "pylibjpeg")])
def test_lossless_compression_gives_identical_pixels(
    syntax: str, plugin: str, write_dicom: WriteDicom, make_dataset, image: np.ndarray
) -> None:
    reference = load(write_dicom(image))
    ds = make_dataset(image)
    ds.compress(syntax, encoding_plugin=plugin)

    radiograph = load(write_dicom(ds))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert radiograph.provenance.transfer_syntax_uid == syntax
    assert "lossy_compression" not in _codes(radiograph)


def test_dicom_without_preamble_is_read(tmp_path: Path, make_dataset, image: np.ndarray) -> None:
    ds = make_dataset(image)
    del ds.file_meta
    path = tmp_path / "no_preamble.dcm"
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert path.read_bytes()[128:132] != b"DICM"

    radiograph = load(path)

    assert radiograph.provenance.transfer_syntax_name == "Implicit VR Little Endian"
    assert radiograph.shape == image.shape


# ------------------------------------------------------------------ header facts


@pytest.mark.parametrize("body_part", ["LSPINE", "L SPINE", "l-spine", "SPINE", "TLSPINE", "LUMBAR"])
def test_lumbar_body_parts_do_not_warn(body_part: str, write_dicom: WriteDicom, image: np.ndarray) -> None:
    radiograph = load(write_dicom(image, BodyPartExamined=body_part))

    assert radiograph.blocking_warnings == ()


@pytest.mark.parametrize("body_part", ["CHEST", "KNEE", "TSPINE", "PELVIS"])
def test_other_body_parts_block_assessment(
    body_part: str, write_dicom: WriteDicom, image: np.ndarray
) -> None:
    radiograph = load(write_dicom(image, BodyPartExamined=body_part))

    assert [warning.code for warning in radiograph.blocking_warnings] == ["body_part_not_lumbar"]


@pytest.mark.parametrize("modality", ["CT", "MR", "US", "MG"])
def test_non_projection_modalities_block_assessment(
    modality: str, write_dicom: WriteDicom, image: np.ndarray
) -> None:
    radiograph = load(write_dicom(image, Modality=modality))

    warning = radiograph.blocking_warnings[0]
    assert warning.code == "modality_not_projection"
    assert modality in warning.message_en
    assert modality in warning.message_ja


@pytest.mark.parametrize("modality", ["CR", "DX", "OT"])
def test_projection_and_unspecified_modalities_pass(
    modality: str, write_dicom: WriteDicom, image: np.ndarray
) -> None:
    radiograph = load(write_dicom(image, Modality=modality))

    assert radiograph.blocking_warnings == ()


@pytest.mark.parametrize(
    ("view_position", "warned"), [("AP", True), ("PA", True), ("LL", False), ("RL", False)]
)
def test_frontal_view_is_flagged(
    view_position: str, warned: bool, write_dicom: WriteDicom, image: np.ndarray
) -> None:
    radiograph = load(write_dicom(image, ViewPosition=view_position))

    assert ("view_not_lateral" in _codes(radiograph)) is warned
    assert radiograph.blocking_warnings == ()


def test_secondary_capture_is_flagged(write_dicom: WriteDicom, image: np.ndarray) -> None:
    radiograph = load(write_dicom(image, SOPClassUID="1.2.840.10008.5.1.4.1.1.7", Modality="OT"))

    assert "secondary_capture" in _codes(radiograph)
    assert radiograph.blocking_warnings == ()


def test_header_facts_are_returned(write_dicom: WriteDicom, image: np.ndarray) -> None:
    header = load(write_dicom(image)).header

    assert header.patient_id == "PHANTOM-1"
    assert header.patient_name == "Phantom^Test"
    assert header.patient_birth_date == "19500101"
    assert header.patient_sex == "F"
    assert header.accession_number == "ACC1"
    assert header.body_part_examined == "LSPINE"
    assert header.view_position == "LL"
    assert header.modality == "DX"


def test_to_dict_is_json_ready(write_dicom: WriteDicom, image: np.ndarray) -> None:
    data = load(write_dicom(image)).to_dict()

    assert json.loads(json.dumps(data))["provenance"]["file_type"] == "dicom"
    assert data["shape"] == [96, 80]


def test_padding_after_jpeg2000_end_marker_is_accepted(
    write_dicom: WriteDicom, make_dataset, image: np.ndarray
) -> None:
    reference = load(write_dicom(image))
    ds = make_dataset(image)
    ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    codestream = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([codestream + b"\x00" * 10])

    radiograph = load(write_dicom(ds))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
