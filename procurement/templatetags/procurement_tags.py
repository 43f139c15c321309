"""Template tags of pre-commercial procurement: key dates shown in the authority's own time zone, amounts in
the call's currency, and the procurement part of an organisation's workspace.

The workspace tag shows each person what they act on: an authority's procurers and compliance officers
their procurements, deadlines, bids received and evaluation progress; an evaluator the bids awaiting their
declaration and their scores; a firm the calls it follows, its consortia, invitations and bids; the staff of
an intermediary cluster the calls it brokers and their interaction registers. Bid content is never read
here — only that a bid exists, its status and its receipt. Every list is paginated, and the tag runs a
fixed number of queries whatever the number of procurements, phases or bids."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django import template
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.utils import formats, timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.translation import gettext as _

from livinglab.charts import horizontal_bars
from livinglab.db import SubqueryCount
from livinglab.models import Organisation, Role
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from livinglab.views import paginate

from ..models import (
    Award,
    AwardCriterion,
    AwardDecision,
    Bid,
    ConflictDeclaration,
    ConsensusScore,
    Consortium,
    ConsortiumMember,
    Evaluator,
    Interaction,
    Phase,
    Procurement,
    Registration,
    Score,
)
from ..rules import FIRM_KINDS

register = template.Library()

PER_PAGE = 5
# Bids listed per phase in an evaluator's to-do list; the phase's evaluation page lists them all.
SHOWN_BIDS = 8
# Contacts recorded in the interaction register within this many days count as recent.
RECENT_CONTACT_DAYS = 30
DONE = (Procurement.Status.COMPLETED, Procurement.Status.CANCELLED)
ENDED_PHASES = (Phase.Status.AWARDED, Phase.Status.COMPLETED, Phase.Status.CANCELLED)


# ----------------------------------------------------------------------------------------- key dates


@dataclass(frozen=True)
class KeyDate:
    label: str
    moment: datetime


def key_dates(procurement: Procurement, phases=(), events=()) -> list[KeyDate]:
    """The procurement's key dates in time order: the consultation, its events, the call and each phase's
    deadlines for questions and bids."""
    dates = []
    if procurement.consultation_opens_at:
        dates.append(KeyDate(_("The market consultation opens"), procurement.consultation_opens_at))
    for event in events:
        dates.append(KeyDate(_("Consultation event: %(title)s") % {"title": event.title}, event.starts_at))
    if procurement.consultation_closes_at:
        dates.append(KeyDate(_("The market consultation closes"), procurement.consultation_closes_at))
    if procurement.published_at and procurement.status not in (
        Procurement.Status.DRAFT,
        Procurement.Status.CONSULTATION,
    ):
        dates.append(KeyDate(_("The call is published"), procurement.published_at))
    for phase in phases:
        if phase.status == Phase.Status.CANCELLED:
            continue
        if phase.question_deadline:
            label = _("Phase %(number)s: deadline for questions") % {"number": phase.number}
            dates.append(KeyDate(label, phase.question_deadline))
        if phase.bid_deadline:
            label = _("Phase %(number)s: deadline for bids") % {"number": phase.number}
            dates.append(KeyDate(label, phase.bid_deadline))
    return sorted(dates, key=lambda d: d.moment)


def next_key_date(dates: list[KeyDate], now: datetime | None = None) -> KeyDate | None:
    """The first key date still ahead (a deadline's own second is already past)."""
    now = now or timezone.now()
    return next((d for d in dates if d.moment > now), None)


def zone_name(procurement: Procurement) -> str:
    return _("%(zone)s time") % {"zone": procurement.time_zone}


@register.simple_tag
def zoned(procurement, moment, fmt="DATETIME_FORMAT"):
    """``moment`` in the authority's time zone, with the zone named: ``March 12, 2027, noon (Europe/Helsinki
    time)``. Formatted here because the ``date`` filter would convert it to the visitor's zone."""
    if moment is None:
        return ""
    local = procurement.local(moment)
    return format_html(
        '<time datetime="{}">{}</time> ({})',
        local.isoformat(),
        format_date(local, formats.get_format(fmt)),
        zone_name(procurement),
    )


@register.filter
def money(amount, currency="EUR") -> str:
    """An amount as people read it in their language, with its currency: ``1,500,000 EUR``."""
    if amount in (None, ""):
        return ""
    amount = Decimal(amount)
    places = 0 if amount == amount.to_integral_value() else 2
    number = formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    return _("%(amount)s %(currency)s") % {"amount": number, "currency": currency}


@register.filter
def weight(value) -> str:
    """A criterion's weight as ``60 %``."""
    return _("%(weight)s %%") % {"weight": formats.number_format(Decimal(value).normalize(), use_l10n=True)}


# ------------------------------------------------------------------------------------------ counting


def progress(done: int, expected: int) -> str:
    return _("%(done)s of %(expected)s") % {"done": done, "expected": expected}


def phases_of(procurements, queryset=None) -> dict[int, list[Phase]]:
    """The phases of ``procurements``, in one query, grouped by procurement id."""
    grouped: dict[int, list[Phase]] = {p.pk: [] for p in procurements}
    queryset = queryset if queryset is not None else Phase.objects.all()
    for phase in queryset.filter(procurement__in=list(grouped)).order_by("procurement", "number"):
        grouped[phase.procurement_id].append(phase)
    return grouped


def with_next_dates(procurements, phases: dict[int, list[Phase]], now) -> None:
    for procurement in procurements:
        procurement.phase_list = phases.get(procurement.pk, [])
        procurement.next_date = next_key_date(key_dates(procurement, procurement.phase_list), now)


def done_last():
    return Case(When(status__in=DONE, then=Value(1)), default=Value(0), output_field=IntegerField())


# ---------------------------------------------------------------------------------------- authority


def authority_overview(request, organisation: Organisation, now) -> dict:
    """An authority's procurements with their next deadline, bids received per open phase (a count: the
    content is sealed), evaluation progress per phase under evaluation, and its procurements by status."""
    procurements = paginate(
        request,
        Procurement.objects.filter(buyer=organisation)
        .annotate(done=done_last())
        .order_by("done", "-created_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp",
    )
    submitted = {"bid__status": Bid.Status.SUBMITTED}
    this_phase = OuterRef("pk")
    phase_rows = Phase.objects.annotate(
        bids_received=SubqueryCount(Bid.objects.filter(phase=this_phase, status=Bid.Status.SUBMITTED)),
        evaluator_count=SubqueryCount(Evaluator.objects.filter(phase=this_phase)),
        criteria_count=SubqueryCount(AwardCriterion.objects.filter(phase=this_phase)),
        declarations_made=SubqueryCount(
            ConflictDeclaration.objects.filter(evaluator__phase=this_phase, **submitted)
        ),
        recusals=SubqueryCount(
            ConflictDeclaration.objects.filter(evaluator__phase=this_phase, has_conflict=True, **submitted)
        ),
        scores_recorded=SubqueryCount(Score.objects.filter(evaluator__phase=this_phase, **submitted)),
        consensus_recorded=SubqueryCount(ConsensusScore.objects.filter(bid__phase=this_phase, **submitted)),
    )
    items = list(procurements.object_list)
    with_next_dates(items, phases_of(items, phase_rows), now)
    for procurement in items:
        procurement.receiving = [p for p in procurement.phase_list if p.status == Phase.Status.OPEN]
        procurement.evaluating = []
        for phase in procurement.phase_list:
            if phase.status != Phase.Status.EVALUATION:
                continue
            bids, evaluators, criteria = phase.bids_received, phase.evaluator_count, phase.criteria_count
            phase.declarations_progress = progress(phase.declarations_made, evaluators * bids)
            phase.scores_progress = progress(
                phase.scores_recorded, max(evaluators * bids - phase.recusals, 0) * criteria
            )
            phase.consensus_progress = progress(phase.consensus_recorded, bids * criteria)
            procurement.evaluating.append(phase)
    by_status = dict(
        Procurement.objects.filter(buyer=organisation)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    chart_rows = [
        (label, by_status[code]) for code, label in Procurement.Status.choices if by_status.get(code)
    ]
    return {"procurements": procurements, "items": items, "chart": horizontal_bars(chart_rows)}


# ---------------------------------------------------------------------------------------- evaluator


def evaluator_overview(request, organisation: Organisation, user, now) -> dict | None:
    """The phases ``user`` evaluates for this authority and, per phase under evaluation, the bids awaiting
    their conflict-of-interest declaration and the bids they still have to score."""
    assignments = paginate(
        request,
        Evaluator.objects.filter(user=user, phase__procurement__buyer=organisation)
        .exclude(phase__status__in=ENDED_PHASES)
        .select_related("phase__procurement")
        .annotate(criteria_count=SubqueryCount(AwardCriterion.objects.filter(phase=OuterRef("phase"))))
        .order_by("phase__bid_deadline", "pk"),
        per_page=PER_PAGE,
        param="pcp_eval",
    )
    rows = list(assignments.object_list)
    if not rows:
        return None
    evaluating = {a.phase_id: a for a in rows if a.phase.status == Phase.Status.EVALUATION}
    for assignment in rows:
        assignment.to_declare, assignment.to_score = [], []
        assignment.recused = assignment.done = 0
    bids = (
        Bid.objects.filter(phase__in=list(evaluating), status=Bid.Status.SUBMITTED)
        .select_related("consortium")
        .annotate(
            my_conflict=Subquery(
                ConflictDeclaration.objects.filter(bid=OuterRef("pk"), evaluator__user=user).values(
                    "has_conflict"
                )[:1]
            ),
            my_scores=SubqueryCount(Score.objects.filter(bid=OuterRef("pk"), evaluator__user=user)),
        )
        .order_by("phase", "submitted_at", "pk")
    )
    for bid in bids:
        assignment = evaluating[bid.phase_id]
        if bid.my_conflict is None:
            assignment.to_declare.append(bid)
        elif bid.my_conflict:
            assignment.recused += 1
        elif bid.my_scores < assignment.criteria_count:
            bid.scores_left = assignment.criteria_count - bid.my_scores
            assignment.to_score.append(bid)
        else:
            assignment.done += 1
    for assignment in rows:
        assignment.to_declare_count = len(assignment.to_declare)
        assignment.to_score_count = len(assignment.to_score)
        assignment.to_declare = assignment.to_declare[:SHOWN_BIDS]
        assignment.to_score = assignment.to_score[:SHOWN_BIDS]
    return {"assignments": assignments, "rows": rows}


# --------------------------------------------------------------------------------------------- firm


def firm_overview(request, organisation: Organisation, now) -> dict:
    """The calls a firm follows, its consortia and the invitations it has to answer, its bids (status and
    receipt, never their content) and the open calls it may bid for."""
    accepted = ConsortiumMember.Status.ACCEPTED
    follows = paginate(
        request,
        Registration.objects.filter(organisation=organisation)
        .select_related("procurement__buyer")
        .order_by("-registered_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_follows",
    )
    followed = [registration.procurement for registration in follows.object_list]
    with_next_dates(followed, phases_of(followed), now)

    memberships = ConsortiumMember.objects.filter(organisation=organisation).select_related(
        "consortium__procurement", "consortium__lead"
    )
    invitations = paginate(
        request,
        memberships.filter(status__in=(ConsortiumMember.Status.INVITED, ConsortiumMember.Status.PROPOSED))
        .exclude(consortium__status=Consortium.Status.DISSOLVED)
        .order_by("-invited_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_invitations",
    )
    consortia = paginate(
        request,
        memberships.filter(status=accepted)
        .annotate(
            partners=SubqueryCount(
                ConsortiumMember.objects.filter(consortium=OuterRef("consortium"), status=accepted)
            )
        )
        .order_by("-consortium__created_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_consortia",
    )
    outcome = (
        Award.objects.filter(bid=OuterRef("pk"))
        .exclude(decision__status=AwardDecision.Status.REVOKED)
        .order_by("-decision__decided_at")
    )
    bids = paginate(
        request,
        Bid.objects.filter(
            consortium__members__organisation=organisation, consortium__members__status=accepted
        )
        .select_related("phase__procurement", "consortium")
        .annotate(
            successful=Subquery(outcome.values("successful")[:1]),
            decision_status=Subquery(outcome.values("decision__status")[:1]),
        )
        .order_by("-created_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_bids",
    )
    contractor_of_previous_phase = Exists(
        Award.objects.filter(
            successful=True,
            contract__isnull=False,
            decision__status=AwardDecision.Status.FINAL,
            decision__phase__procurement=OuterRef("procurement"),
            decision__phase__number=OuterRef("number") - 1,
            bid__consortium__members__organisation=organisation,
            bid__consortium__members__status=accepted,
        )
    )
    open_calls = paginate(
        request,
        Phase.objects.filter(
            status=Phase.Status.OPEN, bid_deadline__gt=now, procurement__status=Procurement.Status.CALL
        )
        .filter(Q(number=1) | contractor_of_previous_phase)
        .select_related("procurement__buyer")
        .annotate(
            following=Exists(
                Registration.objects.filter(procurement=OuterRef("procurement"), organisation=organisation)
            ),
            bidding=Exists(
                Bid.objects.filter(
                    phase=OuterRef("pk"),
                    status__in=(Bid.Status.DRAFT, Bid.Status.SUBMITTED),
                    consortium__members__organisation=organisation,
                    consortium__members__status=accepted,
                )
            ),
        )
        .order_by("bid_deadline", "pk"),
        per_page=PER_PAGE,
        param="pcp_open",
    )
    return {
        "follows": follows,
        "invitations": invitations,
        "consortia": consortia,
        "bids": bids,
        "open_calls": open_calls,
    }


# ------------------------------------------------------------------------------------------ cluster


def cluster_overview(request, organisation: Organisation, now) -> dict:
    """The calls a cluster brokers, with their phases, contacts recorded in the last days and a link to
    the interaction register, and the consortia it proposed."""
    since = now - timedelta(days=RECENT_CONTACT_DAYS)
    calls = paginate(
        request,
        Procurement.objects.filter(intermediaries=organisation)
        .select_related("buyer")
        .annotate(
            done=done_last(),
            recent_contacts=SubqueryCount(
                Interaction.objects.filter(
                    procurement=OuterRef("pk"), occurred_at__gt=since, occurred_at__lte=now
                )
            ),
        )
        .order_by("done", "-created_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_calls",
    )
    items = list(calls.object_list)
    with_next_dates(items, phases_of(items), now)
    declined = (ConsortiumMember.Status.DECLINED, ConsortiumMember.Status.LEFT)
    proposed = paginate(
        request,
        Consortium.objects.filter(proposed_by=organisation)
        .select_related("procurement", "lead")
        .annotate(
            accepted=SubqueryCount(
                ConsortiumMember.objects.filter(
                    consortium=OuterRef("pk"), status=ConsortiumMember.Status.ACCEPTED
                )
            ),
            asked=SubqueryCount(
                ConsortiumMember.objects.filter(consortium=OuterRef("pk")).exclude(status__in=declined)
            ),
        )
        .order_by("-created_at", "-pk"),
        per_page=PER_PAGE,
        param="pcp_proposed",
    )
    return {"calls": calls, "items": items, "proposed": proposed, "recent_days": RECENT_CONTACT_DAYS}


# -------------------------------------------------------------------------------------- the workspace


@register.inclusion_tag("procurement/workspace/organisation.html", takes_context=True)
def organisation_procurement(context, organisation, user):
    """The procurement part of ``organisation``'s workspace, as ``user`` may see it."""
    request = context["request"]
    now = timezone.now()
    admin = is_platform_admin(user)
    roles = {m.role for m in active_memberships(user) if m.organisation_id == organisation.pk}
    kind = organisation.kind
    parts = {"request": request, "organisation": organisation, "now": now}
    if kind == Organisation.Kind.PUBLIC_AUTHORITY:
        if admin or roles & {Role.PROCURER, Role.COMPLIANCE}:
            parts["authority"] = authority_overview(request, organisation, now)
            parts["may_view_register"] = admin or Role.COMPLIANCE in roles
        if roles:
            parts["evaluation"] = evaluator_overview(request, organisation, user, now)
    elif kind in FIRM_KINDS and (admin or roles):
        parts["firm"] = firm_overview(request, organisation, now)
    elif kind == Organisation.Kind.CLUSTER and (admin or roles & CLUSTER_ROLES):
        parts["cluster"] = cluster_overview(request, organisation, now)
    return parts
