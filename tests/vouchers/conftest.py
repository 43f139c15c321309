"""Voucher fixtures (the programme and its solution are in tests/conftest.py): an enrolled firm with its
administrator, a firm that is not enrolled, and people to hold vouchers."""

import pytest
from django.core.cache import cache

from livinglab.factories import MembershipFactory, PersonFactory, UserFactory
from livinglab.models import Role


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Failed-lookup counters and once-only mail claims live in the cache: each test starts without any."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partial(programme):
    """Vouchers may be spent in parts, so that amounts are not all round figures."""
    programme.partial_redemption = True
    programme.save(update_fields=["partial_redemption"])
    return programme


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


def mistyped(code: str) -> str:
    """``code`` with its first character changed: the check character catches it."""
    return ("1" if code[0] != "1" else "2") + code[1:]
