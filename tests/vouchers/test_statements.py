"""The de minimis statement of a firm for one calendar year: the PDF read back, its totals, the rolling
three-year total and headroom at the end of the year, and who may download it."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from livinglab.factories import OrganisationFactory
from livinglab.models import EnterpriseGroup, Organisation
from vouchers import services, statements

EUR = Decimal
YEAR = timezone.localdate().year - 1


@pytest.fixture
def linked(sme):
    """A second enterprise of the firm's group: one single undertaking."""
    group = EnterpriseGroup.objects.create(name="Breizh Holding")
    sme.group = group
    sme.save()
    return OrganisationFactory(name="Breizh Services", kind=Organisation.Kind.SME, group=group)


@pytest.fixture
def aid(firm, linked, programme, cashier, staff_user):
    def record(org, amount, day, body, source="declared", **kwargs):
        return services.record_de_minimis_aid(
            org,
            amount=amount,
            granted_on=day,
            granting_body=body,
            source=source,
            acting_user=cashier,
            **kwargs,
        )

    record(firm, "50000.00", date(YEAR - 1, 6, 1), "Ministry of Industry")
    record(
        firm, "12345.67", date(YEAR, 3, 15), "Bretagne Innovation Agency", "programme", programme=programme
    )
    record(linked, "2000.00", date(YEAR, 7, 1), "Région Bretagne")
    record(firm, "999.00", date(YEAR + 1, 1, 2), "Next year's body")


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_statement_lists_the_years_aid_with_totals_rolling_total_and_headroom(firm, aid):
    filename, pdf = statements.de_minimis_statement(firm, YEAR)

    text = pdf_text(pdf)
    assert filename == f"de-minimis-statement-{firm.slug}-{YEAR}.pdf"
    assert f"De minimis aid statement {YEAR}" in text
    assert "Breizh Sensors" in text and "Breizh Services" in text  # the single undertaking
    assert "12,345.67 EUR" in text and "2,000.00 EUR" in text  # each aid of the year
    assert "Bretagne Innovation Agency" in text and "Région Bretagne" in text
    assert "14,345.67 EUR" in text  # total granted in the year
    assert "64,345.67 EUR" in text  # rolling three years to 31 December
    assert "235,654.33 EUR" in text  # headroom at year end under 300,000 EUR
    assert "2023/2831" in text
    assert "999.00" not in text and "Next year's body" not in text  # aid of another year


def test_a_programme_with_its_own_ceiling_shows_its_headroom_too(firm, aid, programme):
    programme.de_minimis_ceiling = EUR("200000.00")
    programme.save()
    text = pdf_text(statements.de_minimis_statement(firm, YEAR)[1])
    assert "135,654.33 EUR" in text and programme.title in text


def test_a_year_without_aid_says_so(firm):
    text = pdf_text(statements.de_minimis_statement(firm, YEAR)[1])
    assert f"No de minimis aid was recorded for {YEAR}" in text and "300,000.00 EUR" in text


def test_the_firm_downloads_its_statement_from_the_aid_page(firm, aid, cashier):
    client = Client()
    client.force_login(cashier)
    page = client.get(reverse("firm_aid", kwargs={"slug": firm.slug})).content.decode()
    url = reverse("firm_aid_statement", kwargs={"slug": firm.slug, "year": YEAR})
    assert url in page

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "14,345.67 EUR" in pdf_text(response.content)


@pytest.mark.parametrize("year", ["1999", "2999", "abc", "20x4", str(timezone.localdate().year + 1)])
def test_no_statement_outside_the_years_that_can_have_one(firm, cashier, year):
    client = Client()
    client.force_login(cashier)
    assert (
        client.get(reverse("firm_aid_statement", kwargs={"slug": firm.slug, "year": year})).status_code == 404
    )


def test_another_firms_member_cannot_download_the_statement(firm, aid, other_firm_cashier):
    client = Client()
    client.force_login(other_firm_cashier)
    url = reverse("firm_aid_statement", kwargs={"slug": firm.slug, "year": YEAR})
    assert client.get(url).status_code == 403


def test_the_aid_page_charts_aid_per_year_for_the_whole_undertaking(firm, aid, cashier):
    per_year = dict(statements.aid_per_year(firm, until=YEAR + 1))
    assert per_year[YEAR - 1] == EUR("50000.00")
    assert per_year[YEAR] == EUR("14345.67")
    assert per_year[YEAR + 1] == EUR("999.00")
