"""The open market consultation: its notice, registrations, events and attendance, written input up to the
closing second, and the summary report that shows who took part."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO
from unittest.mock import patch

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from livinglab.errors import GroundRulesRequired
from livinglab.models import AuditEntry
from procurement.errors import ProcurementError
from procurement.models import CallDocument, ConsultationInput, Procurement, Registration
from procurement.services import calls
from procurement.services import consultation as services
from tests.concurrency import on_postgresql, run_together

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
Stage = Registration.Stage


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def consulting(draft, procurer):
    """The consultation is open for three weeks from now."""
    return services.open_consultation(
        draft, closes_at=timezone.now() + timedelta(days=21), acting_user=procurer
    )


@pytest.fixture
def firm_user(sme, consulting, accept):
    from livinglab.factories import MembershipFactory, UserFactory
    from livinglab.models import Role

    user = MembershipFactory(
        organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory(email="firm@example.org")
    ).user
    return accept(user, consulting, sme)


@pytest.fixture
def registered(consulting, sme, firm_user):
    services.register_interest(consulting, sme, Stage.CONSULTATION, acting_user=firm_user)
    return consulting


def close(procurement):
    """Move the closing time into the past, as if the consultation had run its course."""
    Procurement.objects.filter(pk=procurement.pk).update(
        consultation_opens_at=timezone.now() - timedelta(days=30),
        consultation_closes_at=timezone.now() - timedelta(seconds=1),
    )
    procurement.refresh_from_db()
    return procurement


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())


# ---------------------------------------------------------------------------------------------- opening


def test_open_consultation_publishes_the_notice(draft, procurer, django_capture_on_commit_callbacks):
    closes = timezone.now() + timedelta(days=21)
    with django_capture_on_commit_callbacks(execute=True):
        services.open_consultation(draft, closes_at=closes, acting_user=procurer)
    draft.refresh_from_db()
    assert draft.status == Procurement.Status.CONSULTATION and draft.consultation_open()
    notice = CallDocument.objects.get(procurement=draft, kind=CallDocument.Kind.CONSULTATION_NOTICE)
    text = pdf_text(notice.file.read())
    assert "Open market consultation" in text and "(Europe/Helsinki)" in text
    assert "Detect falls early, without cameras." in text


def test_open_consultation_refuses_a_closing_time_before_the_opening(draft, procurer):
    with pytest.raises(ProcurementError, match="must close after it opens"):
        services.open_consultation(draft, closes_at=timezone.now() - timedelta(hours=1), acting_user=procurer)
    with pytest.raises(ProcurementError, match="cannot open in the past"):
        services.open_consultation(
            draft,
            opens_at=timezone.now() - timedelta(days=1),
            closes_at=timezone.now() + timedelta(days=1),
            acting_user=procurer,
        )


def test_open_consultation_refuses_a_published_call(call, procurer):
    with pytest.raises(ProcurementError, match="opens only before the call"):
        services.open_consultation(call, closes_at=timezone.now() + timedelta(days=5), acting_user=procurer)


def test_open_consultation_refuses_a_procurer_without_the_ground_rules(authority, procurer, pcp_rules):
    procurement = calls.create_procurement(
        buyer=authority,
        title="t",
        challenge="c",
        needs="n",
        expected_outcome="o",
        budget=Decimal("5"),
        acting_user=procurer,
    )
    with pytest.raises(GroundRulesRequired):
        services.open_consultation(
            procurement, closes_at=timezone.now() + timedelta(days=5), acting_user=procurer
        )


# ----------------------------------------------------------------------------------------- registration


def test_register_interest_registers_once_however_often_it_is_asked(consulting, sme, firm_user):
    first = services.register_interest(consulting, sme, Stage.CONSULTATION, acting_user=firm_user)
    again = services.register_interest(consulting, sme, Stage.CONSULTATION, acting_user=firm_user)
    assert first.pk == again.pk
    assert Registration.objects.filter(procurement=consulting, organisation=sme).count() == 1
    assert AuditEntry.objects.filter(action="procurement.registration.create").count() == 1


def test_register_interest_refuses_someone_who_does_not_act_for_the_firm(
    consulting, other_sme, firm_user, procurer
):
    with pytest.raises(ProcurementError, match="You cannot act for Loire Mobile"):
        services.register_interest(consulting, other_sme, Stage.CONSULTATION, acting_user=firm_user)
    with pytest.raises(ProcurementError, match="You cannot act for"):
        services.register_interest(consulting, other_sme, Stage.CONSULTATION, acting_user=procurer)


def test_register_interest_refuses_a_draft(draft, sme, sme_admin):
    with pytest.raises(ProcurementError, match="not published"):
        services.register_interest(draft, sme, Stage.CONSULTATION, acting_user=sme_admin)


def test_register_interest_refuses_a_closed_consultation_and_a_call_not_yet_published(
    consulting, sme, firm_user
):
    with pytest.raises(ProcurementError, match="bidders register while its call is published"):
        services.register_interest(consulting, sme, Stage.CALL, acting_user=firm_user)
    close(consulting)
    with pytest.raises(ProcurementError, match=r"closed on .* \(Europe/Helsinki\)"):
        services.register_interest(consulting, sme, Stage.CONSULTATION, acting_user=firm_user)
    assert not Registration.objects.exists()


def test_register_interest_refuses_a_firm_that_has_not_accepted_the_ground_rules(consulting, newcomer):
    firm = newcomer.memberships.get().organisation
    with pytest.raises(GroundRulesRequired):
        services.register_interest(consulting, firm, Stage.CONSULTATION, acting_user=newcomer)


def test_register_interest_registers_a_bidder_of_a_published_call(call, sme, bidder):
    registration = services.register_interest(call, sme, Stage.CALL, acting_user=bidder)
    assert registration.stage == Stage.CALL and registration.registered_by == bidder


# ---------------------------------------------------------------------------------------------- events


def test_add_consultation_event_and_record_who_came(consulting, procurer, sme, other_sme):
    starts = timezone.now() - timedelta(hours=2)
    event = services.add_consultation_event(
        consulting,
        {
            "title": "Information day",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=1),
            "place": "Espoo",
        },
        acting_user=procurer,
    )
    services.record_event_attendance(event, [sme, other_sme], acting_user=procurer)
    assert set(event.attendees.values_list("name", flat=True)) == {"Breizh Sensors", "Loire Mobile"}


def test_add_consultation_event_refuses_an_event_ending_before_it_starts_or_without_a_place(
    consulting, procurer
):
    starts = timezone.now() + timedelta(days=3)
    with pytest.raises(ProcurementError, match="must end after it starts"):
        services.add_consultation_event(
            consulting,
            {"title": "Day", "starts_at": starts, "ends_at": starts, "place": "Espoo"},
            acting_user=procurer,
        )
    with pytest.raises(ProcurementError, match="online link"):
        services.add_consultation_event(
            consulting,
            {"title": "Day", "starts_at": starts, "ends_at": starts + timedelta(hours=2)},
            acting_user=procurer,
        )


def test_add_consultation_event_refuses_a_firm(consulting, firm_user):
    starts = timezone.now() + timedelta(days=3)
    with pytest.raises(ProcurementError, match="Only the procurers"):
        services.add_consultation_event(
            consulting,
            {
                "title": "Our own day",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=1),
                "place": "Rennes",
            },
            acting_user=firm_user,
        )


def test_record_event_attendance_waits_for_the_event_and_leaves_the_authority_out(
    consulting, procurer, sme, authority
):
    starts = timezone.now() + timedelta(days=3)
    event = services.add_consultation_event(
        consulting,
        {
            "title": "Workshop",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "online_url": "https://x.example",
        },
        acting_user=procurer,
    )
    with pytest.raises(ProcurementError, match=r"record who came once it has started"):
        services.record_event_attendance(event, [sme], acting_user=procurer)
    event.starts_at = timezone.now() - timedelta(minutes=5)
    event.save()
    with pytest.raises(ProcurementError, match="not a participant of its own consultation"):
        services.record_event_attendance(event, [authority], acting_user=procurer)
    assert not event.attendees.exists()


# ------------------------------------------------------------------------------------------ written input


def test_submit_consultation_input_reaches_the_authority_with_its_attachment(registered, sme, firm_user):
    document = SimpleUploadedFile("Breizh Sensors – our idea.pdf", PDF, content_type="application/pdf")
    contribution = services.submit_consultation_input(
        registered,
        sme,
        subject="Radar instead of cameras",
        text="Low-power radar sees falls without filming anyone.",
        document=document,
        acting_user=firm_user,
    )
    contribution.refresh_from_db()
    assert contribution.organisation == sme and contribution.submitted_by == firm_user
    assert contribution.document.read() == PDF
    assert "Breizh" not in contribution.document.name and contribution.document.name.endswith(".pdf")


def test_submit_consultation_input_refuses_an_organisation_that_did_not_register(consulting, sme, firm_user):
    with pytest.raises(ProcurementError, match="Register Breizh Sensors for the consultation"):
        services.submit_consultation_input(consulting, sme, subject="s", text="t", acting_user=firm_user)


def test_submit_consultation_input_is_refused_at_the_closing_second(registered, sme, firm_user):
    closes = registered.consultation_closes_at
    with patch("django.utils.timezone.now", return_value=closes - timedelta(seconds=1)):
        services.submit_consultation_input(
            registered, sme, subject="Just in time", text="t", acting_user=firm_user
        )
    with (
        patch("django.utils.timezone.now", return_value=closes),
        pytest.raises(ProcurementError, match=r"closed on .* input is no longer accepted"),
    ):
        services.submit_consultation_input(
            registered, sme, subject="Too late", text="t", acting_user=firm_user
        )
    assert list(ConsultationInput.objects.values_list("subject", flat=True)) == ["Just in time"]


@pytest.mark.parametrize(
    "upload, reason",
    [
        (SimpleUploadedFile("notes.pdf", b"just text, not a PDF"), "must be a PDF, ZIP, PNG or JPEG"),
        (SimpleUploadedFile("empty.pdf", b""), "empty"),
    ],
)
def test_submit_consultation_input_checks_the_attachments_type_on_its_content(
    registered, sme, firm_user, upload, reason
):
    with pytest.raises(ProcurementError, match=reason):
        services.submit_consultation_input(
            registered, sme, subject="s", text="t", document=upload, acting_user=firm_user
        )
    assert not ConsultationInput.objects.exists()


def test_submit_consultation_input_refuses_an_attachment_above_the_size_limit(
    registered, sme, firm_user, settings
):
    settings.BID_DOCUMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * 1024)
    with pytest.raises(ProcurementError, match="too large"):
        services.submit_consultation_input(
            registered, sme, subject="s", text="t", document=upload, acting_user=firm_user
        )


def test_submit_consultation_input_refuses_an_empty_input(registered, sme, firm_user):
    with pytest.raises(ProcurementError, match="subject and write it out"):
        services.submit_consultation_input(registered, sme, subject=" ", text="t", acting_user=firm_user)


def test_mark_input_used_is_for_the_authority_and_ends_with_the_call(registered, sme, firm_user, procurer):
    contribution = services.submit_consultation_input(
        registered, sme, subject="s", text="t", acting_user=firm_user
    )
    with pytest.raises(ProcurementError, match="Only the procurers"):
        services.mark_input_used(contribution, True, acting_user=firm_user)
    services.mark_input_used(contribution, True, acting_user=procurer)
    contribution.refresh_from_db()
    assert contribution.used_in_specifications
    Procurement.objects.filter(pk=registered.pk).update(status=Procurement.Status.CALL)
    contribution.procurement.refresh_from_db()
    with pytest.raises(ProcurementError, match="its call is published"):
        services.mark_input_used(contribution, False, acting_user=procurer)


# --------------------------------------------------------------------------------------------- summary


def test_publish_consultation_summary_waits_until_the_consultation_closes(registered, procurer):
    with pytest.raises(ProcurementError, match="publish its summary once it has closed"):
        services.publish_consultation_summary(registered, "Firms want radar.", acting_user=procurer)
    close(registered)
    with pytest.raises(ProcurementError, match="Write the summary"):
        services.publish_consultation_summary(registered, "  ", acting_user=procurer)


def test_the_summary_report_shows_who_took_part(
    registered, sme, other_sme, firm_user, procurer, django_capture_on_commit_callbacks
):
    services.submit_consultation_input(
        registered, sme, subject="Radar", text="Use radar.", acting_user=firm_user
    )
    contribution = services.submit_consultation_input(
        registered, sme, subject="Privacy", text="t", acting_user=firm_user
    )
    services.mark_input_used(contribution, True, acting_user=procurer)
    starts = timezone.now() - timedelta(hours=3)
    event = services.add_consultation_event(
        registered,
        {
            "title": "Information day",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "place": "Espoo",
        },
        acting_user=procurer,
    )
    services.record_event_attendance(event, [sme, other_sme], acting_user=procurer)
    close(registered)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_consultation_summary(
            registered, "Firms favour radar over cameras.", acting_user=procurer
        )
    record = services.consultation_record(registered)
    rows = {
        r.organisation.name: (bool(r.registered_at), r.events, r.inputs, r.used)
        for r in record["participants"]
    }
    assert rows == {
        "Breizh Sensors": (True, ["Information day"], 2, 1),
        "Loire Mobile": (False, ["Information day"], 0, 0),
    }
    summary = CallDocument.objects.get(procurement=registered, kind=CallDocument.Kind.CONSULTATION_SUMMARY)
    text = pdf_text(summary.file.read())
    assert "Firms favour radar over cameras." in text
    assert "Breizh Sensors" in text and "Loire Mobile" in text and "Information day" in text


def test_a_call_after_a_consultation_needs_its_summary_and_then_cites_it(
    registered, procurer, django_capture_on_commit_callbacks
):
    from tests.procurement.test_calls import complete

    complete(registered, procurer)
    with pytest.raises(calls.CallIncomplete, match="summary report of the market consultation"):
        calls.publish_call(registered, acting_user=procurer)
    close(registered)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_consultation_summary(registered, "Firms favour radar.", acting_user=procurer)
    with django_capture_on_commit_callbacks(execute=True):
        calls.publish_call(registered, acting_user=procurer)
    document = CallDocument.objects.get(procurement=registered, kind=CallDocument.Kind.CALL)
    summary = CallDocument.objects.get(procurement=registered, kind=CallDocument.Kind.CONSULTATION_SUMMARY)
    assert summary.sha256 in pdf_text(document.file.read()).replace(" ", "")


@on_postgresql
def test_a_double_clicked_registration_registers_once(transactional_db, consulting, sme, firm_user):
    run_together(
        lambda i: services.register_interest(consulting, sme, Stage.CONSULTATION, acting_user=firm_user), 4
    )
    assert Registration.objects.filter(procurement=consulting, organisation=sme).count() == 1
    assert AuditEntry.objects.filter(action="procurement.registration.create").count() == 1
