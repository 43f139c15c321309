"""Partner search and consortia: posts on a call's partner-search board, consortia formed by a lead firm or
proposed by an intermediary cluster, invitations, answers, the consortium agreement and its acceptances.

A consortium is *formed* when its lead has accepted the current agreement and every invited organisation
has answered; changing the agreement text sends it back to *forming* until the partners accept the new
text. An organisation takes part in one consortium per procurement, so that it never sees two competing
bids. Nobody leaves, dissolves or recomposes a consortium while one of its submitted bids is still in play.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User, text_hash
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin

from ..errors import ProcurementError
from ..models import Bid, Consortium, ConsortiumMember, PartnerPost, Phase, Procurement
from ..rules import FIRM_KINDS, firm_ids, roles_at
from ..tasks.bids import send_consortium_invitation, send_consortium_proposal
from .lifecycle import require_rules

Status = Consortium.Status
MemberStatus = ConsortiumMember.Status
Role = ConsortiumMember.Role

# Partner search and consortium building happen around the consultation and the call.
OPEN_FOR_CONSORTIA = {Procurement.Status.CONSULTATION, Procurement.Status.CALL}
# Members who still have to answer an invitation (or a proposal not yet confirmed by its lead).
PENDING = {MemberStatus.PROPOSED, MemberStatus.INVITED}
# Members that count as taking part (or about to) for the one-consortium-per-procurement rule.
TAKING_PART = {MemberStatus.ACCEPTED}


# ----------------------------------------------------------------------------------------------- checks


def _require_open(procurement: Procurement) -> None:
    if procurement.status not in OPEN_FOR_CONSORTIA:
        raise ProcurementError(
            _("This procurement is “%(status)s”: partner search and consortia are closed.")
            % {"status": procurement.get_status_display()}
        )


def intermediary_clusters(user: User, procurement: Procurement) -> list[Organisation]:
    """The intermediary cluster organisations of ``procurement`` whose staff ``user`` is."""
    mine = {m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
    if not mine:
        return []
    return list(procurement.intermediaries.filter(pk__in=mine).order_by("name"))


def postable_organisations(user: User, procurement: Procurement) -> list[Organisation]:
    """Organisations ``user`` may post for on the partner-search board of ``procurement``: their firms and
    research organisations, and the intermediary clusters they work for."""
    firms = firm_ids(user)
    found = {
        m.organisation.pk: m.organisation for m in active_memberships(user) if m.organisation_id in firms
    }
    for cluster in intermediary_clusters(user, procurement):
        found.setdefault(cluster.pk, cluster)
    return sorted(found.values(), key=lambda o: o.name)


def live_submitted_bid(consortium: Consortium) -> Bid | None:
    """A submitted bid of the consortium whose phase is still being decided (open, evaluation, standstill)."""
    return (
        Bid.objects.filter(consortium=consortium, status=Bid.Status.SUBMITTED, phase__status__in=Phase.QUIET)
        .select_related("phase")
        .first()
    )


def _refuse_while_bid_is_live(consortium: Consortium, what: str) -> None:
    bid = live_submitted_bid(consortium)
    if bid is not None:
        raise ProcurementError(
            _(
                "%(what)s is not possible while the consortium's bid for %(phase)s is submitted and still "
                "being decided. Withdraw the bid first (only before the deadline)."
            )
            % {"what": what, "phase": bid.phase}
        )


def _lock(consortium: Consortium) -> Consortium:
    return (
        Consortium.objects.select_for_update(no_key=True, of=("self",))
        .select_related("procurement", "lead")
        .get(pk=consortium.pk)
    )


def _other_consortium(organisation_id: int, consortium: Consortium) -> Consortium | None:
    """Another live consortium of the same procurement that the organisation has joined."""
    return (
        Consortium.objects.filter(
            procurement_id=consortium.procurement_id,
            members__organisation_id=organisation_id,
            members__status__in=TAKING_PART,
        )
        .exclude(status=Status.DISSOLVED)
        .exclude(pk=consortium.pk)
        .first()
    )


def _refuse_second_consortium(organisation: Organisation, consortium: Consortium) -> None:
    other = _other_consortium(organisation.pk, consortium)
    if other is not None:
        raise ProcurementError(
            _(
                "%(organisation)s already takes part in the consortium “%(other)s” of this procurement; an "
                "organisation takes part in one consortium per procurement."
            )
            % {"organisation": organisation.name, "other": other.name}
        )


def _settle_status(consortium: Consortium) -> str:
    """Formed when the lead accepted the current agreement and nobody invited is still to answer."""
    if consortium.status not in {Status.FORMING, Status.FORMED}:
        return consortium.status
    members = list(consortium.members.values_list("role", "status", "agreement_sha256"))
    lead_accepted = any(
        role == Role.LEAD and status == MemberStatus.ACCEPTED and sha == consortium.agreement_sha256
        for role, status, sha in members
    )
    pending = any(status in PENDING for _role, status, _sha in members)
    settled = Status.FORMED if lead_accepted and not pending else Status.FORMING
    if settled != consortium.status:
        Consortium.objects.filter(pk=consortium.pk).update(status=settled)
        consortium.status = settled
    return settled


def _require_lead(user: User, consortium: Consortium) -> None:
    if not user.has_perm("procurement.manage_consortium", consortium):
        raise ProcurementError(_("Only the consortium's lead organisation can do this."))


def _enqueue_invitations(member_ids: list[int]) -> None:
    for member_id in member_ids:
        send_consortium_invitation.delay_on_commit(member_id)


# ------------------------------------------------------------------------------------------ partner search


@transaction.atomic
def post_partner_search(
    procurement: Procurement,
    organisation: Organisation,
    *,
    kind: str,
    title: str,
    text: str,
    acting_user: User,
) -> PartnerPost:
    """Post what ``organisation`` offers or looks for on the call's partner-search board."""
    if not acting_user.has_perm("procurement.post_partner_search", procurement):
        raise ProcurementError(
            _("Firms, research organisations and the intermediary clusters post on this board.")
        )
    if organisation.pk not in {o.pk for o in postable_organisations(acting_user, procurement)}:
        raise ProcurementError(
            _("You cannot post for %(organisation)s.") % {"organisation": organisation.name}
        )
    require_rules(acting_user, procurement, organisation)
    _require_open(procurement)
    if kind not in PartnerPost.Kind.values:
        raise ProcurementError(_("Choose whether you offer something or look for something."))
    if not title.strip() or not text.strip():
        raise ProcurementError(_("Give the post a title and describe it."))
    post = PartnerPost.objects.create(
        procurement=procurement,
        organisation=organisation,
        posted_by=acting_user,
        kind=kind,
        title=title.strip(),
        text=text.strip(),
    )
    audit.record(
        "procurement.partnerpost.post",
        actor=acting_user,
        obj=post,
        organisation=organisation,
        data={"procurement": procurement.pk, "kind": kind},
    )
    return post


