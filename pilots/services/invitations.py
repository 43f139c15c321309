"""Invitations after a draw: sending them, opening and answering the signed link, expiry, withdrawal when a
consent the study needs is withdrawn, and who took part. Also what a draw's funnel counts and what the firm
a study is run for may see about the people drawn."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import ConsentPurpose, Person, User

from ..errors import PanelError
from ..models import (
    FIXED_ATTRIBUTES,
    AttributeKind,
    Draw,
    DrawSelection,
    Invitation,
    PanelMembership,
    ParticipantProfile,
    Participation,
)
from ..screening import consent_q
from ..tasks.invitations import send_invitation

# Invitations that withdrawing a consent takes back: not yet answered, or accepted but not yet taken part.
WITHDRAWABLE = (*Invitation.OPEN, Invitation.Status.ACCEPTED)


def _actor(user):
    """The signed-in user, or None for someone answering through a signed link without signing in."""
    return user if user is not None and user.is_authenticated else None


def answer_by(draw: Draw, now: datetime | None = None) -> datetime:
    """The end of the local day ``draw.respond_within_days`` from now: "answer by 14 March" means the whole
    of 14 March."""
    day = timezone.localdate(now or timezone.now()) + timedelta(days=draw.respond_within_days)
    return timezone.make_aware(datetime.combine(day, time.max))


def prefers_email(profile: ParticipantProfile | None) -> bool:
    """Whether an invitation to this profile's person goes by e-mail (the others are called, written to or
    reached through their group by staff)."""
    return profile is not None and profile.preferred_contact == ParticipantProfile.Contact.EMAIL


def _draw_refusal(draw: Draw) -> str:
    if draw.status == Draw.Status.CANCELLED:
        return _("This draw was cancelled: nobody can be invited from it.")
    if draw.invited_at is not None:
        return _("The invitations of this draw were already sent on %(day)s.") % {
            "day": formats.date_format(timezone.localtime(draw.invited_at), "DATETIME_FORMAT")
        }
    return _("The invitations of this draw were already sent.")


# ------------------------------------------------------------------------------------------- sending


@transaction.atomic
def send_invitations(draw: Draw, *, acting_user: User) -> list[Invitation]:
    """Invite everyone the draw chose and still may be contacted; the e-mails leave after commit."""
    now = timezone.now()
    claimed = Draw.objects.filter(pk=draw.pk, status=Draw.Status.DRAWN).update(
        status=Draw.Status.INVITING, invited_at=now
    )
    draw.refresh_from_db()
    if not claimed:
        raise PanelError(_draw_refusal(draw))
    selections = list(
        draw.selections.filter(removed_at__isnull=True)
        .select_related("membership__person__profile")
        .order_by("rank")
    )
    # Still active and consenting now (someone may have paused or withdrawn since the draw).
    still_eligible = set(
        PanelMembership.objects.filter(pk__in=[s.membership_id for s in selections])
        .contactable()
        .filter(consent_q(draw.panel, list(draw.required_purposes.all()), now))
        .values_list("pk", flat=True)
    )
    invited = [s for s in selections if s.membership_id in still_eligible]
    dropped = [s for s in selections if s.membership_id not in still_eligible]
    if dropped:
        DrawSelection.objects.filter(pk__in=[s.pk for s in dropped], removed_at__isnull=True).update(
            removed_at=now,
            removal_reason=_(
                "No longer active in the panel, or no longer consenting, when invitations left."
            ),
        )
    expires_at = answer_by(draw, now)
    invitations = Invitation.objects.bulk_create(
        Invitation(
            selection=selection,
            person_id=selection.membership.person_id,
            panel_id=draw.panel_id,
            expires_at=expires_at,
        )
        for selection in invited
    )
    by_email = 0
    for invitation, selection in zip(invitations, invited, strict=True):
        if prefers_email(getattr(selection.membership.person, "profile", None)):
            send_invitation.delay_on_commit(invitation.pk)
            by_email += 1
    audit.record(
        "pilots.draw.invite",
        actor=acting_user,
        obj=draw,
        organisation=draw.panel.owner,
        data={
            "invitations": len(invitations),
            "by_email": by_email,
            "dropped": [s.pk for s in dropped],
            "expires_at": expires_at.isoformat(),
        },
    )
    return invitations


# ------------------------------------------------------------------------------------ the signed link


@transaction.atomic
def open_invitation(invitation: Invitation, *, acting_user: User | None = None) -> bool:
    """Note that the invitee opened the link (first visit only); False when it was opened before."""
    now = timezone.now()
    opened = Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.SENT).update(
        status=Invitation.Status.OPENED, opened_at=now
    )
    if opened:
        invitation.status, invitation.opened_at = Invitation.Status.OPENED, now
        audit.record(
            "pilots.invitation.open",
            actor=_actor(acting_user),
            obj=invitation,
            organisation=invitation.panel.owner,
        )
    return opened == 1


def answered_text(invitation: Invitation) -> str:
    """What the invitee is told when the invitation can no longer be answered, in one sentence."""
    Status = Invitation.Status
    day = (
        formats.date_format(timezone.localtime(invitation.responded_at), "DATE_FORMAT")
        if invitation.responded_at
        else ""
    )
    if invitation.status == Status.ACCEPTED:
        return _("You already accepted this invitation on %(day)s.") % {"day": day}
    if invitation.status == Status.DECLINED:
        return _("You already declined this invitation on %(day)s.") % {"day": day}
    if invitation.status == Status.WITHDRAWN:
        return _("This invitation was withdrawn: the consent the study needs is no longer given.")
    expired = formats.date_format(timezone.localtime(invitation.expires_at), "DATE_FORMAT")
    if invitation.status == Status.EXPIRED or invitation.expires_at <= timezone.now():
        return _("This invitation expired: the answer was due by %(day)s.") % {"day": expired}
    return _("This study is no longer looking for participants.")


@transaction.atomic
def answer_invitation(
    invitation: Invitation, accept: bool, share_identity: bool = False, *, acting_user: User | None
) -> Invitation:
    """Accept or decline an open invitation, once; one's identity is shared only with a yes."""
    now = timezone.now()
    status = Invitation.Status.ACCEPTED if accept else Invitation.Status.DECLINED
    # The compare-and-set filters on the invitation's own columns only: PostgreSQL re-checks those, not a
    # join, when a concurrent answer held the row. The study's status is read first (closing it is rare).
    recruiting = Draw.objects.filter(
        selections__invitation=invitation.pk, status=Draw.Status.INVITING
    ).exists()
    answered = recruiting and Invitation.objects.filter(
        pk=invitation.pk, status__in=Invitation.OPEN, expires_at__gt=now
    ).update(
        status=status,
        responded_at=now,
        share_identity=bool(accept and share_identity),
        # Someone who answers from a page opened elsewhere has opened the link too.
        opened_at=Coalesce(F("opened_at"), Value(now, output_field=DateTimeField())),
    )
    invitation.refresh_from_db()
    if not answered:
        raise PanelError(answered_text(invitation))
    audit.record(
        "pilots.invitation." + ("accept" if accept else "decline"),
        actor=_actor(acting_user),
        obj=invitation,
        organisation=invitation.panel.owner,
        data={"share_identity": invitation.share_identity},
    )
    return invitation


