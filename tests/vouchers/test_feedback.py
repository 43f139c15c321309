"""The holder's feedback after using a voucher: once, by the holder or their guardian, only after a
redemption that was not reversed; the questionnaire page and its thank-you state."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from livinglab.factories import PersonFactory, UserFactory
from livinglab.models import AuditEntry, Guardianship
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import VoucherFactory
from vouchers.models import Feedback


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def my_voucher(participant, programme, solution):
    return VoucherFactory(programme=programme, holder=participant.person)


def redeem(voucher, firm, cashier, solution=None):
    return services.redeem_voucher(
        voucher.code,
        firm=firm,
        amount=Decimal("500.00"),
        purchase_price=Decimal("900.00"),
        solution=solution,
        idempotency_key=uuid.uuid4().hex,
        acting_user=cashier,
    )


def answer(voucher, user, **overrides):
    data = {"satisfaction": 4, "recommend": 9, "solved_need": True, "comment": "Warmer already."}
    data.update(overrides)
    return services.submit_feedback(voucher, acting_user=user, **data)


def test_feedback_after_a_redemption_names_the_firm_and_solution(
    my_voucher, participant, firm, cashier, solution
):
    redeem(my_voucher, firm, cashier, solution)

    feedback = answer(my_voucher, participant)

    assert (feedback.firm, feedback.solution) == (firm, solution)
    assert (feedback.satisfaction, feedback.recommend, feedback.solved_need) == (4, 9, True)
    assert AuditEntry.objects.filter(action="vouchers.feedback.submit").count() == 1


def test_feedback_is_given_only_once(my_voucher, participant, firm, cashier):
    redeem(my_voucher, firm, cashier)
    answer(my_voucher, participant)
    with pytest.raises(VoucherError, match="already been given"):
        answer(my_voucher, participant, satisfaction=1)
    assert Feedback.objects.get().satisfaction == 4


def test_feedback_waits_for_a_redemption(my_voucher, participant):
    with pytest.raises(VoucherError, match="once the voucher has been used"):
        answer(my_voucher, participant)
    assert not services.feedback_due(my_voucher)


def test_a_reversed_redemption_does_not_count(my_voucher, participant, firm, cashier):
    entry = redeem(my_voucher, firm, cashier)
    services.reverse_redemption(entry, acting_user=cashier)
    with pytest.raises(VoucherError, match="once the voucher has been used"):
        answer(my_voucher, participant)
    assert not Feedback.objects.exists()


def test_only_the_holder_or_a_guardian_gives_feedback(my_voucher, participant, firm, cashier, staff_user):
    redeem(my_voucher, firm, cashier)
    for outsider in (cashier, staff_user, PersonFactory(user=UserFactory()).user):
        with pytest.raises(VoucherError, match="Only the holder"):
            answer(my_voucher, outsider)
    assert not Feedback.objects.exists()


def test_a_guardian_answers_for_a_child(programme, participant, firm, cashier):
    child = PersonFactory(user=None, birth_date=date.today() - timedelta(days=12 * 366))
    Guardianship.objects.create(guardian=participant.person, ward=child, relationship="parent")
    voucher = VoucherFactory(programme=programme, holder=child)
    redeem(voucher, firm, cashier)
    assert answer(voucher, participant).voucher == voucher


@pytest.mark.parametrize(
    "field,value", [("satisfaction", 0), ("satisfaction", 6), ("recommend", 11), ("recommend", "x")]
)
def test_out_of_range_answers_are_refused(my_voucher, participant, firm, cashier, field, value):
    redeem(my_voucher, firm, cashier)
    with pytest.raises(VoucherError, match="Please choose"):
        answer(my_voucher, participant, **{field: value})


# ------------------------------------------------------------------------------------------------ pages


def test_the_voucher_page_links_to_the_questionnaire_when_it_is_due(my_voucher, participant, firm, cashier):
    client = signed_in(participant)
    url = reverse("voucher_feedback", args=[my_voucher.pk])
    assert url not in client.get(reverse("voucher_detail", args=[my_voucher.pk])).content.decode()
    redeem(my_voucher, firm, cashier)
    assert url in client.get(reverse("voucher_detail", args=[my_voucher.pk])).content.decode()


def test_the_questionnaire_page_records_the_answers_and_then_thanks(
    my_voucher, participant, firm, cashier, solution
):
    redeem(my_voucher, firm, cashier, solution)
    client = signed_in(participant)
    url = reverse("voucher_feedback", args=[my_voucher.pk])
    html = client.get(url).content.decode()
    assert "<legend>How satisfied are you with the solution?" in html and "Heat-pump retrofit" in html

    response = client.post(url, {"satisfaction": "5", "recommend": "10", "solved_need": "no", "comment": ""})

    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.satisfaction, feedback.recommend, feedback.solved_need) == (5, 10, False)
    html = client.get(url).content.decode()
    assert "Thank you" in html and "<form" not in html.split("<main", 1)[1]


def test_the_questionnaire_page_shows_what_is_missing(my_voucher, participant, firm, cashier):
    redeem(my_voucher, firm, cashier)
    response = signed_in(participant).post(
        reverse("voucher_feedback", args=[my_voucher.pk]), {"recommend": "3"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"satisfaction", "solved_need"}
    assert not Feedback.objects.exists()


def test_another_person_cannot_open_the_questionnaire(my_voucher, firm, cashier):
    redeem(my_voucher, firm, cashier)
    neighbour = PersonFactory(user=UserFactory(email="neighbour@example.org")).user
    assert signed_in(neighbour).get(reverse("voucher_feedback", args=[my_voucher.pk])).status_code == 403
