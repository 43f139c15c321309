"""Brokered introductions between a buyer's need and a supplier's offer.

A firm that owns one side asks (``request_introduction``), or cluster staff propose one directly
(``propose_introduction``). Staff broker it, with a mutual NDA when the firms want one, or refuse it. Each
firm then accepts the introduction's ground rules (and the NDA text it was shown) or declines; once both have
accepted, each sees the other's confidential details (``livinglab.b2b.disclosure``). Outcomes are recorded
afterwards. The other firm learns about an introduction only once the cluster has brokered it.

Which cluster brokers a request: the only cluster when there is one; otherwise the cluster in the buyer
firm's region (same country and region), else the one in the supplier firm's region, else the first cluster
by name. No setting is involved."""

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab.models import Channel, Organisation, User, text_hash
from livinglab.policy import CLUSTER_ROLES, active_memberships, firm_ids, is_platform_admin
from livinglab.services import require_ground_rules

from ..errors import B2BError
from ..models import Introduction, IntroductionAcceptance, IntroductionOutcome, ListingStatus, Need, Offer
from ..tasks.introductions import (
    send_introduction_accepted,
    send_introduction_brokered,
    send_introduction_closed,
    send_introduction_requested,
)

Status = Introduction.Status

DEFAULT_NDA_TEXT = gettext_lazy(
    "Mutual non-disclosure agreement\n\n"
    "1. The two firms introduced to each other by the cluster organisation (the parties) will exchange "
    "information about the need and the offer of this introduction, and about their products, processes, "
    "customers and plans (confidential information).\n"
    "2. Each party uses the other's confidential information only to assess and pursue a cooperation "
    "between them, shares it only with its own staff and advisers who need it for that purpose and are "
    "bound by confidentiality, and protects it as carefully as its own.\n"
    "3. This does not apply to information that is public without breach of this agreement, that a party "
    "already had or develops independently, or that it must disclose by law; in that case it tells the "
    "other party first where it may.\n"
    "4. No licence or other right to the other party's intellectual property is granted; all information "
    "remains the property of the party that disclosed it.\n"
    "5. On request, each party returns or destroys the other's confidential information.\n"
    "6. These obligations last three years from the acceptance of the introduction by both parties.\n"
    "7. Neither party is obliged to enter into any further agreement."
)


# ----------------------------------------------------------------------------------------------- reading


def broker_cluster_ids(user: User) -> set[int]:
    """Cluster organisations whose staff ``user`` is."""
    return {
        m.organisation_id
        for m in active_memberships(user)
        if m.role in CLUSTER_ROLES and m.organisation.kind == Organisation.Kind.CLUSTER
    }


def is_broker_of(user: User, introduction: Introduction) -> bool:
    """Staff of the cluster that brokers ``introduction``, or a platform admin."""
    return is_platform_admin(user) or introduction.broker_id in broker_cluster_ids(user)


def party_ids(user: User, introduction: Introduction) -> set[int]:
    """The sides of ``introduction`` (buyer, supplier) that ``user`` acts for."""
    return set(introduction.parties()) & firm_ids(user)


def may_view(user: User, introduction: Introduction) -> bool:
    """``b2b.view_introduction``: the staff, and a firm of the pair once it knows of the introduction (it
    asked for it, or the cluster brokered it)."""
    return user.has_perm("b2b.view_introduction", introduction)


def introductions_for(user: User):
    """Introductions ``user`` may list: all of their clusters' (every one for platform admins) for staff,
    else those of their firms that the firm asked for or that were brokered (``b2b.view_introduction`` as
    a query)."""
    introductions = Introduction.objects.all()
    if is_platform_admin(user):
        return introductions
    if user.has_perm("b2b.broker_introduction"):
        return introductions.filter(broker_id__in=broker_cluster_ids(user))
    mine = firm_ids(user)
    if not mine:
        return introductions.none()
    return introductions.filter(
        Q(need__organisation_id__in=mine) | Q(offer__organisation_id__in=mine),
        Q(requested_by_id__in=mine) | Q(brokered_at__isnull=False),
    )


