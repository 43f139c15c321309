"""Charts rendered on the server as SVG, so the same chart can appear on a page and in a PDF."""

import math
from dataclasses import dataclass
from datetime import date


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


# ------------------------------------------------------------------------------------------ line charts

# Each series differs by colour (3:1 against white or better) and by dash pattern, never by colour alone.
LINE_STYLES = [
    ("#0b4f6c", ""),
    ("#1e6b35", "9 5"),
    ("#8a4b08", "2 4"),
    ("#6b2d7b", "12 4 2 4"),
    ("#a4262c", "1 4"),
    ("#4a5560", "14 4 4 4 4 4"),
]


@dataclass(frozen=True)
class Tick:
    label: str
    position: float  # in SVG units, along the axis


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # for <polyline points="…">
    dots: list[tuple[float, float]]
    colour: str
    dash: str
    last: str  # the last value, formatted


def nice_step(span: float, ticks: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that covers ``span`` in at most ``ticks`` steps."""
    if span <= 0:
        return 1.0
    raw = span / max(ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def _number(x) -> float:
    return float(x.toordinal()) if isinstance(x, date) else float(x)


def line_chart(
    series: list[tuple[str, list[tuple]]],
    *,
    width: int = 640,
    height: int = 300,
    margin: tuple[int, int, int, int] = (16, 36, 44, 84),  # top, right, bottom, left
    y_ticks: int = 5,
    x_ticks: int = 6,
    step: bool = False,
    x_format=str,
    y_format=str,
    value_format=None,
    row_format=None,
) -> dict:
    """Geometry for ``includes/line_chart.html``: one line per (name, [(x, y), …]) on shared axes.

    ``x`` is a date or a number, ``y`` a number (a Decimal is fine). The y axis starts at zero (or below
    it for negative values) and ends on a round tick. ``step`` draws each value until the next point, as
    cumulative totals read. ``x_format``/``y_format`` label the ticks; ``value_format`` (``y_format`` by
    default) writes the exact values in the data table, ``row_format`` (``x_format`` by default) its rows."""
    value_format = value_format or y_format
    row_format = row_format or x_format
    top, right, bottom, left = margin
    plot = {"left": left, "top": top, "right": width - right, "bottom": height - bottom}
    plot["width"], plot["height"] = plot["right"] - plot["left"], plot["bottom"] - plot["top"]
    xs = sorted({x for _, points in series for x, _ in points}, key=_number)
    chart = {"width": width, "height": height, "plot": plot, "lines": [], "x_ticks": [], "y_ticks": []}
    chart["tick_end"] = plot["bottom"] + 6
    chart["table"] = {"columns": [name for name, _ in series], "rows": []}
    if not xs:
        return chart

    # x: the first and last points at the ends of the axis; a single point in the middle.
    low, high = _number(xs[0]), _number(xs[-1])
    if low == high:
        low, high = low - 1, high + 1

    def x_at(x) -> float:
        return round(plot["left"] + (_number(x) - low) / (high - low) * plot["width"], 1)

    # y: from zero (or a round value below the smallest) to a round value at or above the largest.
    values = [0.0, *(float(y) for _, points in series for _, y in points)]
    y_step = nice_step(max(values) - min(values), y_ticks - 1)
    y_low = math.floor(min(values) / y_step) * y_step
    y_high = max(math.ceil(max(values) / y_step) * y_step, y_low + y_step)

    def y_at(y) -> float:
        return round(plot["bottom"] - (float(y) - y_low) / (y_high - y_low) * plot["height"], 1)

    count = round((y_high - y_low) / y_step)
    chart["y_ticks"] = [
        Tick(y_format(_tick_value(y_low + i * y_step)), y_at(y_low + i * y_step)) for i in range(count + 1)
    ]
    if len(xs) == 1:
        chart["x_ticks"] = [Tick(x_format(xs[0]), x_at(xs[0]))]
    else:
        # Ticks on whole units (days), evenly spread, always including the first and the last point.
        first, last = _number(xs[0]), _number(xs[-1])
        every = max(1, math.ceil((last - first) / max(x_ticks - 1, 1)))
        positions = [first + i * every for i in range(int((last - first) // every) + 1)]
        if last - positions[-1] < every / 2 and len(positions) > 1:
            positions[-1] = last  # replace a tick too close to the last one
        elif positions[-1] != last:
            positions.append(last)
        kind = date.fromordinal if isinstance(xs[0], date) else (lambda v: v)
        chart["x_ticks"] = [Tick(x_format(kind(int(p))), x_at(kind(int(p)))) for p in positions]

    for i, (name, points) in enumerate(series):
        points = sorted(points, key=lambda point: _number(point[0]))
        coordinates = [(x_at(x), y_at(y)) for x, y in points]
        path = []
        for j, (x, y) in enumerate(coordinates):
            if step and j:
                path.append((x, coordinates[j - 1][1]))
            path.append((x, y))
        colour, dash = LINE_STYLES[i % len(LINE_STYLES)]
        chart["lines"].append(
            Line(
                name=str(name),
                points=" ".join(f"{x:g},{y:g}" for x, y in path),
                dots=coordinates,
                colour=colour,
                dash=dash,
                last=value_format(points[-1][1]) if points else "",
            )
        )
    by_series = [dict(points) for _, points in series]
    chart["table"]["rows"] = [
        (row_format(x), [value_format(values[x]) if x in values else "" for values in by_series]) for x in xs
    ]
    return chart


def _tick_value(value: float):
    """A tick's value as an int when it is whole (so that labels read 5,000 and not 5,000.0)."""
    return int(value) if float(value).is_integer() else round(value, 6)
