"""Corrupted files give a typed imaging error or a radiograph, never another exception."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import get_decoder

from inference.errors import ImagingError
from inference.imaging import load

SOURCES = [
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "vlut_04.dcm",
    "OT-PAL-8-face.dcm",
    "emri_small_big_endian.dcm",
    "image_dfl.dcm",
]
VARIANTS_PER_SOURCE = 12


def _corrupt(data: bytes, rng: np.random.Generator) -> bytes:
    """Truncate the data, or overwrite a few bytes in the header or anywhere."""
    corrupted = bytearray(data)
    mode = int(rng.integers(0, 3))
    if mode == 0:
        return bytes(corrupted[: int(rng.integers(1, len(corrupted)))])
    region = min(len(corrupted), 1200) if mode == 1 else len(corrupted)
    for _ in range(int(rng.integers(1, 8))):
        corrupted[int(rng.integers(0, region))] = int(rng.integers(0, 256))
    return bytes(corrupted)


# Flipped bytes make pydicom warn about invalid UIDs, quoting values of up to 256 KiB, which floods the
# test log. The test checks the raised errors, not pydicom's warnings.
@pytest.mark.filterwarnings("ignore:The value length:UserWarning")
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI:UserWarning")
@pytest.mark.parametrize("name", SOURCES)
def test_corrupted_files_raise_only_imaging_errors(
    name: str, testdata: Callable[[str], str], tmp_path: Path
) -> None:
    original = Path(testdata(name)).read_bytes()
    rng = np.random.default_rng(sum(name.encode()))
    unexpected: list[str] = []

    for variant in range(VARIANTS_PER_SOURCE):
        path = tmp_path / f"variant{variant}.dcm"
        path.write_bytes(_corrupt(original, rng))
        try:
            load(path, frame=0)
        except ImagingError:
            continue
        except Exception as error:  # collected so that one run lists every unexpected exception
            unexpected.append(f"variant {variant}: {type(error).__name__}: {error}")

    assert unexpected == []


def test_decoder_panic_falls_back_to_next_plugin(
    testdata: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = testdata("MR_small_RLE.dcm")
    reference = load(path)
    decoder = get_decoder(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)

    class PanicException(BaseException):
        """Stand-in for the PanicException of pyo3, which cannot be imported."""

    def panicking_plugin(*args: object, **kwargs: object) -> None:
        raise PanicException("index out of bounds")

    monkeypatch.setitem(decoder._available, "pylibjpeg", panicking_plugin)

    radiograph = load(path)

    assert radiograph.provenance.decoder != "pylibjpeg-rle"
    np.testing.assert_array_equal(radiograph.pixels, reference.pixels)
