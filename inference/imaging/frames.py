"""The multi-frame policy shared by DICOM and animated PNG files."""

from __future__ import annotations

from inference.imaging import messages


def choose_frame(number_of_frames: int, frame: int | None, file_type: str = "dicom") -> tuple[int, str]:
    """Return the frame index to read and the policy text recorded in the provenance.

    The caller must name the frame of a multi-frame file, so frame 0 is never
    chosen silently. Raises UnsupportedImageError otherwise, or when the frame
    is outside the file.
    """
    if number_of_frames == 1:
        if frame not in (None, 0):
            raise messages.frame_out_of_range(frame, 1)
        return 0, "single frame"
    if frame is None:
        raise messages.multi_frame(number_of_frames, file_type)
    if not 0 <= frame < number_of_frames:
        raise messages.frame_out_of_range(frame, number_of_frames)
    return frame, f"frame {frame} of {number_of_frames}, chosen by the caller"
