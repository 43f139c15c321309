"""Pages of brokered introductions: a firm's introductions and the staff's brokering queue, an
introduction's page (both listings through ``disclosure``), the staff's brokering form, the answers of the
firms, outcomes, the CSV export and the overview of introductions and outcomes over time.

Every change goes through ``services.introductions``; every listing is shown through ``disclosure``."""

from datetime import date, datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case as SqlCase
from django.db.models import CharField, Count, DateTimeField, F, IntegerField, Prefetch, Value, When
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from livinglab.acting import ORGANISATION_PARAM, acting_organisations, pending_rules, refuse
from livinglab.charts import horizontal_bars, line_chart
from livinglab.errors import DomainError
from livinglab.models import Organisation
from livinglab.policy import FIRM_KINDS, firm_ids, is_platform_admin
from livinglab.services import pending_ground_rules
from livinglab.spreadsheets import csv_response
from livinglab.views import paginate, safe_next

from . import disclosure
from .errors import B2BError
from .introduction_forms import (
    AcceptForm,
    BrokerForm,
    OutcomeForm,
    ReasonForm,
    RequestForm,
    StatusFilterForm,
)
from .models import Introduction, IntroductionAcceptance, IntroductionOutcome, Need, Offer
from .services import introductions as services

Status = Introduction.Status
PER_PAGE = 20
NEED_FIELDS = [
    "title",
    "summary",
    "organisation",
    "description",
    "users_affected",
    "timeframe",
    "budget",
    "visibility",
    "contact",
]
OFFER_FIELDS = [
    "title",
    "summary",
    "organisation",
    "description",
    "references",
    "kind",
    "maturity",
    "visibility",
    "contact",
]


# ------------------------------------------------------------------------------------------------ helpers


def _introductions():
    return Introduction.objects.select_related(
        "need__organisation", "offer__organisation", "need__contact", "offer__contact", "broker"
    )


def _introduction(request, pk: int, queryset=None) -> Introduction:
    """The introduction behind ``pk``; 404 for anybody who may not know it exists."""
    queryset = queryset if queryset is not None else _introductions()
    introduction = get_object_or_404(queryset.prefetch_related("acceptances"), pk=pk)
    if not services.may_view(request.user, introduction):
        raise Http404(_("No introduction of yours has this address."))
    return introduction


def _disclosed(listing, user) -> disclosure.Disclosed | None:
    """``listing`` as ``user`` may see it, or None when they may not see it at all."""
    try:
        return disclosure.disclose(listing, user)
    except PermissionDenied:
        return None


def _party_organisation(request, introduction: Introduction) -> Organisation | None:
    """The side of ``introduction`` the user acts for (``?as=<slug>`` when they act for both)."""
    sides = {o.pk: o for o in (introduction.need.organisation, introduction.offer.organisation)}
    mine = [sides[pk] for pk in sorted(services.party_ids(request.user, introduction))]
    wanted = request.POST.get(ORGANISATION_PARAM) or request.GET.get(ORGANISATION_PARAM)
    if wanted:
        return next((o for o in mine if o.slug == wanted), None)
    return mine[0] if mine else None


def _posted(request):
    return request.POST if request.method == "POST" else None


def _matches_url(listing) -> str | None:
    return _url("b2b:need_matches" if isinstance(listing, Need) else "b2b:offer_matches", listing.pk)


def _back(request, listing=None) -> str:
    """Where a refused request returns: a safe ``next``, the page it came from, or the listing's matches."""
    return (
        safe_next(request, request.POST.get("next"))
        or safe_next(request, request.META.get("HTTP_REFERER"))
        or (_matches_url(listing) if listing is not None else None)
        or reverse("b2b:introduction_list")
    )


def _requesting_firm(request, need: Need, offer: Offer) -> Organisation | None:
    """The firm that asks: the one named by ``as``, else the user's firm that owns the need or the offer."""
    mine = firm_ids(request.user)
    firms = [o for o in acting_organisations(request, FIRM_KINDS) if o.pk in mine]
    wanted = request.POST.get(ORGANISATION_PARAM)
    if wanted:
        found = next((o for o in firms if o.slug == wanted), None)
        if found is None and is_platform_admin(request.user):
            found = Organisation.objects.filter(slug=wanted, kind__in=FIRM_KINDS).first()
        if found is None:
            raise PermissionDenied(_("You do not act for this organisation."))
        return found
    owning = [o for o in firms if o.pk in (need.organisation_id, offer.organisation_id)]
    return (owning or firms or [None])[0]


