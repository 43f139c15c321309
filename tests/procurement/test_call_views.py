"""Pages of the challenge, the consultation and the call: who may see and change what, dates typed and shown
in the authority's time zone, publication with the list of what is missing, and the generated documents."""

import hashlib
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import Organisation, Role
from procurement.factories import PhaseFactory, ProcurementFactory
from procurement.models import CallDocument, ConsultationInput, Phase, Procurement, Registration
from procurement.services import calls, consultation
from tests.conftest import with_totp
from tests.procurement.test_calls import complete

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
NEXT_YEAR = timezone.now().year + 1


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def other_procurer():
    elsewhere = OrganisationFactory(name="City of Turku", kind=Organisation.Kind.PUBLIC_AUTHORITY)
    return with_totp(MembershipFactory(organisation=elsewhere, role=Role.PROCURER, user=UserFactory()).user)


def phase_data(phase, **changes):
    data = {
        "title": phase.title,
        "description": phase.description,
        "budget": str(phase.budget),
        "max_contractors": phase.max_contractors,
        "duration_months": phase.duration_months,
        "deliverables": phase.deliverables,
        "question_deadline": "",
        "bid_deadline": "",
        "pass_mark": str(phase.pass_mark),
        "standstill_days": phase.standstill_days,
    }
    return {**data, **changes}


# ---------------------------------------------------------------------------------------------- visibility


