"""Reading DICOM files that no one on this project wrote (pydicom and pydicom-data test files)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut, apply_voi, get_decoder

from inference.errors import DamagedImageError, NotAnImageError, UnsupportedImageError
from inference.imaging import load

# Lossy JPEG 2000 versions of RG1 and RG3 may differ from the uncompressed
# display values (range 0..1) by at most these amounts. The measured maxima
# are 0.013 (RG1) and 0.009 (RG3), the mean differences 0.0017 and 0.0007.
LOSSY_MAX_DIFFERENCE = 0.03
LOSSY_MEAN_DIFFERENCE = 0.005

Testdata = Callable[[str], str]


@pytest.fixture(scope="module")
def rg1_uncompressed() -> np.ndarray:
    from pydicom.data import get_testdata_file

    return load(get_testdata_file("RG1_UNCR.dcm")).pixels


# In pydicom-data, UNCR is the uncompressed form of the reversible J2KR file
# and UNCI the uncompressed form of the irreversible J2KI file.
@pytest.mark.parametrize("prefix", ["RG1", "RG3"])
def test_reversible_jpeg2000_equals_uncompressed(prefix: str, testdata: Testdata) -> None:
    reference = load(testdata(f"{prefix}_UNCR.dcm"))

    radiograph = load(testdata(f"{prefix}_J2KR.dcm"))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert "lossy_compression" not in {warning.code for warning in radiograph.warnings}


@pytest.mark.parametrize("prefix", ["RG1", "RG3"])
def test_irreversible_jpeg2000_equals_its_decompressed_copy(prefix: str, testdata: Testdata) -> None:
    reference = load(testdata(f"{prefix}_UNCI.dcm"))

    radiograph = load(testdata(f"{prefix}_J2KI.dcm"))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert radiograph.provenance.transfer_syntax_uid == "1.2.840.10008.1.2.4.91"


@pytest.mark.parametrize("prefix", ["RG1", "RG3"])
def test_lossy_jpeg2000_within_tolerance(prefix: str, testdata: Testdata) -> None:
    reference = load(testdata(f"{prefix}_UNCR.dcm"))

    radiograph = load(testdata(f"{prefix}_J2KI.dcm"))

    difference = np.abs(radiograph.pixels - reference.pixels)
    assert float(difference.max()) <= LOSSY_MAX_DIFFERENCE
    assert float(difference.mean()) <= LOSSY_MEAN_DIFFERENCE
    assert "lossy_compression" in {warning.code for warning in radiograph.warnings}
    assert radiograph.provenance.decoder == "pylibjpeg-openjpeg"


def test_rg1_chest_is_monochrome1_with_bone_bright(rg1_uncompressed: np.ndarray, testdata: Testdata) -> None:
    radiograph = load(testdata("RG1_UNCR.dcm"))
    pixels = rg1_uncompressed

    def box_mean(row: int, column: int) -> float:
        return float(pixels[row - 60 : row + 60, column - 60 : column + 60].mean())

    spine = box_mean(772, 920)
    assert radiograph.provenance.photometric_interpretation == "MONOCHROME1"
    assert radiograph.provenance.inverted is True
    assert spine > box_mean(772, 511) + 0.15  # right lung
    assert spine > box_mean(772, 1350) + 0.15  # left lung


def test_rg3_extremity_has_bone_brighter_than_air(testdata: Testdata) -> None:
    radiograph = load(testdata("RG3_UNCR.dcm"))
    row = radiograph.pixels[420:460]

    tibia = float(row[:, 820:860].mean())
    air_beside_leg = float(row[:, 500:540].mean())

    assert radiograph.provenance.inverted is True
    assert tibia > 0.6
    assert air_beside_leg < 0.2


@pytest.mark.parametrize(("name", "body_part"), [("RG1_UNCR.dcm", "CHEST"), ("RG3_J2KR.dcm", "EXTREMITY")])
def test_body_part_warning_names_body_part(name: str, body_part: str, testdata: Testdata) -> None:
    radiograph = load(testdata(name))

    blocking = radiograph.blocking_warnings
    assert [warning.code for warning in blocking] == ["body_part_not_lumbar"]
    assert body_part in blocking[0].message_en
    assert body_part in blocking[0].message_ja
    assert radiograph.header.body_part_examined == body_part


def test_rg1_zero_pixel_spacing_is_ignored(testdata: Testdata) -> None:
    radiograph = load(testdata("RG1_UNCR.dcm"))

    codes = [warning.code for warning in radiograph.warnings]
    assert radiograph.spacing.source == "unknown"
    assert "spacing_malformed" in codes
    assert "spacing_unknown" in codes


def test_rg_header_facts_are_read(testdata: Testdata) -> None:
    header = load(testdata("RG3_UNCR.dcm")).header

    assert header.modality == "CR"
    assert header.patient_id == "11RG3"
    assert header.view_position == "AP"
    assert header.manufacturer == "FUJI PHOTO FILM CO. LTD."
    assert header.study_date == "20040826"
    assert header.sop_class_uid == "1.2.840.10008.5.1.4.1.1.1"


def test_modality_lut_sequence_is_applied(testdata: Testdata) -> None:
    path = testdata("mlut_18.dcm")
    ds = pydicom.dcmread(path)
    expected_order = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)

    radiograph = load(path)

    assert radiograph.provenance.modality_lut == "modality LUT sequence"
    correlation = np.corrcoef(radiograph.pixels.ravel(), expected_order.ravel())[0, 1]
    assert correlation > 0.99


def test_voi_lut_sequence_is_applied(testdata: Testdata) -> None:
    path = testdata("vlut_04.dcm")
    ds = pydicom.dcmread(path)
    expected = apply_voi(ds.pixel_array, ds).astype(np.float64) / (2**16 - 1)

    radiograph = load(path)

    assert radiograph.provenance.voi_lut.startswith("VOI LUT sequence")
    np.testing.assert_allclose(radiograph.pixels, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("encoded", "decoder"),
    [
        ("emri_small_RLE.dcm", "pylibjpeg-rle"),
        ("emri_small_jpeg_ls_lossless.dcm", "pylibjpeg-libjpeg"),
        ("emri_small_jpeg_2k_lossless.dcm", "pylibjpeg-openjpeg"),
        ("emri_small_big_endian.dcm", "pydicom-native"),
    ],
)
def test_multi_frame_encodings_equal_uncompressed_frame(
    encoded: str, decoder: str, testdata: Testdata
) -> None:
    reference = load(testdata("emri_small.dcm"), frame=7)

    radiograph = load(testdata(encoded), frame=7)

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert radiograph.provenance.decoder == decoder
    assert radiograph.provenance.frame_index == 7
    assert radiograph.provenance.number_of_frames == 10


@pytest.mark.parametrize(
    "encoded",
    [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_expb.dcm",
    ],
)
def test_signed_single_frame_encodings_equal_uncompressed(encoded: str, testdata: Testdata) -> None:
    reference = load(testdata("MR_small.dcm"))

    radiograph = load(testdata(encoded))

    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
    assert radiograph.provenance.pixel_representation == 1


def test_jpeg_lossless_process_14_is_decoded(testdata: Testdata) -> None:
    path = testdata("JPGLosslessP14SV1_1s_1f_8b.dcm")
    reference = pydicom.dcmread(path).pixel_array

    radiograph = load(path)

    assert radiograph.provenance.transfer_syntax_uid == "1.2.840.10008.1.2.4.70"
    assert radiograph.provenance.decoder == "pylibjpeg-libjpeg"
    assert radiograph.shape == reference.shape
    assert radiograph.provenance.voi_lut == "window center=127 width=254 function=LINEAR"
    assert "modality_not_projection" in {warning.code for warning in radiograph.warnings}
    assert "lossy_compression" not in {warning.code for warning in radiograph.warnings}


def test_deflated_transfer_syntax_is_read(testdata: Testdata) -> None:
    radiograph = load(testdata("image_dfl.dcm"))

    assert radiograph.provenance.decoder == "pydicom-native (deflate)"
    assert radiograph.shape == (512, 512)


def test_ybr_full_matches_rgb_version(testdata: Testdata) -> None:
    rgb = load(testdata("SC_rgb.dcm"))

    ybr = load(testdata("SC_ybr_full_uncompressed.dcm"))

    assert ybr.provenance.derived_from_colour is True
    assert "colour_converted" in {warning.code for warning in ybr.warnings}
    assert "secondary_capture" in {warning.code for warning in ybr.warnings}
    # YBR_FULL stores rounded Y, Cb, Cr, so the round trip may move a value by a couple of steps.
    assert int(np.abs(ybr.rendering.astype(int) - rgb.rendering.astype(int)).max()) <= 2


def test_ybr_full_422_is_read_as_grayscale(testdata: Testdata) -> None:
    radiograph = load(testdata("SC_ybr_full_422_uncompressed.dcm"))

    assert radiograph.provenance.photometric_interpretation == "YBR_FULL_422"
    assert radiograph.provenance.derived_from_colour is True
    assert radiograph.rendering.ndim == 2


def test_jpeg_baseline_colour_is_lossy_and_converted(testdata: Testdata) -> None:
    radiograph = load(testdata("SC_rgb_jpeg_dcmtk.dcm"))

    codes = {warning.code for warning in radiograph.warnings}
    assert {"lossy_compression", "colour_converted"} <= codes
    assert radiograph.provenance.decoder == "pylibjpeg-libjpeg"


def test_multi_frame_without_frame_is_rejected(testdata: Testdata) -> None:
    with pytest.raises(UnsupportedImageError) as caught:
        load(testdata("emri_small.dcm"))

    assert "10 frames" in caught.value.message_en
    assert "10 フレーム" in caught.value.message_ja


def test_multi_frame_frame_out_of_range_is_rejected(testdata: Testdata) -> None:
    with pytest.raises(UnsupportedImageError) as caught:
        load(testdata("emri_small.dcm"), frame=10)

    assert "0 to 9" in caught.value.message_en


def test_no_preamble_palette_image_is_read(testdata: Testdata) -> None:
    radiograph = load(testdata("OT-PAL-8-face.dcm"))

    assert radiograph.shape == (480, 640)
    assert radiograph.provenance.derived_from_colour is True
    assert any("no 128-byte preamble" in note for note in radiograph.provenance.notes)
    assert radiograph.provenance.transfer_syntax_uid == "1.2.840.10008.1.2"


@pytest.mark.parametrize("name", ["ExplVR_BigEndNoMeta.dcm", "ExplVR_LitEndNoMeta.dcm"])
def test_no_preamble_plan_has_no_image(name: str, testdata: Testdata) -> None:
    with pytest.raises(NotAnImageError) as caught:
        load(testdata(name))

    assert "RT Ion Plan Storage" in caught.value.message_en


def test_structured_report_is_not_an_image(testdata: Testdata) -> None:
    with pytest.raises(NotAnImageError) as caught:
        load(testdata("test-SR.dcm"))

    assert "SR" in caught.value.message_en
    assert "no pixel data" in caught.value.message_en


def test_truncated_pixel_data_is_damaged(testdata: Testdata) -> None:
    with pytest.raises(DamagedImageError) as caught:
        load(testdata("MR_truncated.dcm"))

    assert "8,130 of 8,192 bytes" in caught.value.message_en


def test_truncated_jpeg2000_file_is_damaged(testdata: Testdata) -> None:
    with pytest.raises(DamagedImageError):
        load(testdata("emri_small_jpeg_2k_lossless_too_short.dcm"))


@pytest.mark.parametrize("name", ["RG3_J2KR.dcm", "emri_small_jpeg_ls_lossless.dcm"])
def test_gdcm_decodes_when_pylibjpeg_fails(
    name: str, testdata: Testdata, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = 2 if name.startswith("emri") else None
    path = testdata(name)
    reference = load(path, frame=frame)
    decoder = get_decoder(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)

    def failing_plugin(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated pylibjpeg failure")

    monkeypatch.setitem(decoder._available, "pylibjpeg", failing_plugin)

    radiograph = load(path, frame=frame)

    assert radiograph.provenance.decoder == "gdcm"
    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)


def test_one_bit_file_is_unsupported_in_both_languages(testdata: Testdata) -> None:
    with pytest.raises(UnsupportedImageError) as caught:
        load(testdata("liver_1frame.dcm"))

    assert "1-bit pixel data" in caught.value.message_en
    assert "1 ビットの画素データ" in caught.value.message_ja
    assert "1-bit" not in caught.value.message_ja