def _listing_pair(introduction: Introduction, user) -> dict:
    """Both listings of an introduction as ``user`` may see them, and which side is the user's."""
    sides = services.party_ids(user, introduction)
    return {
        "need": _disclosed(introduction.need, user),
        "offer": _disclosed(introduction.offer, user),
        "mine": "need"
        if introduction.need.organisation_id in sides
        else ("offer" if introduction.offer.organisation_id in sides else ""),
    }


def _url(name: str, *args) -> str | None:
    """A link to another part's page, left out while that page does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _common(request, introduction: Introduction) -> dict:
    pair = _listing_pair(introduction, request.user)
    return {
        "introduction": introduction,
        **pair,
        "need_is_mine": pair["mine"] == "need",
        "offer_is_mine": pair["mine"] == "offer",
        "need_url": _url("b2b:need_detail", introduction.need_id) if pair["need"] else None,
        "offer_url": _url("b2b:offer_detail", introduction.offer_id) if pair["offer"] else None,
        "withheld_text": disclosure.WITHHELD,
    }


# ------------------------------------------------------------------------------------------------- lists


def _queue_order(queryset):
    """Requested first, then brokered waiting for answers (oldest first), then the rest (newest first)."""
    rank = SqlCase(
        When(status=Status.REQUESTED, then=Value(0)),
        When(status=Status.BROKERED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    waiting = SqlCase(
        When(status__in=[Status.REQUESTED, Status.BROKERED], then=F("created_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )
    return queryset.annotate(rank=rank, waiting=waiting).order_by(
        "rank", F("waiting").asc(nulls_last=True), "-created_at", "-pk"
    )


@login_required
@require_GET
def introduction_list(request):
    """A firm's introductions (as buyer or supplier), or — for cluster staff — the brokering queue."""
    user = request.user
    queue = user.has_perm("b2b.broker_introduction")
    filters = StatusFilterForm(request.GET or None)
    introductions = services.introductions_for(user).select_related(
        "need__organisation", "offer__organisation", "broker", "requested_by"
    )
    if filters.is_valid() and filters.cleaned_data["status"]:
        introductions = introductions.filter(status=filters.cleaned_data["status"])
    if queue:
        introductions = _queue_order(introductions)
    introductions = introductions.prefetch_related(
        Prefetch("acceptances", queryset=IntroductionAcceptance.objects.order_by("accepted_at"))
    )
    page = paginate(request, introductions, PER_PAGE)
    rows = []
    for introduction in page.object_list:
        pair = _listing_pair(introduction, user)
        accepted = {a.organisation_id for a in introduction.acceptances.all()}
        rows.append(
            {
                "introduction": introduction,
                **pair,
                "need_accepted": introduction.need.organisation_id in accepted,
                "offer_accepted": introduction.offer.organisation_id in accepted,
                "my_turn": introduction.status == Status.BROKERED
                and bool(services.party_ids(user, introduction) - accepted),
            }
        )
    return render(
        request,
        "b2b/introductions/list.html",
        {
            "queue": queue,
            "page": page,
            "rows": rows,
            "filters": filters,
            "withheld_text": disclosure.WITHHELD,
            "may_export": user.has_perm("b2b.export_introductions"),
        },
    )


# ------------------------------------------------------------------------------------------ request


@login_required
@require_POST
def introduction_request(request):
    """A firm asks for an introduction from a match; staff posting without ``as`` propose one directly."""
    form = RequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the need and the offer to introduce to each other."))
        return redirect(_back(request))
    data = form.cleaned_data
    need = get_object_or_404(Need.objects.select_related("organisation"), pk=data["need"])
    offer = get_object_or_404(Offer.objects.select_related("organisation"), pk=data["offer"])
    user = request.user
    origin = need
    try:
        if user.has_perm("b2b.broker_introduction") and not request.POST.get(ORGANISATION_PARAM):
            clusters = services.broker_cluster_ids(user)
            broker = Organisation.objects.filter(pk__in=clusters).order_by(
                "name"
            ).first() or services.choose_broker(need, offer)
            introduction = services.propose_introduction(
                need,
                offer,
                broker=broker,
                note=data["message"],
                nda_required=data["nda"],
                nda_text="",
                acting_user=user,
            )
            messages.success(request, _("The introduction is proposed; both firms are asked to accept it."))
        else:
            organisation = _requesting_firm(request, need, offer)
            if organisation is None:
                raise B2BError(_("Only member firms ask for introductions, for their own needs and offers."))
            origin = offer if organisation.pk == offer.organisation_id else need
            introduction = services.request_introduction(
                need,
                offer,
                organisation=organisation,
                message=data["message"],
                nda_requested=data["nda"],
                acting_user=user,
            )
            messages.success(
                request, _("Your request is with the cluster staff; you will hear from them by e-mail.")
            )
    except DomainError as error:
        refuse(request, error)
        return redirect(_back(request, origin))
    return redirect("b2b:introduction_detail", pk=introduction.pk)


