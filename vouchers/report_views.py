"""Programme figures for the operator and the funder: the list of their programmes, a dashboard, the
XLSX export and the PDF report. Read-only: the figures come from ``vouchers.reports``."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab.charts import horizontal_bars, line_chart
from livinglab.pdf import render_pdf
from livinglab.policy import active_memberships
from livinglab.views import paginate, pdf_response

from .models import Programme
from .reports import headline_rows, programme_report, report_xlsx
from .templatetags.vouchers_tags import eur

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Bars per chart on the dashboard and in the PDF; the tables below the charts list every row.
CHART_ROWS = 12


def _programme_for(request, slug: str) -> Programme:
    programme = get_object_or_404(Programme.objects.select_related("funder", "operator"), slug=slug)
    if not request.user.has_perm("vouchers.view_programme_reports", programme):
        raise PermissionDenied(_("Only the programme's operator and funder see its figures."))
    return programme


@login_required
def programme_list(request):
    """The programmes whose figures the user may see, newest first."""
    programmes = Programme.objects.select_related("funder", "operator").order_by("-opens_at", "title", "pk")
    if not request.user.is_superuser:
        # Narrow to the user's organisations, then let the rules decide on each programme.
        mine = {m.organisation_id for m in active_memberships(request.user)}
        candidates = programmes.filter(Q(operator_id__in=mine) | Q(funder_id__in=mine))
        allowed = [p.pk for p in candidates if request.user.has_perm("vouchers.view_programme_reports", p)]
        programmes = programmes.filter(pk__in=allowed)
    return render(
        request, "vouchers/reports/programme_list.html", {"programmes": paginate(request, programmes)}
    )


def _money_axis(value) -> str:
    return formats.number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def _charts(report) -> dict:
    day = lambda d: formats.date_format(d, "j M")  # noqa: E731
    timeline = report.timeline
    names = {"committed": _("Committed"), "redeemed": _("Redeemed"), "reimbursed": _("Reimbursed")}
    series = [(name, list(timeline[column].items())) for column, name in names.items()]
    return {
        "timeline": line_chart(
            series if len(timeline) else [],
            step=True,
            x_format=day,
            row_format=lambda d: formats.date_format(d, "DATE_FORMAT"),
            y_format=_money_axis,
            value_format=eur,
        ),
        "per_solution": horizontal_bars(
            [(r["solution"], r["amount"]) for r in report.per_solution.head(CHART_ROWS).to_dict("records")]
        ),
        "per_firm": horizontal_bars(
            [(r["firm"], r["amount"]) for r in report.per_firm.head(CHART_ROWS).to_dict("records")]
        ),
        "per_region": horizontal_bars(
            [(r["region"], r["amount"]) for r in report.per_region.head(CHART_ROWS).to_dict("records")]
        ),
    }


def _context(programme) -> dict:
    report = programme_report(programme)
    return {
        "programme": programme,
        "report": report,
        "headline": headline_rows(report),
        "charts": _charts(report),
        "per_solution": report.per_solution.to_dict("records"),
        "per_firm": report.per_firm.to_dict("records"),
        "per_region": report.per_region.to_dict("records"),
        "feedback": report.feedback.to_dict("records"),
        "claims": report.claims.to_dict("records"),
        "timeline_days": len(report.timeline),
    }


@login_required
def programme_dashboard(request, slug: str):
    programme = _programme_for(request, slug)
    return render(request, "vouchers/reports/programme_dashboard.html", _context(programme))


def _filename(programme: Programme, extension: str) -> str:
    return f"{programme.slug}-report-{timezone.localdate():%Y-%m-%d}.{extension}"


@login_required
def programme_report_xlsx(request, slug: str):
    programme = _programme_for(request, slug)
    response = HttpResponse(report_xlsx(programme_report(programme)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(programme, "xlsx")}"'
    return response


@login_required
def programme_report_pdf(request, slug: str):
    programme = _programme_for(request, slug)
    pdf = render_pdf("pdf/programme_report.html", _context(programme))
    return pdf_response(_filename(programme, "pdf"), pdf)