def actions_for(user: User, introduction: Introduction) -> set[str]:
    """What ``user`` may do to ``introduction`` now: broker, refuse, withdraw, accept, decline, outcome.
    The services check again; this only decides which buttons a page offers."""
    actions = set()
    broker = user.has_perm("b2b.broker_introduction", introduction) and is_broker_of(user, introduction)
    if introduction.status == Status.REQUESTED and broker:
        actions |= {"broker", "refuse"}
    if introduction.can_move_to(Status.WITHDRAWN) and (
        broker
        or (introduction.requested_by_id is not None and introduction.requested_by_id in firm_ids(user))
    ):
        actions.add("withdraw")
    if (
        introduction.status == Status.BROKERED
        and user.has_perm("b2b.answer_introduction", introduction)
        and party_ids(user, introduction)
    ):
        actions.add("decline")
        accepted = {a.organisation_id for a in introduction.acceptances.all()}
        if party_ids(user, introduction) - accepted:
            actions.add("accept")
    if introduction.is_accepted and user.has_perm("b2b.record_outcome", introduction):
        actions.add("outcome")
    return actions


def choose_broker(need: Need, offer: Offer) -> Organisation:
    """The cluster whose staff broker an introduction between ``need`` and ``offer`` (see the module)."""
    clusters = list(Organisation.objects.filter(kind=Organisation.Kind.CLUSTER).order_by("name", "pk"))
    if not clusters:
        raise B2BError(_("No cluster organisation is set up to broker introductions yet."))
    if len(clusters) == 1:
        return clusters[0]
    for firm in (need.organisation, offer.organisation):
        if firm.region:
            for cluster in clusters:
                if cluster.country == firm.country and cluster.region.casefold() == firm.region.casefold():
                    return cluster
    return clusters[0]


# ------------------------------------------------------------------------------------------------ checks


def _require_pair(need: Need, offer: Offer) -> None:
    if need.organisation_id == offer.organisation_id:
        raise B2BError(_("A need and an offer of the same firm cannot be introduced to each other."))
    for listing in (need, offer):
        if listing.status != ListingStatus.PUBLISHED:
            raise B2BError(
                _("“%(title)s” is not published; only published needs and offers are introduced.")
                % {"title": listing.title}
            )


def _refuse_live(need: Need, offer: Offer) -> None:
    live = Introduction.objects.filter(need=need, offer=offer, status__in=Introduction.LIVE).first()
    if live is not None:
        raise _already_live(live.get_status_display())


def _already_live(status=None) -> B2BError:
    if status is None:
        return B2BError(_("An introduction between this need and this offer is already under way."))
    return B2BError(
        _("An introduction between this need and this offer is already under way (%(status)s).")
        % {"status": str(status).lower()}
    )


def _create(**fields) -> Introduction:
    """Create a live introduction; a second one for the same pair (a double click) gets the same answer as
    the check before it, never a database error."""
    try:
        with transaction.atomic():
            return Introduction.objects.create(**fields)
    except IntegrityError:
        raise _already_live() from None


def _lock(introduction: Introduction) -> Introduction:
    return (
        Introduction.objects.select_for_update(no_key=True, of=("self",))
        .select_related("need", "offer", "broker", "requested_by")
        .get(pk=introduction.pk)
    )


def _refuse_transition(introduction: Introduction, status: str) -> None:
    if introduction.status == Status.REQUESTED and status in (Status.ACCEPTED, Status.DECLINED):
        raise B2BError(_("The cluster has not brokered this introduction yet; it cannot be answered."))
    if not introduction.can_move_to(status):
        raise B2BError(
            _("This introduction is “%(status)s”: it can no longer be %(action)s.")
            % {"status": introduction.get_status_display(), "action": _ACTIONS[status]}
        )


_ACTIONS = {
    Status.BROKERED: gettext_lazy("brokered"),
    Status.REFUSED: gettext_lazy("refused"),
    Status.WITHDRAWN: gettext_lazy("withdrawn"),
    Status.DECLINED: gettext_lazy("declined"),
    Status.ACCEPTED: gettext_lazy("accepted"),
}


