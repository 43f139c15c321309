"""Pages of the conduct part: clarifications, direct messages (closed in the quiet period), the interaction
register with gift declarations, its CSV exports and its public summary. Thin views: every change goes
through ``procurement.services.conduct`` or ``procurement.services.clarifications``."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, IntegerField, Max, Prefetch, Q, Sum, When
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from livinglab.acting import ORGANISATION_PARAM, acting_organisations, pending_rules, refuse
from livinglab.charts import horizontal_bars, line_chart
from livinglab.errors import DomainError
from livinglab.models import Organisation
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from livinglab.spreadsheets import csv_response
from livinglab.views import paginate

from .conduct_forms import (
    AnswerForm,
    AskForm,
    DeclineForm,
    GiftForm,
    InteractionForm,
    MessageForm,
    RegisterFilterForm,
)
from .models import (
    Clarification,
    ConsortiumMember,
    DirectMessage,
    GiftDeclaration,
    Interaction,
    Phase,
    Procurement,
    Registration,
)
from .rules import FIRM_KINDS, firm_ids
from .services import clarifications as clarification_services
from .services import conduct as services
from .view_helpers import get_procurement

# ------------------------------------------------------------------------------------------ helpers


def known_organisations(procurement: Procurement):
    """Organisations on the bidders' side that this procurement knows: registered (consultation or call),
    in a consortium, intermediaries, or already in its register."""
    registered = Registration.objects.filter(procurement=procurement).values("organisation_id")
    in_consortia = ConsortiumMember.objects.filter(consortium__procurement=procurement).values(
        "organisation_id"
    )
    in_register = Interaction.organisations.through.objects.filter(
        interaction__procurement=procurement
    ).values("organisation_id")
    return (
        Organisation.objects.filter(
            Q(pk__in=registered)
            | Q(pk__in=in_consortia)
            | Q(pk__in=in_register)
            | Q(pk__in=procurement.intermediaries.values("pk"))
        )
        .exclude(pk=procurement.buyer_id)
        .order_by("name")
    )


def speaking_organisations(request, procurement: Procurement) -> list[Organisation]:
    """The organisations the user may speak for on this procurement (buyer, firm, intermediary cluster)."""
    return [o for o in acting_organisations(request) if services.acts_for(request.user, procurement, o)]


def speaking_organisation(request, procurement: Procurement, candidates=None) -> Organisation:
    """The one the user acts for now: ``?as=<slug>`` among ``candidates``, else the first of them."""
    candidates = speaking_organisations(request, procurement) if candidates is None else candidates
    wanted = request.POST.get(ORGANISATION_PARAM) or request.GET.get(ORGANISATION_PARAM)
    for organisation in candidates:
        if not wanted or organisation.slug == wanted:
            return organisation
    raise PermissionDenied(_("You do not act for this organisation on this procurement."))


def _back(name: str, procurement: Procurement, organisation: Organisation | None = None, **query) -> str:
    url = reverse(f"procurement:{name}", args=[procurement.slug])
    if organisation is not None:
        query[ORGANISATION_PARAM] = organisation.slug
    query = {k: v for k, v in query.items() if v}
    return f"{url}?{urlencode(query)}" if query else url


def _zone_label(procurement: Procurement) -> str:
    return procurement.time_zone


def nav(request, procurement: Procurement, current: str) -> dict:
    """The conduct pages this user may open on this procurement, for ``conduct/_nav.html``."""
    user = request.user
    return {
        "current": current,
        "messages": user.is_authenticated and user.has_perm("procurement.send_message", procurement),
        "register": user.is_authenticated and user.has_perm("procurement.view_register", procurement),
    }


def _posted_id(request, name: str) -> int:
    """A posted object id; a malformed one is a missing page, not a server error."""
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        raise Http404(_("Nothing to act on was named.")) from None


# ------------------------------------------------------------------------------------------ clarifications


def _asking_organisation(request) -> Organisation | None:
    """The firm or research organisation a signed-in bidder asks for (``?as=`` when several)."""
    if not request.user.is_authenticated:
        return None
    mine = firm_ids(request.user)
    candidates = [o for o in acting_organisations(request, FIRM_KINDS) if o.pk in mine]
    wanted = request.POST.get(ORGANISATION_PARAM) or request.GET.get(ORGANISATION_PARAM)
    for organisation in candidates:
        if not wanted or organisation.slug == wanted:
            return organisation
    return None


@require_http_methods(["GET", "POST"])
def clarifications(request, slug: str):
    """Everyone: the published questions and answers. Bidders: their own pending questions and the ask
    form. Procurers: the queue of unanswered questions, with who asked, and the answer forms."""
    procurement = get_procurement(request, slug)
    phases = list(procurement.phases.order_by("number"))
    now = timezone.now()
    open_phases = [p for p in phases if p.accepts_questions(now)]
    may_answer = request.user.has_perm("procurement.answer_clarification", procurement)
    asker = _asking_organisation(request)
    ask_form = AskForm(phases=Phase.objects.filter(pk__in=[p.pk for p in open_phases]).order_by("number"))
    bound_answers: dict[int, AnswerForm] = {}
    bound_declines: dict[int, DeclineForm] = {}

    if request.method == "POST":
        action = request.POST.get("action")
        if action == "ask":
            if asker is None or not request.user.has_perm("procurement.ask_clarification", procurement):
                raise PermissionDenied(_("Questions are asked by firms and research organisations."))
            ask_form = AskForm(
                request.POST, phases=Phase.objects.filter(procurement=procurement).order_by("number")
            )
            if ask_form.is_valid():
                try:
                    clarification_services.ask_clarification(
                        ask_form.cleaned_data["phase"],
                        asker,
                        ask_form.cleaned_data["question"],
                        acting_user=request.user,
                    )
                except DomainError as error:
                    # Once questions are closed the form is not shown: say why as a message.
                    refuse(request, error, ask_form if open_phases else None)
                else:
                    messages.success(
                        request,
                        _("Your question is sent. The answer will be published to every registered bidder."),
                    )
                    return redirect(_back("clarifications", procurement, asker))
        elif action in {"publish", "save", "decline"}:
            if not may_answer:
                raise PermissionDenied(_("Only the buying authority's procurers answer clarifications."))
            item = get_object_or_404(
                Clarification.objects.select_related("phase__procurement__buyer"),
                pk=_posted_id(request, "clarification"),
                phase__procurement=procurement,
            )
            prefix = f"c{item.pk}"
            if action == "decline":
                form = bound_declines[item.pk] = DeclineForm(request.POST, prefix=prefix)
                call = lambda data: clarification_services.decline_clarification(  # noqa: E731
                    item, data["reason"], acting_user=request.user
                )
                done = _("The question is declined; the asking organisation sees your reason.")
            else:
                form = bound_answers[item.pk] = AnswerForm(request.POST, prefix=prefix)
                publish = action == "publish"
                call = lambda data: clarification_services.answer_clarification(  # noqa: E731
                    item, data["public_question"], data["answer"], acting_user=request.user, publish=publish
                )
                done = (
                    _("The answer is published to every registered bidder and e-mailed to them.")
                    if publish
                    else _("The answer is saved. Publish it with the other answered questions.")
                )
            if form.is_valid():
                try:
                    call(form.cleaned_data)
                except DomainError as error:
                    refuse(request, error, form)
                else:
                    messages.success(request, done)
                    return redirect(_back("clarifications", procurement))
        elif action == "publish_all":
            if not may_answer:
                raise PermissionDenied(_("Only the buying authority's procurers answer clarifications."))
            phase = get_object_or_404(Phase, procurement=procurement, pk=_posted_id(request, "phase"))
            try:
                published = clarification_services.publish_clarifications(phase, acting_user=request.user)
            except DomainError as error:
                refuse(request, error)
            else:
                messages.success(
                    request,
                    _("%(n)s answers are published at one moment and e-mailed to every registered bidder.")
                    % {"n": len(published)},
                )
                return redirect(_back("clarifications", procurement))
        else:
            messages.error(request, _("This action is not known."))

    published = (
        Clarification.objects.filter(phase__procurement=procurement, status=Clarification.Status.PUBLISHED)
        .select_related("phase")
        .order_by("phase__number", "published_at", "pk")
    )
    context = {
        "procurement": procurement,
        "phases": phases,
        "open_phases": open_phases,
        "published": paginate(request, published),
        "zone": _zone_label(procurement),
        "nav": nav(request, procurement, "clarifications"),
        "may_answer": may_answer,
        "asker": asker,
        "pending_rules": pending_rules(request),
    }
    if asker is not None:
        mine = (
            Clarification.objects.filter(phase__procurement=procurement, asking_organisation=asker)
            .exclude(status=Clarification.Status.PUBLISHED)
            .select_related("phase")
            .order_by("-asked_at")
        )
        asker_choices = [
            o for o in acting_organisations(request, FIRM_KINDS) if o.pk in firm_ids(request.user)
        ]
        closed = [p for p in phases if p.status == Phase.Status.OPEN and not p.accepts_questions(now)]
        context.update(
            mine=paginate(request, mine, param="mine"),
            ask_form=ask_form,
            asker_choices=asker_choices if len(asker_choices) > 1 else [],
            registered=clarification_services.is_registered_bidder(procurement, asker),
            closed_phases=[
                (p, procurement.local(p.question_deadline)) for p in closed if p.question_deadline
            ],
        )
    if may_answer:
        queue = (
            Clarification.objects.filter(phase__procurement=procurement, status=Clarification.Status.ASKED)
            .select_related("phase", "asking_organisation")
            .order_by("asked_at", "pk")
        )
        queue_page = paginate(request, queue, param="queue")
        for item in queue_page:
            prefix = f"c{item.pk}"
            item.answer_form = bound_answers.get(item.pk) or AnswerForm(
                prefix=prefix, initial={"public_question": item.public_question, "answer": item.answer}
            )
            item.decline_form = bound_declines.get(item.pk) or DeclineForm(prefix=prefix)
            item.asked_local = procurement.local(item.asked_at)
        ready = (
            Clarification.objects.filter(phase__procurement=procurement, status=Clarification.Status.ASKED)
            .exclude(answer="")
            .values("phase")
            .annotate(n=Count("pk"))
            .order_by()
        )
        ready_by_phase = {row["phase"]: row["n"] for row in ready}
        context.update(
            queue=queue_page,
            ready=[(p, ready_by_phase[p.pk]) for p in phases if ready_by_phase.get(p.pk)],
        )
    return render(request, "procurement/clarifications/clarifications.html", context)


# ------------------------------------------------------------------------------------------ messages


def _threads(procurement: Procurement, organisation: Organisation):
    """One row per counterpart organisation: how many messages, the latest one."""
    return (
        DirectMessage.objects.filter(procurement=procurement)
        .filter(Q(sender_organisation=organisation) | Q(recipient_organisation=organisation))
        .annotate(
            counterpart=Case(
                When(sender_organisation=organisation, then=F("recipient_organisation")),
                default=F("sender_organisation"),
                output_field=IntegerField(),
            )
        )
        .values("counterpart")
        .annotate(count=Count("pk"), last=Max("sent_at"))
        .order_by("-last", "counterpart")
    )


@login_required
@require_http_methods(["GET", "POST"])
def messages_page(request, slug: str):
    """Direct messages between the authority and a bidder side, outside the quiet period."""
    procurement = get_procurement(request, slug, "procurement.send_message")
    candidates = speaking_organisations(request, procurement)
    if not candidates:
        raise PermissionDenied(
            _("Messages are exchanged by the authority, firms and the intermediary cluster organisations.")
        )
    organisation = speaking_organisation(request, procurement, candidates)
    is_buyer = organisation.pk == procurement.buyer_id
    quiet = services.in_quiet_period(procurement)
    recipients = known_organisations(procurement).filter(
        Q(kind__in=FIRM_KINDS) | Q(pk__in=procurement.intermediaries.values("pk"))
    )
    form = MessageForm(request.POST or None, recipients=recipients if is_buyer else None)
    if request.method == "POST" and form.is_valid():
        recipient = form.cleaned_data["recipient"] if is_buyer else procurement.buyer
        try:
            services.send_message(
                procurement,
                organisation,
                recipient,
                form.cleaned_data["subject"],
                form.cleaned_data["body"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, None if quiet else form)
        else:
            messages.success(request, _("Your message is sent and logged in the interaction register."))
            counterpart = recipient if is_buyer else None
            return redirect(
                _back(
                    "messages", procurement, organisation, **{"with": counterpart.slug if counterpart else ""}
                )
            )

    threads = paginate(request, _threads(procurement, organisation), param="threads")
    names = Organisation.objects.in_bulk([row["counterpart"] for row in threads])
    for row in threads:
        row["organisation"] = names.get(row["counterpart"])
    wanted = request.GET.get("with")
    counterpart = None
    if wanted:
        counterpart = get_object_or_404(Organisation, slug=wanted)
    elif not is_buyer:
        counterpart = procurement.buyer
    elif threads.object_list:
        counterpart = threads.object_list[0]["organisation"]
    conversation = None
    if counterpart is not None:
        between = DirectMessage.objects.filter(procurement=procurement).filter(
            Q(sender_organisation=organisation, recipient_organisation=counterpart)
            | Q(sender_organisation=counterpart, recipient_organisation=organisation)
        )
        conversation = paginate(
            request, between.select_related("sender_organisation").order_by("-sent_at", "-pk")
        )
    return render(
        request,
        "procurement/conduct/messages.html",
        {
            "procurement": procurement,
            "nav": nav(request, procurement, "messages"),
            "organisation": organisation,
            "choices": candidates if len(candidates) > 1 else [],
            "is_buyer": is_buyer,
            "quiet": quiet,
            "form": form,
            "threads": threads,
            "counterpart": counterpart,
            "conversation": conversation,
            "pending_rules": pending_rules(request),
        },
    )


# ------------------------------------------------------------------------------------------ the register


def _filtered_entries(procurement: Procurement, form: RegisterFilterForm):
    entries = Interaction.objects.filter(procurement=procurement)
    if form.is_valid():
        data = form.cleaned_data
        if data.get("kind"):
            entries = entries.filter(kind=data["kind"])
        if data.get("organisation"):
            entries = entries.filter(organisations=data["organisation"])
        if data.get("date_from"):
            entries = entries.filter(
                occurred_at__gte=datetime.combine(data["date_from"], time.min, tzinfo=procurement.tz)
            )
        if data.get("date_to"):
            end = datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=procurement.tz)
            entries = entries.filter(occurred_at__lt=end)
    return entries


def _filter_form(request, procurement: Procurement) -> RegisterFilterForm:
    organisations = Organisation.objects.filter(pcp_interactions__procurement=procurement).distinct()
    return RegisterFilterForm(
        request.GET or None, organisations=organisations.order_by("name"), zone=procurement.time_zone
    )


@login_required
@require_GET
def register(request, slug: str):
    """The full interaction register and gift declarations: compliance, intermediaries, platform admins."""
    procurement = get_procurement(request, slug, "procurement.view_register")
    form = _filter_form(request, procurement)
    entries = (
        _filtered_entries(procurement, form)
        .select_related("on_behalf_of", "message")
        .prefetch_related(Prefetch("organisations", queryset=Organisation.objects.order_by("name")))
        .order_by("-occurred_at", "-pk")
    )
    page = paginate(request, entries)
    for entry in page:
        entry.local = procurement.local(entry.occurred_at)
    gifts = procurement.gift_declarations.select_related("offered_by").order_by("-offered_on", "-pk")
    totals = procurement.gift_declarations.aggregate(n=Count("pk"), total=Sum("value"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("gifts", None)
    return render(
        request,
        "procurement/conduct/register.html",
        {
            "procurement": procurement,
            "nav": nav(request, procurement, "register"),
            "form": form,
            "entries": page,
            "gifts": paginate(request, gifts, param="gifts"),
            "gift_count": totals["n"],
            "gift_total": totals["total"] or Decimal("0"),
            "zone": procurement.time_zone,
            "export_query": query.urlencode(),
            "may_record": request.user.has_perm("procurement.record_interaction", procurement),
            "may_declare": request.user.has_perm("procurement.declare_gift", procurement),
        },
    )


@login_required
@require_GET
def register_csv(request, slug: str):
    """The register (with the page's filters) as CSV — without the people present, who are personal data."""
    procurement = get_procurement(request, slug, "procurement.view_register")
    entries = (
        _filtered_entries(procurement, _filter_form(request, procurement))
        .select_related("on_behalf_of")
        .prefetch_related(Prefetch("organisations", queryset=Organisation.objects.order_by("name")))
        .order_by("occurred_at", "pk")
    )
    kinds = dict(Interaction.Kind.choices)

    def rows():
        for entry in entries.iterator(chunk_size=500):
            yield [
                entry.pk,
                procurement.local(entry.occurred_at).strftime("%Y-%m-%d %H:%M"),
                kinds.get(entry.kind, entry.kind),
                entry.subject,
                entry.summary,
                "; ".join(o.name for o in entry.organisations.all()),
                entry.on_behalf_of.name if entry.on_behalf_of else "",
            ]

    header = [
        "id",
        f"occurred_at ({procurement.time_zone})",
        "kind",
        "subject",
        "summary",
        "organisations",
        "on_behalf_of",
    ]
    return csv_response(f"{procurement.slug}-interaction-register.csv", header, rows())


@login_required
@require_GET
def gifts_csv(request, slug: str):
    """Gift and hospitality declarations as CSV, without the names of the people who declared them."""
    procurement = get_procurement(request, slug, "procurement.view_register")
    declarations = procurement.gift_declarations.select_related("offered_by").order_by("offered_on", "pk")
    outcomes = dict(GiftDeclaration.Outcome.choices)

    def rows():
        for gift in declarations.iterator(chunk_size=500):
            yield [
                gift.pk,
                gift.offered_on.isoformat(),
                gift.offered_by.name,
                gift.description,
                f"{gift.value:.2f}",
                outcomes.get(gift.outcome, gift.outcome),
            ]

    header = ["id", "offered_on", "offered_by", "description", "value_eur", "outcome"]
    return csv_response(f"{procurement.slug}-gift-declarations.csv", header, rows())


@login_required
@require_http_methods(["GET", "POST"])
def record_interaction(request, slug: str):
    """Buyer staff, intermediaries and firms log a meeting, call, e-mail or event in the register."""
    procurement = get_procurement(request, slug, "procurement.record_interaction")
    candidates = speaking_organisations(request, procurement)
    if not candidates:
        raise PermissionDenied(
            _("Contacts are recorded by the authority, the firms involved and the intermediary clusters.")
        )
    organisation = speaking_organisation(request, procurement, candidates)
    form = InteractionForm(
        request.POST or None,
        procurement=procurement,
        organisations=known_organisations(procurement).exclude(pk=organisation.pk),
        intermediaries=procurement.intermediaries.order_by("name"),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.record_interaction(
                procurement,
                organisation,
                data["kind"],
                data["occurred_at"],
                data["subject"],
                data["summary"],
                data["participants"],
                list(data["organisations"]),
                data["on_behalf_of"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The contact is recorded in the interaction register."))
            if request.user.has_perm("procurement.view_register", procurement):
                return redirect("procurement:register", slug=procurement.slug)
            return redirect(_back("record_interaction", procurement, organisation))
    return render(
        request,
        "procurement/conduct/record_interaction.html",
        {
            "procurement": procurement,
            "nav": nav(request, procurement, "record"),
            "organisation": organisation,
            "choices": candidates if len(candidates) > 1 else [],
            "form": form,
            "zone": procurement.time_zone,
            "pending_rules": pending_rules(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def declare_gift(request, slug: str):
    """The buyer's staff declare a gift, favour or hospitality offered to them, and what they did."""
    procurement = get_procurement(request, slug, "procurement.declare_gift")
    form = GiftForm(request.POST or None, organisations=known_organisations(procurement))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.declare_gift(
                procurement,
                data["offered_by"],
                data["description"],
                data["value"],
                data["offered_on"],
                data["outcome"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("Thank you: the declaration is in the register."))
            if request.user.has_perm("procurement.view_register", procurement):
                return redirect("procurement:register", slug=procurement.slug)
            return redirect("procurement:register_summary", slug=procurement.slug)
    return render(
        request,
        "procurement/conduct/declare_gift.html",
        {
            "procurement": procurement,
            "nav": nav(request, procurement, "gift"),
            "form": form,
            "zone": procurement.time_zone,
            "pending_rules": pending_rules(request),
        },
    )


@require_GET
def register_summary(request, slug: str):
    """Public: how many contacts of which kind, per month and per organisation, and the gifts declared —
    counts only, no people and no summaries."""
    procurement = get_procurement(request, slug)
    contacts = Interaction.objects.filter(procurement=procurement)
    kinds = dict(Interaction.Kind.choices)
    by_kind_rows = dict(contacts.values_list("kind").annotate(n=Count("pk")).order_by())
    by_kind = [(kinds[k], by_kind_rows[k]) for k in Interaction.Kind.values if by_kind_rows.get(k)]
    monthly = (
        contacts.annotate(month=TruncMonth("occurred_at", tzinfo=procurement.tz))
        .values_list("month", "kind")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    months: dict = {}
    for month, kind, n in monthly:
        day = month.date() if isinstance(month, datetime) else month
        months.setdefault(day, dict.fromkeys(Interaction.Kind.values, 0))[kind] += n
    if months:  # months without contacts count too, so that the chart does not join distant points
        day, last = min(months), max(months)
        while day < last:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            months.setdefault(day, dict.fromkeys(Interaction.Kind.values, 0))
        months = dict(sorted(months.items()))
    used_kinds = [k for k in Interaction.Kind.values if any(row[k] for row in months.values())]
    month_label = lambda day: formats.date_format(day, "YEAR_MONTH_FORMAT")  # noqa: E731
    chart = line_chart(
        [(_("Contacts"), [(day, sum(row.values())) for day, row in months.items()])],
        x_format=month_label,
    )
    table = [
        (month_label(day), [row[k] for k in used_kinds], sum(row.values())) for day, row in months.items()
    ]
    organisations = (
        Organisation.objects.filter(pcp_interactions__procurement=procurement)
        .exclude(pk=procurement.buyer_id)
        .annotate(contacts=Count("pcp_interactions"))
        .order_by("-contacts", "name")
        .only("pk", "name")
    )
    outcomes = dict(GiftDeclaration.Outcome.choices)
    gift_rows = {
        row["outcome"]: row
        for row in procurement.gift_declarations.values("outcome")
        .annotate(n=Count("pk"), total=Sum("value"))
        .order_by()
    }
    gifts = [
        (outcomes[o], gift_rows[o]["n"], gift_rows[o]["total"])
        for o in GiftDeclaration.Outcome.values
        if o in gift_rows
    ]
    return render(
        request,
        "procurement/conduct/register_summary.html",
        {
            "procurement": procurement,
            "nav": nav(request, procurement, "summary"),
            "total": sum(n for _, n in by_kind),
            "kind_chart": horizontal_bars(by_kind),
            "month_chart": chart,
            "month_table": table,
            "month_kinds": [kinds[k] for k in used_kinds],
            "organisations": paginate(request, organisations, param="organisations"),
            "gifts": gifts,
            "gift_count": sum(n for _, n, _t in gifts),
            "gift_total": sum((t for _, _n, t in gifts), Decimal("0")),
            "may_view_register": request.user.has_perm("procurement.view_register", procurement),
        },
    )


# ------------------------------------------------------------------------------------------ cluster staff


def intermediated_registers(user):
    """Procurements the user's clusters intermediate, with their number of contacts and gift declarations
    (every procurement for platform admins)."""
    procurements = Procurement.objects.exclude(status=Procurement.Status.DRAFT)
    if not is_platform_admin(user):
        clusters = {m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
        procurements = Procurement.objects.filter(intermediaries__in=clusters).distinct()
    return (
        procurements.select_related("buyer")
        .annotate(
            contacts=Count("interactions", distinct=True),
            gifts=Count("gift_declarations", distinct=True),
            last_contact=Max("interactions__occurred_at"),
        )
        .order_by(F("last_contact").desc(nulls_last=True), "title")
    )


@login_required
@require_GET
def registers(request):
    """Cluster staff: the calls they intermediate and the interaction register of each."""
    if not is_platform_admin(request.user) and not any(
        m.role in CLUSTER_ROLES for m in active_memberships(request.user)
    ):
        raise PermissionDenied(_("This page is for the staff of intermediary cluster organisations."))
    return render(
        request,
        "procurement/conduct/registers.html",
        {"procurements": paginate(request, intermediated_registers(request.user))},
    )
