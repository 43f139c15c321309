"""Concurrent decisions on claims at the edge of the de minimis ceiling, on PostgreSQL with real threads
(the harness runs this file there): the single undertaking's aid never crosses the ceiling."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from livinglab import audit
from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import EnterpriseGroup, Organisation, Role
from tests.concurrency import run_together
from tests.vouchers.test_claims import checked_claim
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import DeMinimisAidFactory, EnrolmentFactory, SolutionFactory
from vouchers.models import ClaimLine, DeMinimisAid, de_minimis_total

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; the harness runs this on PostgreSQL"
)


def linked_firm(programme, group, name):
    firm = OrganisationFactory(name=name, kind=Organisation.Kind.SME, group=group)
    EnrolmentFactory(solution=SolutionFactory(firm=firm), programme=programme)
    user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
    return firm, user


def test_concurrent_approvals_of_linked_firms_claims_never_cross_the_ceiling(
    transactional_db, programme, staff_user, funder
):
    programme.de_minimis_ceiling = Decimal("5000.00")
    programme.save(update_fields=["de_minimis_ceiling"])
    group = EnterpriseGroup.objects.create(name="Armor Group")
    firms = [linked_firm(programme, group, f"Armor {i}") for i in range(2)]
    # Aid the group received two years ago still counts: 3,000 EUR of the 5,000 EUR ceiling is used.
    DeMinimisAidFactory(
        organisation=firms[0][0],
        amount=Decimal("3000.00"),
        granted_on=timezone.localdate() - timedelta(days=730),
    )
    # Four claims (two per firm) of two 500 EUR lines: 4,000 EUR asked for, 2,000 EUR of headroom.
    claims = [
        checked_claim(programme, *firms[i % 2], staff_user, amounts=("500.00", "500.00")) for i in range(4)
    ]
    lines = list(ClaimLine.objects.filter(claim__in=claims).order_by("pk"))

    results = run_together(
        lambda i: services.decide_claim_line(lines[i], approve=True, acting_user=funder), len(lines)
    )

    approved = [r for r in results if isinstance(r, ClaimLine)]
    refused = [r for r in results if isinstance(r, VoucherError)]
    assert len(approved) == 4 and len(refused) == 4, results
    assert all(
        "over the de minimis ceiling" in r.message and "only 0.00 EUR is left" in r.message for r in refused
    )
    today = timezone.localdate()
    assert de_minimis_total(firms[1][0], today) == Decimal("5000.00") == programme.de_minimis_ceiling
    assert DeMinimisAid.objects.filter(source=DeMinimisAid.Source.PROGRAMME).count() == 4
    assert ClaimLine.objects.filter(status=ClaimLine.Status.APPROVED, aid__isnull=False).count() == 4
    assert ClaimLine.objects.filter(status=ClaimLine.Status.PENDING, aid__isnull=True).count() == 4
    assert audit.verify_chain()[1] == []


def test_the_same_line_approved_twice_at_once_is_aid_once(
    transactional_db, programme, firm, cashier, staff_user, funder
):
    line = checked_claim(programme, firm, cashier, staff_user).lines.get()

    results = run_together(lambda i: services.decide_claim_line(line, approve=True, acting_user=funder), 4)

    assert len([r for r in results if isinstance(r, ClaimLine)]) == 1, results
    assert all("already been decided" in r.message for r in results if isinstance(r, VoucherError))
    assert DeMinimisAid.objects.filter(organisation=firm).count() == 1
