import pytest
from django.core import mail

from livinglab import services
from livinglab.errors import ConsentError, GroundRulesRequired
from livinglab.factories import GroundRulesVersionFactory
from livinglab.models import ConsentRecord, Guardianship, Person, VersionStatus


def test_require_ground_rules_refuses_until_the_current_version_is_accepted(participant, platform_rules):
    with pytest.raises(GroundRulesRequired) as refused:
        services.require_ground_rules(participant)
    assert refused.value.pending == [platform_rules]
    services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    services.require_ground_rules(participant)  # no longer raises


def test_publishing_a_new_version_voids_earlier_acceptances(participant, platform_rules, staff_user):
    services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    draft = GroundRulesVersionFactory.build(
        rules=platform_rules.rules, text="Stricter rules.", status="draft"
    )
    draft = services.save_draft_version(draft, acting_user=staff_user)
    services.publish_version(draft, acting_user=staff_user)
    platform_rules.refresh_from_db()
    assert platform_rules.status == VersionStatus.RETIRED
    with pytest.raises(GroundRulesRequired) as refused:
        services.require_ground_rules(participant)
    assert [v.pk for v in refused.value.pending] == [draft.pk]


def test_a_published_version_cannot_be_edited(platform_rules, staff_user):
    platform_rules.text = "Changed after publication"
    with pytest.raises(ConsentError):
        services.save_draft_version(platform_rules, acting_user=staff_user)
    platform_rules.refresh_from_db()
    assert "Changed" not in platform_rules.text


def test_give_and_withdraw_consent_is_answered_by_has_active_consent(participant, give):
    person = participant.person
    record = give(person)
    assert services.has_active_consent(person, "participation")
    assert not services.has_active_consent(person, "recording")
    assert services.withdraw_consent(
        record, channel=ConsentRecord.WithdrawalChannel.ONLINE, acting_user=participant
    )
    assert not services.has_active_consent(person, "participation")
    assert not services.withdraw_consent(record, channel="online", acting_user=participant)


def test_consent_receipt_is_mailed_once_with_a_pdf(participant, give, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        give(participant.person)
    assert len(mail.outbox) == 1
    _name, content, mimetype = mail.outbox[0].attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")


def test_health_data_needs_explicit_consent(participant, give):
    with pytest.raises(ConsentError, match="explicitly"):
        give(participant.person, "health", explicit_purposes=[])
    assert not services.has_active_consent(participant.person, "health-data")


def test_a_minor_needs_a_guardian_to_consent(participant, give, consent_form):
    from datetime import date

    child = Person.objects.create(
        full_name="Léa Martin", birth_date=date.today().replace(year=date.today().year - 12)
    )
    with pytest.raises(ConsentError, match="guardian"):
        give(child, acting_user=participant)
    parent = participant.person
    services.add_guardian(
        child, guardian=parent, relationship=Guardianship.Relationship.PARENT, acting_user=participant
    )
    record = give(child, acting_user=participant, guardian=parent)
    assert record.guardian == parent and record.guardian_relationship == "parent"
    assert services.has_active_consent(child, "participation")
