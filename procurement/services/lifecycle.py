"""The two state machines (procurement and phase) and the ground-rules guard every action passes."""

from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User
from livinglab.services import require_ground_rules

from ..errors import ProcurementError
from ..models import Phase, Procurement


def require_rules(user: User, procurement: Procurement, organisation: Organisation | None) -> None:
    """Refuse any action on a call until ``user`` accepted every ground rules version that applies to it
    (platform, B2G channel and the call's own), for the organisation they act for."""
    require_ground_rules(user, procurement, organisation=organisation)


def move_procurement(
    procurement: Procurement, to: str, *, acting_user: User | None, **changes
) -> Procurement:
    """Compare-and-set a procurement's status along ``Procurement.TRANSITIONS``; call inside a transaction."""
    current = Procurement.objects.filter(pk=procurement.pk).values_list("status", flat=True).first()
    if to not in Procurement.TRANSITIONS.get(current, set()):
        raise ProcurementError(
            _("This procurement is “%(current)s”: it cannot become “%(to)s”.")
            % {"current": Procurement.Status(current).label, "to": Procurement.Status(to).label}
        )
    changes["updated_at"] = timezone.now()
    if not Procurement.objects.filter(pk=procurement.pk, status=current).update(status=to, **changes):
        raise ProcurementError(
            _("Someone else changed this procurement at the same moment; please try again.")
        )
    procurement.refresh_from_db()
    audit.record(
        f"procurement.procurement.{to}",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={"from": current},
    )
    return procurement


def move_phase(phase: Phase, to: str, *, acting_user: User | None, **changes) -> Phase:
    """Compare-and-set a phase's status along ``Phase.TRANSITIONS``; call inside a transaction."""
    current = Phase.objects.filter(pk=phase.pk).values_list("status", flat=True).first()
    if to not in Phase.TRANSITIONS.get(current, set()):
        raise ProcurementError(
            _("%(phase)s is “%(current)s”: it cannot become “%(to)s”.")
            % {"phase": phase, "current": Phase.Status(current).label, "to": Phase.Status(to).label}
        )
    if not Phase.objects.filter(pk=phase.pk, status=current).update(status=to, **changes):
        raise ProcurementError(_("Someone else changed this phase at the same moment; please try again."))
    phase.refresh_from_db()
    audit.record(
        f"procurement.phase.{to}",
        actor=acting_user,
        obj=phase,
        organisation=phase.procurement.buyer,
        data={"from": current, "procurement": phase.procurement_id},
    )
    return phase