@transaction.atomic
def close_partner_post(post: PartnerPost, *, acting_user: User) -> PartnerPost:
    """Take a post of one's own organisation off the board."""
    post = PartnerPost.objects.select_related("procurement", "organisation").get(pk=post.pk)
    if not roles_at(acting_user, post.organisation_id) and not is_platform_admin(acting_user):
        raise ProcurementError(_("Only the organisation that posted it can close this post."))
    require_rules(acting_user, post.procurement, post.organisation)
    now = timezone.now()
    if not PartnerPost.objects.filter(pk=post.pk, closed_at__isnull=True).update(closed_at=now):
        raise ProcurementError(_("This post is already closed."))
    post.closed_at = now
    audit.record(
        "procurement.partnerpost.close",
        actor=acting_user,
        obj=post,
        organisation=post.organisation,
        data={"procurement": post.procurement_id},
    )
    return post


# --------------------------------------------------------------------------------------------- consortia


def _check_name(procurement: Procurement, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ProcurementError(_("Give the consortium a name."))
    if Consortium.objects.filter(procurement=procurement, name__iexact=name).exists():
        raise ProcurementError(
            _("A consortium named “%(name)s” already exists in this procurement; choose another name.")
            % {"name": name}
        )
    return name


def _check_agreement(agreement_text: str) -> str:
    agreement_text = agreement_text.strip()
    if not agreement_text:
        raise ProcurementError(
            _("Write the consortium agreement: roles, work share, IPR between partners, liability.")
        )
    return agreement_text


@transaction.atomic
def form_consortium(
    procurement: Procurement, lead: Organisation, *, name: str, agreement_text: str, acting_user: User
) -> Consortium:
    """Form a consortium led by ``lead``; the lead accepts the agreement it writes."""
    if not acting_user.has_perm("procurement.form_consortium", procurement):
        raise ProcurementError(_("Firms and research organisations form consortia on published calls."))
    if lead.pk not in firm_ids(acting_user):
        raise ProcurementError(
            _("You cannot form a consortium for %(organisation)s.") % {"organisation": lead.name}
        )
    require_rules(acting_user, procurement, lead)
    _require_open(procurement)
    name = _check_name(procurement, name)
    agreement_text = _check_agreement(agreement_text)
    # One consortium per organisation and procurement: serialise on the organisation.
    Organisation.objects.select_for_update(no_key=True).filter(pk=lead.pk).first()
    consortium = Consortium(procurement=procurement, name=name, lead=lead)
    _refuse_second_consortium(lead, consortium)
    sha = text_hash(agreement_text)
    consortium = Consortium.objects.create(
        procurement=procurement,
        name=name,
        lead=lead,
        agreement_text=agreement_text,
        agreement_sha256=sha,
        status=Status.FORMING,
        created_by=acting_user,
    )
    ConsortiumMember.objects.create(
        consortium=consortium,
        organisation=lead,
        role=Role.LEAD,
        status=MemberStatus.ACCEPTED,
        responded_at=timezone.now(),
        accepted_by=acting_user,
        agreement_sha256=sha,
    )
    _settle_status(consortium)
    audit.record(
        "procurement.consortium.form",
        actor=acting_user,
        obj=consortium,
        organisation=lead,
        data={"procurement": procurement.pk, "agreement_sha256": sha},
    )
    return consortium


@transaction.atomic
def invite_partner(
    consortium: Consortium, organisation: Organisation, *, contribution: str = "", acting_user: User
) -> ConsortiumMember:
    """The lead invites ``organisation`` to join; it is e-mailed the invitation."""
    consortium = _lock(consortium)
    _require_lead(acting_user, consortium)
    require_rules(acting_user, consortium.procurement, consortium.lead)
    _require_open(consortium.procurement)
    if consortium.status not in {Status.FORMING, Status.FORMED}:
        raise ProcurementError(
            _("The consortium is “%(status)s”: it cannot invite partners.")
            % {"status": consortium.get_status_display()}
        )
    if organisation.kind not in FIRM_KINDS:
        raise ProcurementError(
            _("Only firms and research organisations can join a consortium; %(organisation)s is not one.")
            % {"organisation": organisation.name}
        )
    _refuse_while_bid_is_live(consortium, _("Inviting a partner"))
    _refuse_second_consortium(organisation, consortium)
    member = ConsortiumMember.objects.filter(consortium=consortium, organisation=organisation).first()
    now = timezone.now()
    if member is None:
        member = ConsortiumMember.objects.create(
            consortium=consortium,
            organisation=organisation,
            role=Role.PARTNER,
            contribution=contribution.strip(),
            status=MemberStatus.INVITED,
        )
    elif member.status in {MemberStatus.DECLINED, MemberStatus.LEFT}:
        # Invited again: the same row, answered afresh.
        ConsortiumMember.objects.filter(pk=member.pk).update(
            status=MemberStatus.INVITED,
            contribution=contribution.strip() or member.contribution,
            invited_at=now,
            invitation_mailed_at=None,
            responded_at=None,
            accepted_by=None,
            agreement_sha256="",
        )
        member.refresh_from_db()
    else:
        raise ProcurementError(
            _("%(organisation)s is already %(status)s in this consortium.")
            % {"organisation": organisation.name, "status": member.get_status_display().lower()}
        )
    _settle_status(consortium)
    _enqueue_invitations([member.pk])
    audit.record(
        "procurement.consortium.invite",
        actor=acting_user,
        obj=consortium,
        organisation=consortium.lead,
        data={"organisation": organisation.pk, "member": member.pk},
    )
    return member


@transaction.atomic
def answer_invitation(
    member: ConsortiumMember, *, accept: bool, acting_user: User, shown_sha256: str | None = None
) -> ConsortiumMember:
    """An invited organisation accepts (recording who accepted which agreement text, and when) or declines."""
    consortium = _lock(member.consortium)
    member = (
        ConsortiumMember.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organisation")
        .get(pk=member.pk)
    )
    if not acting_user.has_perm("procurement.answer_consortium_invitation", member):
        raise ProcurementError(
            _("Only %(organisation)s can answer this invitation.")
            % {"organisation": member.organisation.name}
        )
    require_rules(acting_user, consortium.procurement, member.organisation)
    if consortium.status not in {Status.FORMING, Status.FORMED} or member.status != MemberStatus.INVITED:
        raise ProcurementError(_("There is no open invitation to answer."))
    now = timezone.now()
    if accept:
        if shown_sha256 is not None and shown_sha256 != consortium.agreement_sha256:
            raise ProcurementError(
                _("The consortium agreement changed while you were reading it; please read it again.")
            )
        Organisation.objects.select_for_update(no_key=True).filter(pk=member.organisation_id).first()
        _refuse_second_consortium(member.organisation, consortium)
        changes = {
            "status": MemberStatus.ACCEPTED,
            "accepted_by": acting_user,
            "agreement_sha256": consortium.agreement_sha256,
            "responded_at": now,
        }
    else:
        changes = {"status": MemberStatus.DECLINED, "responded_at": now, "accepted_by": None}
    ConsortiumMember.objects.filter(pk=member.pk, status=MemberStatus.INVITED).update(**changes)
    member.refresh_from_db()
    _settle_status(consortium)
    audit.record(
        f"procurement.consortiummember.{'accept' if accept else 'decline'}",
        actor=acting_user,
        obj=consortium,
        organisation=member.organisation,
        data={"member": member.pk, "agreement_sha256": member.agreement_sha256 if accept else ""},
    )
    return member


@transaction.atomic
def propose_consortium(
    procurement: Procurement,
    *,
    cluster: Organisation,
    name: str,
    lead: Organisation,
    partners,
    agreement_text: str,
    acting_user: User,
) -> Consortium:
    """An intermediary cluster proposes a consortium: the lead confirms it before invitations go out."""
    if not acting_user.has_perm("procurement.propose_consortium", procurement):
        raise ProcurementError(_("Only the intermediary cluster organisations propose consortia."))
    if cluster.pk not in {c.pk for c in intermediary_clusters(acting_user, procurement)}:
        raise ProcurementError(
            _("%(cluster)s is not an intermediary of this procurement you work for.")
            % {"cluster": cluster.name}
        )
    require_rules(acting_user, procurement, cluster)
    _require_open(procurement)
    name = _check_name(procurement, name)
    agreement_text = _check_agreement(agreement_text)
    partners = [p for p in dict.fromkeys(partners) if p.pk != lead.pk]
    for organisation in [lead, *partners]:
        if organisation.kind not in FIRM_KINDS:
            raise ProcurementError(
                _("Only firms and research organisations can join a consortium; %(organisation)s is not one.")
                % {"organisation": organisation.name}
            )
    sha = text_hash(agreement_text)
    consortium = Consortium.objects.create(
        procurement=procurement,
        name=name,
        lead=lead,
        proposed_by=cluster,
        agreement_text=agreement_text,
        agreement_sha256=sha,
        status=Status.PROPOSED,
        created_by=acting_user,
    )
    ConsortiumMember.objects.bulk_create(
        [
            ConsortiumMember(
                consortium=consortium, organisation=lead, role=Role.LEAD, status=MemberStatus.PROPOSED
            )
        ]
        + [
            ConsortiumMember(
                consortium=consortium, organisation=p, role=Role.PARTNER, status=MemberStatus.PROPOSED
            )
            for p in partners
        ]
    )
    send_consortium_proposal.delay_on_commit(consortium.pk)
    audit.record(
        "procurement.consortium.propose",
        actor=acting_user,
        obj=consortium,
        organisation=cluster,
        data={"lead": lead.pk, "partners": [p.pk for p in partners], "agreement_sha256": sha},
    )
    return consortium


@transaction.atomic
def confirm_consortium_proposal(consortium: Consortium, *, acting_user: User) -> Consortium:
    """The proposed lead takes the proposal on: the consortium starts forming and the partners are invited."""
    consortium = _lock(consortium)
    _require_lead(acting_user, consortium)
    require_rules(acting_user, consortium.procurement, consortium.lead)
    _require_open(consortium.procurement)
    if consortium.status != Status.PROPOSED:
        raise ProcurementError(_("This consortium is no longer a proposal waiting for its lead."))
    Organisation.objects.select_for_update(no_key=True).filter(pk=consortium.lead_id).first()
    _refuse_second_consortium(consortium.lead, consortium)
    now = timezone.now()
    Consortium.objects.filter(pk=consortium.pk, status=Status.PROPOSED).update(status=Status.FORMING)
    consortium.status = Status.FORMING
    ConsortiumMember.objects.filter(consortium=consortium, role=Role.LEAD).update(
        status=MemberStatus.ACCEPTED,
        accepted_by=acting_user,
        agreement_sha256=consortium.agreement_sha256,
        responded_at=now,
    )
    partners = ConsortiumMember.objects.filter(
        consortium=consortium, role=Role.PARTNER, status=MemberStatus.PROPOSED
    )
    invited = list(partners.values_list("pk", flat=True))
    partners.update(status=MemberStatus.INVITED, invited_at=now, invitation_mailed_at=None)
    _settle_status(consortium)
    _enqueue_invitations(invited)
    audit.record(
        "procurement.consortium.confirm",
        actor=acting_user,
        obj=consortium,
        organisation=consortium.lead,
        data={"invited": invited, "agreement_sha256": consortium.agreement_sha256},
    )
    return consortium


@transaction.atomic
def change_consortium_agreement(
    consortium: Consortium, agreement_text: str, *, acting_user: User
) -> Consortium:
    """The lead changes the agreement: every partner's acceptance is reset and they are asked again."""
    consortium = _lock(consortium)
    _require_lead(acting_user, consortium)
    require_rules(acting_user, consortium.procurement, consortium.lead)
    if consortium.status not in {Status.FORMING, Status.FORMED}:
        raise ProcurementError(
            _("The consortium is “%(status)s”: its agreement cannot be changed.")
            % {"status": consortium.get_status_display()}
        )
    agreement_text = _check_agreement(agreement_text)
    sha = text_hash(agreement_text)
    if sha == consortium.agreement_sha256:
        raise ProcurementError(_("The agreement text is unchanged."))
    _refuse_while_bid_is_live(consortium, _("Changing the agreement"))
    now = timezone.now()
    Consortium.objects.filter(pk=consortium.pk).update(agreement_text=agreement_text, agreement_sha256=sha)
    consortium.agreement_text, consortium.agreement_sha256 = agreement_text, sha
    ConsortiumMember.objects.filter(consortium=consortium, role=Role.LEAD).update(
        accepted_by=acting_user, agreement_sha256=sha, responded_at=now
    )
    to_ask = ConsortiumMember.objects.filter(
        consortium=consortium,
        role=Role.PARTNER,
        status__in=[MemberStatus.ACCEPTED, MemberStatus.INVITED],
    )
    asked = list(to_ask.values_list("pk", flat=True))
    to_ask.update(
        status=MemberStatus.INVITED,
        invited_at=now,
        invitation_mailed_at=None,
        responded_at=None,
        accepted_by=None,
        agreement_sha256="",
    )
    _settle_status(consortium)
    _enqueue_invitations(asked)
    audit.record(
        "procurement.consortium.change_agreement",
        actor=acting_user,
        obj=consortium,
        organisation=consortium.lead,
        data={"agreement_sha256": sha, "asked_again": asked},
    )
    return consortium


@transaction.atomic
def leave_consortium(member: ConsortiumMember, *, acting_user: User) -> ConsortiumMember:
    """A partner organisation leaves the consortium (the lead dissolves it instead)."""
    consortium = _lock(member.consortium)
    member = (
        ConsortiumMember.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organisation")
        .get(pk=member.pk)
    )
    if member.organisation_id not in firm_ids(acting_user):
        raise ProcurementError(
            _("Only %(organisation)s can leave on its own behalf.")
            % {"organisation": member.organisation.name}
        )
    require_rules(acting_user, consortium.procurement, member.organisation)
    if member.role == Role.LEAD:
        raise ProcurementError(_("The lead cannot leave its consortium; dissolve it instead."))
    if member.status != MemberStatus.ACCEPTED or consortium.status == Status.DISSOLVED:
        raise ProcurementError(_("Only an organisation that joined the consortium can leave it."))
    _refuse_while_bid_is_live(consortium, _("Leaving the consortium"))
    ConsortiumMember.objects.filter(pk=member.pk, status=MemberStatus.ACCEPTED).update(
        status=MemberStatus.LEFT, responded_at=timezone.now()
    )
    member.refresh_from_db()
    _settle_status(consortium)
    audit.record(
        "procurement.consortiummember.leave",
        actor=acting_user,
        obj=consortium,
        organisation=member.organisation,
        data={"member": member.pk},
    )
    return member


def may_dissolve(user: User, consortium: Consortium) -> bool:
    """The lead, or — while it is only a proposal — the cluster that proposed it."""
    if user.has_perm("procurement.manage_consortium", consortium):
        return True
    return consortium.status == Status.PROPOSED and consortium.proposed_by_id in {
        c.pk for c in intermediary_clusters(user, consortium.procurement)
    }


@transaction.atomic
def dissolve_consortium(consortium: Consortium, *, acting_user: User) -> Consortium:
    """End the consortium (the lead; or the proposing cluster, or the lead turning a proposal down)."""
    consortium = _lock(consortium)
    if not may_dissolve(acting_user, consortium):
        raise ProcurementError(_("Only the consortium's lead organisation can dissolve it."))
    acting_for = (
        consortium.lead
        if acting_user.has_perm("procurement.manage_consortium", consortium)
        else consortium.proposed_by
    )
    require_rules(acting_user, consortium.procurement, acting_for)
    if consortium.status == Status.DISSOLVED:
        raise ProcurementError(_("This consortium is already dissolved."))
    _refuse_while_bid_is_live(consortium, _("Dissolving the consortium"))
    previous = consortium.status
    if not Consortium.objects.filter(pk=consortium.pk, status=previous).update(status=Status.DISSOLVED):
        raise ProcurementError(
            _("Someone else changed this consortium at the same moment; please try again.")
        )
    consortium.status = Status.DISSOLVED
    audit.record(
        "procurement.consortium.dissolve",
        actor=acting_user,
        obj=consortium,
        organisation=acting_for,
        data={"from": previous},
    )
    return consortium


# ---------------------------------------------------------------------------------------------- reading


def consortia_for(user: User, procurement: Procurement):
    """Consortia of ``procurement`` that ``user`` takes part in, is invited to or brokers as intermediary."""
    consortia = Consortium.objects.filter(procurement=procurement)
    if is_platform_admin(user) or intermediary_clusters(user, procurement):
        return consortia
    mine = firm_ids(user)
    return consortia.filter(
        Q(lead_id__in=mine)
        | Q(
            members__organisation_id__in=mine,
            members__status__in=[MemberStatus.PROPOSED, MemberStatus.INVITED, MemberStatus.ACCEPTED],
        )
    ).distinct()


def own_member(user: User, consortium: Consortium) -> ConsortiumMember | None:
    """The member row of the organisation ``user`` acts for in ``consortium``, if any (lead first)."""
    mine = firm_ids(user)
    if not mine:
        return None
    return (
        ConsortiumMember.objects.filter(consortium=consortium, organisation_id__in=mine)
        .select_related("organisation")
        .order_by("role", "organisation__name")
        .first()
    )
