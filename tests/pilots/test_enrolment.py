"""Joining a panel, assisted enrolment with consent evidence, the confirmation link, profiles, a panel's own
questions and the counts interest groups see of their recruits."""

import re
import time
from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from livinglab.factories import (
    DEMO_PASSWORD,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import ConsentRecord, Guardianship, Organisation, Person, Role
from pilots.factories import (
    PanelAttributeFactory,
    PanelFactory,
    PanelMembershipFactory,
    ParticipantProfileFactory,
)
from pilots.models import AttributeValue, PanelAttribute, PanelMembership, ParticipantProfile
from pilots.services.enrolment import (
    AnswerError,
    Cell,
    ConsentRoute,
    confirm_membership,
    enrol_participant,
    join_panel,
    membership_from_token,
    save_answers,
    suppress,
)
from pilots.services.panels import add_member
from pilots.tasks.panels import send_membership_confirmation
from pilots.tokens import confirmation_token
from tests.browser import sign_in
from tests.concurrency import on_postgresql, run_together

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
Status = PanelMembership.Status


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def profile_post(**overrides) -> dict:
    """What a person types into the profile part of a form."""
    data = {
        "year_of_birth": "1950",
        "region": "Bretagne",
        "postcode_area": "35",
        "household_type": "single",
        "languages": ["fr", "br"],
        "digital_skills": "basic",
        "devices": ["tablet"],
        "preferred_contact": "email",
        "shared_attributes": ["age_band", "region", "languages"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def ticks(purposes, *codes, explicit=()) -> dict:
    data = {f"consent-purpose_{purposes[c].pk}": "on" for c in codes}
    data.update({f"consent-explicit_{purposes[c].pk}": "on" for c in explicit})
    return data


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def joiner(participant):
    """The participant, born in 1950 (the year the profile forms below give)."""
    Person.objects.filter(user=participant).update(birth_date=date(1950, 5, 17))
    participant.refresh_from_db()
    return participant


@pytest.fixture
def other_group_rep(db):
    """A representative of an interest group that does not recruit for the panel."""
    group = OrganisationFactory(name="Nantes Disability Forum", kind=Organisation.Kind.INTEREST_GROUP)
    user = MembershipFactory(
        organisation=group, role=Role.GROUP_REPRESENTATIVE, user=UserFactory(email="forum@example.org")
    ).user
    PersonFactory(user=user)
    return user


@pytest.fixture
def minor(db):
    """A 12-year-old with an account of their own, and their mother."""
    today = timezone.localdate()
    child = PersonFactory(
        full_name="Lena Kerjean",
        birth_date=date(today.year - 12, 1, 1),
        user=UserFactory(email="lena@example.org"),
    )
    mother = PersonFactory(full_name="Maud Kerjean", user=UserFactory(email="maud@example.org"))
    Guardianship.objects.create(guardian=mother, ward=child, relationship=Guardianship.Relationship.PARENT)
    return child


@pytest.fixture
def pending(panel, group_rep, seniors_club):
    """Someone the seniors' club enrolled with their e-mail address, waiting to confirm."""
    person = Person.objects.create(full_name="Yvonne Le Bihan")
    ParticipantProfileFactory(person=person, year_of_birth=1948, contact_email="yvonne@example.org")
    membership, _ = add_member(
        panel,
        person,
        source=PanelMembership.Source.INTEREST_GROUP,
        recruited_by=seniors_club,
        acting_user=group_rep,
        confirmed=False,
    )
    return membership


# ------------------------------------------------------------------------------------------ joining


def test_joining_a_panel_gives_consent_and_an_active_membership_with_the_profile(panel, joiner, purposes):
    client = signed_in(joiner)
    url = reverse("pilots:join_panel", args=[panel.slug])
    assert "Living well at home" in text_of(client.get(url))

    response = client.post(url, profile_post() | ticks(purposes, "participation", "recording"))

    assert response.status_code == 302
    person = joiner.person
    membership = PanelMembership.objects.get(panel=panel, person=person)
    assert (membership.status, membership.source) == (Status.ACTIVE, PanelMembership.Source.SELF)
    assert membership.confirmed_at is not None
    profile = ParticipantProfile.objects.get(person=person)
    assert (profile.year_of_birth, profile.region, profile.languages) == (1950, "Bretagne", "|br|fr|")
    assert profile.shared == ["age_band", "languages", "region"]
    records = ConsentRecord.objects.filter(person=person, withdrawn_at__isnull=True)
    assert {r.purpose.code for r in records} == {"participation", "recording"}
    assert {r.method for r in records} == {ConsentRecord.Method.ONLINE}
    assert all(r.evidence["form"] == "panel sign-up" for r in records)
    assert "You are a member" in text_of(client.get(url))


def test_an_anonymous_visitor_is_sent_to_sign_in_and_comes_back_to_the_panel(panel):
    url = reverse("pilots:join_panel", args=[panel.slug])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_a_join_sent_twice_makes_one_member_and_says_so(panel, joiner, purposes):
    client = signed_in(joiner)
    url = reverse("pilots:join_panel", args=[panel.slug])
    data = profile_post() | ticks(purposes, "participation")
    client.post(url, data)
    second = client.post(url, data, follow=True)

    assert PanelMembership.objects.filter(panel=panel).count() == 1
    assert ConsentRecord.objects.filter(person=joiner.person).count() == 1
    assert "You are a member" in text_of(second)


def test_a_person_already_in_the_panel_is_told_instead_of_joining_again(panel, participant, purposes):
    PanelMembershipFactory(panel=panel, person=participant.person)
    join_result = join_panel(
        panel,
        participant.person,
        profile={"year_of_birth": 1980, "region": "Bretagne"},
        answers={},
        purposes=[purposes["participation"]],
        acting_user=participant,
    )
    assert join_result[1] is False
    assert not ConsentRecord.objects.filter(person=participant.person).exists()


def test_health_data_consent_needs_its_separate_explicit_tick(panel, joiner, purposes):
    client = signed_in(joiner)
    url = reverse("pilots:join_panel", args=[panel.slug])
    response = client.post(url, profile_post() | ticks(purposes, "participation", "health"))

    assert response.status_code == 200
    assert "Tick this box as well to give explicit consent" in text_of(response)
    assert not PanelMembership.objects.filter(panel=panel).exists()


def test_a_minor_cannot_join_alone(panel, minor, purposes):
    client = signed_in(minor.user)
    url = reverse("pilots:join_panel", args=[panel.slug])
    response = client.post(
        url, profile_post(year_of_birth=str(minor.birth_date.year)) | ticks(purposes, "participation")
    )

    assert response.status_code == 200
    assert "a parent or guardian joins the panel for them" in text_of(response)
    assert not PanelMembership.objects.filter(panel=panel).exists()
    assert not ConsentRecord.objects.filter(person=minor).exists()


def test_a_minor_without_a_date_of_birth_is_recognised_by_the_year_they_give(panel, purposes):
    teenager = PersonFactory(birth_date=None, user=UserFactory(email="teen@example.org"))
    client = signed_in(teenager.user)
    year = timezone.localdate().year - 14
    response = client.post(
        reverse("pilots:join_panel", args=[panel.slug]),
        profile_post(year_of_birth=str(year)) | ticks(purposes, "participation"),
    )
    assert "under the age of digital consent" in text_of(response)
    assert not PanelMembership.objects.filter(panel=panel).exists()


def test_a_guardian_joins_their_ward_and_consents_for_them(panel, minor, purposes):
    mother = minor.guardianships.get().guardian
    client = signed_in(mother.user)
    url = reverse("pilots:join_panel", args=[panel.slug]) + f"?for={minor.pk}"
    assert "Join the panel for Lena Kerjean" in text_of(client.get(url))

    response = client.post(
        url,
        profile_post(year_of_birth=str(minor.birth_date.year), household_type="family")
        | ticks(purposes, "participation"),
    )

    assert response.status_code == 302
    membership = PanelMembership.objects.get(panel=panel, person=minor)
    assert membership.status == Status.ACTIVE
    record = ConsentRecord.objects.get(person=minor)
    assert (record.guardian, record.guardian_relationship) == (mother, Guardianship.Relationship.PARENT)
    assert not PanelMembership.objects.filter(panel=panel, person=mother).exists()


def test_nobody_joins_for_a_person_who_is_not_in_their_care(panel, minor, participant):
    response = signed_in(participant).get(
        reverse("pilots:join_panel", args=[panel.slug]) + f"?for={minor.pk}"
    )
    assert response.status_code == 404


def test_a_panel_closed_to_sign_ups_says_so(panel, participant):
    panel.open_for_sign_up = False
    panel.save()
    response = signed_in(participant).get(reverse("pilots:join_panel", args=[panel.slug]))
    assert "does not take sign-ups" in text_of(response)
    assert "Join the panel" not in text_of(response)


# ------------------------------------------------------------------------------ assisted enrolment


def enrol_post(purposes, route, **overrides) -> dict:
    data = {
        "full_name": "Marcel Guivarc'h",
        "consent_route": route,
        "submission": "a" * 32,
        "witness_name": "",
    } | profile_post(preferred_contact="group", digital_skills="none", devices=["none"])
    data.update(overrides)
    if route != ConsentRoute.EMAIL:
        data |= ticks(purposes, "participation")
    return data


def test_an_interest_group_enrols_someone_with_a_scan_of_their_signed_form(
    panel, group_rep, seniors_club, purposes
):
    client = signed_in(group_rep)
    url = reverse("pilots:enrol_participant", args=[panel.slug])
    assert "Rennes Seniors&#x27; Club" in text_of(client.get(url))
    scan = SimpleUploadedFile("marcel guivarch consent.pdf", PDF, content_type="application/pdf")

    response = client.post(url, enrol_post(purposes, ConsentRoute.PAPER, scan=scan))

    assert response.status_code == 302
    membership = PanelMembership.objects.select_related("person__profile").get(panel=panel)
    assert membership.person.full_name == "Marcel Guivarc'h"
    assert membership.person.user is None
    assert (membership.status, membership.source) == (Status.ACTIVE, PanelMembership.Source.INTEREST_GROUP)
    assert (membership.recruited_by, membership.enrolled_by) == (seniors_club, group_rep)
    profile = membership.person.profile
    assert (profile.preferred_contact, profile.contact_via) == ("group", seniors_club)
    record = ConsentRecord.objects.get(person=membership.person)
    assert record.method == ConsentRecord.Method.PAPER
    assert record.evidence["enrolled_by"] == group_rep.pk
    assert record.evidence["recruited_by"] == seniors_club.pk
    stored = record.evidence["scan"]
    assert stored.startswith("consent-scans/") and stored.endswith(".pdf")
    assert "marcel" not in stored.lower()
    with storages["private"].open(stored) as handle:
        assert handle.read() == PDF
    assert not mail.outbox


def test_the_same_enrolment_form_sent_twice_enrols_one_person(panel, group_rep, purposes):
    client = signed_in(group_rep)
    url = reverse("pilots:enrol_participant", args=[panel.slug])
    data = enrol_post(purposes, ConsentRoute.WITNESSED, witness_name="Soizic Morvan")
    client.post(url, data)
    client.post(url, data)
    assert PanelMembership.objects.filter(panel=panel).count() == 1
    assert Person.objects.filter(full_name="Marcel Guivarc'h").count() == 1


def test_a_file_that_is_not_a_pdf_or_image_is_refused_whatever_its_name(panel, group_rep, purposes):
    client = signed_in(group_rep)
    scan = SimpleUploadedFile("consent.pdf", b"#!/bin/sh\necho not a scan\n", content_type="application/pdf")
    response = client.post(
        reverse("pilots:enrol_participant", args=[panel.slug]),
        enrol_post(purposes, ConsentRoute.PAPER, scan=scan),
    )
    assert response.status_code == 200
    assert "must be a PDF, PNG or JPEG" in text_of(response)
    assert not Person.objects.filter(full_name="Marcel Guivarc'h").exists()


def stored_scans() -> set[str]:
    storage = storages["private"]
    if not storage.exists("consent-scans"):
        return set()
    found, folders = set(), ["consent-scans"]
    while folders:
        folder = folders.pop()
        subfolders, files = storage.listdir(folder)
        folders += [f"{folder}/{d}" for d in subfolders]
        found |= {f"{folder}/{f}" for f in files}
    return found


def test_an_enrolment_refused_after_the_scan_was_stored_leaves_no_file_behind(
    panel, group_rep, seniors_club, purposes
):
    before = stored_scans()
    with pytest.raises(AnswerError):
        enrol_participant(
            panel,
            full_name="Marcel Guivarc'h",
            profile={"year_of_birth": 1941, "region": "Bretagne", "preferred_contact": "group"},
            answers={"no-such-question": "1"},
            consent_route=ConsentRoute.PAPER,
            purposes=[purposes["participation"]],
            scan=SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf"),
            recruited_by=seniors_club,
            acting_user=group_rep,
        )
    assert stored_scans() == before
    assert not Person.objects.filter(full_name="Marcel Guivarc'h").exists()


def test_staff_enrol_someone_whose_consent_was_witnessed(panel, staff_user, purposes):
    client = signed_in(staff_user)
    response = client.post(
        reverse("pilots:enrol_participant", args=[panel.slug]),
        enrol_post(
            purposes,
            ConsentRoute.WITNESSED,
            witness_name="Soizic Morvan",
            preferred_contact="phone",
            phone="02 99 00 00 00",
            household_key="HH-17",
        ),
    )
    assert response.status_code == 302
    membership = PanelMembership.objects.get(panel=panel)
    assert (membership.source, membership.recruited_by, membership.status) == ("staff", None, Status.ACTIVE)
    assert membership.person.profile.household_key == "HH-17"
    record = ConsentRecord.objects.get(person=membership.person)
    assert record.method == ConsentRecord.Method.WITNESSED
    assert record.evidence == {"enrolled_by": staff_user.pk, "recruited_by": None, "witness": "Soizic Morvan"}


def test_enrolment_by_email_leaves_the_member_pending_and_mails_a_confirmation(
    panel, group_rep, purposes, django_capture_on_commit_callbacks
):
    client = signed_in(group_rep)
    data = enrol_post(
        purposes, ConsentRoute.EMAIL, preferred_contact="email", contact_email="marcel@example.org"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pilots:enrol_participant", args=[panel.slug]), data)

    assert response.status_code == 302
    membership = PanelMembership.objects.get(panel=panel)
    assert membership.status == Status.PENDING
    assert membership.confirmed_at is None
    assert not ConsentRecord.objects.filter(person=membership.person).exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marcel@example.org"]
    assert "Living well at home" in message.subject
    assert "Rennes Seniors' Club has put your name forward" in message.body
    # The link is read out of the mail: a token made again here carries a later timestamp when the
    # second turns over between the two.
    prefix = reverse("pilots:confirm_membership", args=["TOKEN"]).replace("TOKEN/", "")
    token = re.search(re.escape(prefix) + r"([^/\s]+)/", message.body).group(1)
    assert membership_from_token(token) == membership
    assert "&#x27;" not in message.body and "&amp;" not in message.body


def test_a_failed_confirmation_mail_is_sent_by_the_retry_and_only_once(pending):
    with (
        mock.patch("pilots.tasks.panels.send_mail", side_effect=OSError("SMTP down")),
        pytest.raises(OSError),
    ):
        send_membership_confirmation(pending.pk)
    assert PanelMembership.objects.get(pk=pending.pk).confirmation_sent_at is None
    assert send_membership_confirmation(pending.pk) is True
    assert send_membership_confirmation(pending.pk) is False
    assert [m.to for m in mail.outbox] == [["yvonne@example.org"]]


def test_confirmation_by_email_needs_an_email_address(panel, group_rep, purposes):
    client = signed_in(group_rep)
    response = client.post(
        reverse("pilots:enrol_participant", args=[panel.slug]), enrol_post(purposes, ConsentRoute.EMAIL)
    )
    assert response.status_code == 200
    assert "we need their e-mail address" in text_of(response)
    assert not PanelMembership.objects.exists()


def test_an_interest_group_cannot_enrol_a_minor(panel, group_rep, purposes):
    year = timezone.localdate().year - 15
    with pytest.raises(Exception, match="under the age of digital consent"):
        enrol_participant(
            panel,
            full_name="Young Person",
            profile={"year_of_birth": year, "region": "Bretagne", "preferred_contact": "group"},
            answers={},
            consent_route=ConsentRoute.WITNESSED,
            purposes=[purposes["participation"]],
            witness_name="A witness",
            recruited_by=group_rep.memberships.get().organisation,
            acting_user=group_rep,
        )
    assert not Person.objects.filter(full_name="Young Person").exists()


def test_an_interest_group_outside_the_panels_recruiting_groups_is_refused(panel, other_group_rep, purposes):
    client = signed_in(other_group_rep)
    url = reverse("pilots:enrol_participant", args=[panel.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, enrol_post(purposes, ConsentRoute.WITNESSED, witness_name="X")).status_code == 403
    assert client.get(reverse("pilots:recruit_counts", args=[panel.slug])).status_code == 403
    assert not PanelMembership.objects.exists()


def test_staff_record_paper_consent_later_for_a_pending_member(pending, staff_user, purposes):
    client = signed_in(staff_user)
    url = reverse("pilots:record_consent", args=[pending.pk])
    assert "Yvonne Le Bihan" in text_of(client.get(url))
    scan = SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")

    response = client.post(url, {"route": "paper", "scan": scan} | ticks(purposes, "participation"))

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.ACTIVE
    record = ConsentRecord.objects.get(person=pending.person)
    assert record.method == "paper" and record.evidence["scan"].endswith(".png")
    download = client.get(reverse("pilots:consent_scan", args=[record.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "image/png"


def test_a_group_representative_cannot_record_consent_or_download_scans(pending, group_rep):
    client = signed_in(group_rep)
    assert client.get(reverse("pilots:record_consent", args=[pending.pk])).status_code == 403


# ------------------------------------------------------------------------------------- confirmation


def test_the_confirmation_link_shows_the_panel_and_activates_the_member_with_their_consent(
    pending, consent_form, purposes
):
    client = Client()
    url = reverse("pilots:confirm_membership", args=[confirmation_token(pending)])
    page = text_of(client.get(url))
    assert "Living well at home" in page
    assert consent_form.text in page
    assert "Rennes Seniors&#x27; Club put your name forward" in page
    assert "Yvonne" not in page

    response = client.post(url, ticks(purposes, "participation"))

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.ACTIVE and pending.confirmed_at is not None
    record = ConsentRecord.objects.get(person=pending.person)
    assert (record.method, record.evidence["via"]) == ("online", "confirmation link")
    assert record.given_by is None


def test_a_replayed_confirmation_link_says_it_has_done_its_work(pending, purposes):
    client = Client()
    url = reverse("pilots:confirm_membership", args=[confirmation_token(pending)])
    client.post(url, ticks(purposes, "participation"))
    replay = client.post(url, ticks(purposes, "participation", "recording"))
    assert replay.status_code == 200
    assert "You have confirmed" in text_of(replay)
    again = client.get(url)
    assert again.status_code == 200
    assert "You have confirmed" in text_of(again)
    assert ConsentRecord.objects.filter(person=pending.person).count() == 1


def test_an_expired_confirmation_link_explains_itself(pending):
    sixty_one_days_ago = time.time() - 61 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=sixty_one_days_ago):
        token = confirmation_token(pending)
    response = Client().get(reverse("pilots:confirm_membership", args=[token]))
    assert response.status_code == 410
    assert "This link has expired" in text_of(response)
    assert "send you a new link" in text_of(response)
    assert "Living well at home" not in text_of(response)


@pytest.mark.parametrize("alter", ["truncate", "tamper", "other_nonce", "garbage"])
def test_an_altered_confirmation_link_is_a_bad_request_that_reveals_nothing(pending, alter):
    token = confirmation_token(pending)
    if alter == "truncate":
        token = token[:-3]
    elif alter == "tamper":
        token = token[:3] + ("A" if token[3] != "A" else "B") + token[4:]
    elif alter == "other_nonce":
        PanelMembership.objects.filter(pk=pending.pk).update(confirmation_nonce="something-else")
    else:
        token = "not-a-token"
    response = Client().get(reverse("pilots:confirm_membership", args=[token]))
    assert response.status_code == 400
    page = text_of(response)
    assert "This link is not valid" in page
    assert "Living well at home" not in page and "Seniors" not in page


def test_a_person_can_decline_through_the_confirmation_link(pending):
    url = reverse("pilots:confirm_membership", args=[confirmation_token(pending)])
    response = Client().post(url, {"decline": "1"})
    assert "You will not be contacted" in text_of(response)
    pending.refresh_from_db()
    assert pending.status == Status.OPTED_OUT
    assert Client().get(url).status_code == 410


def test_confirming_a_membership_that_is_no_longer_pending_is_refused(pending, purposes):
    confirm_membership(pending, [purposes["participation"]], acting_user=None)
    with pytest.raises(Exception, match="not waiting for confirmation"):
        confirm_membership(pending, [purposes["participation"]], acting_user=None)


# ------------------------------------------------------------------------------------------ profile


def test_a_member_changes_their_profile_and_their_answers(panel, joiner, member):
    attribute = PanelAttributeFactory(
        panel=panel, code="carer", label="Do you care for a relative?", kind="boolean"
    )
    membership = PanelMembershipFactory(
        panel=panel, person=ParticipantProfileFactory(person=joiner.person).person
    )
    client = signed_in(joiner)
    url = reverse("pilots:edit_profile")
    assert "Do you care for a relative?" in text_of(client.get(url))

    response = client.post(url, profile_post(region="Pays de la Loire", **{f"attr_{attribute.pk}": "true"}))

    assert response.status_code == 302
    assert ParticipantProfile.objects.get(person=joiner.person).region == "Pays de la Loire"
    assert AttributeValue.objects.get(membership=membership, attribute=attribute).value == "true"


def test_a_guardian_edits_their_wards_profile_and_nobody_else_can(minor, participant):
    mother = minor.guardianships.get().guardian
    url = reverse("pilots:edit_ward_profile", args=[minor.pk])
    response = signed_in(mother.user).post(url, profile_post(year_of_birth=str(minor.birth_date.year)))
    assert response.status_code == 302
    assert ParticipantProfile.objects.get(person=minor).region == "Bretagne"
    assert signed_in(participant).get(url).status_code == 403


# ---------------------------------------------------------------------------------- custom answers


@pytest.fixture
def questions(panel):
    make = PanelAttributeFactory
    return {
        "transport": make(panel=panel, code="transport", kind="choice", options=["car", "bus", "bike"]),
        "pets": make(panel=panel, code="pets", kind="multi", options=["cat", "dog", "fish"]),
        "floors": make(panel=panel, code="floors", kind="number", options=[]),
        "carer": make(panel=panel, code="carer", kind="boolean", options=[], required=True),
        "note": make(panel=panel, code="note", kind="text", options=[]),
    }


def test_custom_answers_are_saved_in_the_column_their_kind_needs(member, questions, participant):
    membership = member()
    save_answers(
        membership,
        {
            "transport": "bus",
            "pets": ["dog", "cat"],
            "floors": "2,5",
            "carer": True,
            "note": "  lift broken  ",
        },
        acting_user=participant,
    )
    stored = {v.attribute.code: v for v in AttributeValue.objects.filter(membership=membership)}
    assert stored["transport"].value == "bus"
    assert stored["pets"].value == "|cat|dog|"
    assert (stored["floors"].value, stored["floors"].number) == ("", Decimal("2.50"))
    assert stored["carer"].value == "true"
    assert stored["note"].value == "lift broken"

    save_answers(membership, {"carer": "no", "pets": []}, acting_user=participant)
    assert AttributeValue.objects.get(membership=membership, attribute=questions["carer"]).value == "false"
    assert not AttributeValue.objects.filter(membership=membership, attribute=questions["pets"]).exists()


def test_custom_answers_are_validated_and_nothing_is_saved_when_one_is_wrong(member, questions, participant):
    membership = member()
    with pytest.raises(AnswerError) as refused:
        save_answers(
            membership,
            {"transport": "plane", "pets": ["dog", "lion"], "floors": "many", "note": "x" * 501, "nope": "1"},
            acting_user=participant,
        )
    assert set(refused.value.problems) == {"transport", "pets", "floors", "note", "nope", "carer"}
    assert "lion" in refused.value.problems["pets"]
    assert refused.value.problems["carer"] == "This question needs an answer."
    assert not AttributeValue.objects.filter(membership=membership).exists()


def test_joining_asks_the_panels_questions_and_saves_the_answers(panel, joiner, purposes, questions):
    client = signed_in(joiner)
    url = reverse("pilots:join_panel", args=[panel.slug])
    q = {code: f"attr_{a.pk}" for code, a in questions.items()}
    missing = client.post(url, profile_post() | ticks(purposes, "participation"))
    assert "This field is required." in text_of(missing)
    assert not PanelMembership.objects.exists()

    client.post(
        url,
        profile_post()
        | ticks(purposes, "participation")
        | {q["transport"]: "car", q["pets"]: ["fish"], q["floors"]: "3", q["carer"]: "false"},
    )
    membership = PanelMembership.objects.get(panel=panel)
    answers = {v.attribute.code: v.display() for v in membership.answers.select_related("attribute")}
    assert answers == {"transport": "car", "pets": "fish", "floors": "3", "carer": "No"}


# ------------------------------------------------------------------------------- attributes page


def test_staff_define_change_and_delete_a_panels_questions(panel, staff_user, member):
    client = signed_in(staff_user)
    add = reverse("pilots:attribute_add", args=[panel.slug])
    response = client.post(
        add,
        {
            "label": "How do you get around?",
            "code": "transport",
            "kind": "choice",
            "options": "Car\nBus\n\nBus\n",
        },
    )
    assert response.status_code == 302
    attribute = PanelAttribute.objects.get(panel=panel, code="transport")
    assert attribute.options == ["Car", "Bus"]

    duplicate = client.post(add, {"label": "Again", "code": "transport", "kind": "text"})
    assert "already has a question with this code" in text_of(duplicate)
    no_choices = client.post(add, {"label": "Pick", "code": "pick", "kind": "multi", "options": "only one"})
    assert "at least two answers" in text_of(no_choices)

    AttributeValue.objects.create(membership=member(), attribute=attribute, value="Bus")
    edit = reverse("pilots:attribute_edit", args=[panel.slug, attribute.pk])
    dropped = client.post(edit, {"label": "Getting around", "kind": "choice", "options": "Car\nTrain"})
    assert "Members chose these answers, so they must stay: Bus" in text_of(dropped)
    retyped = client.post(edit, {"label": "Getting around", "kind": "number"})
    assert "answer type cannot change" in text_of(retyped)

    delete = reverse("pilots:attribute_delete", args=[panel.slug, attribute.pk])
    refused = client.post(delete, {"confirm": "on"}, follow=True)
    assert "cannot be deleted" in text_of(refused)
    assert PanelAttribute.objects.filter(pk=attribute.pk).exists()

    unanswered = PanelAttributeFactory(panel=panel, code="spare", kind="text", options=[])
    client.post(reverse("pilots:attribute_delete", args=[panel.slug, unanswered.pk]), {"confirm": "on"})
    assert not PanelAttribute.objects.filter(pk=unanswered.pk).exists()


def test_only_the_living_lab_that_runs_the_panel_manages_its_questions(panel, other_cluster_staff, group_rep):
    url = reverse("pilots:panel_attributes", args=[panel.slug])
    assert signed_in(other_cluster_staff).get(url).status_code == 403
    assert signed_in(group_rep).get(url).status_code == 403


# ------------------------------------------------------------------------------------ recruit counts


def recruit(panel, group, n, *, year=1950, status=Status.ACTIVE, name="Recruit"):
    for i in range(n):
        person = ParticipantProfileFactory(
            person=PersonFactory(user=None, full_name=f"{name} {i}", birth_date=None), year_of_birth=year
        ).person
        PanelMembershipFactory(
            panel=panel, person=person, status=status, recruited_by=group, source="interest_group"
        )


def test_recruit_counts_show_no_names_and_hide_small_counts(panel, group_rep, seniors_club):
    recruit(panel, seniors_club, 6, year=1950, name="Jeanne Abgrall")
    recruit(panel, seniors_club, 2, year=1960, status=Status.PENDING, name="Paul Tanguy")
    recruit(panel, OrganisationFactory(kind="interest_group"), 3, name="Other Group Person")

    response = signed_in(group_rep).get(reverse("pilots:recruit_counts", args=[panel.slug]))

    page = text_of(response)
    assert response.status_code == 200
    assert "Jeanne" not in page and "Paul" not in page and "Other Group" not in page
    assert "People recruited</dt><dd>8</dd>" in page
    # Two pending people are hidden, and so is the six (else 8 - 6 would give them away).
    assert page.count("fewer than 5") >= 4
    assert ">6<" not in page and ">2<" not in page
    # Every age band is hidden too, so the chart draws no bar at all.
    assert 'class="bar-value"' not in page


def test_small_cells_are_hidden_and_cannot_be_worked_out_from_the_total():
    assert suppress([("a", 7), ("b", 2), ("c", 0)], total_shown=True) == [
        Cell("a", 7, False),
        Cell("b", 2, False),
    ]
    assert suppress([("a", 7), ("b", 9), ("c", 1), ("d", 3)], total_shown=True) == [
        Cell("a", 7, True),
        Cell("b", 9, True),
        Cell("c", 1, False),
        Cell("d", 3, False),
    ]
    assert suppress([("a", 7), ("b", 9), ("c", 1)], total_shown=True)[0] == Cell("a", 7, False)
    assert all(not c.shown for c in suppress([("a", 3)], total_shown=False))


def test_the_recruiting_page_lists_the_panels_a_group_recruits_for(panel, group_rep, cluster):
    PanelFactory(owner=cluster, name="Not ours", consent_document=panel.consent_document)
    page = text_of(signed_in(group_rep).get(reverse("pilots:recruiting_panels")))
    assert "Living well at home" in page and "Not ours" not in page
    assert reverse("pilots:enrol_participant", args=[panel.slug]) in page
    assert reverse("pilots:recruit_counts", args=[panel.slug]) in page


# --------------------------------------------------------------------------------------- query counts


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_pages_make_the_same_number_of_queries_whatever_their_length(
    panel, staff_user, group_rep, seniors_club, cluster
):
    staff, rep = signed_in(staff_user), signed_in(group_rep)
    attributes = reverse("pilots:panel_attributes", args=[panel.slug])
    recruiting = reverse("pilots:recruiting_panels")
    counts = reverse("pilots:recruit_counts", args=[panel.slug])

    PanelAttributeFactory(panel=panel, code="one")
    other = PanelFactory(owner=cluster, consent_document=panel.consent_document)
    other.recruiting_groups.add(seniors_club)
    recruit(panel, seniors_club, 2)
    before = (queries_for(staff, attributes), queries_for(rep, recruiting), queries_for(rep, counts))

    for i in range(5):
        PanelAttributeFactory(panel=panel, code=f"more-{i}")
        PanelFactory(owner=cluster, consent_document=panel.consent_document).recruiting_groups.add(
            seniors_club
        )
    recruit(panel, seniors_club, 20, year=1990)
    after = (queries_for(staff, attributes), queries_for(rep, recruiting), queries_for(rep, counts))

    assert before == after


# ----------------------------------------------------------------------------------------- concurrency


@on_postgresql
def test_a_join_submitted_several_times_at_once_makes_one_member(transactional_db, panel, joiner, purposes):
    person = Person.objects.get(user=joiner)
    results = run_together(
        lambda i: join_panel(
            panel,
            person,
            profile={"year_of_birth": 1950, "region": "Bretagne"},
            answers={},
            purposes=[purposes["participation"]],
            acting_user=joiner,
        ),
        4,
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(joined for _, joined in results) == [False, False, False, True]
    assert PanelMembership.objects.filter(panel=panel, person=person).count() == 1
    assert ConsentRecord.objects.filter(person=person).count() == 1


@on_postgresql
def test_an_enrolment_form_sent_several_times_at_once_enrols_one_person(
    transactional_db, panel, group_rep, seniors_club, purposes
):
    results = run_together(
        lambda i: enrol_participant(
            panel,
            full_name="Marcel Guivarc'h",
            profile={"year_of_birth": 1941, "region": "Bretagne", "preferred_contact": "group"},
            answers={},
            consent_route=ConsentRoute.WITNESSED,
            purposes=[purposes["participation"]],
            witness_name="Soizic Morvan",
            recruited_by=seniors_club,
            submission_key="b" * 32,
            acting_user=group_rep,
        ),
        4,
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert Person.objects.filter(full_name="Marcel Guivarc'h").count() == 1
    assert PanelMembership.objects.filter(panel=panel).count() == 1


# -------------------------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_enrolment_journey_pages_in_a_browser(page, shoot, panel, group_rep, joiner, purposes):
    """A participant joins; a club enrols someone who confirms by e-mail; screenshots of the three pages."""
    sign_in(page, joiner.email, DEMO_PASSWORD)
    page.goto(reverse("pilots:join_panel", args=[panel.slug]))
    expect(page.get_by_role("heading", name="Living well at home")).to_be_visible()
    shoot("1-join")
    page.get_by_label("Year of birth").fill("1950")
    page.get_by_role("textbox", name="Region").fill("Bretagne")
    page.get_by_label("French").check()
    page.get_by_label("Taking part in studies").check()
    page.get_by_role("button", name="Join the panel").click()
    expect(page.get_by_text("Welcome to “Living well at home”")).to_be_visible()
    shoot("2-joined")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, group_rep.email, DEMO_PASSWORD)
    page.goto(reverse("pilots:enrol_participant", args=[panel.slug]))
    page.get_by_label("Full name").fill("Marcel Guivarc'h")
    page.get_by_label("Year of birth").fill("1941")
    page.get_by_role("textbox", name="Region").fill("Bretagne")
    page.get_by_label("By e-mail", exact=True).check()
    page.get_by_label("E-mail address").fill("marcel@example.org")
    page.get_by_label("Ask them to read the form and confirm by e-mail").check()
    shoot("3-enrol")
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_text("Marcel Guivarc'h is enrolled.")).to_be_visible()
    membership = PanelMembership.objects.get(person__full_name="Marcel Guivarc'h")
    assert membership.status == Status.PENDING
    page.goto(reverse("pilots:recruit_counts", args=[panel.slug]))
    expect(page.get_by_role("heading", name="By age band")).to_be_visible()
    expect(page.get_by_text("Marcel")).to_have_count(0)
    shoot("3b-recruit-counts")
    page.get_by_role("button", name="Sign out").click()

    page.goto(reverse("pilots:confirm_membership", args=[confirmation_token(membership)]))
    expect(page.get_by_role("heading", name="Why you received this link")).to_be_visible()
    shoot("4-confirm")
    page.get_by_label("Taking part in studies").check()
    page.get_by_role("button", name="Confirm and join").click()
    expect(page.get_by_role("heading", name="You have confirmed")).to_be_visible()
    shoot("5-confirmed")
    membership.refresh_from_db()
    assert membership.status == Status.ACTIVE
