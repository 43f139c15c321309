"""Charts rendered on the server as SVG, so the same chart can appear on a page and in a PDF."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    share: float  # of the largest value, 0 to 1
    y: int


def horizontal_bars(rows: list[tuple[str, int]], *, row_height: int = 34) -> dict:
    """Geometry for ``includes/bar_chart.html``: one bar per (label, value), the longest at full width."""
    largest = max((value for _, value in rows), default=0) or 1
    bars = [Bar(str(label), value, value / largest, i * row_height) for i, (label, value) in enumerate(rows)]
    return {"bars": bars, "height": max(len(bars), 1) * row_height, "row_height": row_height}