# ----------------------------------------------------------------------------------------- expiry


@transaction.atomic
def expire_overdue_invitations(*, acting_user: User | None = None, now: datetime | None = None) -> int:
    """Expire the open invitations whose answer-by date has passed; how many expired."""
    now = now or timezone.now()
    # Locked first, so that an answer arriving meanwhile either wins before or waits for the expiry.
    due = list(
        Invitation.objects.select_for_update(no_key=True, of=("self",))
        .filter(status__in=Invitation.OPEN, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", "selection__draw_id")
    )
    if not due:
        return 0
    Invitation.objects.filter(pk__in=[pk for pk, _draw in due]).update(status=Invitation.Status.EXPIRED)
    per_draw: dict[int, list[int]] = {}
    for pk, draw_id in due:
        per_draw.setdefault(draw_id, []).append(pk)
    draws = Draw.objects.select_related("panel__owner").in_bulk(list(per_draw))
    for draw_id, ids in sorted(per_draw.items()):
        draw = draws[draw_id]
        audit.record(
            "pilots.invitation.expire",
            actor=acting_user,
            obj=draw,
            organisation=draw.panel.owner,
            data={"invitations": ids},
        )
    return len(due)


# ------------------------------------------------------------------------------- consent withdrawal


def _still_consents(person: Person, draw: Draw, now: datetime) -> bool:
    """Whether ``person`` still passes the draw's consent gate (e.g. consenting under another form)."""
    purposes = list(draw.required_purposes.all())
    memberships = PanelMembership.objects.filter(panel_id=draw.panel_id, person=person)
    return memberships.filter(consent_q(draw.panel, purposes, now)).exists()


@transaction.atomic
def withdraw_from_pending(
    person: Person, purpose: ConsentPurpose, *, acting_user: User | None = None
) -> tuple[int, int]:
    """Take ``person`` out of every pending draw and invitation that needs ``purpose``, now that they have
    withdrawn that consent; (selections removed, invitations withdrawn). Panels where they still consent to
    the purpose under another form that applies there keep them."""
    now = timezone.now()
    pending = Q(draw__status=Draw.Status.DRAWN) | Q(
        draw__status=Draw.Status.INVITING,
        invitation__status__in=WITHDRAWABLE,
        invitation__participation__isnull=True,
    )
    candidates = (
        DrawSelection.objects.filter(pending, membership__person=person, draw__required_purposes=purpose)
        .filter(removed_at__isnull=True)
        .values_list("draw_id", flat=True)
        .distinct()
    )
    draw_ids = sorted(set(candidates))
    if not draw_ids:
        return 0, 0
    # Lock the draws (in a consistent order) so that invitations cannot leave one of them meanwhile.
    draws = list(
        Draw.objects.select_for_update(no_key=True, of=("self",))
        .select_related("panel__owner")
        .filter(pk__in=draw_ids)
        .order_by("pk")
    )
    reason = _("Consent withdrawn: %(purpose)s") % {"purpose": purpose.name}
    removed_total = withdrawn_total = 0
    changes: list[tuple[Draw, list[int], list[int]]] = []
    for draw in draws:
        if _still_consents(person, draw, now):
            continue
        selections = DrawSelection.objects.filter(
            draw=draw, membership__person=person, removed_at__isnull=True
        )
        removed = list(selections.filter(draw__status=Draw.Status.DRAWN).values_list("pk", flat=True))
        if removed:
            DrawSelection.objects.filter(pk__in=removed, removed_at__isnull=True).update(
                removed_at=now, removal_reason=reason[:200]
            )
        open_invitations = Invitation.objects.filter(
            selection__draw=draw, person=person, status__in=WITHDRAWABLE, participation__isnull=True
        )
        withdrawn = list(open_invitations.values_list("pk", flat=True))
        if withdrawn:
            Invitation.objects.filter(pk__in=withdrawn, status__in=WITHDRAWABLE).update(
                status=Invitation.Status.WITHDRAWN, share_identity=False
            )
        if removed or withdrawn:
            changes.append((draw, removed, withdrawn))
            removed_total += len(removed)
            withdrawn_total += len(withdrawn)
    for draw, removed, withdrawn in changes:
        audit.record(
            "pilots.draw.withdraw_person",
            actor=_actor(acting_user),
            obj=draw,
            organisation=draw.panel.owner,
            data={"purpose": purpose.code, "selections": removed, "invitations": withdrawn},
        )
    return removed_total, withdrawn_total


# ------------------------------------------------------------------------------------ participation


@transaction.atomic
def record_participation(
    invitation: Invitation, outcome: str, *, acting_user: User, occurred_at: datetime | None = None
) -> Participation:
    """Record that someone who accepted took part or did not come (what cooldown and limits count)."""
    if outcome not in Participation.Outcome.values:
        raise PanelError(_("Choose whether the person took part or did not come."))
    invitation = (
        Invitation.objects.select_for_update(no_key=True).select_related("panel__owner").get(pk=invitation.pk)
    )
    if invitation.status != Invitation.Status.ACCEPTED:
        raise PanelError(
            _("Only people who accepted can be recorded as taking part; this invitation is “%(status)s”.")
            % {"status": invitation.get_status_display()}
        )
    participation = Participation.objects.filter(invitation=invitation).first()
    old = participation.outcome if participation else None
    if participation is None:
        participation = Participation(invitation=invitation, person_id=invitation.person_id)
        participation.panel_id = invitation.panel_id
    participation.outcome = outcome
    participation.occurred_at = occurred_at or participation.occurred_at or timezone.now()
    participation.recorded_by = acting_user
    participation.save()
    audit.record(
        "pilots.participation.record",
        actor=acting_user,
        obj=participation,
        organisation=invitation.panel.owner,
        data={"invitation": invitation.pk, "outcome": outcome, "was": old},
    )
    return participation


@transaction.atomic
def record_view(draw: Draw, what: str, *, acting_user: User, page: int = 1) -> None:
    """Note in the audit trail that someone looked at the people of a draw (staff list or firm's view)."""
    audit.record(
        f"pilots.draw.view_{what}",
        actor=acting_user,
        obj=draw,
        organisation=draw.panel.owner,
        data={"page": page},
    )


# ------------------------------------------------------------------------------------------- reading

FUNNEL = ["invited", "opened", "accepted", "declined", "expired", "withdrawn"]


def draw_funnel(draw: Draw) -> dict[str, int]:
    """How far a draw's invitations got: invited, opened the link, accepted, declined, expired, withdrawn."""
    Status = Invitation.Status
    return Invitation.objects.filter(selection__draw=draw).aggregate(
        invited=Count("pk"),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
        declined=Count("pk", filter=Q(status=Status.DECLINED)),
        expired=Count("pk", filter=Q(status=Status.EXPIRED)),
        withdrawn=Count("pk", filter=Q(status=Status.WITHDRAWN)),
    )


def attribute_text(profile: ParticipantProfile, code: str) -> str:
    """A fixed attribute's value as people read it, e.g. "65 to 74" for the age band."""
    attribute = FIXED_ATTRIBUTES[code]
    labels = {str(value): str(label) for value, label in attribute.choices}
    if code == "age_band":
        raw = [profile.age_band]
    elif attribute.kind == AttributeKind.MULTI:
        raw = profile.values_of(attribute.column)
    else:
        raw = [str(getattr(profile, attribute.column) or "")]
    return ", ".join(labels.get(value, value) for value in raw if value)


@dataclass
class ParticipantRow:
    """One drawn person as the firm sees them: a code, the invitation's status, what they share."""

    code: str
    status: str
    attributes: list[tuple[str, str]] = field(default_factory=list)
    name: str = ""
    email: str = ""
    phone: str = ""


def participant_row(selection: DrawSelection) -> ParticipantRow:
    """What the firm a draw was made for may see about one selection: never a name or contact details
    unless the person accepted and chose to share them for this study."""
    invitation = getattr(selection, "invitation", None)
    status = invitation.get_status_display() if invitation else _("Not invited yet")
    row = ParticipantRow(code=selection.code, status=str(status))
    if invitation is not None and invitation.status == Invitation.Status.WITHDRAWN:
        return row
    person = selection.membership.person
    profile = getattr(person, "profile", None)
    if profile is not None:
        for code in profile.shared:
            attribute = FIXED_ATTRIBUTES.get(code)
            if attribute is not None and attribute.shareable:
                row.attributes.append((str(attribute.label), attribute_text(profile, code)))
    if (
        invitation is not None
        and invitation.status == Invitation.Status.ACCEPTED
        and invitation.share_identity
    ):
        row.name = person.full_name
        row.email = profile.contact_address() if profile is not None else ""
        row.phone = profile.phone if profile is not None else ""
    return row


def shared_labels(profile: ParticipantProfile | None) -> list[str]:
    """The labels of what a person lets firms see, for the invitation page."""
    if profile is None:
        return []
    return [
        str(FIXED_ATTRIBUTES[code].label)
        for code in profile.shared
        if code in FIXED_ATTRIBUTES and FIXED_ATTRIBUTES[code].shareable
    ]


def contact_flag(selection: DrawSelection) -> str:
    """For staff: how to reach a drawn person whom no e-mail reaches, e.g. "Contact by phone: 02 99 …"."""
    invitation = getattr(selection, "invitation", None)
    if selection.removed_at is not None or (
        invitation is not None and invitation.status == Invitation.Status.WITHDRAWN
    ):
        return ""  # nobody to contact any more
    profile = getattr(selection.membership.person, "profile", None)
    if profile is None:
        return _("No profile: contact through the living lab's records.")
    Contact = ParticipantProfile.Contact
    phone = profile.phone or _("no number given")
    if profile.preferred_contact == Contact.PHONE:
        return _("Contact by phone: %(phone)s") % {"phone": phone}
    if profile.preferred_contact == Contact.POST:
        return _("Contact by post.")
    if profile.preferred_contact == Contact.GROUP:
        group = profile.contact_via.name if profile.contact_via else _("the group that enrolled them")
        return _("Contact through %(group)s.") % {"group": group}
    if invitation is not None and invitation.mailed_at is None and invitation.status in Invitation.OPEN:
        return _("No e-mail has gone out (no address?): contact by phone (%(phone)s) or by post.") % {
            "phone": phone
        }
    return ""


__all__ = [
    "FUNNEL",
    "ParticipantRow",
    "answer_by",
    "answer_invitation",
    "answered_text",
    "attribute_text",
    "contact_flag",
    "draw_funnel",
    "expire_overdue_invitations",
    "open_invitation",
    "participant_row",
    "prefers_email",
    "record_participation",
    "record_view",
    "send_invitations",
    "shared_labels",
    "withdraw_from_pending",
]
