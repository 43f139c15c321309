"""Data the voucher benchmarks share, built through the same services as the screens."""

from datetime import timedelta
from decimal import Decimal


def open_fixed_programme(*, funder, operator, face_value: Decimal, count: int, acting_user):
    """An open programme of fixed-value vouchers with budget for exactly ``count`` of them.
    Call after django.setup()."""
    from django.utils import timezone

    from livinglab.models import Channel
    from vouchers import services
    from vouchers.models import Programme

    now, today = timezone.now(), timezone.localdate()
    programme = services.save_programme(
        Programme(
            funder=funder,
            operator=operator,
            channel=Channel.B2C,
            title="Bench home energy vouchers",
            slug="bench-home-energy-vouchers",
            total_budget=face_value * count,
            value_rule=Programme.ValueRule.FIXED,
            face_value=face_value,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=90),
        ),
        acting_user=acting_user,
    )
    return services.change_programme_status(programme, Programme.Status.OPEN, acting_user=acting_user)


def enrolled_firm(programme, *, name: str, email: str, solution: str, price: Decimal, password, admin):
    """An SME whose administrator (with ``password``, a factory value) has a solution approved in
    ``programme`` and has accepted the ground rules that apply to it. Returns (firm, user, solution)."""
    from livinglab import services as core
    from livinglab.factories import OrganisationFactory, PersonFactory, UserFactory
    from livinglab.models import Organisation, Role
    from vouchers import services
    from vouchers.models import Solution

    firm = OrganisationFactory(name=name, kind=Organisation.Kind.SME)
    user = UserFactory(email=email, password=password)
    PersonFactory(user=user, full_name=f"Administrator of {name}")
    core.add_membership(user, firm, Role.FIRM_ADMIN, acting_user=admin)
    offer = services.save_solution(
        Solution(
            firm=firm,
            name=solution,
            description="Installed and serviced by the firm.",
            price=price,
            category=Solution.Category.ENERGY_EFFICIENCY,
        ),
        acting_user=user,
    )
    enrolment = services.apply_for_enrolment(offer, programme, acting_user=user)
    services.decide_enrolment(enrolment, approve=True, acting_user=admin)
    for version in core.pending_ground_rules(user, programme, organisation=firm):
        core.accept_ground_rules(version, organisation=firm, acting_user=user)
    return firm, user, offer
