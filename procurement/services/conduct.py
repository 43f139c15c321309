"""Ground rules in practice: direct messages between bidders and the authority (closed during the quiet
period), the interaction register every contact is logged in, and gifts and hospitality declarations."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab.models import Organisation, User
from livinglab.policy import CLUSTER_ROLES

from ..errors import ProcurementError
from ..models import DirectMessage, GiftDeclaration, Interaction, Phase, Procurement
from ..rules import FIRM_KINDS, FIRM_ROLES, roles_at
from ..tasks.clarifications import send_message_notice
from .lifecycle import require_rules

QUIET_PERIOD_REFUSAL = gettext_lazy(
    "The call is in its quiet period: direct messages between bidders and the authority are closed until "
    "the award is final. Ask your question as a clarification instead — its answer is published to every "
    "bidder at the same moment."
)


def in_quiet_period(procurement: Procurement) -> bool:
    """Whether any phase is open, under evaluation or in its standstill (no direct contact then)."""
    return procurement.phases.filter(status__in=Phase.QUIET).exists()


def is_intermediary_of(procurement: Procurement, organisation: Organisation) -> bool:
    return (
        organisation.kind == Organisation.Kind.CLUSTER
        and procurement.intermediaries.filter(pk=organisation.pk).exists()
    )


def is_bidder_side(procurement: Procurement, organisation: Organisation) -> bool:
    """A firm or research organisation, or an intermediary cluster acting on their behalf."""
    return organisation.kind in FIRM_KINDS or is_intermediary_of(procurement, organisation)


def acts_for(user: User, procurement: Procurement, organisation: Organisation) -> bool:
    """Whether ``user`` speaks for ``organisation`` on this procurement: any role at the buyer, a firm role
    at a firm or research organisation, a cluster role at an intermediary cluster."""
    roles = roles_at(user, organisation.pk)
    if organisation.pk == procurement.buyer_id:
        return bool(roles)
    if organisation.kind in FIRM_KINDS:
        return bool(roles & FIRM_ROLES)
    return bool(roles & CLUSTER_ROLES) and is_intermediary_of(procurement, organisation)


def person_label(user: User) -> str:
    """How the register names a person present (seen by compliance and the intermediaries only)."""
    return user.get_full_name() or user.email


def _lock_phase_statuses(procurement: Procurement) -> list[str]:
    """The phases' statuses, locked until commit so that no phase opens while a message is being sent."""
    return list(
        Phase.objects.select_for_update(no_key=True)
        .filter(procurement=procurement)
        .order_by("pk")
        .values_list("status", flat=True)
    )


@transaction.atomic
def send_message(
    procurement: Procurement,
    sender_organisation: Organisation,
    recipient_organisation: Organisation,
    subject: str,
    body: str,
    *,
    acting_user: User,
) -> DirectMessage:
    """Send a direct message between a bidder side and the buyer, outside the quiet period; log it."""
    if not acts_for(acting_user, procurement, sender_organisation):
        raise ProcurementError(
            _("You can only send messages for an organisation you represent on this procurement.")
        )
    require_rules(acting_user, procurement, sender_organisation)
    if procurement.status == Procurement.Status.DRAFT:
        raise ProcurementError(_("This procurement is not published yet: there is no one to write to."))
    sides = {sender_organisation.pk, recipient_organisation.pk}
    other = recipient_organisation if sender_organisation.pk == procurement.buyer_id else sender_organisation
    if procurement.buyer_id not in sides or len(sides) != 2 or not is_bidder_side(procurement, other):
        raise ProcurementError(
            _(
                "Direct messages go between the buying authority and a firm, a research organisation or an "
                "intermediary cluster organisation of this procurement."
            )
        )
    if not subject.strip() or not body.strip():
        raise ProcurementError(_("Write a subject and a message."))
    if any(status in Phase.QUIET for status in _lock_phase_statuses(procurement)):
        raise ProcurementError(str(QUIET_PERIOD_REFUSAL))
    message = DirectMessage.objects.create(
        procurement=procurement,
        sender=acting_user,
        sender_organisation=sender_organisation,
        recipient_organisation=recipient_organisation,
        subject=subject.strip(),
        body=body.strip(),
    )
    entry = Interaction.objects.create(
        procurement=procurement,
        kind=Interaction.Kind.MESSAGE,
        occurred_at=message.sent_at,
        subject=message.subject,
        summary=message.body,
        participants=person_label(acting_user),
        on_behalf_of=other if other.kind == Organisation.Kind.CLUSTER else None,
        message=message,
        recorded_by=acting_user,
    )
    entry.organisations.set([sender_organisation, recipient_organisation])
    send_message_notice.delay_on_commit(message.pk)
    audit.record(
        "procurement.message.send",
        actor=acting_user,
        obj=message,
        organisation=sender_organisation,
        data={
            "procurement": procurement.pk,
            "recipient": recipient_organisation.pk,
            "interaction": entry.pk,
        },
    )
    return message


