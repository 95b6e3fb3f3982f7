"""Decide the type of a file from its first bytes, never from its name."""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass
from typing import Literal

from inference.imaging import messages

SNIFF_BYTES = 1024

FileType = Literal["dicom", "png", "jpeg"]

# Value representations of DICOM PS3.5 table 6.2-1. An explicit VR element
# header carries one of these two-letter codes after its tag.
DICOM_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split()
)

# First groups that a dataset without preamble may start with: file meta
# information (0002) or, without meta, the identifying group (0008).
_PLAUSIBLE_FIRST_GROUPS = (0x0002, 0x0008)


@dataclass(frozen=True)
class SniffResult:
    """The file type and, for DICOM, whether the 128-byte preamble is present."""

    file_type: FileType
    has_preamble: bool = True


def sniff(head: bytes, file_size: int) -> SniffResult:
    """Return the type of a file from its first bytes.

    Raises NotAnImageError for empty files and known non-image formats, and
    UnsupportedImageError for images of kinds that are not read (TIFF, BMP, ...).
    """
    if file_size == 0 or not head:
        raise messages.empty_file()
    if len(head) >= 132 and head[128:132] == b"DICM":
        return SniffResult("dicom")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return SniffResult("png")
    if head.startswith(b"\xff\xd8\xff"):
        return SniffResult("jpeg")
    if looks_like_dicom_without_preamble(head, file_size):
        return SniffResult("dicom", has_preamble=False)

    kind = _identify_other(head)
    if kind in {"tiff", "bmp", "gif", "webp", "jpeg2000", "heic"}:
        raise messages.unsupported_file_kind(kind)
    raise messages.not_an_image(kind)


def looks_like_dicom_without_preamble(head: bytes, file_size: int) -> bool:
    """Return True when the bytes start with a plausible DICOM data element.

    The first element must belong to group 0002 or 0008, and either carry a
    valid explicit VR (little or big endian) or an implicit VR length that fits
    inside the file. Only then may the file be parsed without a preamble.
    """
    if len(head) < 8:
        return False
    for byte_order in ("<", ">"):
        group, _element = struct.unpack(byte_order + "HH", head[:4])
        if group not in _PLAUSIBLE_FIRST_GROUPS:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper() and vr.decode("ascii") in DICOM_VRS:
            return True
        if byte_order == "<":
            # Implicit VR is little endian only, and its 4-byte length must fit the file.
            (length,) = struct.unpack("<I", head[4:8])
            if length <= min(file_size - 8, 1024):
                return True
    return False


def _identify_other(head: bytes) -> str:
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lowered = stripped[:256].lower()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "jpeg2000"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "heic"
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in lowered:
        return "html"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<"):
        return "xml"
    if _is_text(head):
        return "text"
    return "unknown"


def _is_text(head: bytes) -> bool:
    # The head may end inside a multi-byte character, so decode incrementally.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return all(character.isprintable() or character in "\r\n\t" for character in text)