def _require_broker(user: User, introduction: Introduction) -> None:
    if not user.has_perm("b2b.broker_introduction", introduction) or not is_broker_of(user, introduction):
        raise B2BError(
            _("Only the staff of %(cluster)s broker this introduction.") % {"cluster": introduction.broker}
        )


def _party(user: User, introduction: Introduction, organisation: Organisation) -> Organisation:
    if not user.has_perm("b2b.answer_introduction", introduction):
        raise B2BError(_("Only the two firms of an introduction answer it."))
    if organisation.pk not in party_ids(user, introduction):
        raise B2BError(
            _("You do not act for %(organisation)s in this introduction.") % {"organisation": organisation}
        )
    return organisation


def _nda(nda_required: bool, nda_text: str) -> tuple[str, str]:
    """The NDA text and its fingerprint; the default mutual NDA when one is required but none written."""
    if not nda_required:
        return "", ""
    text = (nda_text or "").strip() or str(DEFAULT_NDA_TEXT)
    return text, text_hash(text)


def _close(introduction: Introduction, status: str, reason: str) -> None:
    """Compare-and-set ``introduction`` to a closing ``status``."""
    previous = introduction.status
    now = timezone.now()
    reason = (reason or "").strip()[:400]
    closed = Introduction.objects.filter(pk=introduction.pk, status=previous).update(
        status=status, reason=reason, closed_at=now
    )
    if closed != 1:
        raise B2BError(_("Someone else changed this introduction at the same moment; please look again."))
    introduction.status, introduction.reason, introduction.closed_at = status, reason, now
    send_introduction_closed.delay_on_commit(introduction.pk)


# -------------------------------------------------------------------------------------------- mutations


@transaction.atomic
def request_introduction(
    need: Need,
    offer: Offer,
    *,
    organisation: Organisation,
    message: str,
    acting_user: User,
    nda_requested: bool = False,
) -> Introduction:
    """A firm that owns the need or the offer asks the cluster to introduce it to the other side."""
    if not acting_user.has_perm("b2b.request_introduction"):
        raise B2BError(_("Only member firms and the cluster staff ask for introductions."))
    if organisation.pk not in firm_ids(acting_user) and not is_platform_admin(acting_user):
        raise B2BError(_("You do not act for %(organisation)s.") % {"organisation": organisation})
    if organisation.pk == need.organisation_id:
        other = offer
    elif organisation.pk == offer.organisation_id:
        other = need
    else:
        raise B2BError(
            _(
                "%(organisation)s can only ask for an introduction between its own need or offer and "
                "another firm's."
            )
            % {"organisation": organisation}
        )
    _require_pair(need, offer)
    if not acting_user.has_perm("b2b.view_listing", other):
        raise B2BError(_("You cannot see the other listing, so you cannot ask for this introduction."))
    require_ground_rules(acting_user, Channel.B2B, organisation=organisation)
    _refuse_live(need, offer)
    introduction = _create(
        need=need,
        offer=offer,
        broker=choose_broker(need, offer),
        requested_by=organisation,
        requested_by_user=acting_user,
        message=(message or "").strip(),
        nda_required=bool(nda_requested),
        status=Status.REQUESTED,
    )
    send_introduction_requested.delay_on_commit(introduction.pk)
    audit.record(
        "b2b.introduction.request",
        actor=acting_user,
        obj=introduction,
        organisation=organisation,
        data={"need": need.pk, "offer": offer.pk, "broker": introduction.broker_id, "nda": nda_requested},
    )
    return introduction


