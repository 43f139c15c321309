"""Voucher fixtures: an open programme run by the cluster for the agency, an enrolled firm with its
administrator, a firm that is not enrolled, and people to hold vouchers."""

from decimal import Decimal

import pytest

from livinglab.factories import MembershipFactory, PersonFactory, UserFactory
from livinglab.models import Role

# The browser fixtures live with the core's journeys; the voucher journey uses the same Chromium set-up.
from tests.livinglab.conftest import browser, page, pytest_runtest_makereport, shoot  # noqa: F401
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory


@pytest.fixture
def programme(cluster, agency):
    """Fixed 500 EUR vouchers, budget 10,000 EUR, one redemption per voucher."""
    return ProgrammeFactory(
        title="Warm homes Bretagne", operator=cluster, funder=agency, total_budget=Decimal("10000.00")
    )


@pytest.fixture
def solution(sme, programme):
    solution = SolutionFactory(firm=sme, name="Heat-pump retrofit", price=Decimal("900.00"))
    EnrolmentFactory(solution=solution, programme=programme)
    return solution


@pytest.fixture
def firm(sme, solution):
    """The SME, approved in the programme with one solution."""
    return sme


@pytest.fixture
def cashier(firm, sme_admin):
    """The person at the firm's counter who redeems vouchers."""
    return sme_admin


@pytest.fixture
def other_firm_cashier(other_sme):
    return MembershipFactory(
        organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory(email="loire@example.org")
    ).user


@pytest.fixture
def holder(db):
    return PersonFactory(full_name="Anne Le Goff")
