"""Voucher services: issuance within budget, exactly-once redemption, reversal, expiry, cancellation,
programme lifecycle and the de minimis ceiling."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone

from livinglab import audit
from livinglab import services as core
from livinglab.errors import GroundRulesRequired
from livinglab.factories import (
    GroundRulesFactory,
    GroundRulesVersionFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import AuditEntry, EnterpriseGroup, Organisation, ScopedDocument
from vouchers import services
from vouchers.codes import generate_code
from vouchers.errors import VoucherError
from vouchers.factories import (
    DeMinimisAidFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    SolutionFactory,
    VoucherFactory,
)
from vouchers.models import (
    DeMinimisAid,
    Enrolment,
    LedgerEntry,
    Programme,
    Voucher,
    de_minimis_headroom,
    de_minimis_total,
    de_minimis_window,
)

EUR = Decimal


def redeem(voucher, firm, user, amount, key=None, **kwargs):
    return services.redeem_voucher(
        voucher.code if isinstance(voucher, Voucher) else voucher,
        firm=firm,
        amount=EUR(amount),
        idempotency_key=key or uuid.uuid4().hex,
        acting_user=user,
        **kwargs,
    )


def refusal(callable_, *args, **kwargs) -> str:
    with pytest.raises(VoucherError) as caught:
        callable_(*args, **kwargs)
    return str(caught.value.message)


# ------------------------------------------------------------------------------------------------ issuance


def test_issue_voucher_commits_its_face_value_and_writes_the_issue_entry(programme, holder, staff_user):
    voucher = services.issue_voucher(programme, holder, acting_user=staff_user)
    assert voucher.balance() == EUR("500.00")
    assert voucher.expires_at == programme.voucher_expiry()
    assert list(voucher.entries.values_list("kind", "amount")) == [("issue", EUR("500.00"))]
    assert programme.committed_budget() == EUR("500.00")
    assert AuditEntry.objects.filter(action="vouchers.voucher.issue", object_id=str(voucher.pk)).exists()
    assert voucher.code not in str(voucher)  # the code is a bearer secret, kept out of the audit trail


def test_issue_voucher_mails_the_holder_their_voucher_pdf_once_committed(
    programme, holder, staff_user, django_capture_on_commit_callbacks
):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        voucher = services.issue_voucher(programme, holder, acting_user=staff_user)
    assert [m.to for m in mail.outbox] == [[holder.user.email]]
    _filename, content, mimetype = mail.outbox[0].attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert voucher.code not in mail.outbox[0].body  # the code travels only inside the PDF


def test_issue_voucher_refuses_a_second_voucher_for_the_same_person(programme, holder, staff_user):
    services.issue_voucher(programme, holder, acting_user=staff_user)
    reason = refusal(services.issue_voucher, programme, holder, acting_user=staff_user)
    assert "one voucher per person" in reason
    assert Voucher.objects.filter(holder=holder).count() == 1


def test_the_database_also_refuses_a_second_voucher_for_the_same_person(programme, holder):
    VoucherFactory(programme=programme, holder=holder)
    with pytest.raises(IntegrityError), transaction.atomic():
        VoucherFactory(programme=programme, holder=holder)


def test_issue_voucher_refuses_when_the_budget_would_be_exceeded(cluster, agency, staff_user):
    programme = ProgrammeFactory(
        operator=cluster, funder=agency, total_budget=EUR("1200.00"), face_value=EUR("500.00")
    )
    services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    reason = refusal(services.issue_voucher, programme, PersonFactory(), acting_user=staff_user)
    assert "fully committed" in reason and "200.00" in reason
    assert programme.committed_budget() == EUR("1000.00")
    assert Voucher.objects.filter(programme=programme).count() == 2


def test_issue_voucher_commits_the_cap_of_a_co_funding_programme(cluster, agency, holder, staff_user):
    programme = ProgrammeFactory(operator=cluster, funder=agency, co_funding=True)
    voucher = services.issue_voucher(programme, holder, acting_user=staff_user)
    assert voucher.face_value == EUR("1500.00") == programme.committed_budget()


@pytest.mark.parametrize(
    "changes",
    [
        {"status": Programme.Status.DRAFT},
        {"status": Programme.Status.CLOSED},
        {"opens_at": timezone.now() + timedelta(days=1), "closes_at": timezone.now() + timedelta(days=2)},
        {"opens_at": timezone.now() - timedelta(days=9), "closes_at": timezone.now() - timedelta(days=1)},
    ],
    ids=["draft", "closed", "window-not-yet-open", "window-passed"],
)
def test_issue_voucher_refuses_outside_an_open_application_window(programme, holder, staff_user, changes):
    Programme.objects.filter(pk=programme.pk).update(**changes)
    reason = refusal(services.issue_voucher, programme, holder, acting_user=staff_user)
    assert "not open for applications" in reason
    assert not Voucher.objects.exists()


# ---------------------------------------------------------------------------------------------- redemption


@pytest.fixture
def voucher(programme, holder, staff_user):
    return services.issue_voucher(programme, holder, acting_user=staff_user)


def test_redeem_voucher_spends_it_once_and_writes_a_negative_entry(voucher, firm, cashier, solution):
    entry = redeem(voucher, firm, cashier, "500.00", solution=solution)
    voucher.refresh_from_db()
    assert entry.amount == EUR("-500.00") and entry.firm == firm and entry.solution == solution
    assert voucher.balance() == EUR("0.00")
    assert voucher.status == Voucher.Status.REDEEMED
    assert AuditEntry.objects.filter(action="vouchers.voucher.redeem", organisation=firm).count() == 1
    assert audit.verify_chain()[1] == []


def test_redeem_voucher_accepts_the_code_as_people_type_it(voucher, firm, cashier):
    typed = voucher.formatted_code.lower().replace("-", " ").replace("0", "o")
    redeem(typed, firm, cashier, "500.00")
    assert voucher.balance() == 0


def test_redeem_voucher_refuses_a_mistyped_code_before_looking_it_up(voucher, firm, cashier):
    wrong = voucher.code[:-1] + ("0" if voucher.code[-1] != "0" else "1")
    with CaptureQueriesContext(connection) as queries:
        reason = refusal(redeem, wrong, firm, cashier, "10.00")
    assert "typing mistakes" in reason
    assert not [q for q in queries.captured_queries if "vouchers_voucher" in q["sql"]]
    assert voucher.balance() == EUR("500.00")


def test_redeem_voucher_refuses_an_unknown_code(firm, cashier):
    assert refusal(redeem, generate_code(), firm, cashier, "10.00") == "No voucher has this code."


def test_redeem_voucher_refuses_a_second_redemption(voucher, firm, cashier):
    redeem(voucher, firm, cashier, "500.00")
    assert refusal(redeem, voucher, firm, cashier, "1.00") == "This voucher has already been used."
    assert voucher.balance() == EUR("0.00")


def test_without_partial_redemption_a_voucher_is_used_once_whatever_the_amount(voucher, firm, cashier):
    redeem(voucher, firm, cashier, "300.00")
    assert refusal(redeem, voucher, firm, cashier, "200.00") == "This voucher has already been used."
    assert voucher.balance() == EUR("200.00")


def test_partial_redemption_spends_a_voucher_in_several_purchases(voucher, programme, firm, cashier):
    Programme.objects.filter(pk=programme.pk).update(partial_redemption=True)
    redeem(voucher, firm, cashier, "300.00")
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED
    reason = refusal(redeem, voucher, firm, cashier, "200.01")
    assert "only 200.00 EUR left" in reason
    redeem(voucher, firm, cashier, "200.00")
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.REDEEMED and voucher.balance() == 0
    assert refusal(redeem, voucher, firm, cashier, "0.01") == "This voucher has already been used."


def test_redeem_voucher_refuses_more_than_the_balance(voucher, firm, cashier):
    assert "only 500.00 EUR left" in refusal(redeem, voucher, firm, cashier, "500.01")
    assert voucher.balance() == EUR("500.00")


@pytest.mark.parametrize("amount", ["0", "-5.00", "10.001", "NaN", "ten"])
def test_redeem_voucher_refuses_amounts_that_are_not_positive_whole_cents(voucher, firm, cashier, amount):
    with pytest.raises(VoucherError):
        services.redeem_voucher(
            voucher.code, firm=firm, amount=amount, idempotency_key="k1", acting_user=cashier
        )
    assert voucher.balance() == EUR("500.00")


def test_redeem_voucher_refuses_a_cancelled_voucher(voucher, firm, cashier, staff_user):
    services.cancel_voucher(voucher, acting_user=staff_user)
    assert refusal(redeem, voucher, firm, cashier, "10.00") == "This voucher has been cancelled."


def test_redeem_voucher_refuses_a_voucher_past_its_validity(programme, firm, cashier):
    voucher = VoucherFactory(programme=programme, expires_at=timezone.now() - timedelta(seconds=1))
    last_day = timezone.localdate(voucher.expires_at - timedelta(microseconds=1))
    assert refusal(redeem, voucher, firm, cashier, "10.00") == (
        f"This voucher was valid until {formats.date_format(last_day, 'DATE_FORMAT')}."
    )
    assert voucher.balance() == EUR("500.00")


def test_redeem_voucher_refuses_before_the_first_valid_day(programme, voucher, firm, cashier):
    Programme.objects.filter(pk=programme.pk).update(valid_from=timezone.localdate() + timedelta(days=3))
    assert "can be used from" in refusal(redeem, voucher, firm, cashier, "10.00")


def test_redeem_voucher_refuses_a_firm_not_approved_in_the_programme(
    voucher, programme, other_sme, other_firm_cashier
):
    reason = refusal(redeem, voucher, other_sme, other_firm_cashier, "10.00")
    assert reason == f"{other_sme} does not take part in the programme {programme}."
    EnrolmentFactory(solution=SolutionFactory(firm=other_sme), programme=programme, status="applied")
    assert "does not take part" in refusal(redeem, voucher, other_sme, other_firm_cashier, "10.00")
    assert voucher.balance() == EUR("500.00")


def test_redeem_voucher_refuses_a_code_of_another_programme(voucher, cluster, agency, firm, cashier):
    """The firm is approved elsewhere, not in the programme the voucher belongs to."""
    elsewhere = ProgrammeFactory(operator=cluster, funder=agency, title="Digital first steps")
    Enrolment.objects.filter(solution__firm=firm).update(programme=elsewhere)
    assert "does not take part" in refusal(redeem, voucher, firm, cashier, "10.00")


def test_redeem_voucher_refuses_somebody_who_does_not_work_for_the_firm(voucher, firm, other_firm_cashier):
    assert "cannot act on vouchers" in refusal(redeem, voucher, firm, other_firm_cashier, "10.00")


def test_redeem_voucher_refuses_a_solution_the_firm_has_not_enrolled(voucher, firm, cashier):
    stray = SolutionFactory(firm=firm, name="Unreviewed gadget")
    assert "not an approved solution" in refusal(redeem, voucher, firm, cashier, "10.00", solution=stray)


def test_redeem_voucher_waits_for_the_firm_to_accept_the_programme_ground_rules(
    voucher, programme, firm, cashier
):
    rules = GroundRulesFactory(
        title="Voucher programme rules", scope_kind=ScopedDocument.ScopeKind.OBJECT, scope_object=programme
    )
    version = GroundRulesVersionFactory(rules=rules)
    with pytest.raises(GroundRulesRequired):
        redeem(voucher, firm, cashier, "10.00")
    core.accept_ground_rules(version, organisation=firm, acting_user=cashier)
    redeem(voucher, firm, cashier, "10.00")
    assert voucher.balance() == EUR("490.00")


def test_a_co_funding_voucher_pays_at_most_its_rate_of_the_price(
    cluster, agency, holder, staff_user, sme, cashier
):
    programme = ProgrammeFactory(operator=cluster, funder=agency, co_funding=True, partial_redemption=True)
    EnrolmentFactory(solution=SolutionFactory(firm=sme), programme=programme)
    voucher = services.issue_voucher(programme, holder, acting_user=staff_user)
    assert "purchase price" in refusal(redeem, voucher, sme, cashier, "100.00")
    reason = refusal(redeem, voucher, sme, cashier, "450.01", purchase_price=EUR("900.01"))
    # Half of 900.01, rounded down to the cent.
    assert reason == "The voucher covers at most 450.00 EUR of this purchase (50% of the price)."
    redeem(voucher, sme, cashier, "450.00", purchase_price=EUR("900.01"))
    # The cap: a 4,000 EUR purchase would be 2,000 EUR at 50 %, but only 1,050 EUR of the cap is left.
    reason = refusal(redeem, voucher, sme, cashier, "2000.00", purchase_price=EUR("4000.00"))
    assert reason == "The voucher has only 1,050.00 EUR left."
    redeem(voucher, sme, cashier, "1050.00", purchase_price=EUR("4000.00"))
    assert voucher.balance() == 0


def test_a_fixed_voucher_never_pays_more_than_the_purchase_price(voucher, firm, cashier):
    reason = refusal(redeem, voucher, firm, cashier, "500.00", purchase_price=EUR("120.00"))
    assert "more than the purchase price" in reason


# -------------------------------------------------------------------------------------------- exactly once


def test_the_same_redemption_request_sent_twice_redeems_once(voucher, firm, cashier):
    first = redeem(voucher, firm, cashier, "500.00", key="pos-42-0001")
    again = redeem(voucher, firm, cashier, "500.00", key="pos-42-0001")
    assert again.pk == first.pk
    assert voucher.entries.filter(kind="redeem").count() == 1
    assert AuditEntry.objects.filter(action="vouchers.voucher.redeem").count() == 1
    assert voucher.balance() == 0


def test_a_different_request_reusing_a_key_is_refused(programme, voucher, firm, cashier, staff_user):
    Programme.objects.filter(pk=programme.pk).update(partial_redemption=True)
    redeem(voucher, firm, cashier, "100.00", key="pos-42-0002")
    assert "already used for a different redemption" in refusal(
        redeem, voucher, firm, cashier, "150.00", key="pos-42-0002"
    )
    other = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    assert "already used" in refusal(redeem, other, firm, cashier, "100.00", key="pos-42-0002")
    assert voucher.balance() == EUR("400.00") and other.balance() == EUR("500.00")


def test_request_keys_belong_to_one_firm(
    programme, voucher, firm, cashier, other_sme, other_firm_cashier, staff_user
):
    EnrolmentFactory(solution=SolutionFactory(firm=other_sme), programme=programme)
    other = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    redeem(voucher, firm, cashier, "500.00", key="1")
    redeem(other, other_sme, other_firm_cashier, "500.00", key="1")
    assert other.balance() == 0


# ------------------------------------------------------------------------------------------------ reversal


def test_reverse_redemption_gives_the_value_back_to_the_voucher(voucher, firm, cashier):
    entry = redeem(voucher, firm, cashier, "500.00")
    reversal = services.reverse_redemption(entry, acting_user=cashier)
    voucher.refresh_from_db()
    assert reversal.amount == EUR("500.00") and reversal.reverses == entry
    assert voucher.balance() == EUR("500.00") and voucher.status == Voucher.Status.ISSUED
    redeem(voucher, firm, cashier, "450.00")
    assert voucher.balance() == EUR("50.00")


def test_a_redemption_is_reversed_only_once(voucher, firm, cashier):
    entry = redeem(voucher, firm, cashier, "500.00")
    services.reverse_redemption(entry, acting_user=cashier)
    assert "already been reversed" in refusal(services.reverse_redemption, entry, acting_user=cashier)
    assert voucher.balance() == EUR("500.00")


def test_reverse_redemption_refuses_after_the_time_limit(voucher, firm, cashier, monkeypatch):
    entry = redeem(voucher, firm, cashier, "500.00")
    later = entry.created_at + timedelta(minutes=30, seconds=1)
    monkeypatch.setattr(services.ledger.timezone, "now", lambda: later)
    assert "within 30 minutes" in refusal(services.reverse_redemption, entry, acting_user=cashier)
    assert voucher.balance() == 0


def test_reverse_redemption_refuses_another_firm_and_other_entries(
    voucher, firm, cashier, other_firm_cashier
):
    entry = redeem(voucher, firm, cashier, "500.00")
    assert "cannot act" in refusal(services.reverse_redemption, entry, acting_user=other_firm_cashier)
    issue = voucher.entries.get(kind="issue")
    assert "Only a redemption" in refusal(services.reverse_redemption, issue, acting_user=cashier)


def test_a_reversal_after_expiry_releases_the_value_to_the_budget(voucher, programme, firm, cashier):
    entry = redeem(voucher, firm, cashier, "500.00")
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now())
    services.reverse_redemption(entry, acting_user=cashier)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.EXPIRED
    assert voucher.balance() == 0
    assert programme.committed_budget() == 0


# ---------------------------------------------------------------------------------- expiry and cancellation


def test_expire_vouchers_releases_their_budget_and_is_idempotent(programme, staff_user, firm, cashier):
    unused = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    used_in_part = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    redeem(used_in_part, firm, cashier, "200.00")
    fully_used = services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    redeem(fully_used, firm, cashier, "500.00")
    assert programme.committed_budget() == EUR("1500.00")

    assert services.expire_vouchers(timezone.now()) == 0  # nothing is due yet
    after = programme.voucher_expiry()
    assert services.expire_vouchers(after) == 2
    unused.refresh_from_db()
    used_in_part.refresh_from_db()
    assert unused.status == Voucher.Status.EXPIRED and unused.balance() == 0
    # Used once: it stays "redeemed"; the 300 EUR it did not use goes back to the budget.
    assert used_in_part.status == Voucher.Status.REDEEMED and used_in_part.balance() == 0
    assert programme.committed_budget() == EUR("700.00")  # what was actually redeemed

    entries = LedgerEntry.objects.count()
    assert services.expire_vouchers(after) == 0
    assert services.expire_vouchers(after + timedelta(days=30)) == 0
    assert LedgerEntry.objects.count() == entries
    assert AuditEntry.objects.filter(action="vouchers.voucher.expire").count() == 2


def test_expired_budget_can_be_issued_again(cluster, agency, staff_user):
    programme = ProgrammeFactory(operator=cluster, funder=agency, total_budget=EUR("500.00"))
    early = VoucherFactory(programme=programme, expires_at=timezone.now() - timedelta(minutes=1))
    assert "fully committed" in refusal(
        services.issue_voucher, programme, PersonFactory(), acting_user=staff_user
    )
    services.expire_vouchers()
    early.refresh_from_db()
    assert early.status == Voucher.Status.EXPIRED
    services.issue_voucher(programme, PersonFactory(), acting_user=staff_user)
    assert programme.committed_budget() == EUR("500.00")


def test_cancel_voucher_releases_its_value_and_is_final(programme, voucher, staff_user):
    services.cancel_voucher(voucher, acting_user=staff_user, reason="Issued to the wrong person")
    assert voucher.balance() == 0 and programme.committed_budget() == 0
    assert "already been cancelled" in refusal(services.cancel_voucher, voucher, acting_user=staff_user)
    entry = AuditEntry.objects.get(action="vouchers.voucher.cancel")
    assert entry.data["reason"] == "Issued to the wrong person"


def test_a_used_voucher_cannot_be_cancelled(voucher, firm, cashier, staff_user):
    redeem(voucher, firm, cashier, "500.00")
    assert "cannot be cancelled" in refusal(services.cancel_voucher, voucher, acting_user=staff_user)


def test_ledger_entries_cannot_be_changed_or_deleted(voucher):
    entry = voucher.entries.get()
    entry.amount = EUR("5000.00")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    assert voucher.balance() == EUR("500.00")


def test_the_database_refuses_an_entry_whose_sign_contradicts_its_kind(voucher, firm):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(voucher=voucher, kind="redeem", amount=EUR("10.00"), firm=firm)


# ------------------------------------------------------------------------------------------ programme states


def test_a_programme_moves_forward_through_its_states_only(programme, staff_user):
    assert "cannot become draft" in refusal(
        services.change_programme_status, programme, Programme.Status.DRAFT, acting_user=staff_user
    )
    assert "cannot become finished" in refusal(
        services.change_programme_status, programme, Programme.Status.FINISHED, acting_user=staff_user
    )
    services.change_programme_status(programme, Programme.Status.CLOSED, acting_user=staff_user)
    services.change_programme_status(programme, Programme.Status.FINISHED, acting_user=staff_user)
    programme.refresh_from_db()
    assert programme.status == Programme.Status.FINISHED
    assert AuditEntry.objects.filter(action="vouchers.programme.change_status").count() == 2


def test_a_closed_programme_still_honours_its_vouchers(programme, voucher, firm, cashier, staff_user):
    services.change_programme_status(programme, Programme.Status.CLOSED, acting_user=staff_user)
    redeem(voucher, firm, cashier, "500.00")
    services.change_programme_status(programme, Programme.Status.FINISHED, acting_user=staff_user)
    other = VoucherFactory(programme=programme)
    assert "does not accept redemptions" in refusal(redeem, other, firm, cashier, "10.00")


def test_a_firm_applies_and_the_operator_approves_before_it_can_redeem(
    voucher, programme, other_sme, other_firm_cashier, staff_user
):
    solution = SolutionFactory(firm=other_sme)
    with pytest.raises(VoucherError):
        services.apply_for_enrolment(solution, programme, acting_user=UserFactory())
    enrolment = services.apply_for_enrolment(solution, programme, acting_user=other_firm_cashier)
    assert "does not take part" in refusal(redeem, voucher, other_sme, other_firm_cashier, "10.00")
    services.decide_enrolment(enrolment, approve=True, acting_user=staff_user)
    redeem(voucher, other_sme, other_firm_cashier, "10.00")
    assert voucher.balance() == EUR("490.00")


# ------------------------------------------------------------------------------------------------ de minimis


def test_headroom_counts_linked_enterprises_together(sme, other_sme):
    group = EnterpriseGroup.objects.create(name="Breizh Holding")
    Organisation.objects.filter(pk__in=[sme.pk, other_sme.pk]).update(group=group)
    sme.refresh_from_db()
    outsider = OrganisationFactory(name="Unlinked Ltd")
    DeMinimisAidFactory(organisation=sme, amount=EUR("100000.00"), granted_on=date(2025, 6, 1))
    DeMinimisAidFactory(organisation=other_sme, amount=EUR("150000.00"), granted_on=date(2026, 1, 1))
    DeMinimisAidFactory(organisation=outsider, amount=EUR("290000.00"), granted_on=date(2026, 1, 1))
    assert de_minimis_total(sme, date(2026, 6, 1)) == EUR("250000.00")
    assert de_minimis_headroom(sme, date(2026, 6, 1), EUR("300000.00")) == EUR("50000.00")
    assert de_minimis_headroom(outsider, date(2026, 6, 1)) == EUR("10000.00")


@pytest.mark.parametrize(
    ("on_date", "first_day"),
    [
        (date(2026, 6, 15), date(2023, 6, 16)),
        (date(2028, 2, 29), date(2025, 3, 1)),  # three years before a leap day: 28 Feb 2025
        (date(2027, 2, 28), date(2024, 2, 29)),  # the window starts on a leap day
        (date(2027, 3, 1), date(2024, 3, 2)),
    ],
)
def test_the_rolling_window_is_the_three_years_ending_on_the_day(sme, on_date, first_day):
    assert de_minimis_window(on_date) == (first_day, on_date)
    DeMinimisAidFactory(organisation=sme, amount=EUR("1.00"), granted_on=first_day - timedelta(days=1))
    DeMinimisAidFactory(organisation=sme, amount=EUR("10.00"), granted_on=first_day)
    DeMinimisAidFactory(organisation=sme, amount=EUR("100.00"), granted_on=on_date)
    DeMinimisAidFactory(organisation=sme, amount=EUR("1000.00"), granted_on=on_date + timedelta(days=1))
    assert de_minimis_total(sme, on_date) == EUR("110.00")


def test_programme_aid_over_the_ceiling_is_refused_with_the_headroom(programme, sme, staff_user):
    DeMinimisAidFactory(organisation=sme, amount=EUR("299000.00"), granted_on=date(2025, 1, 10))
    reason = refusal(
        services.record_de_minimis_aid,
        sme,
        amount=EUR("1000.01"),
        granted_on=date(2026, 1, 10),
        granting_body="Bretagne Innovation Agency",
        source=DeMinimisAid.Source.PROGRAMME,
        programme=programme,
        acting_user=staff_user,
    )
    assert "over the de minimis ceiling of 300,000.00 EUR" in reason
    assert reason.endswith("only 1,000.00 EUR is left.")
    services.record_de_minimis_aid(
        sme,
        amount=EUR("1000.00"),
        granted_on=date(2026, 1, 10),
        granting_body="Bretagne Innovation Agency",
        source=DeMinimisAid.Source.PROGRAMME,
        programme=programme,
        acting_user=staff_user,
    )
    assert de_minimis_headroom(sme, date(2026, 1, 10)) == 0
    # Three years after the first grant, that aid leaves the window and headroom comes back.
    assert de_minimis_headroom(sme, date(2028, 1, 10)) == EUR("299000.00")


def test_programme_aid_is_checked_against_later_windows_too(programme, sme, staff_user):
    """A grant dated before aid already recorded must not push any window containing both over."""
    DeMinimisAidFactory(organisation=sme, amount=EUR("250000.00"), granted_on=date(2026, 9, 1))
    with pytest.raises(VoucherError):
        services.record_de_minimis_aid(
            sme,
            amount=EUR("60000.00"),
            granted_on=date(2026, 3, 1),
            granting_body="Agency",
            source=DeMinimisAid.Source.PROGRAMME,
            programme=programme,
            acting_user=staff_user,
        )


def test_a_programme_may_set_its_own_ceiling(programme, sme, staff_user):
    Programme.objects.filter(pk=programme.pk).update(de_minimis_ceiling=EUR("50000.00"))
    programme.refresh_from_db()
    with pytest.raises(VoucherError):
        services.record_de_minimis_aid(
            sme,
            amount=EUR("50000.01"),
            granted_on=date(2026, 3, 1),
            granting_body="Agency",
            source=DeMinimisAid.Source.PROGRAMME,
            programme=programme,
            acting_user=staff_user,
        )


def test_declared_aid_is_recorded_even_beyond_the_ceiling(sme, sme_admin):
    aid = services.record_de_minimis_aid(
        sme,
        amount=EUR("320000.00"),
        granted_on=date(2025, 5, 5),
        granting_body="National export agency",
        source=DeMinimisAid.Source.DECLARED,
        acting_user=sme_admin,
    )
    assert de_minimis_headroom(sme, date(2025, 5, 5)) == 0
    assert AuditEntry.objects.filter(action="vouchers.deminimisaid.record", object_id=str(aid.pk)).exists()


# ---------------------------------------------------------------------------------------------- programmes


def test_a_programme_is_funded_by_an_agency_run_by_a_cluster_for_b2c_or_b2b(programme, sme):
    programme.full_clean()
    programme.funder, programme.operator, programme.channel = sme, sme, "b2g"
    programme.value_rule, programme.face_value = Programme.ValueRule.CO_FUNDING, None
    with pytest.raises(ValidationError) as caught:
        programme.full_clean()
    assert set(caught.value.message_dict) >= {
        "funder",
        "operator",
        "channel",
        "co_funding_rate",
        "co_funding_cap",
    }


def test_the_database_refuses_a_programme_without_its_value_rule(programme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Programme.objects.filter(pk=programme.pk).update(face_value=None)
