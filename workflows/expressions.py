"""Helper functions offered to diagram expressions, conditions and DMN cells."""
from __future__ import annotations


def percent(part, whole):
    """part as a percentage of whole, 0 when whole is 0."""
    return 0 if not whole else 100.0 * part / whole


def clamp(value, low, high):
    """value limited to [low, high]."""
    return max(low, min(high, value))


HELPERS = {"percent": percent, "clamp": clamp}
