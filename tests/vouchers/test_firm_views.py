"""A firm's voucher pages: its home, redeeming at the counter with the holder's name and exactly once, the
receipt and its reversal, API tokens, solutions and enrolment, declaring aid, and who may open them."""

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import (
    GroundRulesFactory,
    GroundRulesVersionFactory,
    MembershipFactory,
    PersonFactory,
)
from livinglab.models import AuditEntry, Role, ScopedDocument
from tests.vouchers.conftest import mistyped
from vouchers import services, tokens
from vouchers.factories import ProgrammeFactory, SolutionFactory, VoucherFactory
from vouchers.models import DeMinimisAid, Enrolment, LedgerEntry, PartnerToken, Solution, Voucher

EUR = Decimal


@pytest.fixture
def voucher(programme, holder, firm):
    return VoucherFactory(programme=programme, holder=holder)


@pytest.fixture
def counter(cashier):
    client = Client(REMOTE_ADDR="192.0.2.20")
    client.force_login(cashier)
    return client


def redeem_page(firm):
    return reverse("firm_redeem", kwargs={"slug": firm.slug})


def redeem_form(counter, firm) -> dict:
    """The redeem form as the browser got it: its hidden request key made when it was shown."""
    html = counter.get(redeem_page(firm)).content.decode()
    return {"request_key": re.search(r'name="request_key" value="([^"]+)"', html).group(1)}


def sale(counter, firm, voucher, solution, **typed):
    data = {
        **redeem_form(counter, firm),
        "code": voucher.formatted_code,
        "purchase_price": "900.00",
        "solution": solution.pk,
        "holder_name": "Anne Le Goff",
        **typed,
    }
    return data


def redemptions(voucher):
    return LedgerEntry.objects.filter(voucher=voucher, kind=LedgerEntry.Kind.REDEEM)


# ------------------------------------------------------------------------------------------------ home


def test_the_firm_home_shows_its_programmes_ground_rules_to_accept_and_headroom(
    counter, firm, programme, solution, cashier
):
    rules = GroundRulesFactory(
        title="Warm homes code of conduct", scope_kind=ScopedDocument.ScopeKind.OBJECT, scope_object=programme
    )
    version = GroundRulesVersionFactory(rules=rules)
    other = ProgrammeFactory(title="Digital shops", operator=programme.operator, funder=programme.funder)
    services.apply_for_enrolment(solution, other, acting_user=cashier)
    services.record_de_minimis_aid(
        firm,
        amount="1000.00",
        granted_on=timezone.localdate(),
        granting_body="Region",
        source="declared",
        acting_user=cashier,
    )

    page = counter.get(reverse("firm_vouchers", kwargs={"slug": firm.slug})).content.decode()

    assert "Warm homes Bretagne" in page and "Digital shops" in page
    assert "Approved" in page and "Applied" in page
    assert reverse("ground_rules_detail", args=[version.pk]) in page
    assert "299,000.00 EUR" in page
    assert reverse("firm_redeem", kwargs={"slug": firm.slug}) in page


def test_the_firm_home_says_nothing_is_left_to_accept_once_the_rules_are_accepted(counter, firm, programme):
    page = counter.get(reverse("firm_vouchers", kwargs={"slug": firm.slug})).content.decode()
    assert "you can redeem vouchers" in page


def test_the_workspace_shows_the_firms_voucher_box_with_headroom_and_links(counter, firm, voucher):
    page = counter.get(reverse("organisation_workspace", kwargs={"slug": firm.slug})).content.decode()
    assert "Innovation vouchers" in page and "300,000.00 EUR" in page
    for name in ("firm_redeem", "firm_vouchers", "firm_aid", "firm_tokens", "firm_solutions"):
        assert reverse(name, kwargs={"slug": firm.slug}) in page


# ------------------------------------------------------------------------------------------ redemption


def test_redeeming_at_the_counter_shows_a_receipt_of_what_the_voucher_pays_and_the_holder_pays(
    counter, firm, voucher, solution
):
    response = counter.post(redeem_page(firm), sale(counter, firm, voucher, solution), follow=True)

    entry = redemptions(voucher).get()
    assert response.redirect_chain[-1][0] == reverse("firm_redemption", args=[entry.pk])
    page = response.content.decode()
    assert entry.amount == EUR("-500.00") and entry.purchase_price == EUR("900.00")
    assert entry.solution == solution
    assert "The voucher pays" in page and "500.00 EUR" in page
    assert "The holder pays" in page and "400.00 EUR" in page
    assert "0.00 EUR" in page  # left on the voucher
    assert voucher.code not in page and voucher.formatted_code not in page  # the code is masked