# ------------------------------------------------------------------------------------------------ detail


@login_required
@require_GET
def introduction_detail(request, pk: int):
    introduction = _introduction(request, pk)
    user = request.user
    acceptances = {a.organisation_id: a for a in introduction.acceptances.all()}
    context = _common(request, introduction)
    sides = services.party_ids(user, introduction)
    context.update(
        {
            "need_acceptance": acceptances.get(introduction.need.organisation_id),
            "offer_acceptance": acceptances.get(introduction.offer.organisation_id),
            "outcomes": introduction.outcomes.select_related("recorded_by").order_by("occurred_on", "pk"),
            "actions": services.actions_for(user, introduction),
            "is_staff": user.has_perm("b2b.broker_introduction"),
            "sees_message": user.has_perm("b2b.broker_introduction")
            or (introduction.requested_by_id is not None and introduction.requested_by_id in sides),
            "pending_rules": pending_rules(request),
            **_projects(user, introduction),
        }
    )
    return render(request, "b2b/introductions/detail.html", context)


def _projects(user, introduction: Introduction) -> dict:
    """The co-development projects that came of an accepted introduction (those the user may open), and
    whether the user may start one from it."""
    if introduction.status != Status.ACCEPTED:
        return {"projects": [], "project_start_url": None}
    projects = list(introduction.projects.order_by("started_on", "pk"))
    start = (
        _url("b2b:project_create")
        if not projects and user.has_perm("b2b.record_outcome", introduction)
        else None
    )
    return {
        "projects": [p for p in projects if user.has_perm("b2b.view_project", p)],
        "project_start_url": f"{start}?introduction={introduction.pk}" if start else None,
    }


def _require_action(request, introduction: Introduction, action: str):
    """None when ``action`` is open to the user now; else a redirect to the introduction with the reason."""
    if action in services.actions_for(request.user, introduction):
        return None
    messages.info(request, _("This is not possible for this introduction now."))
    return redirect("b2b:introduction_detail", pk=introduction.pk)