@transaction.atomic
def propose_introduction(
    need: Need,
    offer: Offer,
    *,
    broker: Organisation,
    note: str,
    nda_required: bool,
    nda_text: str,
    acting_user: User,
) -> Introduction:
    """Cluster staff introduce a need and an offer directly: the introduction starts brokered."""
    if not acting_user.has_perm("b2b.broker_introduction"):
        raise B2BError(_("Only the cluster staff propose introductions."))
    if broker.kind != Organisation.Kind.CLUSTER:
        raise B2BError(_("Introductions are brokered by a cluster organisation."))
    if broker.pk not in broker_cluster_ids(acting_user) and not is_platform_admin(acting_user):
        raise B2BError(_("You are not on the staff of %(cluster)s.") % {"cluster": broker})
    _require_pair(need, offer)
    _refuse_live(need, offer)
    text, sha = _nda(nda_required, nda_text)
    now = timezone.now()
    introduction = _create(
        need=need,
        offer=offer,
        broker=broker,
        requested_by=None,
        requested_by_user=acting_user,
        status=Status.BROKERED,
        nda_required=bool(nda_required),
        nda_text=text,
        nda_sha256=sha,
        brokered_by=acting_user,
        broker_note=(note or "").strip(),
        brokered_at=now,
    )
    send_introduction_brokered.delay_on_commit(introduction.pk)
    audit.record(
        "b2b.introduction.propose",
        actor=acting_user,
        obj=introduction,
        organisation=broker,
        data={"need": need.pk, "offer": offer.pk, "nda_sha256": sha},
    )
    return introduction


@transaction.atomic
def broker_introduction(
    introduction: Introduction, *, nda_required: bool, nda_text: str, note: str, acting_user: User
) -> Introduction:
    """Staff broker a requested introduction: both firms are asked to accept it (and the NDA, if any)."""
    introduction = _lock(introduction)
    _require_broker(acting_user, introduction)
    _refuse_transition(introduction, Status.BROKERED)
    text, sha = _nda(nda_required, nda_text)
    now = timezone.now()
    fields = {
        "status": Status.BROKERED,
        "nda_required": bool(nda_required),
        "nda_text": text,
        "nda_sha256": sha,
        "broker_note": (note or "").strip(),
        "brokered_by": acting_user,
        "brokered_at": now,
    }
    if Introduction.objects.filter(pk=introduction.pk, status=Status.REQUESTED).update(**fields) != 1:
        raise B2BError(_("Someone else changed this introduction at the same moment; please look again."))
    for name, value in fields.items():
        setattr(introduction, name, value)
    send_introduction_brokered.delay_on_commit(introduction.pk)
    audit.record(
        "b2b.introduction.broker",
        actor=acting_user,
        obj=introduction,
        organisation=introduction.broker,
        data={"nda_sha256": sha},
    )
    return introduction


@transaction.atomic
def refuse_introduction(introduction: Introduction, *, reason: str, acting_user: User) -> Introduction:
    """Staff decide not to broker a requested introduction, saying why to the firm that asked."""
    introduction = _lock(introduction)
    _require_broker(acting_user, introduction)
    _refuse_transition(introduction, Status.REFUSED)
    if not (reason or "").strip():
        raise B2BError(_("Tell the firm why the cluster does not broker this introduction."))
    _close(introduction, Status.REFUSED, reason)
    audit.record(
        "b2b.introduction.refuse", actor=acting_user, obj=introduction, organisation=introduction.broker
    )
    return introduction


@transaction.atomic
def withdraw_introduction(introduction: Introduction, *, reason: str = "", acting_user: User) -> Introduction:
    """The firm that asked, or the cluster staff, withdraw an introduction before it is accepted."""
    introduction = _lock(introduction)
    requester = introduction.requested_by_id is not None and introduction.requested_by_id in firm_ids(
        acting_user
    )
    broker = acting_user.has_perm("b2b.broker_introduction", introduction) and is_broker_of(
        acting_user, introduction
    )
    if not (requester or broker):
        raise B2BError(_("Only the firm that asked for this introduction or the cluster staff withdraw it."))
    _refuse_transition(introduction, Status.WITHDRAWN)
    _close(introduction, Status.WITHDRAWN, reason)
    audit.record(
        "b2b.introduction.withdraw",
        actor=acting_user,
        obj=introduction,
        organisation=introduction.requested_by if requester else introduction.broker,
    )
    return introduction