def test_a_scanned_code_prefills_the_form(counter, firm, voucher):
    page = counter.get(redeem_page(firm) + f"?code={voucher.formatted_code}").content.decode()
    assert f'value="{voucher.formatted_code}"' in page


@pytest.mark.parametrize("typed", ["Anne Le Goff", "le goff", "  ANNE   le   GOFF ", "Goff"])
def test_the_holders_full_or_family_name_confirms_the_redemption(counter, firm, voucher, solution, typed):
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution, holder_name=typed))
    assert redemptions(voucher).count() == 1


def test_accents_in_the_holders_name_do_not_matter(counter, firm, programme, solution):
    voucher = VoucherFactory(programme=programme, holder=PersonFactory(full_name="Élodie Brûlé-Nguyễn"))
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution, holder_name="elodie brule-nguyen"))
    assert redemptions(voucher).count() == 1


def test_a_wrong_name_is_refused_with_the_reason_keeping_what_was_typed_and_revealing_nothing(
    counter, firm, voucher, solution
):
    data = sale(counter, firm, voucher, solution, holder_name="Jean Martin", purchase_price="812.40")
    response = counter.post(redeem_page(firm), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "The name does not match the voucher&#x27;s holder" in page
    assert "Goff" not in page and "Anne" not in page
    assert 'value="Jean Martin"' in page and 'value="812.40"' in page
    assert f'value="{voucher.formatted_code}"' in page
    assert f'value="{data["request_key"]}"' in page
    assert not redemptions(voucher).exists()


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("expired", "This voucher was valid until"),
        ("cancelled", "This voucher has been cancelled."),
        ("used", "This voucher has already been used."),
    ],
)
def test_a_voucher_that_cannot_be_used_is_refused_with_the_reason(
    counter, firm, voucher, solution, cashier, staff_user, state, reason
):
    if state == "expired":
        Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() - timedelta(days=1))
    elif state == "cancelled":
        services.cancel_voucher(voucher, acting_user=staff_user)
    else:
        services.redeem_voucher(
            voucher.code, firm=firm, amount="500.00", idempotency_key="earlier", acting_user=cashier
        )
    response = counter.post(redeem_page(firm), sale(counter, firm, voucher, solution))
    assert response.status_code == 200
    assert reason.replace("'", "&#x27;") in response.content.decode()
    assert redemptions(voucher).count() == (1 if state == "used" else 0)


def test_a_firm_outside_the_programme_is_told_so_and_learns_nothing_about_the_holder(
    voucher, other_sme, other_firm_cashier
):
    outsider_solution = SolutionFactory(firm=other_sme)
    other = ProgrammeFactory(title="Elsewhere")
    Enrolment.objects.create(solution=outsider_solution, programme=other, status=Enrolment.Status.APPROVED)
    client = Client()
    client.force_login(other_firm_cashier)
    response = client.post(
        redeem_page(other_sme), sale(client, other_sme, voucher, outsider_solution, holder_name="Wrong Name")
    )
    page = response.content.decode()
    assert "does not take part in the programme" in page and "does not match" not in page
    assert not redemptions(voucher).exists()


@pytest.mark.parametrize("partial", [True, False])
def test_submitting_the_same_form_twice_redeems_once_and_shows_the_same_receipt(
    counter, firm, voucher, solution, programme, partial
):
    programme.partial_redemption = partial
    programme.save()
    data = sale(counter, firm, voucher, solution, purchase_price="120.00")

    first = counter.post(redeem_page(firm), data)
    second = counter.post(redeem_page(firm), data)

    entry = redemptions(voucher).get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("firm_redemption", args=[entry.pk])
    assert voucher.balance() == EUR("380.00") and entry.amount == EUR("-120.00")
    assert AuditEntry.objects.filter(action="vouchers.voucher.redeem").count() == 1


def test_a_new_form_redeems_again_on_a_partially_used_voucher(counter, firm, voucher, solution, programme):
    programme.partial_redemption = True
    programme.save()
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution, purchase_price="120.00"))
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution, purchase_price="100.00"))
    assert redemptions(voucher).count() == 2 and voucher.balance() == EUR("280.00")


