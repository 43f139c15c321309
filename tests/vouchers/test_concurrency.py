"""Concurrency claims of the voucher programmes, tested on PostgreSQL with real threads (the harness runs
this file there): a voucher is spent once, a budget is never exceeded, a ceiling is never crossed."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from livinglab import audit
from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import EnterpriseGroup, Organisation, Role
from tests.concurrency import run_together
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory
from vouchers.models import DeMinimisAid, LedgerEntry, Voucher, de_minimis_total

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; the harness runs this on PostgreSQL"
)


def enrolled_firm(programme, name):
    firm = OrganisationFactory(name=name, kind=Organisation.Kind.SME)
    EnrolmentFactory(solution=SolutionFactory(firm=firm), programme=programme)
    user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
    return firm, user


def test_two_firms_redeeming_one_voucher_at_once_succeed_once(transactional_db, programme, staff_user):
    firms = [enrolled_firm(programme, f"Counter {i}") for i in range(6)]
    voucher = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)

    def attempt(i):
        firm, user = firms[i]
        return services.redeem_voucher(
            voucher.code, firm=firm, amount=Decimal("500.00"), idempotency_key=f"till-{i}", acting_user=user
        )

    results = run_together(attempt, len(firms))
    successes = [r for r in results if isinstance(r, LedgerEntry)]
    refusals = [r for r in results if isinstance(r, VoucherError)]
    assert len(successes) == 1 and len(refusals) == len(firms) - 1, results
    assert {r.message for r in refusals} == {"This voucher has already been used."}
    assert voucher.balance() == Decimal("0.00")
    assert LedgerEntry.objects.filter(voucher=voucher, kind="redeem").count() == 1
    assert audit.verify_chain()[1] == []


def test_a_request_repeated_at_once_redeems_once(transactional_db, programme, firm, cashier, staff_user):
    voucher = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    results = run_together(
        lambda i: services.redeem_voucher(
            voucher.code, firm=firm, amount=Decimal("500.00"), idempotency_key="pos-7-42", acting_user=cashier
        ),
        5,
    )
    assert all(isinstance(r, LedgerEntry) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert voucher.balance() == Decimal("0.00")


def test_concurrent_issuance_at_the_edge_of_the_budget_never_exceeds_it(
    transactional_db, cluster, agency, staff_user
):
    programme = ProgrammeFactory(
        operator=cluster, funder=agency, total_budget=Decimal("2000.00"), face_value=Decimal("500.00")
    )
    people = [PersonFactory() for _ in range(12)]
    results = run_together(
        lambda i: services.issue_voucher(programme, people[i], acting_user=staff_user), len(people)
    )
    issued = [r for r in results if isinstance(r, Voucher)]
    refused = [r for r in results if isinstance(r, VoucherError)]
    assert len(issued) == 4 and len(refused) == 8, results
    assert all("fully committed" in r.message for r in refused)
    assert programme.committed_budget() == Decimal("2000.00") == programme.total_budget


def test_one_person_applying_twice_at_once_gets_one_voucher(transactional_db, programme, holder, staff_user):
    results = run_together(lambda i: services.issue_voucher(programme, holder, acting_user=staff_user), 4)
    assert len([r for r in results if isinstance(r, Voucher)]) == 1, results
    assert Voucher.objects.filter(holder=holder).count() == 1
    assert programme.committed_budget() == Decimal("500.00")


def test_concurrent_aid_at_the_edge_of_the_ceiling_never_crosses_it(transactional_db, programme, staff_user):
    group = EnterpriseGroup.objects.create(name="Armor Group")
    firms = [
        OrganisationFactory(name=f"Armor {i}", kind=Organisation.Kind.SME, group=group) for i in range(8)
    ]
    DeMinimisAid.objects.create(
        organisation=firms[0],
        amount=Decimal("280000.00"),
        granted_on=date(2025, 1, 1),
        granting_body="National agency",
        source=DeMinimisAid.Source.DECLARED,
    )
    results = run_together(
        lambda i: services.record_de_minimis_aid(
            firms[i],
            amount=Decimal("6000.00"),
            granted_on=date(2026, 1, 1),
            granting_body="Bretagne Innovation Agency",
            source=DeMinimisAid.Source.PROGRAMME,
            programme=programme,
            acting_user=staff_user,
        ),
        len(firms),
    )
    granted = [r for r in results if isinstance(r, DeMinimisAid)]
    assert len(granted) == 3, results  # 280,000 + 3 × 6,000 = 298,000; a fourth would cross 300,000
    assert de_minimis_total(firms[5], date(2026, 1, 1)) == Decimal("298000.00")