@login_required
@require_http_methods(["GET", "POST"])
def introduction_broker(request, pk: int):
    """Staff broker a requested introduction: NDA or not, and a note to both firms."""
    introduction = _introduction(request, pk)
    if not request.user.has_perm("b2b.broker_introduction", introduction):
        raise PermissionDenied(_("Only the cluster staff broker introductions."))
    if request.method == "GET" and (closed := _require_action(request, introduction, "broker")):
        return closed
    initial = {
        "nda_required": introduction.nda_required,
        "nda_text": str(services.DEFAULT_NDA_TEXT) if introduction.nda_required else "",
    }
    form = BrokerForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.broker_introduction(
                introduction,
                nda_required=data["nda_required"],
                nda_text=data["nda_text"],
                note=data["note"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The introduction is brokered; both firms are asked to accept it."))
            return redirect("b2b:introduction_detail", pk=introduction.pk)
    context = _common(request, introduction)
    context.update({"form": form, "default_nda": services.DEFAULT_NDA_TEXT})
    return render(request, "b2b/introductions/broker.html", context)


REASON_ACTIONS = {
    "refuse": {
        "service": lambda i, reason, user, org: services.refuse_introduction(
            i, reason=reason, acting_user=user
        ),
        "title": gettext_lazy("Refuse to broker this introduction"),
        "lead": gettext_lazy(
            "The firm that asked is told, with your reason. The other firm never hears of it."
        ),
        "button": gettext_lazy("Refuse the introduction"),
        "done": gettext_lazy("The introduction is refused; the firm that asked is told why."),
        "required": True,
    },
    "withdraw": {
        "service": lambda i, reason, user, org: services.withdraw_introduction(
            i, reason=reason, acting_user=user
        ),
        "title": gettext_lazy("Withdraw this introduction"),
        "lead": gettext_lazy(
            "Nothing confidential is revealed. Those who knew of the introduction are told."
        ),
        "button": gettext_lazy("Withdraw the introduction"),
        "done": gettext_lazy("The introduction is withdrawn."),
        "required": False,
    },
    "decline": {
        "service": lambda i, reason, user, org: services.decline_introduction(
            i, organisation=org, reason=reason, acting_user=user
        ),
        "title": gettext_lazy("Decline this introduction"),
        "lead": gettext_lazy(
            "Nothing confidential is revealed to either firm. The other firm and the cluster are told."
        ),
        "button": gettext_lazy("Decline the introduction"),
        "done": gettext_lazy("You declined the introduction."),
        "required": False,
    },
}


def _reason_view(request, pk: int, action: str):
    introduction = _introduction(request, pk)
    spec = REASON_ACTIONS[action]
    if request.method == "GET" and (closed := _require_action(request, introduction, action)):
        return closed
    form = ReasonForm(_posted(request), required=spec["required"])
    if request.method == "POST" and form.is_valid():
        organisation = _party_organisation(request, introduction)
        try:
            if action == "decline" and organisation is None:
                raise B2BError(_("Only the two firms of an introduction answer it."))
            spec["service"](introduction, form.cleaned_data["reason"], request.user, organisation)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, spec["done"])
            return redirect("b2b:introduction_detail", pk=introduction.pk)
    context = _common(request, introduction)
    context.update({"form": form, "spec": spec, "action": action})
    return render(request, "b2b/introductions/reason.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def introduction_refuse(request, pk: int):
    return _reason_view(request, pk, "refuse")


@login_required
@require_http_methods(["GET", "POST"])
def introduction_withdraw(request, pk: int):
    return _reason_view(request, pk, "withdraw")


@login_required
@require_http_methods(["GET", "POST"])
def introduction_decline(request, pk: int):
    return _reason_view(request, pk, "decline")


@login_required
@require_http_methods(["GET", "POST"])
def introduction_accept(request, pk: int):
    """GET: the ground rules still to accept and the NDA text; POST: accept for the user's firm."""
    introduction = _introduction(request, pk)
    organisation = _party_organisation(request, introduction)
    if organisation is None:
        raise PermissionDenied(_("Only the two firms of an introduction accept it."))
    if request.method == "GET" and (closed := _require_action(request, introduction, "accept")):
        return closed
    form = AcceptForm(_posted(request), initial={"nda_sha256": introduction.nda_sha256})
    if request.method == "POST" and form.is_valid():
        try:
            introduction = services.accept_introduction(
                introduction,
                organisation=organisation,
                nda_sha256=form.cleaned_data["nda_sha256"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            if introduction.status == Status.ACCEPTED:
                messages.success(
                    request, _("Both firms accepted: each other's details are now visible on this page.")
                )
            else:
                messages.success(
                    request, _("Your acceptance is recorded; the other firm is still to answer.")
                )
            return redirect("b2b:introduction_detail", pk=introduction.pk)
    context = _common(request, introduction)
    context.update(
        {
            "form": form,
            "organisation": organisation,
            "pending_rules": list(
                pending_ground_rules(request.user, introduction, organisation=organisation)
            ),
        }
    )
    return render(request, "b2b/introductions/accept.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def introduction_outcome(request, pk: int):
    """Either firm or the cluster staff record what came of an accepted introduction."""
    introduction = _introduction(request, pk)
    if request.method == "GET" and (closed := _require_action(request, introduction, "outcome")):
        return closed
    form = OutcomeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_outcome(
                introduction,
                kind=data["kind"],
                occurred_on=data["occurred_on"],
                note=data["note"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("Thank you: the outcome is recorded."))
            return redirect("b2b:introduction_detail", pk=introduction.pk)
    context = _common(request, introduction)
    context["form"] = form
    return render(request, "b2b/introductions/outcome.html", context)


# ------------------------------------------------------------------------------------------------ export


def _stamp(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@login_required
@require_GET
def introduction_export(request):
    """Staff: one row per introduction with its dates and outcomes, and both listings as the exporting user
    may see them (``disclosure.row``)."""
    user = request.user
    if not user.has_perm("b2b.export_introductions"):
        raise PermissionDenied(_("The export of introductions is for the cluster staff."))
    filters = StatusFilterForm(request.GET or None)
    introductions = (
        services.introductions_for(user)
        .select_related("need__organisation", "offer__organisation", "need__contact", "offer__contact")
        .prefetch_related(
            Prefetch("outcomes", queryset=IntroductionOutcome.objects.order_by("occurred_on", "pk"))
        )
        .order_by("created_at", "pk")
    )
    if filters.is_valid() and filters.cleaned_data["status"]:
        introductions = introductions.filter(status=filters.cleaned_data["status"])
    header = [
        "id",
        "status",
        "requested_at",
        "brokered_at",
        "accepted_at",
        "closed_at",
        "nda_required",
        "outcome",
        "outcome_on",
        "outcomes",
        *(f"need_{name}" for name in NEED_FIELDS),
        *(f"offer_{name}" for name in OFFER_FIELDS),
    ]

    def listing_cells(listing, fields):
        disclosed = _disclosed(listing, user)
        if disclosed is None:
            return [""] * len(fields)
        values = disclosure.row(disclosed, fields)
        return [values[name] for name in fields]

    def rows():
        for introduction in introductions.iterator(chunk_size=500):
            outcomes = list(introduction.outcomes.all())
            last = outcomes[-1] if outcomes else None
            yield [
                introduction.pk,
                introduction.status,
                _stamp(introduction.created_at),
                _stamp(introduction.brokered_at),
                _stamp(introduction.accepted_at),
                _stamp(introduction.closed_at),
                "yes" if introduction.nda_required else "no",
                last.kind if last else "",
                last.occurred_on.isoformat() if last else "",
                "; ".join(f"{o.occurred_on.isoformat()} {o.kind}" for o in outcomes),
                *listing_cells(introduction.need, NEED_FIELDS),
                *listing_cells(introduction.offer, OFFER_FIELDS),
            ]

    return csv_response("introductions.csv", header, rows())


# ---------------------------------------------------------------------------------------------- overview

INTRODUCTION_SERIES = ("requested", "brokered", "accepted")


def _month(value) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def introduction_figures(introductions) -> dict:
    """Introductions requested (or proposed), brokered and accepted per month, outcomes of each kind per
    month, and the number of introductions in each status — in two aggregate queries."""

    def monthly(field: str, series: str):
        return (
            introductions.filter(**{f"{field}__isnull": False})
            .order_by()
            .annotate(series=Value(series, output_field=CharField()), month=TruncMonth(field))
            .values("series", "status", "month")
            .annotate(n=Count("pk"))
        )

    grouped = monthly("created_at", "requested").union(
        monthly("brokered_at", "brokered"), monthly("accepted_at", "accepted"), all=True
    )
    months: dict[date, dict[str, int]] = {}
    by_status = dict.fromkeys(Status.values, 0)
    empty = dict.fromkeys((*INTRODUCTION_SERIES, *IntroductionOutcome.Kind.values), 0)
    for row in grouped:
        day = _month(row["month"])
        months.setdefault(day, dict(empty))[row["series"]] += row["n"]
        if row["series"] == "requested":
            by_status[row["status"]] += row["n"]
    outcomes = (
        IntroductionOutcome.objects.filter(introduction__in=introductions.order_by().values("pk"))
        .annotate(month=TruncMonth("occurred_on"))
        .values_list("month", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for month, kind, n in outcomes:
        months.setdefault(_month(month), dict(empty))[kind] += n
    if months:  # months without activity count too, so that the lines do not join distant points
        day, last = min(months), max(months)
        while day < last:
            day = _next_month(day)
            months.setdefault(day, dict(empty))
    return {"months": dict(sorted(months.items())), "by_status": by_status}


@login_required
@require_GET
def introduction_overview(request):
    """Staff: introductions and their outcomes over time, and how many are in each status."""
    user = request.user
    if not user.has_perm("b2b.broker_introduction"):
        raise PermissionDenied(_("The overview of introductions is for the cluster staff."))
    figures = introduction_figures(services.introductions_for(user))
    months = figures["months"]
    month_label = lambda day: formats.date_format(day, "YEAR_MONTH_FORMAT")  # noqa: E731
    labels = {
        "requested": _("Requested or proposed"),
        "brokered": _("Brokered"),
        "accepted": _("Accepted by both firms"),
        **dict(IntroductionOutcome.Kind.choices),
    }

    def chart(keys):
        return line_chart(
            [(labels[key], [(day, row[key]) for day, row in months.items()]) for key in keys],
            x_format=month_label,
        )

    statuses = dict(Status.choices)
    by_status = [(statuses[s], n) for s, n in figures["by_status"].items()]
    return render(
        request,
        "b2b/introductions/overview.html",
        {
            "introductions_chart": chart(INTRODUCTION_SERIES),
            "outcomes_chart": chart(IntroductionOutcome.Kind.values),
            "status_chart": horizontal_bars(by_status),
            "by_status": by_status,
            "total": sum(n for _, n in by_status),
            "outcome_total": sum(row[k] for row in months.values() for k in IntroductionOutcome.Kind.values),
        },
    )