def test_pending_ground_rules_refuse_the_redemption_with_a_link_to_accept_them(
    counter, firm, voucher, solution, programme
):
    rules = GroundRulesFactory(
        title="Warm homes code", scope_kind=ScopedDocument.ScopeKind.OBJECT, scope_object=programme
    )
    version = GroundRulesVersionFactory(rules=rules)
    page = counter.post(redeem_page(firm), sale(counter, firm, voucher, solution)).content.decode()
    assert "Please accept these ground rules first" in page
    assert reverse("ground_rules_detail", args=[version.pk]) in page
    assert not redemptions(voucher).exists()


def test_unknown_codes_typed_at_the_counter_count_towards_the_same_lockout_as_the_api(
    counter, firm, voucher, solution, monkeypatch
):
    monkeypatch.setattr(tokens, "FAILURES_PER_FIRM", 3)
    for typo in ("AAAA-AAAA", mistyped(voucher.code), "ZZZZ"):
        page = counter.post(redeem_page(firm), sale(counter, firm, voucher, solution, code=typo))
        assert "not a valid voucher code" in page.content.decode() or "Too many" in page.content.decode()

    page = counter.post(redeem_page(firm), sale(counter, firm, voucher, solution)).content.decode()

    assert "Too many unknown or mistyped codes" in page
    assert not redemptions(voucher).exists()
    # The partner API of the same firm is locked out too: one counter per firm, whatever the channel.
    assert tokens.lockout(firm.pk, "198.51.100.1") is not None
    lockout = AuditEntry.objects.get(action="vouchers.api.lockout")
    assert lockout.organisation == firm and lockout.data["scope"] == "firm"


def test_the_form_refuses_missing_fields_without_a_server_error(counter, firm):
    response = counter.post(redeem_page(firm), {"code": "x" * 500, "purchase_price": "-3", "solution": "abc"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the following" in page


# ------------------------------------------------------------------------------------------- reversal


def test_the_receipt_reverses_the_redemption_within_the_window(counter, firm, voucher, solution):
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution))
    entry = redemptions(voucher).get()
    receipt = counter.get(reverse("firm_redemption", args=[entry.pk])).content.decode()
    assert "Reverse this redemption" in receipt

    page = counter.post(reverse("firm_redemption_reverse", args=[entry.pk]), follow=True).content.decode()

    assert "Redemption reversed" in page and "Reverse this redemption" not in page
    assert voucher.balance() == EUR("500.00")
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED
    listing = counter.get(reverse("firm_redemptions", kwargs={"slug": firm.slug})).content.decode()
    assert "Reversed" in listing and "<del>" in listing


def test_a_redemption_older_than_the_window_cannot_be_reversed(counter, firm, voucher, solution):
    counter.post(redeem_page(firm), sale(counter, firm, voucher, solution))
    entry = redemptions(voucher).get()
    LedgerEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(hours=2))

    receipt = counter.get(reverse("firm_redemption", args=[entry.pk])).content.decode()
    page = counter.post(reverse("firm_redemption_reverse", args=[entry.pk]), follow=True).content.decode()

    assert "Reverse this redemption" not in receipt
    assert "can only be reversed within 30 minutes" in page
    assert voucher.balance() == EUR("0.00")


def test_the_redemptions_list_filters_by_programme(counter, firm, voucher, solution, programme, cashier):
    elsewhere = ProgrammeFactory(title="Digital shops", operator=programme.operator, funder=programme.funder)
    Enrolment.objects.create(solution=solution, programme=elsewhere, status=Enrolment.Status.APPROVED)
    second = VoucherFactory(programme=elsewhere, holder=voucher.holder)
    for v in (voucher, second):
        counter.post(redeem_page(firm), sale(counter, firm, v, solution))
    url = reverse("firm_redemptions", kwargs={"slug": firm.slug})

    everything = counter.get(url).content.decode()
    filtered = counter.get(url, {"programme": elsewhere.slug}).content.decode()

    assert everything.count("<tr>") == 3  # header + two sales
    assert filtered.count("<tr>") == 2 and "Digital shops</td>" in filtered
    assert counter.get(url, {"programme": "no-such-thing", "page": "x"}).status_code == 200


