"""The geometry of server-side SVG charts: scales, axis ticks, several series, one point, no points."""

from datetime import date
from decimal import Decimal

from livinglab.charts import horizontal_bars, line_chart, nice_step

PLOT = {"width": 640, "height": 300, "margin": (20, 40, 40, 80)}  # plot from x 80 to 600, y 20 to 260


def points(line) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in pair.split(",")) for pair in line.points.split()]


def test_nice_step_rounds_up_to_one_two_two_and_a_half_or_five_times_a_power_of_ten():
    assert nice_step(100, 4) == 25
    assert nice_step(3500, 4) == 1000
    assert nice_step(7, 4) == 2
    assert nice_step(0.3, 3) == 0.1
    assert nice_step(0, 4) == 1


def test_line_chart_scales_the_first_and_last_days_to_the_ends_and_zero_to_the_bottom():
    chart = line_chart(
        [("Committed", [(date(2026, 3, 1), 0), (date(2026, 3, 11), Decimal("4000.00"))])], **PLOT
    )

    assert points(chart["lines"][0]) == [(80, 260), (600, 20)]
    assert [t.label for t in chart["y_ticks"]] == ["0", "1000", "2000", "3000", "4000"]
    assert [t.position for t in chart["y_ticks"]] == [260, 200, 140, 80, 20]


def test_line_chart_rounds_the_top_of_the_axis_up_to_a_whole_tick():
    chart = line_chart([("Redeemed", [(1, Decimal("1250.49")), (2, Decimal("3100"))])], **PLOT)

    assert chart["y_ticks"][-1].label == "4000"
    assert points(chart["lines"][0])[1] == (600, round(260 - 3100 / 4000 * 240, 1))


def test_line_chart_puts_every_series_on_the_same_axes_and_styles_each_differently():
    chart = line_chart(
        [
            ("Committed", [(date(2026, 3, 1), 3500), (date(2026, 3, 3), 3000)]),
            ("Redeemed", [(date(2026, 3, 2), 1250)]),
        ],
        **PLOT,
    )

    committed, redeemed = chart["lines"]
    assert points(committed)[0][0] == 80 and points(committed)[-1][0] == 600
    assert points(redeemed) == [(340, round(260 - 1250 / 4000 * 240, 1))]  # the middle day
    assert (committed.colour, committed.dash) != (redeemed.colour, redeemed.dash)
    assert committed.dash != redeemed.dash  # not told apart by colour alone
    assert chart["table"]["columns"] == ["Committed", "Redeemed"]
    assert chart["table"]["rows"] == [
        ("2026-03-01", ["3500", ""]),
        ("2026-03-02", ["", "1250"]),
        ("2026-03-03", ["3000", ""]),
    ]


def test_six_series_each_get_their_own_colour_and_their_own_dash_pattern():
    chart = line_chart([(f"Series {i}", [(date(2026, 3, 1), i)]) for i in range(6)], **PLOT)
    lines = chart["lines"]
    assert len({line.colour for line in lines}) == 6
    assert len({line.dash for line in lines}) == 6


def test_the_data_table_may_name_its_rows_differently_from_the_ticks():
    chart = line_chart(
        [("Committed", [(date(2026, 3, 1), 1)])],
        x_format=lambda d: "1 Mar",
        row_format=lambda d: "1 March 2026",
    )

    assert chart["x_ticks"][0].label == "1 Mar"
    assert chart["table"]["rows"] == [("1 March 2026", ["1"])]


def test_a_step_line_holds_each_value_until_the_next_point():
    chart = line_chart([("Committed", [(0, 0), (10, 4000), (20, 2000)])], step=True, **PLOT)

    assert points(chart["lines"][0]) == [(80, 260), (340, 260), (340, 20), (600, 20), (600, 140)]
    assert chart["lines"][0].dots == [(80, 260), (340, 20), (600, 140)]


def test_x_ticks_fall_on_whole_days_and_include_the_first_and_the_last():
    days = [date(2026, 1, 1), date(2026, 1, 30)]
    chart = line_chart([("Committed", [(d, 1) for d in days])], x_ticks=6, x_format=lambda d: d.day, **PLOT)

    labels = [t.label for t in chart["x_ticks"]]
    assert labels[0] == 1 and labels[-1] == 30
    assert len(labels) <= 7
    positions = [t.position for t in chart["x_ticks"]]
    assert positions == sorted(positions) and positions[0] == 80 and positions[-1] == 600


def test_one_point_sits_in_the_middle_with_a_single_x_tick():
    chart = line_chart([("Committed", [(date(2026, 3, 1), Decimal("500.00"))])], y_format=str, **PLOT)

    assert chart["y_ticks"][-1].label == "600"  # steps of 200: 1.25 is not a round step
    assert points(chart["lines"][0]) == [(340, 260 - 500 / 600 * 240)]
    assert [t.label for t in chart["x_ticks"]] == ["2026-03-01"]
    assert chart["lines"][0].last == "500.00"


def test_all_zero_values_still_give_an_axis():
    chart = line_chart([("Paid", [(1, 0), (2, 0)])], **PLOT)

    assert [t.label for t in chart["y_ticks"]] == ["0", "1"]
    assert points(chart["lines"][0]) == [(80, 260), (600, 260)]


def test_no_points_give_no_lines_and_no_ticks():
    for series in ([], [("Committed", [])]):
        chart = line_chart(series, **PLOT)
        assert chart["lines"] == []
        assert chart["x_ticks"] == [] and chart["y_ticks"] == []
        assert chart["table"]["rows"] == []


def test_horizontal_bars_are_unchanged_by_the_line_charts():
    chart = horizontal_bars([("Research", 4), ("Recording", 2)])

    assert [(b.label, b.share, b.y) for b in chart["bars"]] == [("Research", 1.0, 0), ("Recording", 0.5, 34)]
    assert chart["height"] == 68
