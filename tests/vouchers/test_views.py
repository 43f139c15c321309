"""What a holder sees of their vouchers: the list (theirs and their wards'), one voucher with its code,
QR code and history, the PDF voucher, the workspace section, and the issuance e-mail."""

import io
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from livinglab.factories import PersonFactory, UserFactory
from livinglab.models import Guardianship
from vouchers import services
from vouchers.factories import ProgrammeFactory, VoucherFactory
from vouchers.models import Voucher
from vouchers.tasks import send_voucher_issued


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def partial_programme(programme):
    programme.partial_redemption = True
    programme.save(update_fields=["partial_redemption"])
    return programme


@pytest.fixture
def my_voucher(participant, partial_programme, solution):
    return VoucherFactory(programme=partial_programme, holder=participant.person)


@pytest.fixture
def ward(participant):
    """A child without a login of their own."""
    child = PersonFactory(
        full_name="Lou Le Goff", user=None, birth_date=date.today() - timedelta(days=12 * 366)
    )
    Guardianship.objects.create(
        guardian=participant.person, ward=child, relationship=Guardianship.Relationship.PARENT
    )
    return child


def redeem(voucher, firm, cashier, amount):
    return services.redeem_voucher(
        voucher.code, firm=firm, amount=Decimal(amount), idempotency_key=uuid.uuid4().hex, acting_user=cashier
    )


# ------------------------------------------------------------------------------------------------ list


def test_voucher_list_shows_my_and_my_wards_vouchers_with_their_balance_after_a_partial_use(
    participant, partial_programme, my_voucher, ward, holder, firm, cashier
):
    other_programme = ProgrammeFactory(title="Digital shops Bretagne")
    wards_voucher = VoucherFactory(programme=other_programme, holder=ward)
    strangers_voucher = VoucherFactory(programme=other_programme, holder=holder)
    redeem(my_voucher, firm, cashier, "120.50")

    page = signed_in(participant).get(reverse("voucher_list"))

    assert page.status_code == 200
    shown = list(page.context["vouchers"])
    assert {v.pk for v in shown} == {my_voucher.pk, wards_voucher.pk}
    assert strangers_voucher.pk not in {v.pk for v in shown}
    balances = {v.pk: v.balance_sum for v in shown}
    assert balances == {my_voucher.pk: Decimal("379.50"), wards_voucher.pk: Decimal("500.00")}
    html = page.content.decode()
    assert "379.50 EUR" in html and "Lou Le Goff" in html and "Anne Le Goff" not in html
    assert my_voucher.code not in html, "the list never shows codes"


def test_voucher_list_asks_the_same_number_of_queries_for_two_or_ten_vouchers(participant, ward):
    client = signed_in(participant)

    def queries_with(count: int) -> int:
        while Voucher.objects.count() < count:
            VoucherFactory(holder=participant.person if Voucher.objects.count() % 2 else ward)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("voucher_list"))
        assert len(response.context["vouchers"]) == count
        return len(queries)

    assert queries_with(2) == queries_with(10)


