"""What people see and what happens when they click: workspaces, two-step sign-in, consent withdrawal,
ground rules acceptance, receipts, pagination, query counts and bad input, through the test client."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from livinglab import services
from livinglab.factories import (
    ConsentDocumentVersionFactory,
    ConsentPurposeFactory,
    GroundRulesVersionFactory,
    MembershipFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import AuditEntry, ConsentRecord, GroundRulesAcceptance, Role, VersionStatus


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def without_whitespace(text: str) -> str:
    return re.sub(r"\s+", "", text)


def publish_new_version(old, *, acting_user, text="Revised text: no contact during the quiet period."):
    """Publish a successor of ``old`` (ground rules or consent form) through the services."""
    parent = {"rules": old.rules} if hasattr(old, "rules") else {"document": old.document}
    draft = type(old)(text=text, number=0, **parent)
    draft = services.save_draft_version(draft, acting_user=acting_user)
    if hasattr(old, "purposes"):
        draft.purposes.set(old.purposes.all())
    return services.publish_version(draft, acting_user=acting_user)


@pytest.fixture
def neighbour(db):
    """Another participant, whose data nobody else may touch."""
    return PersonFactory(user=UserFactory(email="neighbour@example.org"), full_name="Noor Neighbour").user


@pytest.fixture
def manager_without_totp(cluster):
    """A cluster manager who has not enrolled an authenticator yet."""
    user = MembershipFactory(
        organisation=cluster, role=Role.CLUSTER_MANAGER, user=UserFactory(email="manager@example.org")
    ).user
    PersonFactory(user=user)
    return user


# ------------------------------------------------------------------------------------------ workspaces


def test_participant_workspace_shows_the_users_own_consents_pending_rules_and_memberships(
    sme_admin, sme, platform_rules, give, neighbour
):
    give(sme_admin.person, "participation")
    give(sme_admin.person, "recording")
    give(neighbour.person, "health")
    page = signed_in(sme_admin).get(reverse("participant_workspace")).content.decode()
    assert "Taking part in studies" in page and "Audio and video recording" in page
    assert (
        "Health data" not in page.split("Consents you have given")[1].split("Consent forms you can read")[0]
    )
    assert "Platform code of conduct" in page
    assert sme.name in page and "Firm administrator" in page


def test_accepted_ground_rules_no_longer_wait_in_the_workspace(participant, platform_rules):
    client = signed_in(participant)
    assert "Platform code of conduct" in client.get(reverse("participant_workspace")).content.decode()
    services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    page = client.get(reverse("participant_workspace")).content.decode()
    assert "Platform code of conduct" not in page
    assert "Nothing to accept: you are up to date." in page


def test_cluster_staff_see_recent_audit_entries_in_the_cluster_workspace(
    staff_user, cluster, participant, give
):
    give(participant.person)
    page = signed_in(staff_user).get(reverse("organisation_workspace", args=[cluster.slug])).content.decode()
    assert "Recent activity (audit trail)" in page
    assert "livinglab.consent.give" in page
    assert reverse("audit:index") in page


def test_participants_and_firms_see_no_audit_entries(participant, sme_admin, sme, give):
    give(participant.person)
    assert AuditEntry.objects.filter(action="livinglab.consent.give").exists()
    for client, url in [
        (signed_in(participant), reverse("participant_workspace")),
        (signed_in(sme_admin), reverse("organisation_workspace", args=[sme.slug])),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Recent activity" not in page and "livinglab.consent.give" not in page


def test_a_member_cannot_open_another_organisations_workspace(sme_admin, other_sme):
    response = signed_in(sme_admin).get(reverse("organisation_workspace", args=[other_sme.slug]))
    assert response.status_code == 403
    assert other_sme.name not in response.content.decode()


# -------------------------------------------------------------------------------- two-step sign-in (MFA)


@pytest.mark.parametrize("path", ["/workspace/", "/workspace/me/", "org", "/admin/", "/admin/audit/"])
def test_privileged_user_without_an_authenticator_is_sent_to_enrol(manager_without_totp, cluster, path):
    if path == "org":
        path = reverse("organisation_workspace", args=[cluster.slug])
    response = signed_in(manager_without_totp).get(path)
    assert response.status_code == 302
    assert response.url == "/accounts/mfa-required/"


def test_the_mfa_required_page_explains_how_to_enrol(manager_without_totp):
    response = signed_in(manager_without_totp).get("/workspace/me/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/mfa-required/"
    assert "authenticator app" in page
    assert reverse("mfa_activate_totp") in page


def test_a_participant_needs_no_authenticator(participant):
    assert signed_in(participant).get("/workspace/me/").status_code == 200


def test_an_enrolled_coordinator_opens_the_workspace(staff_user, cluster):
    response = signed_in(staff_user).get(reverse("organisation_workspace", args=[cluster.slug]))
    assert response.status_code == 200
    assert escape(cluster.name) in response.content.decode()


# ------------------------------------------------------------------------------------ consent withdrawal


def test_withdraw_refuses_get(participant, give):
    record = give(participant.person)
    response = signed_in(participant).get(reverse("consent_withdraw", args=[record.pk]))
    assert response.status_code == 405
    record.refresh_from_db()
    assert record.is_active


def test_withdraw_without_a_csrf_token_is_refused(participant, give):
    record = give(participant.person)
    client = signed_in(participant, enforce_csrf_checks=True)
    response = client.post(reverse("consent_withdraw", args=[record.pk]))
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.is_active


def test_withdraw_with_the_forms_csrf_token_withdraws(participant, give):
    record = give(participant.person)
    client = signed_in(participant, enforce_csrf_checks=True)
    page = client.get(reverse("consent_overview")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("consent_withdraw", args=[record.pk]), {"csrfmiddlewaretoken": token}, follow=True
    )
    assert response.status_code == 200
    assert "is withdrawn from now on" in response.content.decode()
    record.refresh_from_db()
    assert not record.is_active and record.withdrawal_channel == ConsentRecord.WithdrawalChannel.ONLINE


def test_a_user_cannot_withdraw_someone_elses_consent(participant, neighbour, give):
    record = give(neighbour.person)
    response = signed_in(participant).post(reverse("consent_withdraw", args=[record.pk]))
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.is_active
    assert not AuditEntry.objects.filter(action="livinglab.consent.withdraw").exists()


def test_withdrawing_twice_is_harmless(participant, give):
    record = give(participant.person)
    client = signed_in(participant)
    url = reverse("consent_withdraw", args=[record.pk])
    client.post(url)
    record.refresh_from_db()
    withdrawn_at = record.withdrawn_at
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "This consent had already been withdrawn." in response.content.decode()
    record.refresh_from_db()
    assert record.withdrawn_at == withdrawn_at
    assert AuditEntry.objects.filter(action="livinglab.consent.withdraw").count() == 1


def test_withdraw_returns_to_the_workspace_only_not_to_another_site(participant, give):
    client = signed_in(participant)
    first, second = give(participant.person), give(participant.person, "recording")
    back = client.post(reverse("consent_withdraw", args=[first.pk]), {"next": "/workspace/me/"})
    assert back.url == "/workspace/me/"
    away = client.post(reverse("consent_withdraw", args=[second.pk]), {"next": "https://evil.example/"})
    assert away.url == reverse("consent_overview")


# -------------------------------------------------------------------------------- replaced documents


def test_a_replaced_ground_rules_version_links_to_the_current_one(participant, platform_rules, staff_user):
    current = publish_new_version(platform_rules, acting_user=staff_user)
    response = signed_in(participant).get(reverse("ground_rules_detail", args=[platform_rules.pk]))
    assert response.status_code == 410
    page = response.content.decode()
    assert "This version has been replaced" in page
    assert f'href="{reverse("ground_rules_detail", args=[current.pk])}"' in page


def test_a_replaced_consent_form_links_to_the_current_one(participant, consent_form, staff_user):
    current = publish_new_version(consent_form, acting_user=staff_user, text="New wording of the panel form.")
    response = signed_in(participant).get(reverse("consent_give", args=[consent_form.pk]))
    assert response.status_code == 410
    assert f'href="{reverse("consent_give", args=[current.pk])}"' in response.content.decode()


def test_a_replaced_version_with_no_successor_says_nothing_is_required(participant, platform_rules):
    platform_rules.__class__.objects.filter(pk=platform_rules.pk).update(status=VersionStatus.RETIRED)
    response = signed_in(participant).get(reverse("ground_rules_detail", args=[platform_rules.pk]))
    assert response.status_code == 410
    assert "nothing is required from you" in response.content.decode()


# -------------------------------------------------------------------------------- accepting ground rules


def test_accepting_the_text_shown_records_one_acceptance(participant, platform_rules):
    response = signed_in(participant).post(
        reverse("ground_rules_detail", args=[platform_rules.pk]),
        {"text_sha256": platform_rules.text_sha256, "confirm": "on", "organisation": ""},
        follow=True,
    )
    assert "Thank you: you accepted" in response.content.decode()
    acceptance = GroundRulesAcceptance.objects.get(user=participant)
    assert acceptance.version == platform_rules and acceptance.text_sha256 == platform_rules.text_sha256


def test_accepting_with_a_stale_text_fingerprint_is_refused_and_records_nothing(participant, platform_rules):
    response = signed_in(participant).post(
        reverse("ground_rules_detail", args=[platform_rules.pk]),
        {"text_sha256": "0" * 64, "confirm": "on", "organisation": ""},
    )
    assert response.status_code == 200
    assert "The text changed while you were reading it" in response.content.decode()
    assert not GroundRulesAcceptance.objects.exists()
    assert not AuditEntry.objects.filter(action="livinglab.groundrules.accept").exists()


def test_accepting_on_behalf_of_an_organisation_one_does_not_belong_to_is_refused(
    sme_admin, other_sme, platform_rules
):
    response = signed_in(sme_admin).post(
        reverse("ground_rules_detail", args=[platform_rules.pk]),
        {"text_sha256": platform_rules.text_sha256, "confirm": "on", "organisation": other_sme.pk},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["organisation"]
    assert not GroundRulesAcceptance.objects.exists()


# ---------------------------------------------------------------------------------------- not found


@pytest.mark.parametrize(
    "url",
    [
        "/consent/records/999999/receipt.pdf",
        "/ground-rules/999999/",
        "/ground-rules/acceptances/999999/pdf/",
        "/consent/forms/999999/",
        "/workspace/org/no-such-organisation/",
    ],
)
def test_a_nonexistent_id_gives_a_friendly_not_found_page(participant, url):
    response = signed_in(participant).get(url)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert f'href="{reverse("workspace")}"' in page


def test_withdrawing_a_nonexistent_consent_gives_not_found(participant):
    assert signed_in(participant).post("/consent/records/999999/withdraw/").status_code == 404


# ------------------------------------------------------------------------------------------ receipts


def test_the_consent_receipt_names_the_purpose_and_the_person(participant, give):
    record = give(participant.person, "recording")
    response = signed_in(participant).get(reverse("consent_receipt", args=[record.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    text = pdf_text(response)
    assert "Audio and video recording" in text
    assert participant.person.full_name in text
    assert record.text_sha256 in without_whitespace(text)


def test_someone_elses_consent_receipt_is_refused(participant, neighbour, give):
    record = give(neighbour.person)
    response = signed_in(participant).get(reverse("consent_receipt", args=[record.pk]))
    assert response.status_code == 403
    assert response["Content-Type"] != "application/pdf"


def test_the_ground_rules_receipt_names_the_rules_and_the_fingerprint(participant, platform_rules):
    acceptance = services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    response = signed_in(participant).get(reverse("ground_rules_receipt", args=[acceptance.pk]))
    assert response.status_code == 200
    text = pdf_text(response)
    assert "Platform code of conduct" in text
    assert platform_rules.text_sha256 in without_whitespace(text)


# --------------------------------------------------------------------------------- lists and queries


def test_the_consent_list_is_paginated(participant):
    purposes = [
        ConsentPurposeFactory(code=f"study-{i:02d}", name=f"Study purpose P{i:02d}") for i in range(25)
    ]
    form = ConsentDocumentVersionFactory(purposes=purposes)
    services.give_consent(participant.person, form, purposes, method="online", acting_user=participant)
    client = signed_in(participant)

    def listed(page):
        html = client.get(reverse("consent_overview"), {"page": page}).content.decode()
        # Only the records table: the list of consent forms below it names every purpose too.
        records = html.split('id="records-heading"')[1].split('id="forms-heading"')[0]
        return set(re.findall(r"Study purpose P\d\d", records)), records

    first, _ = listed(1)
    second, second_html = listed(2)
    assert len(first) == 20 and len(second) == 5
    assert first | second == {p.name for p in purposes}
    assert "Page 2 of 2" in second_html


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_participant_workspace_runs_the_same_queries_for_3_or_30_consents(participant):
    purposes = [ConsentPurposeFactory(code=f"q-{i:02d}") for i in range(30)]
    form = ConsentDocumentVersionFactory(purposes=purposes)
    client = signed_in(participant)
    url = reverse("participant_workspace")
    services.give_consent(participant.person, form, purposes[:3], method="online", acting_user=participant)
    client.get(url)  # the first visit writes the session; measure the visits after it
    few = count_queries(client, url)
    services.give_consent(participant.person, form, purposes[3:], method="online", acting_user=participant)
    many = count_queries(client, url)
    assert ConsentRecord.objects.filter(person=participant.person).count() == 30
    assert few == many


def test_cluster_workspace_runs_the_same_queries_for_3_or_30_members_and_audit_entries(staff_user, cluster):
    client = signed_in(staff_user)
    url = reverse("organisation_workspace", args=[cluster.slug])

    def add_members(n):
        for _ in range(n):
            services.add_membership(UserFactory(), cluster, Role.LAB_COORDINATOR, acting_user=staff_user)

    add_members(2)
    client.get(url)
    few = count_queries(client, url)
    add_members(28)
    many = count_queries(client, url)
    assert AuditEntry.objects.count() >= 30
    assert few == many


# ------------------------------------------------------------------------------------------ sign-up


def test_sign_up_with_a_future_date_of_birth_gets_a_field_error(db):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = Client().post(
        reverse("account_signup"),
        {
            "email": "newcomer@example.org",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "full_name": "New Comer",
            "birth_date": tomorrow.isoformat(),
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["birth_date"] == ["The date of birth cannot be in the future."]
    assert "The date of birth cannot be in the future." in response.content.decode()
    assert not get_user_model().objects.filter(email="newcomer@example.org").exists()


def test_sign_up_with_a_past_date_of_birth_creates_the_person(db):
    response = Client().post(
        reverse("account_signup"),
        {
            "email": "newcomer@example.org",
            "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "full_name": "New Comer",
            "birth_date": "1990-04-01",
        },
    )
    assert response.status_code == 302
    person = get_user_model().objects.get(email="newcomer@example.org").person
    assert person.full_name == "New Comer" and str(person.birth_date) == "1990-04-01"


def test_a_draft_ground_rules_version_is_not_offered_for_acceptance(participant):
    draft = GroundRulesVersionFactory(status=VersionStatus.DRAFT, rules__title="Draft rules")
    response = signed_in(participant).get(reverse("ground_rules_detail", args=[draft.pk]))
    assert response.status_code == 410
    assert "Draft rules" in response.content.decode()


def test_cluster_staff_see_active_consents_by_purpose_as_a_chart_with_its_data(
    client, staff_user, give, purposes
):
    from livinglab.factories import PersonFactory

    for person in [PersonFactory() for _ in range(3)]:
        give(person, "participation")
    withdrawn = give(PersonFactory(), "recording")
    services.withdraw_consent(withdrawn, channel="online", acting_user=withdrawn.person.user)
    client.force_login(staff_user)
    html = client.get(
        reverse("organisation_workspace", args=[staff_user.memberships.get().organisation.slug])
    )
    page = html.content.decode()
    assert 'role="img"' in page and "Active consents by purpose" in page
    assert '<th scope="row">Taking part in studies</th><td>3</td>' in page
    assert "Audio and video recording</th>" not in page  # its only consent was withdrawn
