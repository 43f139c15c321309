"""Programme figures for the operator and the funder: exact money on a known scenario (issue, redeem,
reverse, cancel, expire, approve, pay), the running totals per day, redemptions per solution, firm and
region, feedback scores, who may see them, and the dashboard, XLSX and PDF that show them."""

import io
import uuid
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from decimal import Decimal
from unittest.mock import patch

import openpyxl
import pandas as pd
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import Organisation, Role
from tests.conftest import with_totp
from vouchers import services
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory
from vouchers.models import (
    Application,
    Claim,
    ClaimLine,
    DeMinimisAid,
    Feedback,
    HouseholdType,
    PaymentBatch,
    Voucher,
)
from vouchers.reports import programme_report

D = Decimal
TODAY = timezone.localdate()
DAY_A, DAY_B, DAY_C, DAY_D = (TODAY - timedelta(days=n) for n in (5, 4, 3, 2))


def moment(day, hour=12):
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


@contextmanager
def on(day, hour=12):
    """Everything the services do inside happens at ``hour`` on ``day``."""
    with patch("django.utils.timezone.now", return_value=moment(day, hour)):
        yield


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# -------------------------------------------------------------------------------------------- scenario


@pytest.fixture
def loire_solution(other_sme, programme):
    solution = SolutionFactory(firm=other_sme, name="Smart meter app", price=D("300.00"))
    EnrolmentFactory(solution=solution, programme=programme)
    return solution


@pytest.fixture
def scenario(programme, firm, solution, cashier, other_sme, loire_solution, other_firm_cashier, staff_user):
    """Seven 500 EUR vouchers. Two applicants from Bretagne and two from Pays de la Loire; v5, v6 and v7
    were issued without an application.

    Day A: all seven issued (3,500 committed). Day B: v1 pays 400.00 and v2 500.00 at Breizh Sensors;
    v3 pays 250.50 and v7 99.99 at Loire Mobile; v4 pays 123.45 and the sale is reversed. Day C: v5 is
    cancelled (500 released); the funder approves v1's and v2's claim lines (900.00); v3's line waits and
    v7's is rejected. Day D: v6 expires (500 released); the batch with v2's line is paid (500.00)."""
    people = [PersonFactory(full_name=f"Holder {i}") for i in range(1, 8)]
    with on(DAY_A, 10):
        v = {i: services.issue_voucher(programme, people[i - 1], acting_user=staff_user) for i in range(1, 8)}
    regions = {1: "Bretagne", 2: "Bretagne", 3: "Pays de la Loire", 4: "Pays de la Loire"}
    for i, region in regions.items():
        Application.objects.create(
            programme=programme,
            applicant=people[i - 1],
            region=region,
            household_type=HouseholdType.FAMILY,
            status=Application.Status.ISSUED,
            voucher=v[i],
        )
    Application.objects.create(
        programme=programme,
        applicant=PersonFactory(),
        region="Normandie",
        household_type=HouseholdType.SINGLE,
        status=Application.Status.REFUSED,
        refusal_reasons=["Your region is not eligible."],
    )

    def redeem(voucher, at_firm, by, amount, sold):
        return services.redeem_voucher(
            voucher.code,
            firm=at_firm,
            amount=D(amount),
            idempotency_key=uuid.uuid4().hex,
            acting_user=by,
            solution=sold,
        )

    with on(DAY_B, 11):
        r1 = redeem(v[1], firm, cashier, "400.00", solution)
        r2 = redeem(v[2], firm, cashier, "500.00", solution)
        r3 = redeem(v[3], other_sme, other_firm_cashier, "250.50", loire_solution)
        r7 = redeem(v[7], other_sme, other_firm_cashier, "99.99", loire_solution)
        r4 = redeem(v[4], other_sme, other_firm_cashier, "123.45", loire_solution)
        services.reverse_redemption(r4, acting_user=other_firm_cashier)
    with on(DAY_C, 9):
        services.cancel_voucher(v[5], acting_user=staff_user, reason="Moved away")
    Voucher.objects.filter(pk=v[6].pk).update(expires_at=moment(DAY_C, 23))
    services.expire_vouchers(moment(DAY_D, 1))

    def claim(at_firm, number):
        return Claim.objects.create(
            programme=programme,
            firm=at_firm,
            invoice_number=number,
            invoice=ContentFile(b"%PDF-1.4 invoice", name=f"{number}.pdf"),
            iban="FR7630006000011234567890189",
            account_holder=at_firm.name,
            submitted_at=moment(DAY_B, 18),
        )

    def aid(at_firm, amount):
        return DeMinimisAid.objects.create(
            organisation=at_firm,
            amount=D(amount),
            granted_on=DAY_C,
            granting_body="Bretagne Innovation Agency",
            source=DeMinimisAid.Source.PROGRAMME,
            programme=programme,
        )

    breizh, loire = claim(firm, "BS-2026-001"), claim(other_sme, "LM-2026-001")
    batch = PaymentBatch.objects.create(
        programme=programme, status=PaymentBatch.Status.PAID, paid_at=moment(DAY_D, 15)
    )
    approved = {"status": ClaimLine.Status.APPROVED, "decided_at": moment(DAY_C, 14)}
    ClaimLine.objects.create(
        claim=breizh, redemption=r1, amount=D("400.00"), aid=aid(firm, "400.00"), **approved
    )
    ClaimLine.objects.create(
        claim=breizh, redemption=r2, amount=D("500.00"), aid=aid(firm, "500.00"), batch=batch, **approved
    )
    ClaimLine.objects.create(claim=loire, redemption=r3, amount=D("250.50"))
    ClaimLine.objects.create(
        claim=loire,
        redemption=r7,
        amount=D("99.99"),
        status=ClaimLine.Status.REJECTED,
        decided_at=moment(DAY_C, 14),
        reason="Not an innovative solution",
    )
    # Feedback from v1 and v2 (heat pump) and v3 (meter app); v7's holder did not answer.
    for i, satisfaction, recommend, sold, at_firm in [
        (1, 5, 10, solution, firm),
        (2, 4, 6, solution, firm),
        (3, 3, 9, loire_solution, other_sme),
    ]:
        Feedback.objects.create(
            voucher=v[i], firm=at_firm, solution=sold, satisfaction=satisfaction, recommend=recommend,
            solved_need=True, comment="Private comment of Holder",
        )  # fmt: skip
    return programme


