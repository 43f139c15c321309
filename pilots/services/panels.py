"""Panels and their members: opening a panel, adding people (however they came), their profiles, and the
status that decides whether they may be contacted."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Person, User

from ..errors import PanelError, ScreenerError
from ..models import FIXED_ATTRIBUTES, AttributeKind, Panel, PanelMembership, ParticipantProfile, pack
from ..screening import condition_problems
from ..tasks import send_membership_confirmation

MULTI_COLUMNS = [a.column for a in FIXED_ATTRIBUTES.values() if a.kind == AttributeKind.MULTI]
PROFILE_FIELDS = [
    f.name
    for f in ParticipantProfile._meta.get_fields()
    if f.concrete and f.name not in {"id", "person", "created_at", "updated_at"}
]


@transaction.atomic
def save_panel(panel: Panel, *, acting_user: User, recruiting_groups=None) -> Panel:
    """Create or update a panel's settings and fair-contact rules."""
    created = panel.pk is None
    panel.full_clean()
    panel.save()
    if recruiting_groups is not None:
        panel.recruiting_groups.set(recruiting_groups)
    audit.record(
        "pilots.panel." + ("create" if created else "update"),
        actor=acting_user,
        obj=panel,
        organisation=panel.owner,
    )
    return panel


@transaction.atomic
def save_profile(person: Person, data: dict, *, acting_user: User) -> ParticipantProfile:
    """Create or update what ``person`` told us about themselves. Multi-choice answers are lists."""
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise PanelError(_("Unknown profile fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    values = {k: pack(v) if k in MULTI_COLUMNS or k == "shared_attributes" else v for k, v in data.items()}
    profile = ParticipantProfile.objects.select_for_update().filter(person=person).first()
    created = profile is None
    if created:
        profile = ParticipantProfile(person=person)
    for field, value in values.items():
        setattr(profile, field, value)
    profile.full_clean(exclude=["person"])
    profile.save()
    audit.record(
        "pilots.profile." + ("create" if created else "update"),
        actor=acting_user,
        obj=profile,
        data={"fields": sorted(values)},
    )
    return profile


@transaction.atomic
def add_member(
    panel: Panel,
    person: Person,
    *,
    source: str,
    acting_user: User | None,
    confirmed: bool,
    recruited_by=None,
    source_detail: str = "",
    import_key: str = "",
) -> tuple[PanelMembership, bool]:
    """Put ``person`` in ``panel``; (membership, created). Someone added by others without evidence of
    consent stays pending and is asked to confirm before any study can contact them."""
    existing = PanelMembership.objects.filter(panel=panel, person=person).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            membership = PanelMembership.objects.create(
                panel=panel,
                person=person,
                source=source,
                recruited_by=recruited_by,
                source_detail=source_detail,
                enrolled_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
                import_key=import_key,
                status=PanelMembership.Status.ACTIVE if confirmed else PanelMembership.Status.PENDING,
                confirmed_at=now if confirmed else None,
                status_changed_at=now,
            )
    except IntegrityError:
        # A concurrent request added the same person (or the same import line) first.
        existing = PanelMembership.objects.filter(panel=panel, person=person).first()
        if existing is None and import_key:
            existing = PanelMembership.objects.filter(panel=panel, import_key=import_key).first()
        if existing is None:
            raise
        return existing, False
    audit.record(
        "pilots.membership.add",
        actor=acting_user,
        obj=membership,
        organisation=panel.owner,
        data={"panel": panel.pk, "source": source, "recruited_by": recruited_by.pk if recruited_by else None},
    )
    if not confirmed:
        send_membership_confirmation.delay_on_commit(membership.pk)
    return membership, True


@transaction.atomic
def change_membership_status(
    membership: PanelMembership, status: str, *, acting_user: User, reason: str = ""
) -> PanelMembership:
    """Pause, resume, leave, protect (do not contact, blocklist) or remove a member, with the reason."""
    membership = PanelMembership.objects.select_for_update().get(pk=membership.pk)
    if membership.status == status:
        return membership
    if not membership.can_move_to(status):
        raise PanelError(
            _("A member who is “%(old)s” cannot become “%(new)s”.")
            % {"old": membership.get_status_display(), "new": PanelMembership.Status(status).label}
        )
    staff_only = status not in PanelMembership.PARTICIPANT_STATUSES
    if staff_only and not reason.strip():
        raise PanelError(_("Give the reason: it is kept in the member's history."))
    old = membership.status
    membership.status = status
    membership.status_reason = reason.strip()
    membership.status_changed_at = timezone.now()
    if status == PanelMembership.Status.ACTIVE and membership.confirmed_at is None:
        membership.confirmed_at = membership.status_changed_at
    membership.save(update_fields=["status", "status_reason", "status_changed_at", "confirmed_at"])
    audit.record(
        "pilots.membership.status",
        actor=acting_user,
        obj=membership,
        organisation=membership.panel.owner,
        data={"from": old, "to": status, "reason": reason.strip()},
    )
    return membership


@transaction.atomic
def note_member_viewed(membership: PanelMembership, *, acting_user: User) -> None:
    """Staff opened a member's identity and history: the audit trail says who looked, and when."""
    audit.record(
        "pilots.membership.view", actor=acting_user, obj=membership, organisation=membership.panel.owner
    )


@transaction.atomic
def save_screener(screener, *, acting_user: User):
    """Create or update a saved screener; its conditions must be usable."""
    problems = condition_problems(screener.conditions, screener.panel)
    if problems:
        raise ScreenerError(_("The screener cannot be saved as it stands."), problems)
    created = screener.pk is None
    if created:
        screener.created_by = acting_user
    screener.save()
    audit.record(
        "pilots.screener." + ("create" if created else "update"),
        actor=acting_user,
        obj=screener,
        organisation=screener.panel.owner,
    )
    return screener
