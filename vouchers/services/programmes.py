"""Programmes, firms' solutions and their enrolment."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import User

from ..errors import VoucherError
from ..models import (
    Enrolment,
    Programme,
    Solution,
)
from .common import _eur, _require_firm_member, _user

# ------------------------------------------------------------------------------------------ programmes


@transaction.atomic
def change_programme_status(programme: Programme, status: str, *, acting_user: User) -> Programme:
    """Move a programme along draft → open → closed → finished; refuse any other move."""
    programme = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
    if not programme.can_transition(status):
        raise VoucherError(
            _("A programme that is %(current)s cannot become %(new)s.")
            % {
                "current": programme.get_status_display().lower(),
                "new": Programme.Status(status).label.lower(),
            }
        )
    previous = programme.status
    Programme.objects.filter(pk=programme.pk).update(status=status)
    programme.status = status
    audit.record(
        "vouchers.programme.change_status",
        actor=_user(acting_user),
        obj=programme,
        organisation=programme.operator,
        data={"from": previous, "to": status},
    )
    return programme


@transaction.atomic
def apply_for_enrolment(solution: Solution, programme: Programme, *, acting_user: User) -> Enrolment:
    """A firm asks to offer ``solution`` to the holders of ``programme``'s vouchers (idempotent)."""
    _require_firm_member(acting_user, solution.firm)
    if programme.status not in (Programme.Status.DRAFT, Programme.Status.OPEN):
        raise VoucherError(_("This programme no longer enrols firms."))
    enrolment, created = Enrolment.objects.get_or_create(solution=solution, programme=programme)
    if created:
        audit.record(
            "vouchers.enrolment.apply",
            actor=_user(acting_user),
            obj=enrolment,
            organisation=solution.firm,
            data={"solution": solution.pk, "programme": programme.pk},
        )
    return enrolment


@transaction.atomic
def decide_enrolment(enrolment: Enrolment, *, approve: bool, acting_user: User) -> Enrolment:
    """The operator approves or rejects a firm's solution for a programme."""
    enrolment = Enrolment.objects.select_for_update(no_key=True).get(pk=enrolment.pk)
    status = Enrolment.Status.APPROVED if approve else Enrolment.Status.REJECTED
    if enrolment.status == status:
        return enrolment
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=status, decided_at=timezone.now(), decided_by=_user(acting_user)
    )
    enrolment.refresh_from_db()
    audit.record(
        "vouchers.enrolment.approve" if approve else "vouchers.enrolment.reject",
        actor=_user(acting_user),
        obj=enrolment,
        organisation=enrolment.programme.operator,
        data={"solution": enrolment.solution_id},
    )
    return enrolment


# ------------------------------------------------------------------------------- programmes and solutions


@transaction.atomic
def save_programme(programme: Programme, *, acting_user: User) -> Programme:
    """Create or update a programme's settings; its status changes only through change_programme_status."""
    created = programme.pk is None
    if created:
        programme.status = Programme.Status.DRAFT
    else:
        # Locked like issuance, so that the budget is never lowered below what is being committed.
        current = Programme.objects.select_for_update(no_key=True).get(pk=programme.pk)
        # What other services own is read under the lock, so an edit cannot write back a stale value.
        programme.status = current.status
        programme.lottery_seed, programme.lottery_drawn_at = current.lottery_seed, current.lottery_drawn_at
        if current.lottery_drawn_at and programme.selection != current.selection:
            raise VoucherError(_("The lottery has been drawn: the selection method can no longer change."))
        committed = current.committed_budget()
        if programme.total_budget is not None and programme.total_budget < committed:
            raise VoucherError(
                _("The budget cannot be less than the %(committed)s EUR already committed.")
                % {"committed": _eur(committed)}
            )
    programme.full_clean()
    programme.save()
    audit.record(
        "vouchers.programme." + ("create" if created else "update"),
        actor=_user(acting_user),
        obj=programme,
        organisation=programme.operator,
        data={"total_budget": str(programme.total_budget), "value_rule": programme.value_rule},
    )
    return programme


@transaction.atomic
def save_solution(solution: Solution, *, acting_user: User) -> Solution:
    """Create or update a firm's solution (name, description, price, category)."""
    created = solution.pk is None
    solution.full_clean()
    solution.save()
    audit.record(
        "vouchers.solution." + ("create" if created else "update"),
        actor=_user(acting_user),
        obj=solution,
        organisation=solution.firm,
        data={"price": str(solution.price)},
    )
    return solution
