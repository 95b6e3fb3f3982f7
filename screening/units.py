"""Display of byte counts in one unit system, the binary one (KiB, MiB, GiB), on pages and in API messages."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def format_bytes(num_bytes: int) -> str:
    """Format ``num_bytes`` as "812 B", "1.5 KiB" or "512 MiB": at most one decimal, none when whole."""
    if num_bytes < 1024:
        return f"{num_bytes} B"
    value = num_bytes / 1024
    unit = _UNITS[0]
    for larger_unit in _UNITS[1:]:
        if value < 1024:
            break
        value /= 1024
        unit = larger_unit
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