def test_the_redemption_pages_read_a_fixed_number_of_queries_however_many_sales(
    counter, firm, programme, solution, cashier
):
    def queries_for(sales: int) -> list[int]:
        for n in range(sales):
            v = VoucherFactory(programme=programme, holder=PersonFactory(full_name=f"Holder {n}"))
            entry = services.redeem_voucher(
                v.code, firm=firm, amount="10.00", idempotency_key=f"{sales}-{n}", acting_user=cashier
            )
            if n % 2:
                services.reverse_redemption(entry, acting_user=cashier)
        counts = []
        for name in ("firm_redemptions", "firm_vouchers"):
            with CaptureQueriesContext(connection) as queries:
                assert counter.get(reverse(name, kwargs={"slug": firm.slug})).status_code == 200
            counts.append(len(queries))
        return counts

    assert queries_for(2) == queries_for(8)


# ----------------------------------------------------------------------------------------- API tokens


def test_a_new_token_is_shown_once_and_works_against_the_api(counter, firm, voucher):
    url = reverse("firm_tokens", kwargs={"slug": firm.slug})
    page = counter.post(url, {"name": "Shop till 1", "scopes": ["check", "redeem"]}, follow=True)

    secret = re.search(r'id="new-secret"[^>]*value="([^"]+)"', page.content.decode()).group(1)
    token = PartnerToken.objects.get(firm=firm)
    assert token.name == "Shop till 1" and sorted(token.scopes) == ["check", "redeem"]
    assert "shown only this once" in page.content.decode()
    again = counter.get(url).content.decode()
    assert secret not in again and "Shop till 1" in again and token.prefix in again

    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post(
        "/api/vouchers/check", data=json.dumps({"code": voucher.code}), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["balance"] == "500.00"


def test_a_revoked_token_is_refused_by_the_api(counter, firm, voucher, cashier):
    token, secret = tokens.create_partner_token(firm, "Old till", ["check"], acting_user=cashier)
    confirm = counter.get(reverse("firm_token_revoke", args=[token.pk])).content.decode()
    assert "Revoke the token" in confirm

    page = counter.post(reverse("firm_token_revoke", args=[token.pk]), follow=True).content.decode()

    token.refresh_from_db()
    assert token.revoked_at is not None and "Revoked" in page
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post(
        "/api/vouchers/check", data=json.dumps({"code": voucher.code}), content_type="application/json"
    )
    assert response.status_code == 401


def test_a_token_needs_a_scope(counter, firm):
    url = reverse("firm_tokens", kwargs={"slug": firm.slug})
    page = counter.post(url, {"name": "Till"}).content.decode()
    assert "This field is required" in page and not PartnerToken.objects.exists()


def test_a_firm_member_who_is_not_an_administrator_cannot_manage_tokens(firm, voucher):
    member = MembershipFactory(organisation=firm, role=Role.FIRM_MEMBER).user
    client = Client()
    client.force_login(member)
    assert client.get(reverse("firm_tokens", kwargs={"slug": firm.slug})).status_code == 403
    assert client.get(reverse("firm_redeem", kwargs={"slug": firm.slug})).status_code == 200


# ------------------------------------------------------------------------------------------- solutions


def test_a_firm_adds_a_solution_and_applies_with_it_to_a_programme(counter, firm, programme):
    draft = ProgrammeFactory(title="Next winter", status="draft", operator=programme.operator)
    response = counter.post(
        reverse("firm_solution_new", kwargs={"slug": firm.slug}),
        {
            "name": "Solar roof check",
            "description": "A drone survey.",
            "price": "350.00",
            "category": "energy_efficiency",
        },
    )
    solution = Solution.objects.get(name="Solar roof check")
    assert response.status_code == 302 and solution.firm == firm

    page = counter.get(reverse("firm_solutions", kwargs={"slug": firm.slug})).content.decode()
    assert "Next winter" in page and "Solar roof check" in page
    counter.post(reverse("firm_solution_enrol", args=[solution.pk]), {"programme": draft.pk})

    enrolment = Enrolment.objects.get(solution=solution, programme=draft)
    assert enrolment.status == Enrolment.Status.APPLIED
    assert AuditEntry.objects.filter(action="vouchers.enrolment.apply").exists()


def test_editing_a_solution_goes_through_the_service(counter, firm, solution):
    counter.post(
        reverse("firm_solution_edit", args=[solution.pk]),
        {"name": solution.name, "description": "Better.", "price": "950.00", "category": solution.category},
    )
    solution.refresh_from_db()
    assert solution.price == EUR("950.00")
    assert AuditEntry.objects.filter(action="vouchers.solution.update").exists()


def test_a_closed_programme_cannot_be_applied_to(counter, firm, solution, programme):
    closed = ProgrammeFactory(title="Finished scheme", status="closed")
    ProgrammeFactory(title="Open scheme")
    response = counter.post(
        reverse("firm_solution_enrol", args=[solution.pk]), {"programme": closed.pk}, follow=True
    )
    assert not Enrolment.objects.filter(programme=closed).exists()
    assert "Choose a programme that still enrols firms" in response.content.decode()


# ------------------------------------------------------------------------------------------- State aid


def test_declaring_aid_lowers_the_headroom_shown(counter, firm):
    url = reverse("firm_aid", kwargs={"slug": firm.slug})
    response = counter.post(
        url,
        {
            "amount": "12500.00",
            "granted_on": date.today().replace(day=1).isoformat(),
            "granting_body": "Région Bretagne",
        },
    )
    assert response.status_code == 302

    page = counter.get(url).content.decode()
    aid = DeMinimisAid.objects.get(organisation=firm)
    assert aid.source == DeMinimisAid.Source.DECLARED and aid.amount == EUR("12500.00")
    assert "287,500.00 EUR" in page and "Région Bretagne" in page
    assert reverse("firm_aid_statement", kwargs={"slug": firm.slug, "year": date.today().year}) in page


def test_aid_in_the_future_is_refused_on_the_form(counter, firm):
    url = reverse("firm_aid", kwargs={"slug": firm.slug})
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = counter.post(url, {"amount": "10", "granted_on": tomorrow, "granting_body": "X"}).content.decode()
    assert "in the future" in page and not DeMinimisAid.objects.exists()


def test_a_firm_member_sees_the_aid_but_cannot_declare(firm):
    member = MembershipFactory(organisation=firm, role=Role.FIRM_MEMBER).user
    client = Client()
    client.force_login(member)
    url = reverse("firm_aid", kwargs={"slug": firm.slug})
    assert "Declare other de minimis aid" not in client.get(url).content.decode()
    response = client.post(url, {"amount": "10", "granted_on": "2024-01-01", "granting_body": "X"})
    assert response.status_code == 403 and not DeMinimisAid.objects.exists()


# ------------------------------------------------------------------------------------------ permissions


def test_another_firms_member_is_refused_every_page_of_the_firm(
    firm, voucher, solution, cashier, other_firm_cashier
):
    entry = services.redeem_voucher(
        voucher.code, firm=firm, amount="500.00", idempotency_key="k1", acting_user=cashier
    )
    token, _secret = tokens.create_partner_token(firm, "Till", ["check"], acting_user=cashier)
    slug = {"slug": firm.slug}
    pages = [
        reverse("firm_vouchers", kwargs=slug),
        reverse("firm_redeem", kwargs=slug),
        reverse("firm_redemptions", kwargs=slug),
        reverse("firm_tokens", kwargs=slug),
        reverse("firm_solutions", kwargs=slug),
        reverse("firm_solution_new", kwargs=slug),
        reverse("firm_aid", kwargs=slug),
        reverse("firm_aid_statement", kwargs={**slug, "year": timezone.localdate().year}),
        reverse("firm_redemption", args=[entry.pk]),
        reverse("firm_token_revoke", args=[token.pk]),
        reverse("firm_solution_edit", args=[solution.pk]),
    ]
    posts = [
        *pages[:8],
        reverse("firm_redemption_reverse", args=[entry.pk]),
        reverse("firm_token_revoke", args=[token.pk]),
        reverse("firm_solution_edit", args=[solution.pk]),
        reverse("firm_solution_enrol", args=[solution.pk]),
    ]
    client = Client()
    client.force_login(other_firm_cashier)
    assert {url: client.get(url).status_code for url in pages} == dict.fromkeys(pages, 403)
    assert {url: client.post(url, {}).status_code for url in posts} == dict.fromkeys(posts, 403)
    token.refresh_from_db()
    assert token.revoked_at is None and not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSE).exists()
    assert Client().get(pages[0]).status_code == 302  # anonymous: sign in first


def test_pages_of_an_organisation_that_is_not_a_firm_are_not_found(counter, cluster, staff_user):
    client = Client()
    client.force_login(staff_user)
    assert client.get(reverse("firm_vouchers", kwargs={"slug": cluster.slug})).status_code == 404
    assert client.get(reverse("firm_vouchers", kwargs={"slug": "no-such-firm"})).status_code == 404
