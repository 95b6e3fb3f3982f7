"""Image sizes read from the headers of JPEG, JPEG-LS and JPEG 2000 codestreams.

Reading the size before decoding lets a forged file be rejected before a decoder
allocates the image that its codestream declares.
"""

from __future__ import annotations

import struct

# JPEG start-of-frame markers: every SOFn of ITU-T T.81 except DHT (C4), JPG (C8) and DAC (CC),
# plus SOF55 (F7), the JPEG-LS frame header of ITU-T T.87.
JPEG_SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
)

# JPEG 2000 start of codestream (SOC) followed by the image and tile size (SIZ) marker, ITU-T T.800 A.5.1.
_J2K_SOC_SIZ = b"\xff\x4f\xff\x51"

# A JP2 file wraps the codestream in boxes, so the SIZ marker is searched within this many bytes.
_J2K_SEARCH_BYTES = 64 * 1024


def jpeg_frame_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from the first JPEG or JPEG-LS frame header, or None when none is found.

    ``data`` starts with the SOI marker. A height of 0 (defined later by a DNL
    marker) is returned as is.
    """
    if data[:2] != b"\xff\xd8":
        return None
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:
            offset += 1  # fill byte
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker in JPEG_SOF_MARKERS:
            if offset + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return width, height
        if marker in (0xD9, 0xDA):
            return None
        offset += 2 + length
    return None


def j2k_image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from the JPEG 2000 SIZ marker, or None when it is not found.

    The size is Xsiz - XOsiz by Ysiz - YOsiz, the reference grid less its offset.
    """
    start = data.find(_J2K_SOC_SIZ, 0, _J2K_SEARCH_BYTES)
    if start < 0:
        return None
    # SIZ: marker (2), Lsiz (2), Rsiz (2), Xsiz, Ysiz, XOsiz, YOsiz (4 each).
    fields = start + 2 + 6
    if fields + 16 > len(data):
        return None
    x_size, y_size, x_offset, y_offset = struct.unpack(">IIII", data[fields : fields + 16])
    if x_offset >= x_size or y_offset >= y_size:
        return None
    return x_size - x_offset, y_size - y_offset
