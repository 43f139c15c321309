"""A firm's de minimis State aid as it reads it: headroom today, aid per year, and the PDF statement of one
calendar year (Regulation (EU) 2023/2831). Read-only: aid is recorded by ``services.record_de_minimis_aid``.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation
from livinglab.pdf import render_pdf

from .models import (
    DEFAULT_DE_MINIMIS_CEILING,
    ZERO,
    DeMinimisAid,
    Enrolment,
    Programme,
    cents,
    de_minimis_total,
    de_minimis_window,
    money_sum,
)

LEGAL_BASIS = _("Commission Regulation (EU) 2023/2831 of 13 December 2023 on de minimis aid")
FIRST_YEAR = 2000
YEARS_SHOWN = 10  # the aid page's chart goes back at most this many calendar years


@dataclass(frozen=True)
class Headroom:
    """What the single undertaking may still receive under one ceiling, on one day."""

    ceiling: Decimal
    total: Decimal
    headroom: Decimal
    first_day: date
    last_day: date
    programmes: tuple[Programme, ...] = ()  # the programmes that apply this ceiling, if not the default

    @property
    def used_share(self) -> float:
        return float(min(self.total / self.ceiling, 1)) if self.ceiling else 0.0


def undertaking_aid(firm: Organisation):
    """De minimis aid to ``firm``'s single undertaking (its linked enterprises included)."""
    return DeMinimisAid.objects.filter(organisation__in=firm.single_undertaking())


def headroom(firm: Organisation, on_date: date | None = None, ceiling=DEFAULT_DE_MINIMIS_CEILING) -> Headroom:
    on_date = on_date or timezone.localdate()
    total = de_minimis_total(firm, on_date)
    first, last = de_minimis_window(on_date)
    return Headroom(ceiling, total, max(ZERO, ceiling - total), first, last)


def headrooms(firm: Organisation, on_date: date | None = None) -> list[Headroom]:
    """Headroom under the default ceiling, then under each other ceiling of a programme the firm takes
    part in (a member state may set its own); the rolling total is computed once."""
    default = headroom(firm, on_date)
    programmes = (
        Programme.objects.filter(
            enrolments__solution__firm=firm,
            enrolments__status__in=[Enrolment.Status.APPLIED, Enrolment.Status.APPROVED],
        )
        .exclude(de_minimis_ceiling=DEFAULT_DE_MINIMIS_CEILING)
        .distinct()
        .order_by("de_minimis_ceiling", "title")
    )
    by_ceiling: dict[Decimal, list[Programme]] = {}
    for programme in programmes:
        by_ceiling.setdefault(programme.de_minimis_ceiling, []).append(programme)
    others = [
        Headroom(
            ceiling,
            default.total,
            max(ZERO, ceiling - default.total),
            default.first_day,
            default.last_day,
            tuple(listed),
        )
        for ceiling, listed in by_ceiling.items()
    ]
    return [default, *others]


def aid_per_year(firm: Organisation, until: int | None = None) -> list[tuple[int, Decimal]]:
    """(year, total) for each calendar year from the first year with aid (at most YEARS_SHOWN back, at
    least the three years of the rolling window) to ``until``, zero where nothing was granted."""
    until = until or timezone.localdate().year
    totals = {
        row["year"]: cents(row["total"])
        for row in undertaking_aid(firm)
        .annotate(year=ExtractYear("granted_on"))
        .values("year")
        .annotate(total=money_sum())
        .order_by()
    }
    first = min([*totals, until - 2])
    first = max(first, until - YEARS_SHOWN + 1)
    return [(year, totals.get(year, ZERO)) for year in range(first, until + 1)]


def statement_years(firm: Organisation) -> list[int]:
    """Calendar years a statement can be downloaded for: from the first aid (or three years back)."""
    return [year for year, _total in aid_per_year(firm)][::-1]


def valid_year(value) -> int | None:
    """``value`` as a statement year (not in the future, not before FIRST_YEAR), or None."""
    try:
        year = int(str(value))
    except ValueError:
        return None
    return year if FIRST_YEAR <= year <= timezone.localdate().year else None


def statement_context(firm: Organisation, year: int) -> dict:
    today = timezone.localdate()
    year_end = date(year, 12, 31)
    as_of = min(year_end, today)
    aid = list(
        undertaking_aid(firm)
        .filter(granted_on__year=year)
        .select_related("organisation", "programme")
        .order_by("granted_on", "pk")
    )
    undertaking = list(firm.single_undertaking().order_by("name"))
    return {
        "firm": firm,
        "year": year,
        "undertaking": undertaking,
        "linked": [o for o in undertaking if o.pk != firm.pk],
        "aid": aid,
        "year_total": cents(sum((a.amount for a in aid), ZERO)),
        "declared_total": cents(
            sum((a.amount for a in aid if a.source == DeMinimisAid.Source.DECLARED), ZERO)
        ),
        "programme_total": cents(
            sum((a.amount for a in aid if a.source == DeMinimisAid.Source.PROGRAMME), ZERO)
        ),
        "as_of": as_of,
        "year_complete": year_end < today,
        "headrooms": headrooms(firm, as_of),
        "legal_basis": LEGAL_BASIS,
        "issued_at": timezone.now(),
    }


def de_minimis_statement(firm: Organisation, year: int) -> tuple[str, bytes]:
    """The PDF statement of the de minimis aid ``firm``'s single undertaking received in ``year``."""
    pdf = render_pdf("pdf/de_minimis_statement.html", statement_context(firm, year))
    return f"de-minimis-statement-{firm.slug}-{year}.pdf", pdf