# ---------------------------------------------------------------------------------------------- figures


def test_headline_figures_are_exact_to_the_cent(scenario):
    h = programme_report(scenario).headline

    assert h.total_budget == D("10000.00")
    assert h.committed == D("2500.00") == scenario.committed_budget()
    assert h.redeemed == D("1250.49")  # 400 + 500 + 250.50 + 99.99; the reversed 123.45 is out
    assert h.outstanding == D("1249.51")  # v1 100, v3 249.50, v4 500, v7 400.01
    assert h.reimbursed == D("900.00")
    assert h.paid == D("500.00")
    assert h.remaining == D("7500.00") == scenario.remaining_budget()
    assert all(isinstance(value, Decimal) for value in vars(h).values())


def test_vouchers_and_applications_are_counted_by_status(scenario):
    report = programme_report(scenario)

    assert {status: n for status, _label, n in report.vouchers_by_status} == {
        "issued": 1,  # v4, whose redemption was reversed
        "redeemed": 4,
        "expired": 1,
        "cancelled": 1,
    }
    assert report.vouchers == 7
    assert report.redeemed_vouchers == 4
    assert {s: n for s, _label, n in report.applications_by_status} == {
        "waiting": 0,
        "refused": 1,
        "issued": 4,
        "not_selected": 0,
        "withdrawn": 0,
    }


def test_timeline_running_totals_change_on_the_days_of_the_movements(scenario):
    timeline = programme_report(scenario).timeline

    assert list(timeline.index) == [DAY_A, DAY_B, DAY_C, DAY_D]
    assert timeline.loc[DAY_A].to_dict() == {
        "committed": D("3500.00"),
        "redeemed": D("0"),
        "reimbursed": D("0"),
    }
    assert timeline.loc[DAY_B].to_dict() == {
        "committed": D("3500.00"),
        "redeemed": D("1250.49"),
        "reimbursed": D("0"),
    }
    assert timeline.loc[DAY_C].to_dict() == {
        "committed": D("3000.00"),
        "redeemed": D("1250.49"),
        "reimbursed": D("900.00"),
    }
    assert timeline.loc[DAY_D, "committed"] == D("2500.00")


def test_redemptions_per_solution_firm_and_region_leave_out_the_reversed_sale(scenario):
    report = programme_report(scenario)

    assert report.per_solution[["solution", "firm", "redemptions", "vouchers", "amount"]].values.tolist() == [
        ["Heat-pump retrofit", "Breizh Sensors", 2, 2, D("900.00")],
        ["Smart meter app", "Loire Mobile", 2, 2, D("350.49")],
    ]
    assert report.per_firm.values.tolist() == [
        ["Breizh Sensors", 2, D("900.00")],
        ["Loire Mobile", 2, D("350.49")],
    ]
    assert report.per_region.values.tolist() == [
        ["Bretagne", 2, 2, D("900.00")],
        ["Pays de la Loire", 1, 1, D("250.50")],
        ["Not known", 1, 1, D("99.99")],
    ]


