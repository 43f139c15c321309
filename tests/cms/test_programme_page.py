"""The public page of a voucher programme: who can apply, what the voucher pays, which firms take part,
the remaining budget, and an "Apply" button that disappears when the window or the budget ends."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cms.models import HomePage, StandardPage, VoucherProgrammePage
from vouchers.factories import EnrolmentFactory, SolutionFactory, VoucherFactory
from vouchers.models import Enrolment, HouseholdType, Programme


@pytest.fixture
def page(programme, solution):
    home = HomePage.objects.get()
    page = VoucherProgrammePage(
        title="Warm homes vouchers",
        slug="warm-homes",
        programme=programme,
        introduction="Try a heat pump at half the cost.",
        how_to_apply="<p>Have your last energy bill at hand.</p>",
    )
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def visit(page) -> tuple[int, str, dict]:
    response = Client().get(page.url)
    return response.status_code, response.content.decode(), response.context


def test_the_page_shows_the_remaining_budget_the_voucher_and_the_firms(page, programme, solution):
    VoucherFactory(programme=programme)
    SolutionFactory(name="Rejected gadget")  # not enrolled
    EnrolmentFactory(
        programme=programme, solution=SolutionFactory(name="Pending idea"), status=Enrolment.Status.APPLIED
    )

    status, html, context = visit(page)

    assert status == 200
    assert context["remaining_budget"] == Decimal("9500.00")
    assert "9,500.00 EUR" in html and "of 10,000.00 EUR in total" in html
    assert "Up to 500.00 EUR towards an approved solution." in html
    assert "Breizh Sensors" in html and "Heat-pump retrofit" in html
    assert "Pending idea" not in html and "Rejected gadget" not in html
    assert "Have your last energy bill at hand." in html
    assert reverse("voucher_apply", args=[programme.slug]) in html


def test_the_page_says_who_can_apply_in_plain_words(page, programme):
    programme.eligible_regions = ["Finistère", "Morbihan"]
    programme.eligible_household_types = [HouseholdType.FAMILY]
    programme.min_age = 18
    programme.save()

    _, html, _ = visit(page)

    assert "You live in Finistère or Morbihan." in html
    assert "Your household is: “adults with children”." in html
    assert "The programme is for people aged 18 or over." in html


def test_a_co_funding_programme_shows_its_rate_and_cap(page, programme):
    Programme.objects.filter(pk=programme.pk).update(
        value_rule="co_funding",
        face_value=None,
        co_funding_rate=Decimal("0.5"),
        co_funding_cap=Decimal("1500"),
    )
    _, html, _ = visit(page)
    assert "50 % of the price of an approved solution, up to 1,500.00 EUR." in html


def test_the_page_closes_itself_when_the_window_ends(page, programme):
    Programme.objects.filter(pk=programme.pk).update(closes_at=timezone.now() - timedelta(seconds=1))

    _, html, _context = visit(page)

    assert "Applications are closed" in html and "The application period has ended." in html
    assert reverse("voucher_apply", args=[programme.slug]) not in html


def test_the_page_closes_itself_when_the_budget_cannot_cover_one_more_voucher(page, programme):
    Programme.objects.filter(pk=programme.pk).update(total_budget=Decimal("1400.00"))
    VoucherFactory(programme=programme)
    VoucherFactory(programme=programme)  # 400 EUR left: less than one 500 EUR voucher

    _, html, _context = visit(page)

    assert "The programme&#x27;s budget is used up." in html
    assert "400.00 EUR" in html
    assert reverse("voucher_apply", args=[programme.slug]) not in html


def test_the_page_reopens_when_budget_is_released(page, programme, staff_user):
    from vouchers import services

    Programme.objects.filter(pk=programme.pk).update(total_budget=Decimal("500.00"))
    voucher = VoucherFactory(programme=programme)
    assert visit(page)[2]["closed_reason"]
    services.cancel_voucher(voucher, acting_user=staff_user)
    assert visit(page)[2]["closed_reason"] is None


def test_a_programme_page_lives_under_the_home_page_or_a_standard_page():
    assert set(VoucherProgrammePage.allowed_parent_page_models()) == {HomePage, StandardPage}
    assert VoucherProgrammePage in HomePage.allowed_subpage_models()
    assert VoucherProgrammePage in StandardPage.allowed_subpage_models()
