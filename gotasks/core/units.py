"""Sizes and durations as people read them: one formatter for each."""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """850ms, 12.3s, 2m05s, 1h02m: short enough for a summary column."""
    seconds = _finite(seconds)
    ms = round(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_bytes(n: int) -> str:
    """512M, 1.5G, 12K: powers of 1024, in the units `mem=` accepts."""
    n = max(0, int(n))
    units = ("K", "M", "G", "T")
    if n < 1024:
        return f"{n}B"
    value = float(n)
    unit = ""
    for unit in units:
        value /= 1024
        # Stop at the first unit that keeps the figure below 1024 once rounded.
        if round(value, 1 if value < 10 else 0) < 1024 or unit == units[-1]:
            break
    # One decimal where it tells something (1.5G), none where it would be noise (512M).
    text = f"{value:.1f}".removesuffix(".0") if value < 9.95 else str(round(value))
    return text + unit


def format_size(n: float) -> str:
    """24.4 MB, 9.4 KB, 102 B: powers of 1000, as download sizes and disk use are shown."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def _finite(value: float) -> float:
    # A NaN, an infinity or a negative figure (a clock step) shows as zero.
    return float(value) if math.isfinite(value) and value > 0 else 0.0