def test_feedback_shows_response_rate_satisfaction_and_net_promoter_score(scenario):
    report = programme_report(scenario)

    rows = {row["solution"]: row for row in report.feedback.to_dict("records")}
    assert rows["Heat-pump retrofit"] == {
        "solution": "Heat-pump retrofit",
        "firm": "Breizh Sensors",
        "redeemed_vouchers": 2,
        "responses": 2,
        "response_rate": D("100.0"),
        "satisfaction": D("4.50"),
        "nps": D("0.0"),  # one promoter (10), one detractor (6)
    }
    assert rows["Smart meter app"]["response_rate"] == D("50.0")
    assert rows["Smart meter app"]["nps"] == D("100.0")
    assert report.feedback_overall == {
        "redeemed_vouchers": 4,
        "responses": 3,
        "response_rate": D("75.0"),
        "satisfaction": D("4.00"),
        "nps": D("33.3"),  # (2 promoters − 1 detractor) / 3
    }


def test_claim_lines_are_summed_by_state(scenario):
    claims = programme_report(scenario).claims.set_index("state")

    assert claims.loc["pending", "amount"] == D("250.50")
    assert claims.loc["approved", "amount"] == D("400.00")
    assert claims.loc["paid", "amount"] == D("500.00")
    assert claims.loc["rejected", "amount"] == D("99.99")
    assert claims["lines"].tolist() == [1, 1, 1, 1]


def test_the_report_reads_six_aggregate_queries_however_many_vouchers(
    scenario, django_assert_max_num_queries, staff_user
):
    with django_assert_max_num_queries(6):
        programme_report(scenario)
    with on(DAY_D):
        for _ in range(5):
            services.issue_voucher(scenario, PersonFactory(), acting_user=staff_user, send_mail=False)
    with django_assert_max_num_queries(6):
        assert programme_report(scenario).vouchers == 12


def test_an_empty_programme_reports_zeros_and_no_timeline(programme):
    report = programme_report(programme)

    assert report.headline.committed == D("0.00")
    assert report.headline.remaining == D("10000.00")
    assert report.timeline.empty
    assert report.per_region.empty
    assert report.feedback_overall["response_rate"] is None
    assert report.claims["amount"].tolist() == [D("0.00")] * 4


# ------------------------------------------------------------------------------------------ permissions


@pytest.fixture
def other_cluster_staff(db):
    other = OrganisationFactory(name="Oresund Mobile Cluster", kind=Organisation.Kind.CLUSTER)
    user = MembershipFactory(organisation=other, role=Role.CLUSTER_MANAGER, user=UserFactory()).user
    return with_totp(user)


@pytest.fixture
def other_funder(db):
    other = OrganisationFactory(name="Skåne Regional Fund", kind=Organisation.Kind.FUNDING_AGENCY)
    user = MembershipFactory(organisation=other, role=Role.FUNDING_OFFICER, user=UserFactory()).user
    return with_totp(user)


REPORT_PAGES = ["programme_dashboard", "programme_report_xlsx", "programme_report_pdf"]


@pytest.mark.parametrize("url_name", REPORT_PAGES)
@pytest.mark.parametrize("persona", ["other_cluster_staff", "other_funder", "sme_admin", "participant"])
def test_report_pages_refuse_everyone_but_the_operator_and_the_funder(programme, url_name, persona, request):
    user = request.getfixturevalue(persona)

    response = signed_in(user).get(reverse(url_name, args=[programme.slug]))

    assert response.status_code == 403
    assert programme.title.encode() not in response.content


@pytest.mark.parametrize("url_name", [*REPORT_PAGES, "programme_list"])
def test_report_pages_send_anonymous_visitors_to_sign_in(programme, url_name):
    args = [] if url_name == "programme_list" else [programme.slug]

    response = Client().get(reverse(url_name, args=args))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("persona", ["staff_user", "funder"])
def test_the_operator_and_the_funder_open_the_dashboard(programme, persona, request):
    response = signed_in(request.getfixturevalue(persona)).get(
        reverse("programme_dashboard", args=[programme.slug])
    )

    assert response.status_code == 200
    assert "Warm homes Bretagne" in response.content.decode()


def test_a_superuser_opens_every_dashboard(programme):
    admin = with_totp(UserFactory(is_superuser=True, is_staff=True))

    assert signed_in(admin).get(reverse("programme_dashboard", args=[programme.slug])).status_code == 200


def test_a_missing_programme_is_not_found(funder):
    assert (
        signed_in(funder).get(reverse("programme_dashboard", args=["no-such-programme"])).status_code == 404
    )


