"""Small statistics over plain numbers."""
from __future__ import annotations


def percentile(values: list[float], q: float) -> float | None:
    """The q-th quantile (0..1) with linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio_pct(part: int, whole: int) -> float | None:
    """part/whole as a percentage with one decimal, None when there is no whole."""
    return round(100.0 * part / whole, 1) if whole else None


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
