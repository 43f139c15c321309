"""The Wagtail admin at /admin/ changes state only through services, and never edits what must not change."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from livinglab import services
from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import (
    AuditEntry,
    ConsentRecord,
    GroundRulesVersion,
    Membership,
    Organisation,
    Role,
    VersionStatus,
    text_hash,
)
from tests.conftest import with_totp


@pytest.fixture
def coordinator_client(client, staff_user):
    """The lab coordinator, signed in to the admin."""
    client.force_login(staff_user)
    return client


@pytest.fixture
def superuser(db):
    return with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True))


def actions_on(obj) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            object_id=str(obj.pk), action__startswith=f"livinglab.{obj._meta.model_name}."
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_creating_an_organisation_in_the_admin_records_it_in_the_audit_trail(coordinator_client, staff_user):
    response = coordinator_client.post(
        reverse("organisation:add"),
        {
            "name": "Nordic Health Lab",
            "slug": "nordic-health-lab",
            "kind": Organisation.Kind.RESEARCH,
            "country": "FI",
            "region": "Uusimaa",
            "sector": "Health",
            "size": Organisation.Size.MEDIUM,
            "group": "",
            "website": "",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    organisation = Organisation.objects.get(slug="nordic-health-lab")
    assert (organisation.kind, organisation.country.code) == (Organisation.Kind.RESEARCH, "FI")
    entry = AuditEntry.objects.get(action="livinglab.organisation.create", object_id=str(organisation.pk))
    assert entry.actor == staff_user
    assert entry.organisation == organisation


def test_a_role_that_does_not_fit_the_organisation_kind_is_refused_with_a_form_error(coordinator_client, sme):
    newcomer = UserFactory(email="newcomer@example.org")
    audit_before = AuditEntry.objects.count()
    response = coordinator_client.post(
        reverse("membership:add"),
        {"user": newcomer.pk, "organisation": sme.pk, "role": Role.PROCURER},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors, "the form should say why the membership was refused"
    assert "SME" in str(form.errors)
    assert not Membership.objects.filter(user=newcomer).exists()
    assert AuditEntry.objects.count() == audit_before


def test_deleting_a_membership_in_the_admin_ends_it_and_keeps_the_record(coordinator_client, sme, staff_user):
    membership = MembershipFactory(organisation=sme, role=Role.FIRM_MEMBER)
    response = coordinator_client.post(reverse("membership:delete", args=[membership.pk]))
    assert response.status_code == 302
    membership.refresh_from_db()  # the row is still there
    assert membership.ended_at is not None
    entry = AuditEntry.objects.get(action="livinglab.membership.end", object_id=str(membership.pk))
    assert entry.actor == staff_user
    assert entry.organisation == sme


def test_adding_a_version_with_publish_now_publishes_it_and_retires_the_previous_one(
    coordinator_client, platform_rules
):
    text = "1. No gifts.\n2. Equal information.\n3. Declare conflicts.\n4. Keep participants' data private."
    response = coordinator_client.post(
        reverse("groundrulesversion:add"),
        {
            "rules": platform_rules.rules_id,
            "text": text,
            "summary_of_changes": "Adds rule 4",
            "publish_now": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    new = GroundRulesVersion.objects.get(rules=platform_rules.rules, text=text)
    assert new.status == VersionStatus.PUBLISHED
    assert new.text_sha256 == text_hash(text)
    assert new.number == platform_rules.number + 1
    platform_rules.refresh_from_db()
    assert platform_rules.status == VersionStatus.RETIRED
    assert actions_on(new) == [
        "livinglab.groundrulesversion.save_draft",
        "livinglab.groundrulesversion.publish",
    ]


def test_adding_a_version_without_publish_now_keeps_it_a_draft(coordinator_client, platform_rules):
    response = coordinator_client.post(
        reverse("groundrulesversion:add"),
        {"rules": platform_rules.rules_id, "text": "A draft for discussion.", "summary_of_changes": ""},
    )
    assert response.status_code == 302
    draft = GroundRulesVersion.objects.get(rules=platform_rules.rules, text="A draft for discussion.")
    assert (draft.status, draft.text_sha256) == (VersionStatus.DRAFT, "")
    platform_rules.refresh_from_db()
    assert platform_rules.status == VersionStatus.PUBLISHED


def test_a_consent_form_published_from_the_admin_asks_for_the_ticked_purposes(
    coordinator_client, consent_form, purposes
):
    chosen = [purposes["participation"], purposes["recording"]]
    text = "We ask your permission to take part and to be recorded. You can withdraw at any time."
    response = coordinator_client.post(
        reverse("consentdocumentversion:add"),
        {
            "document": consent_form.document_id,
            "text": text,
            "purposes": [p.pk for p in chosen],
            "summary_of_changes": "No more health data",
            "publish_now": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    new = consent_form.document.versions.get(text=text)
    assert new.status == VersionStatus.PUBLISHED
    assert set(new.purposes.all()) == set(chosen)
    consent_form.refresh_from_db()
    assert consent_form.status == VersionStatus.RETIRED


def test_a_published_version_cannot_be_edited_in_the_admin(coordinator_client, platform_rules):
    edit_url = reverse("groundrulesversion:edit", args=[platform_rules.pk])
    response = coordinator_client.get(edit_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("groundrulesversion:index")
    assert any("published" in str(m) for m in get_messages(response.wsgi_request))

    original = platform_rules.text
    response = coordinator_client.post(
        edit_url,
        {
            "rules": platform_rules.rules_id,
            "text": "Quietly rewritten.",
            "summary_of_changes": "",
            "publish_now": "on",
        },
    )
    assert response.status_code == 302
    platform_rules.refresh_from_db()
    assert (platform_rules.text, platform_rules.status) == (original, VersionStatus.PUBLISHED)
    assert platform_rules.text_sha256 == text_hash(original)
    assert not AuditEntry.objects.filter(
        object_id=str(platform_rules.pk), action__contains="groundrulesversion"
    )


def test_the_audit_trail_lists_entries_and_filters_them_by_action_prefix(coordinator_client, sme, staff_user):
    member = services.add_membership(UserFactory(), sme, Role.FIRM_MEMBER, acting_user=staff_user)
    services.end_membership(member, acting_user=staff_user)
    renamed = OrganisationFactory(name="Armor Robotics", kind=Organisation.Kind.SME)
    renamed.name = "Armor Robotics SAS"
    services.save_reference_data(renamed, acting_user=staff_user)

    response = coordinator_client.get(reverse("audit:index"))
    assert response.status_code == 200
    listed = {entry.action for entry in response.context["object_list"]}
    assert {"livinglab.membership.add", "livinglab.membership.end", "livinglab.organisation.update"} <= listed
    assert "Armor Robotics SAS" in response.content.decode()

    response = coordinator_client.get(reverse("audit:index"), {"action": "livinglab.membership"})
    assert response.status_code == 200
    filtered = [entry.action for entry in response.context["object_list"]]
    assert sorted(filtered) == ["livinglab.membership.add", "livinglab.membership.end"]

    response = coordinator_client.get(reverse("audit:index"), {"action": "membership"})
    assert list(response.context["object_list"]) == [], "the filter matches the start of the code only"


def assert_refused(response, url):
    """Wagtail refuses by sending the user back to the dashboard with a message, never by showing a form."""
    assert response.status_code == 302, url
    assert response["Location"] == reverse("wagtailadmin_home"), url


@pytest.mark.parametrize("persona", ["staff_user", "superuser"])
def test_no_one_can_add_edit_or_delete_an_audit_entry_or_a_consent_record(
    persona, request, client, participant, give
):
    client.force_login(request.getfixturevalue(persona))
    record = give(participant.person)
    entry = AuditEntry.objects.get(action="livinglab.consent.give", object_id=str(record.pk))
    frozen_entry = (entry.action, entry.data, entry.hash)
    frozen_record = (record.method, record.withdrawn_at, record.text_sha256)
    entries, records = AuditEntry.objects.count(), ConsentRecord.objects.count()

    for prefix, obj, data in [
        ("audit", entry, {"action": "livinglab.nothing.happened", "data": "{}"}),
        ("consentrecord", record, {"method": "paper", "text_sha256": "0" * 64, "withdrawn_at": ""}),
    ]:
        for url in (reverse(f"{prefix}:add"), reverse(f"{prefix}:edit", args=[obj.pk])):
            assert_refused(client.get(url), url)
            assert_refused(client.post(url, data), url)
        url = reverse(f"{prefix}:delete", args=[obj.pk])
        assert_refused(client.post(url), url)

    entry.refresh_from_db()
    record.refresh_from_db()
    assert (entry.action, entry.data, entry.hash) == frozen_entry
    assert (record.method, record.withdrawn_at, record.text_sha256) == frozen_record
    assert (AuditEntry.objects.count(), ConsentRecord.objects.count()) == (entries, records)
    # Reading both stays possible.
    assert client.get(reverse("audit:inspect", args=[entry.pk])).status_code == 200
    assert client.get(reverse("consentrecord:inspect", args=[record.pk])).status_code == 200


@pytest.mark.parametrize("persona", ["participant", "sme_admin"])
def test_participants_and_firm_admins_are_told_the_admin_is_not_for_them(persona, request, client):
    client.force_login(request.getfixturevalue(persona))
    for url in ("/admin/", reverse("organisation:index"), reverse("audit:index"), reverse("membership:add")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "for the cluster organisation" in response.content.decode(), url


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
