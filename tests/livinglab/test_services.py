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


def test_channel_ground_rules_apply_only_to_activities_in_that_channel(participant, platform_rules):
    from livinglab.models import Channel, ScopedDocument

    b2g = GroundRulesVersionFactory(
        rules__title="Contact with public buyers",
        rules__scope_kind=ScopedDocument.ScopeKind.CHANNEL,
        rules__channel=Channel.B2G,
    )
    services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    services.require_ground_rules(participant, Channel.B2C)  # only the platform code applies: accepted
    with pytest.raises(GroundRulesRequired) as refused:
        services.require_ground_rules(participant, Channel.B2G)
    assert refused.value.pending == [b2g]


def test_rules_attached_to_one_object_apply_to_that_object_only(participant, sme, other_sme, platform_rules):
    from django.contrib.contenttypes.models import ContentType

    from livinglab.models import ScopedDocument

    services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    call_rules = GroundRulesVersionFactory(
        rules__title="Rules of this call",
        rules__scope_kind=ScopedDocument.ScopeKind.OBJECT,
        rules__content_type=ContentType.objects.get_for_model(sme),
        rules__object_id=sme.pk,
    )
    services.require_ground_rules(participant, other_sme)
    with pytest.raises(GroundRulesRequired) as refused:
        services.require_ground_rules(participant, sme)
    assert refused.value.pending == [call_rules]


def test_accepting_for_an_organisation_does_not_count_for_oneself_or_another_organisation(
    sme_admin, sme, platform_rules
):
    services.accept_ground_rules(platform_rules, organisation=sme, acting_user=sme_admin)
    services.require_ground_rules(sme_admin, organisation=sme)
    with pytest.raises(GroundRulesRequired):
        services.require_ground_rules(sme_admin)


def test_accepting_twice_records_one_acceptance(participant, platform_rules):
    first = services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    second = services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant)
    assert first.pk == second.pk
    assert first.text_sha256 == platform_rules.text_sha256