def test_programme_list_shows_only_the_programmes_of_my_organisations(
    programme, funder, staff_user, other_funder
):
    elsewhere = ProgrammeFactory(
        title="Skåne digital homes", funder=other_funder.memberships.get().organisation
    )

    for user in (funder, staff_user):
        page = signed_in(user).get(reverse("programme_list")).content.decode()
        assert "Warm homes Bretagne" in page
        assert reverse("programme_dashboard", args=[programme.slug]) in page
        assert "Skåne digital homes" not in page
    page = signed_in(other_funder).get(reverse("programme_list")).content.decode()
    assert "Skåne digital homes" in page
    assert "Warm homes Bretagne" not in page
    assert elsewhere.slug in page


def test_programme_list_tells_a_firm_it_has_no_programmes(sme_admin, programme):
    page = signed_in(sme_admin).get(reverse("programme_list")).content.decode()

    assert "Warm homes Bretagne" not in page
    assert "No voucher programme of your organisations yet" in page


# -------------------------------------------------------------------------------------------- the pages


def test_dashboard_shows_the_headline_figures_charts_and_downloads(scenario, funder):
    page = signed_in(funder).get(reverse("programme_dashboard", args=[scenario.slug])).content.decode()

    for amount in (
        "10,000.00 EUR",
        "2,500.00 EUR",
        "1,250.49 EUR",
        "900.00 EUR",
        "500.00 EUR",
        "7,500.00 EUR",
    ):
        assert amount in page
    assert page.count('role="img"') == 4  # the timeline and three bar charts
    assert "Committed, redeemed and reimbursed value over time" in page
    assert "<polyline" in page
    assert "Not known" in page
    assert "33.3" in page  # overall Net Promoter Score
    assert reverse("programme_report_xlsx", args=[scenario.slug]) in page
    assert reverse("programme_report_pdf", args=[scenario.slug]) in page
    # Aggregates only: no holder, code or comment.
    assert "Holder 1" not in page
    assert Voucher.objects.first().code not in page
    assert "Private comment" not in page


def test_dashboard_of_an_empty_programme_says_there_is_no_data_yet(programme, staff_user):
    page = signed_in(staff_user).get(reverse("programme_dashboard", args=[programme.slug])).content.decode()

    assert "No data yet." in page
    assert "No redemptions yet." in page


def test_dashboard_reads_a_fixed_number_of_queries(scenario, funder, django_assert_max_num_queries):
    client = signed_in(funder)
    url = reverse("programme_dashboard", args=[scenario.slug])
    client.get(url)  # warm up the session and the site's caches

    with django_assert_max_num_queries(10):  # session, user, programme, memberships, six aggregates
        assert client.get(url).status_code == 200


def test_xlsx_has_one_sheet_per_table_with_exact_numbers(scenario, staff_user):
    response = signed_in(staff_user).get(reverse("programme_report_xlsx", args=[scenario.slug]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f'filename="{scenario.slug}-report-' in response["Content-Disposition"]
    sheets = pd.read_excel(io.BytesIO(response.content), sheet_name=None)
    assert list(sheets) == [
        "Summary", "Timeline", "Per solution", "Per firm", "Per region", "Feedback", "Claims",
    ]  # fmt: skip
    summary = dict(zip(sheets["Summary"]["Figure"], sheets["Summary"]["Value"], strict=True))
    assert summary["Committed"] == 2500
    assert summary["Redeemed"] == pytest.approx(1250.49, abs=1e-9)
    assert summary["Reimbursement approved"] == 900
    assert summary["Paid to firms"] == 500
    assert summary["Remaining budget"] == 7500
    assert summary["Feedback response rate (%)"] == 75
    region = sheets["Per region"].set_index("Region")
    assert region.loc["Not known", "Amount (EUR)"] == pytest.approx(99.99, abs=1e-9)
    timeline = sheets["Timeline"]
    assert timeline["Committed (EUR)"].tolist() == [3500, 3500, 3000, 2500]

    book = openpyxl.load_workbook(io.BytesIO(response.content))
    redeemed = book["Summary"]["B4"]
    assert isinstance(redeemed.value, (int, float)) and redeemed.number_format == "#,##0.00"
    assert book["Per solution"]["E2"].number_format == "#,##0.00"
    assert book["Timeline"]["A2"].is_date
    everything = " ".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row)
    assert "Holder 1" not in everything
    assert Voucher.objects.first().code not in everything
    assert "Private comment" not in everything


def test_pdf_report_names_the_programme_and_its_headline_amounts(scenario, funder):
    response = signed_in(funder).get(reverse("programme_report_pdf", args=[scenario.slug]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Warm homes Bretagne" in text
    assert "Bretagne Innovation Agency" in text
    for figure in (
        "Total budget 10,000.00 EUR",
        "Committed 2,500.00 EUR",
        "Redeemed 1,250.49 EUR",
        "Reimbursement approved 900.00 EUR",
        "Paid to firms 500.00 EUR",
        "Remaining budget 7,500.00 EUR",
    ):
        assert figure in text
    assert "Not known" in text
    assert "Holder 1" not in text
