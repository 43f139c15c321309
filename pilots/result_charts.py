"""SVG chart geometry for campaign results. The same partials (templates/pilots/results/_*.html) draw them
on the dashboard and in the PDF report, each with its figures as a table as well."""

from livinglab.charts import horizontal_bars

from .models import QuestionKind

# The SUS axis: 0 to 100 drawn from x=SUS_LEFT to x=SUS_RIGHT of a 640 wide SVG.
SUS_LEFT, SUS_RIGHT = 20, 620
# 68 is the average SUS score across published studies (Sauro, 2011): the reference line on the chart.
SUS_AVERAGE = 68


def _x(score: float) -> float:
    return round(SUS_LEFT + (SUS_RIGHT - SUS_LEFT) * max(0.0, min(100.0, score)) / 100, 1)


def sus_chart(question: dict) -> dict | None:
    """Where the mean and its 95% confidence interval sit on a 0–100 axis."""
    if question.get("mean") is None:
        return None
    low = question["low"] if question["low"] is not None else question["mean"]
    high = question["high"] if question["high"] is not None else question["mean"]
    return {
        "mean_x": _x(question["mean"]),
        "low_x": _x(low),
        "high_x": _x(high),
        "average_x": _x(SUS_AVERAGE),
        "ticks": [{"label": t, "x": _x(t)} for t in (0, 25, 50, 75, 100)],
        "mean": question["mean"],
        "low": question["low"],
        "high": question["high"],
    }


def nps_chart(nps: dict) -> dict | None:
    """One bar split into detractors, passives and promoters, each as wide as its share."""
    if not nps or not nps["n"]:
        return None
    segments, x = [], 20.0
    for key, colour in (("detractors", "#8a1c1c"), ("passives", "#595959"), ("promoters", "#1e6b35")):
        width = round(600 * nps[key] / nps["n"], 1)
        segments.append(
            {
                "key": key,
                "css": key,
                "colour": colour,
                "x": x,
                "width": width,
                "count": nps[key],
                "share": nps[f"{key}_share"],
            }
        )
        x += width
    return {"segments": segments}


def question_chart(question: dict) -> dict:
    """The charts of one question of ``analytics.compute_results``."""
    charts = {}
    if question.get("distribution") is not None and question["kind"] != QuestionKind.RANKING:
        charts["bars"] = horizontal_bars([(row["label"], row["count"]) for row in question["distribution"]])
    if question["kind"] == QuestionKind.RANKING and question.get("ranking"):
        charts["bars"] = horizontal_bars([(row["label"], row["mean_rank"]) for row in question["ranking"]])
    if question["kind"] == QuestionKind.SUS:
        charts["sus"] = sus_chart(question)
    if question["kind"] == QuestionKind.NPS:
        charts["nps"] = nps_chart(question.get("nps"))
    return charts


def comparison_chart(comparison: dict) -> dict:
    return horizontal_bars([(g["label"], g["mean"]) for g in comparison["groups"] if g["mean"] is not None])


def with_charts(results: dict) -> dict:
    """The results with each question's (and comparison's) chart geometry attached, for the templates."""
    questionnaires = [
        {
            **qn,
            "questions": [
                {**q, "charts": question_chart(q), "chart_id": f"q{q['id']}"} for q in qn["questions"]
            ],
        }
        for qn in results["questionnaires"]
    ]
    comparisons = [
        {**c, "chart": comparison_chart(c), "chart_id": f"cmp-{c['code']}-{c['question_id']}"}
        for c in results["comparisons"]
    ]
    return {**results, "questionnaires": questionnaires, "comparisons": comparisons}