@transaction.atomic
def record_interaction(
    procurement: Procurement,
    recording_organisation: Organisation,
    kind: str,
    occurred_at: datetime,
    subject: str,
    summary: str,
    participants: str,
    organisations,
    on_behalf_of: Organisation | None = None,
    *,
    acting_user: User,
) -> Interaction:
    """Log a meeting, call, e-mail or event between firms (or their cluster) and the authority."""
    if not acts_for(acting_user, procurement, recording_organisation):
        raise ProcurementError(
            _("You can only record contacts for an organisation you represent on this procurement.")
        )
    require_rules(acting_user, procurement, recording_organisation)
    if kind == Interaction.Kind.MESSAGE or kind not in Interaction.Kind.values:
        raise ProcurementError(
            _("Messages sent on the platform are registered by themselves; choose another kind of contact.")
        )
    if timezone.is_naive(occurred_at):
        raise ProcurementError(_("Give the time of the contact with its time zone."))
    if occurred_at > timezone.now():
        raise ProcurementError(_("The register records contacts that took place: the date is in the future."))
    if on_behalf_of is not None and not is_intermediary_of(procurement, on_behalf_of):
        raise ProcurementError(
            _("“%(name)s” is not an intermediary cluster organisation of this procurement.")
            % {"name": on_behalf_of.name}
        )
    involved = {o.pk: o for o in organisations}
    involved[recording_organisation.pk] = recording_organisation
    others = [o for pk, o in involved.items() if pk != procurement.buyer_id]
    if not others or not any(is_bidder_side(procurement, o) for o in others):
        raise ProcurementError(
            _("The register records contacts between the authority and firms: name the firms involved.")
        )
    involved.setdefault(procurement.buyer_id, procurement.buyer)
    if on_behalf_of is not None:
        involved[on_behalf_of.pk] = on_behalf_of
    if not subject.strip() or not summary.strip():
        raise ProcurementError(_("Give the contact a subject and a summary."))
    entry = Interaction.objects.create(
        procurement=procurement,
        kind=kind,
        occurred_at=occurred_at,
        subject=subject.strip(),
        summary=summary.strip(),
        participants=participants.strip(),
        on_behalf_of=on_behalf_of,
        recorded_by=acting_user,
    )
    entry.organisations.set(list(involved.values()))
    audit.record(
        "procurement.interaction.record",
        actor=acting_user,
        obj=entry,
        organisation=recording_organisation,
        data={
            "procurement": procurement.pk,
            "kind": kind,
            "organisations": sorted(involved),
            "on_behalf_of": on_behalf_of.pk if on_behalf_of else None,
        },
    )
    return entry


@transaction.atomic
def declare_gift(
    procurement: Procurement,
    offered_by: Organisation,
    description: str,
    value: Decimal,
    offered_on: date,
    outcome: str,
    *,
    acting_user: User,
) -> GiftDeclaration:
    """Declare a gift, favour or hospitality an organisation offered to the buyer's staff."""
    if not roles_at(acting_user, procurement.buyer_id):
        raise ProcurementError(
            _("Only the buying authority's staff declare gifts and hospitality offered to them.")
        )
    require_rules(acting_user, procurement, procurement.buyer)
    if offered_by.pk == procurement.buyer_id:
        raise ProcurementError(_("Name the organisation that made the offer, not the authority itself."))
    if outcome not in GiftDeclaration.Outcome.values:
        raise ProcurementError(_("Say whether the offer was refused, returned or accepted."))
    if value < 0:
        raise ProcurementError(_("The value cannot be negative."))
    if offered_on > timezone.localdate(timezone.now(), procurement.tz):
        raise ProcurementError(_("The date of the offer is in the future."))
    if not description.strip():
        raise ProcurementError(_("Describe what was offered."))
    declaration = GiftDeclaration.objects.create(
        procurement=procurement,
        offered_by=offered_by,
        declared_by=acting_user,
        description=description.strip(),
        value=value,
        offered_on=offered_on,
        outcome=outcome,
    )
    audit.record(
        "procurement.gift.declare",
        actor=acting_user,
        obj=declaration,
        organisation=procurement.buyer,
        data={
            "procurement": procurement.pk,
            "offered_by": offered_by.pk,
            "value": str(value),
            "outcome": outcome,
        },
    )
    return declaration
