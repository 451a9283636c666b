"""Chart geometry for the metrics page: bars as plain numbers the template draws as inline SVG.

No chart library and no inline styles (our CSP forbids them): shapes get classes, app.css colours them.
"""
from __future__ import annotations

LABEL_W = 130  # room for the row labels on the left
VALUE_W = 150  # room for the figures on the right
ROW_H = 34
BAR_H = 22


def _scale(peak: float, width: float):
    return (lambda v: 0.0 if not peak else round(width * (v or 0) / peak, 1))


def funnel(rows: list[dict], width: int = 720) -> dict:
    """One row per gate: a bar for the passes entered, with the go share drawn inside it."""
    span = width - LABEL_W - VALUE_W
    x = _scale(max([r["entered"] for r in rows] or [0]), span)
    out = []
    for i, r in enumerate(rows):
        y = 10 + i * ROW_H
        out.append({"label": r["gate"], "y": y, "text_y": y + BAR_H - 6, "gate": r["gate"],
                    "entered": r["entered"], "go": r["go"], "conversion_pct": r["conversion_pct"],
                    "entered_w": x(r["entered"]), "go_w": x(r["go"])})
    return {"width": width, "height": 20 + ROW_H * len(rows), "x0": LABEL_W, "value_x": width - VALUE_W + 8,
            "bar_h": BAR_H, "rows": out}


def stage_times(rows: list[dict], width: int = 720) -> dict:
    """One row per stage: a bar to the median days and a thinner one to the p90."""
    span = width - LABEL_W - VALUE_W
    x = _scale(max([r["p90_days"] or 0 for r in rows] or [0]), span)
    out = []
    for i, r in enumerate(rows):
        y = 10 + i * ROW_H
        out.append({"label": r["stage"], "y": y, "p90_y": y + BAR_H / 2 - 3, "text_y": y + BAR_H - 6,
                    "stage": r["stage"], "median": r["median_days"], "p90": r["p90_days"],
                    "median_w": x(r["median_days"]), "p90_w": x(r["p90_days"])})
    return {"width": width, "height": 20 + ROW_H * len(rows), "x0": LABEL_W, "value_x": width - VALUE_W + 8,
            "bar_h": BAR_H, "rows": out}


SERIES = ("won", "lost", "killed")


def trend(rows: list[dict], width: int = 720, height: int = 220) -> dict:
    """Per month, side-by-side bars for deals won, lost and killed."""
    top, bottom, left = 14, 34, 36
    plot_h = height - top - bottom
    peak = max([r[s] for r in rows for s in SERIES] or [0])
    group_w = (width - left - 10) / max(len(rows), 1)
    bar_w = max(min(group_w / (len(SERIES) + 1), 28), 2)
    months = []
    for i, r in enumerate(rows):
        gx = left + i * group_w + (group_w - bar_w * len(SERIES)) / 2
        bars = []
        for j, s in enumerate(SERIES):
            h = round(plot_h * r[s] / peak, 1) if peak else 0
            bars.append({"series": s, "value": r[s], "x": round(gx + j * bar_w, 1), "w": round(bar_w - 2, 1),
                         "y": round(top + plot_h - h, 1), "h": h})
        months.append({"month": r["month"], "label_x": round(left + (i + 0.5) * group_w, 1), "bars": bars})
    return {"width": width, "height": height, "base_y": top + plot_h, "label_y": height - 12, "left": left,
            "peak": peak, "months": months, "series": SERIES}
