"""Scoring of standard questionnaire instruments: the System Usability Scale (Brooke, 1996) and the Net
Promoter Score, with the labels of agreement scales. Pure functions: results and questionnaires share them."""

import math
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

# The ten standard SUS statements, in their standard order (odd: positive, even: negative).
SUS_ITEMS = (
    _("I think that I would like to use this system frequently."),
    _("I found the system unnecessarily complex."),
    _("I thought the system was easy to use."),
    _("I think that I would need the support of a technical person to be able to use this system."),
    _("I found the various functions in this system were well integrated."),
    _("I thought there was too much inconsistency in this system."),
    _("I would imagine that most people would learn to use this system very quickly."),
    _("I found the system very cumbersome to use."),
    _("I felt very confident using the system."),
    _("I needed to learn a lot of things before I could get going with this system."),
)

LIKERT5_LABELS = (
    _("Strongly disagree"),
    _("Disagree"),
    _("Neither agree nor disagree"),
    _("Agree"),
    _("Strongly agree"),
)

LIKERT7_LABELS = (
    _("Strongly disagree"),
    _("Disagree"),
    _("Somewhat disagree"),
    _("Neither agree nor disagree"),
    _("Somewhat agree"),
    _("Agree"),
    _("Strongly agree"),
)

NPS_LOW_LABEL = _("0 = not at all likely")
NPS_HIGH_LABEL = _("10 = extremely likely")


def likert_labels(kind: str) -> tuple:
    """The labels of points 1..n of an agreement scale (``likert5``, ``likert7`` or ``sus``)."""
    return LIKERT7_LABELS if kind == "likert7" else LIKERT5_LABELS


def sus_score(items: list[int]) -> float:
    """The SUS score 0–100 of ten answers 1–5 in the standard order; ValueError for anything else."""
    items = list(items)
    if len(items) != len(SUS_ITEMS):
        raise ValueError(f"SUS needs {len(SUS_ITEMS)} answers, got {len(items)}.")
    total = 0
    for index, raw in enumerate(items):
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 5:
            raise ValueError(f"SUS answers are whole numbers 1 to 5, got {raw!r}.")
        # Items 1, 3, 5, 7, 9 (index 0, 2, …) are positive; 2, 4, 6, 8, 10 negative.
        total += raw - 1 if index % 2 == 0 else 5 - raw
    return total * 2.5


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def nps(values: Iterable) -> float:
    """Net Promoter Score −100..100: % of promoters (9–10) minus % of detractors (0–6); NaN without
    answers. Missing values (None, NaN) are left out."""
    answers = [float(v) for v in values if not _is_missing(v)]
    if not answers:
        return math.nan
    promoters = sum(1 for v in answers if v >= 9)
    detractors = sum(1 for v in answers if v <= 6)
    return 100.0 * (promoters - detractors) / len(answers)