@transaction.atomic
def decline_introduction(
    introduction: Introduction, *, organisation: Organisation, reason: str, acting_user: User
) -> Introduction:
    """One of the two firms declines a brokered introduction; nothing confidential is revealed."""
    introduction = _lock(introduction)
    _party(acting_user, introduction, organisation)
    _refuse_transition(introduction, Status.DECLINED)
    _close(introduction, Status.DECLINED, reason)
    audit.record("b2b.introduction.decline", actor=acting_user, obj=introduction, organisation=organisation)
    return introduction


@transaction.atomic
def accept_introduction(
    introduction: Introduction, *, organisation: Organisation, nda_sha256: str, acting_user: User
) -> Introduction:
    """One firm accepts a brokered introduction (its ground rules and the NDA text it was shown); when both
    have accepted, the introduction is accepted and each firm sees the other's details."""
    introduction = _lock(introduction)
    _party(acting_user, introduction, organisation)
    if introduction.status == Status.ACCEPTED:
        return introduction  # both firms accepted already: a repeated click changes nothing
    _refuse_transition(introduction, Status.ACCEPTED)
    require_ground_rules(acting_user, introduction, organisation=organisation)
    if introduction.nda_required and (nda_sha256 or "") != introduction.nda_sha256:
        raise B2BError(
            _(
                "The text of the non-disclosure agreement changed while you were reading it; "
                "please read it again before accepting."
            )
        )
    now = timezone.now()
    _acceptance, created = IntroductionAcceptance.objects.get_or_create(
        introduction=introduction,
        organisation=organisation,
        defaults={"user": acting_user, "nda_sha256": introduction.nda_sha256, "accepted_at": now},
    )
    accepted_by = set(
        IntroductionAcceptance.objects.filter(
            introduction=introduction, organisation_id__in=introduction.parties()
        ).values_list("organisation_id", flat=True)
    )
    completed = False
    if accepted_by == set(introduction.parties()):
        completed = (
            Introduction.objects.filter(pk=introduction.pk, status=Status.BROKERED).update(
                status=Status.ACCEPTED, accepted_at=now
            )
            == 1
        )
        if completed:
            introduction.status, introduction.accepted_at = Status.ACCEPTED, now
            send_introduction_accepted.delay_on_commit(introduction.pk)
    if created or completed:
        audit.record(
            "b2b.introduction.accept",
            actor=acting_user,
            obj=introduction,
            organisation=organisation,
            data={"nda_sha256": introduction.nda_sha256, "completed": completed},
        )
    return introduction


@transaction.atomic
def record_outcome(
    introduction: Introduction, *, kind: str, occurred_on: date, note: str, acting_user: User
) -> IntroductionOutcome:
    """Either firm or the cluster staff record what came of an accepted introduction."""
    introduction = Introduction.objects.select_related(
        "need__organisation", "offer__organisation", "broker"
    ).get(pk=introduction.pk)
    if not introduction.is_accepted:
        raise B2BError(_("Outcomes are recorded once both firms have accepted the introduction."))
    if not acting_user.has_perm("b2b.record_outcome", introduction):
        raise B2BError(_("Only the two firms and the cluster staff record outcomes of this introduction."))
    if kind not in IntroductionOutcome.Kind.values:
        raise B2BError(_("Choose what came of the introduction."))
    if occurred_on > timezone.localdate():
        raise B2BError(_("Record outcomes once they happened: the date cannot be in the future."))
    outcome = IntroductionOutcome.objects.create(
        introduction=introduction,
        kind=kind,
        occurred_on=occurred_on,
        note=(note or "").strip(),
        recorded_by=acting_user,
    )
    sides = party_ids(acting_user, introduction)
    organisation = next(
        (o for o in (introduction.need.organisation, introduction.offer.organisation) if o.pk in sides),
        introduction.broker,
    )
    audit.record(
        "b2b.introduction.record_outcome",
        actor=acting_user,
        obj=introduction,
        organisation=organisation,
        data={"outcome": outcome.pk, "kind": kind},
    )
    return outcome