def test_voucher_list_needs_signing_in():
    response = Client().get(reverse("voucher_list"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


# ---------------------------------------------------------------------------------------------- detail


def test_voucher_detail_shows_the_code_a_qr_code_the_balance_and_where_it_was_used(
    participant, my_voucher, firm, cashier, solution
):
    redeem(my_voucher, firm, cashier, "200.00")

    page = signed_in(participant).get(reverse("voucher_detail", args=[my_voucher.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert my_voucher.formatted_code in html
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" class="qr-code"><title>QR code', html)
    assert page.context["balance"] == Decimal("300.00")
    assert "300.00 EUR" in html and "-200.00 EUR" in html
    assert f"Used at {firm.name}" in html
    assert "Keep this code secret, like cash" in html
    assert solution.name in html  # where it can be used


def test_voucher_detail_of_somebody_elses_voucher_is_refused(holder, partial_programme, sme_admin):
    strangers = VoucherFactory(programme=partial_programme, holder=holder)
    client = signed_in(sme_admin)

    assert client.get(reverse("voucher_detail", args=[strangers.pk])).status_code == 403
    assert client.get(reverse("voucher_pdf", args=[strangers.pk])).status_code == 403


def test_voucher_detail_of_an_unknown_voucher_is_not_found(participant):
    assert signed_in(participant).get(reverse("voucher_detail", args=[999_999])).status_code == 404


def test_a_guardian_and_cluster_staff_may_open_a_wards_voucher(
    participant, ward, partial_programme, staff_user
):
    wards_voucher = VoucherFactory(programme=partial_programme, holder=ward)
    url = reverse("voucher_detail", args=[wards_voucher.pk])

    assert signed_in(participant).get(url).status_code == 200
    assert signed_in(staff_user).get(url).status_code == 200
    assert signed_in(UserFactory()).get(url).status_code == 403


# ------------------------------------------------------------------------------------------------- PDF


def test_voucher_pdf_downloads_with_the_code_the_face_value_and_the_programme(participant, my_voucher):
    response = signed_in(participant).get(reverse("voucher_pdf", args=[my_voucher.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"voucher-{my_voucher.programme.slug}-{my_voucher.pk}.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert my_voucher.formatted_code in text
    assert "500.00 EUR" in text
    assert "Warm homes Bretagne" in text
    assert participant.person.full_name in text
    assert "Heat-pump retrofit" in text  # where it can be used


def test_voucher_pdf_of_a_co_funding_programme_states_the_rate_and_the_cap(participant, cluster, agency):
    programme = ProgrammeFactory(
        title="Digital shops Bretagne",
        operator=cluster,
        funder=agency,
        co_funding=True,
        partial_redemption=False,
    )
    voucher = VoucherFactory(programme=programme, holder=participant.person)

    text = pdf_text(signed_in(participant).get(reverse("voucher_pdf", args=[voucher.pk])).content)

    assert "50 % of the price" in text and "1,500.00 EUR" in text
    assert "It can be used once" in text
    assert cluster.name in text and agency.name in text


# ------------------------------------------------------------------------------------------- workspace


def test_the_participant_workspace_lists_my_vouchers(participant, my_voucher):
    page = signed_in(participant).get(reverse("participant_workspace"))

    html = page.content.decode()
    assert "My vouchers" in html
    assert reverse("voucher_detail", args=[my_voucher.pk]) in html
    assert "500.00 EUR" in html


# ---------------------------------------------------------------------------------------------- e-mail


def test_send_voucher_issued_mails_the_pdf_once_even_when_run_twice(participant, partial_programme):
    cache.clear()
    voucher = services.issue_voucher(partial_programme, participant.person, acting_user=None)
    mail.outbox.clear()

    assert send_voucher_issued(voucher.pk) is True
    assert send_voucher_issued(voucher.pk) is False

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [participant.email]
    assert "Warm homes Bretagne" in message.subject
    [(filename, pdf, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and filename.endswith(".pdf")
    assert voucher.formatted_code in pdf_text(pdf)
    assert voucher.code not in message.body, "the code travels in the attachment only"


def test_send_voucher_issued_mails_the_guardian_of_a_holder_without_a_login(
    participant, ward, partial_programme
):
    cache.clear()
    voucher = services.issue_voucher(partial_programme, ward, acting_user=None)
    mail.outbox.clear()

    assert send_voucher_issued(voucher.pk) is True
    assert [m.to for m in mail.outbox] == [[participant.email]]


def test_send_voucher_issued_sends_again_after_a_failed_attempt(participant, partial_programme, monkeypatch):
    cache.clear()
    voucher = services.issue_voucher(partial_programme, participant.person, acting_user=None)
    mail.outbox.clear()

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    with pytest.raises(OSError):
        send_voucher_issued.run(voucher.pk)
    monkeypatch.undo()

    assert send_voucher_issued(voucher.pk) is True
    assert len(mail.outbox) == 1
