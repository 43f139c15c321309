"""What a holder sees of their vouchers: the list, one voucher with its code and history, and its PDF;
applying for a voucher and following the application; the feedback questionnaire; and the operator's
list of a programme's applications with the lottery draw.

Thin views: every change goes through ``vouchers.services``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.models import Person
from livinglab.views import paginate, pdf_response, person_of

from . import services
from .errors import VoucherError
from .forms import ApplicationFilterForm, ApplicationForm, DrawLotteryForm, FeedbackForm
from .models import ZERO, Application, Feedback, LedgerEntry, Programme, Voucher, cents
from .pdf import qr_svg, voucher_pdf, where_to_use
from .services.applications import eligibility_summary, replay_lottery, stored_ranking
from .services.feedback import feedback_redemption
from .templatetags.vouchers_tags import vouchers_of


def _voucher_for(request, pk: int) -> Voucher:
    voucher = get_object_or_404(
        Voucher.objects.select_related("programme__funder", "programme__operator", "holder"), pk=pk
    )
    if not request.user.has_perm("vouchers.open_voucher", voucher):
        raise PermissionDenied(_("This voucher is not yours."))
    return voucher


@login_required
def voucher_list(request):
    return render(
        request, "vouchers/voucher_list.html", {"vouchers": paginate(request, vouchers_of(request.user))}
    )


@login_required
def voucher_detail(request, pk: int):
    voucher = _voucher_for(request, pk)
    entries = list(
        LedgerEntry.objects.filter(voucher=voucher)
        .select_related("firm", "solution", "reverses")
        .order_by("created_at", "pk")
    )
    return render(
        request,
        "vouchers/voucher_detail.html",
        {
            "voucher": voucher,
            "programme": voucher.programme,
            "entries": entries,
            "balance": cents(sum((e.amount for e in entries), ZERO)),
            "qr": qr_svg(voucher),
            "enrolments": where_to_use(voucher),
            "feedback_given": Feedback.objects.filter(voucher=voucher).exists(),
            "feedback_due": request.user.has_perm("vouchers.give_feedback", voucher)
            and services.feedback_due(voucher),
        },
    )


@login_required
def voucher_pdf_download(request, pk: int):
    voucher = _voucher_for(request, pk)
    return pdf_response(*voucher_pdf(voucher))


# ---------------------------------------------------------------------------------------- applying


def _applying_programme(slug: str) -> Programme:
    """A programme people can see: any but a draft."""
    return get_object_or_404(
        Programme.objects.select_related("funder", "operator").exclude(status=Programme.Status.DRAFT),
        slug=slug,
    )


@login_required
def voucher_apply(request, slug: str):
    programme = _applying_programme(slug)
    person = person_of(request.user)
    people = [person, *Person.objects.filter(guardianships__guardian=person).order_by("full_name")]
    earlier_applications = list(
        Application.objects.filter(programme=programme, applicant__in=people).select_related("applicant")
    )
    applied = {application.applicant_id for application in earlier_applications}
    candidates = [p for p in people if p.pk not in applied]
    is_open = programme.accepts_applications(timezone.now())
    form = None
    if is_open and candidates:
        form = ApplicationForm(
            request.POST or None, programme=programme, person=person, candidates=candidates
        )
    if request.method == "POST" and earlier_applications:
        # A double submit arrives after its twin applied: show the application the twin made.
        posted = request.POST.get("for_person") or str(person.pk)
        twin = next((a for a in earlier_applications if str(a.applicant_id) == posted), None)
        if twin is not None or form is None:
            messages.info(request, _("This application was already made: here it is."))
            return redirect("voucher_application", pk=(twin or earlier_applications[0]).pk)
    if request.method == "POST" and form is not None and form.is_valid():
        applicant = form.cleaned_data["applicant"]
        if not request.user.has_perm("vouchers.apply_for", applicant):
            raise PermissionDenied(_("You can apply only for yourself or for a person in your care."))
        try:
            application = services.apply_for_voucher(
                programme,
                applicant,
                region=form.cleaned_data["region"],
                postcode=form.cleaned_data["postcode"],
                household_type=form.cleaned_data["household_type"],
                birth_date=form.cleaned_data.get("birth_date"),
                acting_user=request.user,
            )
        except VoucherError as error:
            twin = Application.objects.filter(programme=programme, applicant=applicant).first()
            if twin is not None:  # the twin of a double submit won the race
                return redirect("voucher_application", pk=twin.pk)
            form.add_error(None, error.message)
        else:
            return redirect("voucher_application", pk=application.pk)
    return render(
        request,
        "vouchers/apply/apply_form.html",
        {
            "programme": programme,
            "form": form,
            "is_open": is_open,
            "who_can_apply": eligibility_summary(programme),
            "earlier_applications": earlier_applications,
        },
    )


def _application_for(request, pk: int) -> Application:
    application = get_object_or_404(
        Application.objects.select_related(
            "programme__operator", "programme__funder", "applicant", "voucher"
        ),
        pk=pk,
    )
    if not request.user.has_perm("vouchers.view_application", application):
        raise PermissionDenied(_("This application is not yours."))
    return application


@login_required
def voucher_application(request, pk: int):
    application = _application_for(request, pk)
    return render(
        request,
        "vouchers/applications/application_detail.html",
        {
            "application": application,
            "programme": application.programme,
            "can_withdraw": application.status == Application.Status.WAITING
            and request.user.has_perm("vouchers.apply_for", application.applicant),
            "can_open_voucher": application.voucher is not None
            and request.user.has_perm("vouchers.open_voucher", application.voucher),
        },
    )


@login_required
@require_POST
def voucher_application_withdraw(request, pk: int):
    application = _application_for(request, pk)
    try:
        services.withdraw_application(application, acting_user=request.user)
    except VoucherError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The application is withdrawn."))
    return redirect("voucher_application", pk=application.pk)


# -------------------------------------------------------------------------------- operator: applications


def _run_programme(request, slug: str) -> Programme:
    programme = get_object_or_404(Programme.objects.select_related("funder", "operator"), slug=slug)
    if not request.user.has_perm("vouchers.run_programme", programme):
        raise PermissionDenied(_("Only the staff of the organisation running this programme can see this."))
    return programme


def _lottery_context(programme: Programme) -> dict:
    if programme.selection != Programme.Selection.LOTTERY:
        return {}
    context = {
        "is_lottery": True,
        "can_draw": programme.lottery_drawn_at is None
        and timezone.now() >= programme.closes_at
        and programme.status in (Programme.Status.OPEN, Programme.Status.CLOSED),
    }
    if programme.lottery_drawn_at is not None:
        replayed = replay_lottery(programme)
        context.update(
            drawn=True, replay_matches=replayed == stored_ranking(programme), entrants=len(replayed)
        )
    return context


@login_required
def programme_applications(request, slug: str):
    programme = _run_programme(request, slug)
    counts = Application.objects.filter(programme=programme).aggregate(
        total=Count("pk"),
        **{status: Count("pk", filter=Q(status=status)) for status in Application.Status.values},
    )
    filters = ApplicationFilterForm(request.GET or None)
    applications = Application.objects.filter(programme=programme).select_related("applicant", "voucher")
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            applications = applications.filter(status=filters.cleaned_data["status"])
        if filters.cleaned_data["q"]:
            applications = applications.filter(applicant__full_name__icontains=filters.cleaned_data["q"])
    if programme.lottery_drawn_at is not None:
        applications = applications.order_by("lottery_rank", "submitted_at", "pk")
    return render(
        request,
        "vouchers/applications/programme_applications.html",
        {
            "programme": programme,
            "counts": [(label, counts[value]) for value, label in Application.Status.choices],
            "total": counts["total"],
            "waiting": counts[Application.Status.WAITING],
            "filters": filters,
            "applications": paginate(request, applications),
            "draw_form": DrawLotteryForm(),
            **_lottery_context(programme),
        },
    )


@login_required
@require_POST
def programme_lottery_draw(request, slug: str):
    programme = _run_programme(request, slug)
    form = DrawLotteryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please tick the box to confirm the draw."))
        return redirect("programme_applications", slug=programme.slug)
    try:
        result = services.draw_lottery(programme, acting_user=request.user)
    except VoucherError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "The lottery is drawn: %(issued)s of %(entrants)s applicants received a voucher, "
                "%(not_selected)s were not selected."
            )
            % {"issued": result.issued, "entrants": result.entrants, "not_selected": result.not_selected},
        )
    return redirect("programme_applications", slug=programme.slug)


# ---------------------------------------------------------------------------------------------- feedback


@login_required
def voucher_feedback(request, pk: int):
    voucher = get_object_or_404(Voucher.objects.select_related("programme", "holder"), pk=pk)
    if not request.user.has_perm("vouchers.give_feedback", voucher):
        raise PermissionDenied(
            _("Only the holder of this voucher or their guardian can give feedback on it.")
        )
    feedback = Feedback.objects.filter(voucher=voucher).select_related("firm", "solution").first()
    redemption = feedback_redemption(voucher) if feedback is None else None
    form = FeedbackForm(request.POST or None) if feedback is None and redemption is not None else None
    if request.method == "POST":
        if form is None:
            raise Http404(_("There is no questionnaire to answer for this voucher."))
        if form.is_valid():
            try:
                services.submit_feedback(voucher, acting_user=request.user, **form.cleaned_data)
            except VoucherError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Thank you for your feedback."))
                return redirect("voucher_feedback", pk=voucher.pk)
    return render(
        request,
        "vouchers/feedback/feedback_form.html",
        {
            "voucher": voucher,
            "programme": voucher.programme,
            "feedback": feedback,
            "redemption": redemption,
            "form": form,
        },
    )