def test_anonymous_visitors_see_a_published_procurement_with_its_zone_named_deadlines(client, call, phase1):
    response = client.get(reverse("procurement:detail", args=[call.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Living at home longer in Espoo" in page and "Quality of the solution design" in page
    local = call.local(phase1.bid_deadline)
    assert f"{local:%-d %B %Y, %H:%M}</time> (Europe/Helsinki time)" in page
    assert reverse("procurement:edit", args=[call.slug]) not in page
    assert f'href="{reverse("procurement:register", args=[call.slug])}"' not in page


def test_a_draft_is_hidden_from_the_public_and_from_other_authorities(client, draft):
    url = reverse("procurement:detail", args=[draft.slug])
    assert client.get(url).status_code == 404
    client.force_login(other_procurer())
    assert client.get(url).status_code == 404
    assert client.get(reverse("procurement:consultation", args=[draft.slug])).status_code == 404
    assert client.get(reverse("procurement:call_pdf", args=[draft.slug])).status_code == 404


def test_a_firm_can_neither_edit_nor_publish_a_procurement(client, call, bidder):
    client.force_login(bidder)
    assert client.get(reverse("procurement:edit", args=[call.slug])).status_code == 403
    response = client.post(reverse("procurement:edit", args=[call.slug]), {"title": "Ours now"})
    assert response.status_code == 403
    assert client.post(reverse("procurement:publish", args=[call.slug])).status_code == 403
    assert client.post(reverse("procurement:call_pdf", args=[call.slug])).status_code == 403
    call.refresh_from_db()
    assert call.title == "Living at home longer in Espoo"


def test_the_intermediary_cluster_sees_the_draft_but_cannot_edit_it(client, draft, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("procurement:detail", args=[draft.slug])).status_code == 200
    assert client.get(reverse("procurement:edit", args=[draft.slug])).status_code == 403


# ------------------------------------------------------------------------------------------------- the index


def test_the_index_shows_drafts_only_to_their_authority_and_filters_by_status(client, call, draft, procurer):
    index = reverse("procurement:index")
    page = client.get(index).content.decode()
    assert "Living at home longer in Espoo" in page and "Home care that sees a fall coming" not in page
    client.force_login(procurer)
    page = client.get(index).content.decode()
    assert "Living at home longer in Espoo" in page and "Home care that sees a fall coming" in page
    page = client.get(index, {"status": "draft"}).content.decode()
    assert "Living at home longer in Espoo" not in page and "Home care that sees a fall coming" in page


def _published(n, cluster):
    for _ in range(n):
        procurement = ProcurementFactory(intermediaries=[cluster])
        PhaseFactory(procurement=procurement)
        PhaseFactory(procurement=procurement, number=2, status=Phase.Status.PLANNED, bid_deadline=None)


def test_the_index_runs_the_same_few_queries_whatever_the_number_of_procurements(
    client, procurer, cluster, django_assert_max_num_queries
):
    client.force_login(procurer)
    _published(2, cluster)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("procurement:index"))
    _published(12, cluster)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("procurement:index"))
    assert response.content.decode().count("Living at home longer") == 14
    with django_assert_max_num_queries(12):
        client.get(reverse("procurement:index"))


# ------------------------------------------------------------------------------------------------- drafting


def test_a_procurer_describes_a_challenge_and_gets_the_default_phases(client, procurer, authority, cluster):
    client.force_login(procurer)
    response = client.post(
        reverse("procurement:create"),
        {
            "buyer": authority.pk,
            "title": "Safe nights at home",
            "challenge": "Night-time falls go unnoticed.",
            "needs": "Alerts without cameras.",
            "expected_outcome": "Help arrives within 15 minutes.",
            "budget": "600000",
            "currency": "EUR",
            "time_zone": "Europe/Helsinki",
            "specifications": "",
            "intermediaries": [cluster.pk],
        },
    )
    procurement = Procurement.objects.get(title="Safe nights at home")
    assert response.status_code == 302 and response["Location"] == reverse(
        "procurement:edit", args=[procurement.slug]
    )
    assert list(procurement.phases.values_list("budget", flat=True)) == [
        Decimal("60000.00"),
        Decimal("180000.00"),
        Decimal("360000.00"),
    ]
    assert procurement.created_by == procurer and list(procurement.intermediaries.all()) == [cluster]


def test_the_form_for_a_new_challenge_offers_only_the_procurers_own_authority(client, procurer, authority):
    OrganisationFactory(name="City of Turku", kind=Organisation.Kind.PUBLIC_AUTHORITY)
    client.force_login(procurer)
    buyers = client.get(reverse("procurement:create")).context["form"].fields["buyer"].queryset
    assert list(buyers) == [authority]


def test_the_edit_page_lists_the_phases_and_what_is_still_missing(client, procurer, draft):
    client.force_login(procurer)
    page = client.get(reverse("procurement:edit", args=[draft.slug])).content.decode()
    assert "Still missing before the call can be published" in page
    assert "Phase 3: Original development and field testing of first products has no award criteria." in page
    assert reverse("procurement:phase_edit", args=[draft.slug, 3]) in page
    assert "100,000 EUR" in page and "0 criteria, 0 %" in page


def test_a_firm_cannot_open_the_form_for_a_new_challenge(client, bidder):
    client.force_login(bidder)
    assert client.get(reverse("procurement:create")).status_code == 403


def test_a_deadline_typed_at_17_00_in_helsinki_is_stored_as_15_00_utc_and_shown_back_with_its_zone(
    client, procurer, draft
):
    client.force_login(procurer)
    phase = draft.phases.get(number=1)
    url = reverse("procurement:phase_edit", args=[draft.slug, 1])
    response = client.post(
        url,
        phase_data(
            phase, question_deadline=f"{NEXT_YEAR}-01-10T12:00", bid_deadline=f"{NEXT_YEAR}-01-15T17:00"
        ),
    )
    assert response.status_code == 302
    phase.refresh_from_db()
    assert phase.bid_deadline == datetime(NEXT_YEAR, 1, 15, 15, 0, tzinfo=UTC)
    form_page = client.get(url).content.decode()
    assert f'value="{NEXT_YEAR}-01-15T17:00"' in form_page and "Europe/Helsinki" in form_page
    detail = client.get(reverse("procurement:detail", args=[draft.slug])).content.decode()
    assert f"15 January {NEXT_YEAR}, 17:00</time> (Europe/Helsinki time)" in detail


def test_a_time_the_clocks_skip_in_the_authoritys_zone_is_refused(client, procurer, draft):
    client.force_login(procurer)
    march_end = date(NEXT_YEAR, 3, 31)
    last_sunday = march_end - timedelta(days=(march_end.weekday() + 1) % 7)  # clocks go 03:00 -> 04:00
    phase = draft.phases.get(number=1)
    response = client.post(
        reverse("procurement:phase_edit", args=[draft.slug, 1]),
        phase_data(phase, bid_deadline=f"{last_sunday:%Y-%m-%d}T03:30"),
    )
    assert response.status_code == 200
    assert "Europe/Helsinki" in response.context["form"].errors["bid_deadline"][0]
    phase.refresh_from_db()
    assert phase.bid_deadline is None


def test_the_phase_page_shows_the_services_refusal_on_the_form(client, procurer, draft):
    client.force_login(procurer)
    phase = draft.phases.get(number=1)
    response = client.post(
        reverse("procurement:phase_edit", args=[draft.slug, 1]), phase_data(phase, budget="2000000")
    )
    assert response.status_code == 200
    assert "more than the budget envelope" in response.content.decode()


def test_criteria_are_added_changed_and_removed_from_the_phase_page(client, procurer, draft):
    client.force_login(procurer)
    phase = draft.phases.get(number=1)
    base = reverse("procurement:criterion_add", args=[draft.slug, 1])
    client.post(
        base, {"new-name": "Quality", "new-weight": "60", "new-max_score": "10", "new-threshold": "4"}
    )
    criterion = phase.criteria.get()
    response = client.post(
        reverse("procurement:criterion_edit", args=[draft.slug, 1, criterion.pk]),
        {
            f"c{criterion.pk}-name": "Quality",
            f"c{criterion.pk}-weight": "60",
            f"c{criterion.pk}-max_score": "3",
            f"c{criterion.pk}-threshold": "4",
        },
    )
    assert "cannot be above the highest score" in response.content.decode()
    client.post(reverse("procurement:criterion_edit", args=[draft.slug, 1, criterion.pk]), {"remove": "1"})
    assert not phase.criteria.exists()


def test_phases_are_added_and_removed_from_the_edit_page(client, procurer, draft):
    client.force_login(procurer)
    services_phase = draft.phases.get(number=3)
    calls.save_phase(services_phase, {"budget": Decimal("500000")}, acting_user=procurer)
    response = client.post(
        reverse("procurement:phase_add", args=[draft.slug]),
        {
            "new-title": "Scale-up",
            "new-budget": "50000",
            "new-max_contractors": "1",
            "new-duration_months": "6",
            "new-deliverables": "A pilot in two districts.",
            "new-pass_mark": "60",
            "new-standstill_days": "10",
        },
    )
    assert response["Location"] == reverse("procurement:phase_edit", args=[draft.slug, 4])
    client.post(reverse("procurement:phase_remove", args=[draft.slug, 2]))
    assert list(draft.phases.values_list("number", "title")) == [
        (1, "Solution design"),
        (2, "Original development and field testing of first products"),
        (3, "Scale-up"),
    ]


# ---------------------------------------------------------------------------------------------- publishing


def test_publishing_an_incomplete_call_lists_what_is_missing(client, procurer, draft):
    client.force_login(procurer)
    response = client.post(reverse("procurement:publish", args=[draft.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The call cannot be published yet" in page
    assert "Phase 1: Solution design has no award criteria." in page
    assert "Set the deadlines for questions and for bids of Phase 1: Solution design." in page
    draft.refresh_from_db()
    assert draft.status == Procurement.Status.DRAFT


def test_publishing_a_complete_call_opens_phase_one(
    client, procurer, draft, django_capture_on_commit_callbacks
):
    complete(draft, procurer)
    client.force_login(procurer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("procurement:publish", args=[draft.slug]), follow=True)
    assert "phase 1 is open for questions and bids" in response.content.decode()
    assert draft.phases.get(number=1).status == Phase.Status.OPEN
    assert CallDocument.objects.filter(procurement=draft, kind="call", version=1).exists()


def test_publishing_without_the_ground_rules_links_to_them(client, authority, pcp_rules):
    procurer = with_totp(
        MembershipFactory(organisation=authority, role=Role.PROCURER, user=UserFactory()).user
    )
    procurement = calls.create_procurement(
        buyer=authority,
        title="t",
        challenge="c",
        needs="n",
        expected_outcome="o",
        budget=Decimal("9"),
        acting_user=procurer,
    )
    client.force_login(procurer)
    response = client.post(reverse("procurement:publish", args=[procurement.slug]))
    assert reverse("ground_rules_detail", args=[pcp_rules.pk]) in response.content.decode()


def test_the_next_phase_opens_from_the_detail_page_once_the_previous_one_is_awarded(client, call, procurer):
    Phase.objects.filter(procurement=call, number=1).update(status=Phase.Status.AWARDED)
    phase2 = call.phases.get(number=2)
    phase2.criteria.create(name="Prototype quality", weight=Decimal("100"))
    client.force_login(procurer)
    page = client.get(reverse("procurement:detail", args=[call.slug])).content.decode()
    assert reverse("procurement:phase_open", args=[call.slug, 2]) in page
    client.post(
        reverse("procurement:phase_open", args=[call.slug, 2]),
        {"question_deadline": f"{NEXT_YEAR}-02-01T12:00", "bid_deadline": f"{NEXT_YEAR}-02-10T17:00"},
    )
    phase2.refresh_from_db()
    assert phase2.status == Phase.Status.OPEN
    assert phase2.bid_deadline == datetime(
        NEXT_YEAR, 2, 10, 17, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Helsinki")
    )


def test_cancelling_needs_a_reason(client, call, procurer):
    client.force_login(procurer)
    response = client.post(reverse("procurement:cancel", args=[call.slug]), {"reason": ""})
    assert response.status_code == 200
    client.post(reverse("procurement:cancel", args=[call.slug]), {"reason": "The budget was cut."})
    call.refresh_from_db()
    assert call.status == Procurement.Status.CANCELLED


# ---------------------------------------------------------------------------------- links to the other parts


def test_the_detail_page_links_each_part_only_to_those_who_may_use_it(
    client, call, consortium, bidder, compliance_user, procurer
):
    slug = call.slug
    public = [
        reverse("procurement:clarifications", args=[slug]),
        reverse("procurement:register_summary", args=[slug]),
        reverse("procurement:ocds_record", args=[call.ocid]),
    ]
    register = f'href="{reverse("procurement:register", args=[slug])}"'
    bid = f'href="{reverse("procurement:bid", args=[slug, 1])}"'
    evaluation = f'href="{reverse("procurement:evaluation", args=[slug, 1])}"'

    page = client.get(reverse("procurement:detail", args=[slug])).content.decode()
    assert all(url in page for url in public)
    assert register not in page and bid not in page and evaluation not in page

    client.force_login(bidder)
    page = client.get(reverse("procurement:detail", args=[slug])).content.decode()
    assert bid in page and reverse("procurement:consortia", args=[slug]) in page
    assert register not in page and evaluation not in page

    client.force_login(compliance_user)
    page = client.get(reverse("procurement:detail", args=[slug])).content.decode()
    assert register in page and bid not in page

    client.force_login(procurer)
    page = client.get(reverse("procurement:detail", args=[slug])).content.decode()
    assert evaluation in page and bid not in page


def test_a_firm_registers_as_a_bidder_from_the_detail_page(client, call, sme, bidder):
    client.force_login(bidder)
    response = client.post(
        reverse("procurement:register_interest", args=[call.slug]),
        {"stage": "call", "as": sme.slug},
        follow=True,
    )
    assert "Breizh Sensors is registered as a bidder" in response.content.decode()
    assert Registration.objects.filter(procurement=call, organisation=sme, stage="call").exists()


# -------------------------------------------------------------------------------------------- consultation


def test_a_firm_takes_part_in_the_consultation_and_the_procurer_uses_its_input(
    client, draft, procurer, sme, accept, django_capture_on_commit_callbacks
):
    client.force_login(procurer)
    response = client.post(
        reverse("procurement:consultation_open", args=[draft.slug]), {"closes_at": f"{NEXT_YEAR}-01-31T16:00"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.consultation_closes_at == datetime(NEXT_YEAR, 1, 31, 14, 0, tzinfo=UTC)

    firm_user = MembershipFactory(organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory()).user
    accept(firm_user, draft, sme)
    client.force_login(firm_user)
    page = client.get(reverse("procurement:consultation", args=[draft.slug])).content.decode()
    assert f"31 January {NEXT_YEAR}, 16:00</time> (Europe/Helsinki time)" in page
    assert "Register Breizh Sensors for the consultation" in page
    client.post(reverse("procurement:register_interest", args=[draft.slug]), {"stage": "consultation"})
    client.post(
        reverse("procurement:input_submit", args=[draft.slug]),
        {
            "subject": "Radar, not cameras",
            "text": "Radar sees falls.",
            "document": SimpleUploadedFile("a.pdf", PDF),
        },
    )
    contribution = ConsultationInput.objects.get()
    assert contribution.organisation == sme

    client.force_login(procurer)
    page = client.get(reverse("procurement:consultation", args=[draft.slug])).content.decode()
    assert "Radar, not cameras" in page
    attachment = client.get(reverse("procurement:input_document", args=[draft.slug, contribution.pk]))
    assert b"".join(attachment.streaming_content) == PDF
    client.post(reverse("procurement:input_used", args=[draft.slug, contribution.pk]), {"used": "1"})
    contribution.refresh_from_db()
    assert contribution.used_in_specifications


def test_written_input_and_its_attachments_stay_between_the_firm_and_the_authority(
    client, draft, procurer, sme, other_sme, accept
):
    consultation.open_consultation(draft, closes_at=timezone.now() + timedelta(days=9), acting_user=procurer)
    firm_user = accept(
        MembershipFactory(organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory()).user, draft, sme
    )
    consultation.register_interest(draft, sme, "consultation", acting_user=firm_user)
    contribution = consultation.submit_consultation_input(
        draft,
        sme,
        subject="Our secret sauce",
        text="t",
        document=SimpleUploadedFile("a.pdf", PDF),
        acting_user=firm_user,
    )
    rival = MembershipFactory(organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory()).user
    client.force_login(rival)
    assert (
        "Our secret sauce"
        not in client.get(reverse("procurement:consultation", args=[draft.slug])).content.decode()
    )
    url = reverse("procurement:input_document", args=[draft.slug, contribution.pk])
    assert client.get(url).status_code == 404
    client.logout()
    assert (
        "Our secret sauce"
        not in client.get(reverse("procurement:consultation", args=[draft.slug])).content.decode()
    )


def test_the_procurer_records_who_came_to_an_event(client, draft, procurer, sme, accept):
    consultation.open_consultation(draft, closes_at=timezone.now() + timedelta(days=9), acting_user=procurer)
    firm_user = accept(
        MembershipFactory(organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory()).user, draft, sme
    )
    consultation.register_interest(draft, sme, "consultation", acting_user=firm_user)
    starts = timezone.now() - timedelta(hours=2)
    event = consultation.add_consultation_event(
        draft,
        {
            "title": "Information day",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=1),
            "place": "Espoo",
        },
        acting_user=procurer,
    )
    client.force_login(procurer)
    client.post(
        reverse("procurement:event_attendance", args=[draft.slug, event.pk]),
        {f"e{event.pk}-organisations": [sme.pk]},
    )
    assert list(event.attendees.all()) == [sme]
    form = (
        client.get(reverse("procurement:consultation", args=[draft.slug]))
        .context["events"][0]
        .attendance_form
    )
    assert list(form.fields["organisations"].queryset) == [sme] and form.initial["organisations"] == [sme]
    client.logout()
    page = client.get(reverse("procurement:consultation", args=[draft.slug])).content.decode()
    assert "Breizh Sensors" in page and "Information day" in page


def test_input_sent_at_the_closing_second_is_refused_on_the_page(client, draft, procurer, sme, accept):
    consultation.open_consultation(draft, closes_at=timezone.now() + timedelta(days=9), acting_user=procurer)
    firm_user = accept(
        MembershipFactory(organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory()).user, draft, sme
    )
    consultation.register_interest(draft, sme, "consultation", acting_user=firm_user)
    moment = timezone.now().replace(microsecond=0)
    Procurement.objects.filter(pk=draft.pk).update(
        consultation_opens_at=moment - timedelta(days=7), consultation_closes_at=moment
    )
    client.force_login(firm_user)
    with patch("django.utils.timezone.now", return_value=moment):
        response = client.post(
            reverse("procurement:input_submit", args=[draft.slug]), {"subject": "s", "text": "t"}
        )
    assert response.status_code == 200 and "input is no longer accepted" in response.content.decode()
    assert not ConsultationInput.objects.exists()


# ----------------------------------------------------------------------------------------------- documents


def test_the_procurer_previews_a_drafts_call_document(client, draft, procurer):
    client.force_login(procurer)
    response = client.get(reverse("procurement:call_pdf", args=[draft.slug]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert not CallDocument.objects.exists()


def test_anyone_downloads_the_issued_call_document_and_the_procurer_issues_a_new_version(
    client, call, procurer
):
    first = calls.generate_document(call, CallDocument.Kind.CALL, acting_user=procurer)
    response = client.get(reverse("procurement:call_pdf", args=[call.slug]))
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == first.sha256 == response["X-Content-SHA256"]
    document = client.get(reverse("procurement:document", args=[first.pk]))
    assert b"".join(document.streaming_content) == content
    client.force_login(procurer)
    client.post(reverse("procurement:call_pdf", args=[call.slug]))
    assert list(CallDocument.objects.filter(procurement=call).values_list("version", flat=True)) == [2, 1]
    response = client.get(reverse("procurement:call_pdf", args=[call.slug]))
    assert response["X-Content-SHA256"] == CallDocument.objects.get(version=2).sha256
