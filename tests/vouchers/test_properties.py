"""Property-based: whatever sequence of issue, redeem, reverse, expire and cancel happens, every voucher's
balance equals what the requests that succeeded imply, is the sum of its ledger entries and never negative,
and the programme's committed budget never exceeds its total budget."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import Organisation, Role
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory
from vouchers.models import LedgerEntry, Programme, Voucher

_programme_numbers = itertools.count()

# Amounts near the values that matter (a voucher's value, a partial amount, one cent over) and any other.
cents = st.one_of(
    st.sampled_from(
        [Decimal(a) for a in ("0.01", "100.00", "120.00", "133.33", "300.00", "333.34", "500.01")]
    ),
    st.integers(min_value=1, max_value=60_000).map(lambda n: Decimal(n) / 100),
)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.booleans()),
        st.tuples(st.just("issue"), st.just(True)),
        st.tuples(st.just("redeem"), st.integers(0, 7), cents, st.integers(0, 1), st.integers(0, 2)),
        st.tuples(st.just("redeem"), st.integers(0, 7), cents, st.integers(0, 1), st.integers(0, 2)),
        st.tuples(st.just("reverse"), st.integers(0, 20)),
        st.tuples(st.just("cancel"), st.integers(0, 7)),
        st.tuples(st.just("expire"), st.booleans()),
    ),
    min_size=3,
    max_size=30,
)

programmes = st.fixed_dictionaries(
    {
        "total_budget": st.sampled_from([Decimal("600.00"), Decimal("1000.00"), Decimal("1250.00")]),
        "partial_redemption": st.booleans(),
        "co_funding": st.booleans(),
        "value": st.sampled_from([Decimal("300.00"), Decimal("500.00"), Decimal("333.33")]),
    }
)


def make_world(spec):
    n = next(_programme_numbers)
    cluster = OrganisationFactory(name=f"Cluster {n}", kind=Organisation.Kind.CLUSTER)
    agency = OrganisationFactory(name=f"Agency {n}", kind=Organisation.Kind.FUNDING_AGENCY)
    extra = {}
    if spec["co_funding"]:
        extra = {"co_funding": True, "co_funding_cap": spec["value"], "co_funding_rate": Decimal("0.4000")}
    else:
        extra = {"face_value": spec["value"]}
    programme = ProgrammeFactory(
        title=f"Property programme {n}",
        operator=cluster,
        funder=agency,
        total_budget=spec["total_budget"],
        partial_redemption=spec["partial_redemption"],
        **extra,
    )
    firms = []
    for i in range(2):
        firm = OrganisationFactory(name=f"Firm {n}-{i}", kind=Organisation.Kind.SME)
        EnrolmentFactory(solution=SolutionFactory(firm=firm), programme=programme)
        user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
        firms.append((firm, user))
    people = [PersonFactory() for _ in range(8)]
    return programme, firms, people


def check_invariants(programme, expected):
    programme = Programme.objects.get(pk=programme.pk)
    vouchers = {v.pk: v for v in Voucher.objects.filter(programme=programme).with_balance()}
    assert set(vouchers) == set(expected)
    for pk, voucher in vouchers.items():
        entries = LedgerEntry.objects.filter(voucher_id=pk)
        total = sum((e.amount for e in entries), Decimal("0.00"))
        assert voucher.balance() == voucher.balance_sum == total == expected[pk]
        assert total >= 0
        assert total <= voucher.face_value
        if voucher.status in (Voucher.Status.EXPIRED, Voucher.Status.CANCELLED):
            assert total == 0
    committed = programme.committed_budget()
    assert committed <= programme.total_budget
    # Committed = what is still outstanding on vouchers + what was redeemed and not reversed.
    movements = LedgerEntry.objects.filter(voucher__programme=programme, kind__in=["redeem", "reverse"])
    redeemed = -sum((e.amount for e in movements), Decimal("0.00"))
    assert committed == sum(expected.values(), Decimal("0.00")) + redeemed
    assert committed >= 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=programmes, ops=operations)
@pytest.mark.django_db
def test_ledger_balances_stay_exact_and_budgets_are_never_exceeded(staff_user, spec, ops):
    programme, firms, people = make_world(spec)
    expected: dict[int, Decimal] = {}
    by_person: dict[int, Voucher] = {}
    redemptions: list[tuple[LedgerEntry, object]] = []
    expiry = programme.voucher_expiry()
    for op in ops:
        kind = op[0]
        if kind == "issue":
            # A new applicant, or somebody who already applied.
            person = people[len(by_person) % len(people)] if op[1] else people[0]
            try:
                voucher = services.issue_voucher(programme, person, acting_user=staff_user)
            except VoucherError:
                # Refused only for a second voucher or for lack of budget.
                assert person.pk in by_person or (
                    programme.committed_budget() + programme.voucher_value > programme.total_budget
                )
            else:
                assert person.pk not in by_person
                by_person[person.pk] = voucher
                expected[voucher.pk] = voucher.face_value
        elif kind == "redeem" and by_person:
            voucher = list(by_person.values())[op[1] % len(by_person)]
            firm, user = firms[op[3]]
            amount = op[2]
            price = (amount * op[4] + amount * 3).quantize(Decimal("0.01")) if spec["co_funding"] else None
            before = expected[voucher.pk]
            try:
                entry = services.redeem_voucher(
                    voucher.code,
                    firm=firm,
                    amount=amount,
                    idempotency_key=f"k{len(redemptions)}-{op}",
                    acting_user=user,
                    purchase_price=price,
                )
            except VoucherError:
                pass
            else:
                assert amount <= before
                expected[voucher.pk] = before - amount
                redemptions.append((entry, user))
        elif kind == "reverse" and redemptions:
            entry, user = redemptions[op[1] % len(redemptions)]
            try:
                services.reverse_redemption(entry, acting_user=user)
            except VoucherError:
                assert LedgerEntry.objects.filter(reverses=entry).exists()
            else:
                voucher = Voucher.objects.get(pk=entry.voucher_id)
                released = voucher.status in (Voucher.Status.EXPIRED, Voucher.Status.CANCELLED)
                expected[voucher.pk] = Decimal("0.00") if released else expected[voucher.pk] - entry.amount
        elif kind == "cancel" and by_person:
            voucher = list(by_person.values())[op[1] % len(by_person)]
            try:
                services.cancel_voucher(voucher, acting_user=staff_user)
            except VoucherError:
                pass
            else:
                expected[voucher.pk] = Decimal("0.00")
        elif kind == "expire" and op[1]:
            services.expire_vouchers(expiry)
            for voucher in Voucher.objects.filter(programme=programme):
                expected[voucher.pk] = Decimal("0.00")
        check_invariants(programme, expected)
