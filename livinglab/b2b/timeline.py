"""Introductions and what came of them, month by month: the figures behind the cluster workspace's chart
"Introductions and outcomes over time". Counted with aggregate queries (three, whatever the number of
introductions), months in the site's time zone."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from livinglab.charts import line_chart

from .models import Introduction, IntroductionOutcome

Kind = IntroductionOutcome.Kind

# The lines of the chart, in the order they are drawn and listed.
SERIES = (
    ("requested", _("Introductions requested")),
    ("accepted", _("Accepted by both firms")),
    (Kind.MEETING_HELD.value, Kind.MEETING_HELD.label),
    (Kind.CODEVELOPMENT.value, Kind.CODEVELOPMENT.label),
    (Kind.NO_FIT.value, Kind.NO_FIT.label),
)


@dataclass(frozen=True)
class Timeline:
    months: list[date]  # the first day of each month, oldest first
    counts: dict[str, list[int]]  # series code → one count per month

    def chart(self) -> dict:
        """Geometry for ``includes/line_chart.html``; months are evenly spaced and labelled by name."""
        labels = [formats.date_format(month, "YEAR_MONTH_FORMAT") for month in self.months]
        series = [(label, [(i, n) for i, n in enumerate(self.counts[code])]) for code, label in SERIES]
        return line_chart(series, x_format=lambda i: labels[i], x_ticks=min(len(labels), 6))


def month_starts(months: int, today: date) -> list[date]:
    """The first days of the last ``months`` calendar months, the current one last."""
    year, month = today.year, today.month
    starts = []
    for _i in range(max(months, 1)):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def as_month(value) -> date:
    day = timezone.localtime(value).date() if isinstance(value, datetime) else value
    return day.replace(day=1)


def introduction_timeline(months: int = 12, *, broker=None, today: date | None = None) -> Timeline:
    """Per month over the last ``months`` months: introductions requested, introductions accepted by both
    firms, and introductions with a meeting held, a co-development started or no fit recorded (an
    introduction counts once per kind of outcome and month, however many were recorded). ``broker``
    limits it to the introductions one cluster organisation brokers."""
    today = today or timezone.localdate()
    starts = month_starts(months, today)
    since = timezone.make_aware(datetime.combine(starts[0], time.min))
    counts = {code: dict.fromkeys(starts, 0) for code, _label in SERIES}

    introductions = Introduction.objects.all()
    outcomes = IntroductionOutcome.objects.all()
    if broker is not None:
        introductions = introductions.filter(broker=broker)
        outcomes = outcomes.filter(introduction__broker=broker)

    def add(code, rows):
        for month, n in rows:
            month = as_month(month)
            if month in counts[code]:
                counts[code][month] += n

    add(
        "requested",
        introductions.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("month", "n"),
    )
    add(
        "accepted",
        introductions.filter(accepted_at__gte=since)
        .annotate(month=TruncMonth("accepted_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("month", "n"),
    )
    rows = (
        outcomes.filter(occurred_on__gte=starts[0], occurred_on__lte=today)
        .annotate(month=TruncMonth("occurred_on"))
        .values_list("month", "kind")
        .annotate(n=Count("introduction", distinct=True))
        .order_by()
    )
    for month, kind, n in rows:
        add(kind, [(month, n)])
    return Timeline(
        months=starts, counts={code: list(by_month.values()) for code, by_month in counts.items()}
    )
