"""The staff admin for vouchers: everything it changes goes through the services, it lists money without
N+1 queries, and the ledger cannot be changed through it by anyone."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from livinglab.factories import PersonFactory, UserFactory
from livinglab.models import AuditEntry
from tests.conftest import with_totp
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory, VoucherFactory
from vouchers.models import DeMinimisAid, Enrolment, LedgerEntry, Programme, Voucher


@pytest.fixture
def staff_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True)))
    return client


def redeem(voucher, amount, firm):
    """A redemption written straight into the ledger, as the redemption service would."""
    return LedgerEntry.objects.create(
        voucher=voucher, kind=LedgerEntry.Kind.REDEEM, amount=-amount, firm=firm
    )


def money(amount: str) -> str:
    return formats.localize(Decimal(amount))


def test_creating_a_programme_in_the_admin_saves_a_draft_and_audits_it(staff_client, cluster, agency):
    now = timezone.localtime()
    response = staff_client.post(
        reverse("programme:add"),
        {
            "title": "Digital first steps",
            "slug": "digital-first-steps",
            "funder": agency.pk,
            "operator": cluster.pk,
            "channel": "b2b",
            "total_budget": "25000.00",
            "value_rule": "fixed",
            "face_value": "1000.00",
            "opens_at": now.strftime("%Y-%m-%d %H:%M"),
            "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
            "valid_from": now.date().isoformat(),
            "valid_until": (now.date() + timedelta(days=180)).isoformat(),
            "de_minimis_ceiling": "300000.00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    programme = Programme.objects.get(slug="digital-first-steps")
    assert programme.status == Programme.Status.DRAFT
    assert programme.total_budget == Decimal("25000.00")
    assert AuditEntry.objects.filter(action="vouchers.programme.create", object_id=str(programme.pk)).exists()


def test_the_admin_refuses_a_programme_whose_value_rule_is_incomplete(staff_client, cluster, agency):
    now = timezone.localtime()
    response = staff_client.post(
        reverse("programme:add"),
        {
            "title": "No value",
            "slug": "no-value",
            "funder": agency.pk,
            "operator": cluster.pk,
            "channel": "b2c",
            "total_budget": "1000.00",
            "value_rule": "fixed",
            "opens_at": now.strftime("%Y-%m-%d %H:%M"),
            "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%d %H:%M"),
            "valid_from": now.date().isoformat(),
            "valid_until": (now.date() + timedelta(days=180)).isoformat(),
            "de_minimis_ceiling": "300000.00",
        },
    )
    assert response.status_code == 200
    assert "A fixed-value programme needs a face value." in response.content.decode()
    assert not Programme.objects.filter(slug="no-value").exists()


def test_the_programme_list_shows_committed_and_redeemed_budget(staff_client, programme, sme):
    first, _second = VoucherFactory(programme=programme), VoucherFactory(programme=programme)
    redeem(first, Decimal("200.00"), sme)
    response = staff_client.get(reverse("programme:index"))
    assert response.status_code == 200
    listed = {p.pk: p for p in response.context["object_list"]}
    assert listed[programme.pk].committed == Decimal("1000.00")
    assert listed[programme.pk].redeemed == Decimal("200.00")
    html = response.content.decode()
    assert money("1000.00") in html and money("200.00") in html


def test_the_programme_list_runs_the_same_number_of_queries_for_2_and_10_programmes(staff_client, sme):
    def count_queries():
        staff_client.get(reverse("programme:index"))  # warm caches (content types, site)
        with CaptureQueriesContext(connection) as queries:
            response = staff_client.get(reverse("programme:index"))
        assert response.status_code == 200
        return len(queries), len(response.context["object_list"])

    def add_programmes(n):
        for _ in range(n):
            programme = ProgrammeFactory()
            voucher = VoucherFactory(programme=programme)
            redeem(voucher, Decimal("100.00"), sme)

    add_programmes(2)
    with_two, listed_two = count_queries()
    add_programmes(8)
    with_ten, listed_ten = count_queries()
    assert (listed_two, listed_ten) == (2, 10)
    assert with_ten == with_two


def test_changing_a_programme_status_refuses_an_invalid_move_with_the_reason(staff_client, programme):
    response = staff_client.post(reverse("programme:status", args=[programme.pk]), {"status": "draft"})
    assert response.status_code == 200
    assert "cannot become draft" in response.content.decode()
    programme.refresh_from_db()
    assert programme.status == Programme.Status.OPEN

    response = staff_client.post(reverse("programme:status", args=[programme.pk]), {"status": "closed"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.status == Programme.Status.CLOSED
    assert AuditEntry.objects.filter(action="vouchers.programme.change_status").count() == 1


def test_issuing_a_voucher_beyond_the_budget_shows_the_refusal_and_creates_nothing(
    staff_client, cluster, agency
):
    programme = ProgrammeFactory(
        title="Small fund", operator=cluster, funder=agency, total_budget=Decimal("500.00")
    )
    VoucherFactory(programme=programme)  # commits the whole budget
    newcomer = PersonFactory()
    entries = LedgerEntry.objects.count()

    response = staff_client.post(reverse("voucher:add"), {"programme": programme.pk, "holder": newcomer.pk})

    assert response.status_code == 200
    assert "budget is fully committed" in response.content.decode()
    assert not Voucher.objects.filter(holder=newcomer).exists()
    assert LedgerEntry.objects.count() == entries


def test_issuing_a_voucher_in_the_admin_commits_its_value(staff_client, programme, holder):
    response = staff_client.post(reverse("voucher:add"), {"programme": programme.pk, "holder": holder.pk})
    assert response.status_code == 302
    voucher = Voucher.objects.get(holder=holder)
    assert voucher.balance() == Decimal("500.00")
    assert programme.remaining_budget() == Decimal("9500.00")


def test_the_voucher_list_masks_codes_and_pseudonymises_holders(staff_client, programme, holder):
    voucher = VoucherFactory(programme=programme, holder=holder)
    html = staff_client.get(reverse("voucher:index")).content.decode()
    assert "Issue a voucher" in html
    assert voucher.formatted_code[-6:] in html
    assert voucher.formatted_code not in html and voucher.code not in html
    assert f"person #{holder.pk}" in html
    assert holder.full_name not in html
    inspect = staff_client.get(reverse("voucher:inspect", args=[voucher.pk])).content.decode()
    assert voucher.formatted_code not in inspect and holder.full_name not in inspect


def test_cancelling_a_voucher_in_the_admin_releases_its_budget(staff_client, programme, holder):
    voucher = VoucherFactory(programme=programme, holder=holder)
    assert programme.remaining_budget() == Decimal("9500.00")

    response = staff_client.post(
        reverse("voucher:cancel", args=[voucher.pk]), {"reason": "Holder moved out of the region"}
    )

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.CANCELLED
    assert voucher.balance() == Decimal("0.00")
    assert programme.remaining_budget() == Decimal("10000.00")
    entry = AuditEntry.objects.get(action="vouchers.voucher.cancel")
    assert entry.data["reason"] == "Holder moved out of the region"


def test_cancelling_a_voucher_twice_shows_the_refusal(staff_client, programme, holder):
    voucher = VoucherFactory(programme=programme, holder=holder, status=Voucher.Status.CANCELLED)
    response = staff_client.post(reverse("voucher:cancel", args=[voucher.pk]), {"reason": "Again"})
    assert response.status_code == 200
    assert "already been cancelled" in response.content.decode()
    assert not LedgerEntry.objects.filter(voucher=voucher, kind=LedgerEntry.Kind.CANCEL).exists()


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_nobody_edits_or_deletes_a_ledger_entry_in_the_admin(who, staff_client, superuser_client, programme):
    client = staff_client if who == "staff" else superuser_client
    voucher = VoucherFactory(programme=programme)
    entry = LedgerEntry.objects.get(voucher=voucher)
    assert client.get(reverse("ledgerentry:index")).status_code == 200

    for name in ("ledgerentry:edit", "ledgerentry:delete"):
        url = reverse(name, args=[entry.pk])
        assert client.get(url).status_code != 200
        response = client.post(url, {"amount": "999999.00", "kind": "issue", "voucher": voucher.pk})
        assert response.status_code != 200
    assert client.get(reverse("ledgerentry:add")).status_code != 200

    entry.refresh_from_db()
    assert entry.amount == Decimal("500.00")
    assert LedgerEntry.objects.filter(voucher=voucher).count() == 1
    assert voucher.balance() == Decimal("500.00")


def test_approving_an_enrolment_in_the_admin_lets_the_firm_take_part(staff_client, programme, sme):
    enrolment = EnrolmentFactory(
        programme=programme, solution=SolutionFactory(firm=sme), status=Enrolment.Status.APPLIED
    )
    assert not programme.approved_firm(sme)
    response = staff_client.post(reverse("enrolment:edit", args=[enrolment.pk]), {"decision": "approve"})
    assert response.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.APPROVED
    assert programme.approved_firm(sme)
    assert AuditEntry.objects.filter(action="vouchers.enrolment.approve").exists()


def test_adding_a_solution_in_the_admin_audits_it(staff_client, sme):
    response = staff_client.post(
        reverse("solution:add"),
        {
            "firm": sme.pk,
            "name": "Insulation audit",
            "description": "A thermal camera survey of the house.",
            "price": "350.00",
            "category": "energy_efficiency",
        },
    )
    assert response.status_code == 302
    assert sme.solutions.get().price == Decimal("350.00")
    assert AuditEntry.objects.filter(action="vouchers.solution.create").exists()


def test_recording_declared_aid_in_the_admin_counts_towards_the_ceiling(staff_client, sme):
    response = staff_client.post(
        reverse("deminimisaid:add"),
        {
            "organisation": sme.pk,
            "amount": "12000.00",
            "granted_on": timezone.localdate().isoformat(),
            "granting_body": "Région Bretagne",
        },
    )
    assert response.status_code == 302
    aid = DeMinimisAid.objects.get(organisation=sme)
    assert (aid.amount, aid.source) == (Decimal("12000.00"), DeMinimisAid.Source.DECLARED)
    assert AuditEntry.objects.filter(action="vouchers.deminimisaid.record").exists()


@pytest.mark.parametrize("persona", ["participant", "sme_admin"])
def test_participants_and_firm_admins_cannot_open_the_voucher_admin(
    persona, request, programme, staff_client
):
    voucher = VoucherFactory(programme=programme)
    assert staff_client.get(reverse("voucher:index")).status_code == 200
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    for url in (
        reverse("voucher:index"),
        reverse("voucher:inspect", args=[voucher.pk]),
        reverse("voucher:cancel", args=[voucher.pk]),
        reverse("programme:index"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert voucher.formatted_code[-6:] not in response.content.decode()
    response = client.post(reverse("voucher:cancel", args=[voucher.pk]), {"reason": "Not mine to cancel"})
    assert response.status_code == 403
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_funding_officers_may_view_programmes_but_not_manage_them(funder, staff_user):
    assert funder.has_perm("vouchers.view_programme") and funder.has_perm("vouchers.view_ledgerentry")
    assert not funder.has_perm("vouchers.change_programme")
    assert not funder.has_perm("vouchers.cancel_voucher")
    assert staff_user.has_perm("vouchers.cancel_voucher")


def test_staff_open_every_voucher_admin_page_and_cannot_reach_what_the_models_forbid(
    staff_client, programme, solution, holder, sme
):
    voucher = VoucherFactory(programme=programme, holder=holder)
    entry = redeem(voucher, Decimal("100.00"), sme)
    aid = DeMinimisAid.objects.create(
        organisation=sme, amount=Decimal("5000.00"), granted_on=timezone.localdate(), source="declared"
    )
    enrolment = Enrolment.objects.get(solution=solution)
    objects = {
        "programme": programme,
        "solution": solution,
        "enrolment": enrolment,
        "voucher": voucher,
        "ledgerentry": entry,
        "deminimisaid": aid,
    }
    opens = {
        "programme": {"index", "add", "edit", "inspect", "status"},
        "solution": {"index", "add", "edit"},
        "enrolment": {"index", "edit"},
        "voucher": {"index", "add", "inspect", "cancel"},
        "ledgerentry": {"index", "inspect"},
        "deminimisaid": {"index", "add", "inspect"},
    }
    refused = {
        "programme": {"delete"},
        "solution": {"delete"},
        "enrolment": {"add", "delete"},
        "voucher": {"edit", "delete"},
        "ledgerentry": {"add", "edit", "delete"},
        "deminimisaid": {"edit", "delete"},
    }
    for namespace, obj in objects.items():
        for view in opens[namespace] | refused[namespace]:
            args = [] if view in {"index", "add"} else [obj.pk]
            response = staff_client.get(reverse(f"{namespace}:{view}", args=args))
            shown = response.status_code == 200
            assert shown == (view in opens[namespace]), f"{namespace}:{view} answered {response.status_code}"


def test_editing_a_programme_refuses_a_budget_below_what_is_committed(staff_client, programme):
    VoucherFactory(programme=programme)
    VoucherFactory(programme=programme)
    data = {
        field: getattr(programme, field)
        for field in ("title", "slug", "channel", "value_rule", "face_value", "de_minimis_ceiling")
    }
    data.update(
        funder=programme.funder_id,
        operator=programme.operator_id,
        total_budget="900.00",
        opens_at=timezone.localtime(programme.opens_at).strftime("%Y-%m-%d %H:%M"),
        closes_at=timezone.localtime(programme.closes_at).strftime("%Y-%m-%d %H:%M"),
        valid_from=programme.valid_from.isoformat(),
        valid_until=programme.valid_until.isoformat(),
    )
    response = staff_client.post(reverse("programme:edit", args=[programme.pk]), data)
    assert response.status_code == 200
    assert "cannot be less than the 1,000.00 EUR already committed" in response.content.decode()
    programme.refresh_from_db()
    assert programme.total_budget == Decimal("10000.00")

    data["total_budget"] = "1000.00"
    assert staff_client.post(reverse("programme:edit", args=[programme.pk]), data).status_code == 302
    programme.refresh_from_db()
    assert (programme.total_budget, programme.status) == (Decimal("1000.00"), Programme.Status.OPEN)
    assert AuditEntry.objects.filter(action="vouchers.programme.update").count() == 1
