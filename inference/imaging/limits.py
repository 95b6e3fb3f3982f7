"""Size limits checked before a file is decoded."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ImagingLimits:
    """Largest file and pixel matrix that ``load`` accepts.

    ``max_file_bytes`` is compared with the file size before anything is read.
    ``max_pixels_per_frame`` (rows x columns of one frame) is compared with the
    header before any pixel is decoded. The defaults leave room for the largest
    detectors in use (43 x 43 cm at 0.1 mm is about 18.5 megapixels). One
    float32 frame at the pixel limit takes 320 MB, and reading needs a few
    such arrays at once.
    """

    max_file_bytes: int = 512 * MIB
    max_pixels_per_frame: int = 80_000_000

    def __post_init__(self) -> None:
        if self.max_file_bytes <= 0:
            raise ValueError(f"max_file_bytes must be positive, got {self.max_file_bytes}")
        if self.max_pixels_per_frame <= 0:
            raise ValueError(f"max_pixels_per_frame must be positive, got {self.max_pixels_per_frame}")


DEFAULT_LIMITS = ImagingLimits()
