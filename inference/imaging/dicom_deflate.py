"""Reading Deflated Explicit VR Little Endian files with a cap on the inflated size.

pydicom 3.0 inflates the whole dataset with one ``zlib.decompress`` call, so a
small crafted file can expand to gigabytes before any check runs. Here the
dataset is inflated in bounded steps and rejected as soon as it passes the cap.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from inference.imaging import messages
from inference.imaging.limits import ImagingLimits

# Explicit VRs whose length field takes 4 bytes after 2 reserved bytes (PS3.5 7.1.2).
_LONG_LENGTH_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)

# File meta information is a few hundred bytes, so this bound keeps a forged length from reading far.
_MAX_FILE_META_BYTES = 64 * 1024

_INFLATE_CHUNK_BYTES = 16 * 1024 * 1024


def max_inflated_bytes(limits: ImagingLimits) -> int:
    """Return the cap on the inflated dataset: no more than an uncompressed file may hold."""
    return limits.max_file_bytes


def read_deflated_dataset(path: Path, *, has_preamble: bool, limits: ImagingLimits) -> Dataset | None:
    """Return the dataset of a deflated file, or None when the file is not deflated.

    Raises ImageTooLargeError when the dataset inflates beyond ``max_inflated_bytes``
    and DamagedImageError when the deflate stream is corrupt.
    """
    with path.open("rb") as stream:
        head = stream.read(_MAX_FILE_META_BYTES)
    start = 132 if has_preamble else 0
    meta_end, transfer_syntax = _walk_file_meta(head, start)
    if transfer_syntax != DeflatedExplicitVRLittleEndian:
        return None

    file_meta = FileMetaDataset(read_dataset(io.BytesIO(head[start:meta_end]), False, True))
    cap = max_inflated_bytes(limits)
    with path.open("rb") as stream:
        stream.seek(meta_end)
        inflated = _inflate(stream, cap)
    dataset = read_dataset(io.BytesIO(inflated), False, True)
    preamble = head[:128] if has_preamble else None
    return FileDataset(str(path), dataset, preamble, file_meta, is_implicit_VR=False, is_little_endian=True)


def _walk_file_meta(head: bytes, start: int) -> tuple[int, str]:
    """Return the offset after the group 0002 elements and the Transfer Syntax UID among them."""
    offset = start
    transfer_syntax = ""
    while offset + 8 <= len(head):
        group, element = struct.unpack_from("<HH", head, offset)
        if group != 0x0002:
            break
        vr = head[offset + 4 : offset + 6]
        if vr in _LONG_LENGTH_VRS:
            if offset + 12 > len(head):
                break
            (length,) = struct.unpack_from("<L", head, offset + 8)
            value_start = offset + 12
        else:
            (length,) = struct.unpack_from("<H", head, offset + 6)
            value_start = offset + 8
        if element == 0x0010:
            transfer_syntax = head[value_start : value_start + length].decode("ascii", errors="replace")
            transfer_syntax = transfer_syntax.strip("\x00 ")
        offset = value_start + length
    return offset, transfer_syntax


def _inflate(stream: io.BufferedReader, cap: int) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    try:
        while not inflater.eof:
            compressed = inflater.unconsumed_tail or stream.read(_INFLATE_CHUNK_BYTES)
            if not compressed:
                # Input is used up. flush() returns the little output that zlib may still hold.
                part = inflater.flush()
                size += len(part)
                if size > cap:
                    raise messages.inflated_too_large(cap)
                parts.append(part)
                break
            # max_length bounds each step, so at most one step's output passes the cap.
            part = inflater.decompress(compressed, min(_INFLATE_CHUNK_BYTES, cap + 1 - size))
            size += len(part)
            if size > cap:
                raise messages.inflated_too_large(cap)
            parts.append(part)
    except zlib.error as error:
        # The whole dataset is deflated, so a corrupt stream loses the header, not only the pixels.
        raise messages.dicom_unreadable(f"deflated dataset: zlib: {error}") from error
    return b"".join(parts)
