"""Concurrency claims, tested on PostgreSQL with real threads (the harness runs this file there)."""

from livinglab import audit, services
from livinglab.factories import GroundRulesVersionFactory, PersonFactory, UserFactory
from livinglab.models import AuditEntry, ConsentRecord, GroundRulesVersion, VersionStatus
from tests.concurrency import on_postgresql, run_together

pytestmark = on_postgresql


def test_concurrent_writers_keep_one_unbroken_audit_chain(transactional_db, consent_form, purposes):
    people = [PersonFactory() for _ in range(12)]
    results = run_together(
        lambda i: services.give_consent(
            people[i], consent_form, [purposes["participation"]], method="online", acting_user=people[i].user
        ),
        len(people),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    checked, problems = audit.verify_chain()
    assert problems == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert checked == len(seqs)


def test_a_double_submitted_consent_records_one_active_consent(transactional_db, consent_form, purposes):
    person = PersonFactory()
    results = run_together(
        lambda i: services.give_consent(
            person, consent_form, [purposes["participation"]], method="online", acting_user=person.user
        ),
        6,
    )
    assert ConsentRecord.objects.active().filter(person=person).count() == 1
    assert {r[0].pk for r in results if not isinstance(r, Exception)} == {
        ConsentRecord.objects.get(person=person).pk
    }


def test_two_publishers_leave_exactly_one_published_version(transactional_db):
    staff = UserFactory()
    current = GroundRulesVersionFactory()
    drafts = [
        services.save_draft_version(
            GroundRulesVersion(rules=current.rules, text=f"Draft {i}"), acting_user=staff
        )
        for i in range(4)
    ]
    run_together(lambda i: services.publish_version(drafts[i], acting_user=staff), len(drafts))
    statuses = list(GroundRulesVersion.objects.filter(rules=current.rules).values_list("status", flat=True))
    assert statuses.count(VersionStatus.PUBLISHED) == 1
    assert audit.verify_chain()[1] == []


def test_concurrent_withdrawals_withdraw_once(transactional_db, consent_form, purposes):
    person = PersonFactory()
    record = services.give_consent(
        person, consent_form, [purposes["participation"]], method="online", acting_user=person.user
    )[0]
    results = run_together(
        lambda i: services.withdraw_consent(record, channel="online", acting_user=person.user), 5
    )
    assert results.count(True) == 1 and results.count(False) == 4
    assert AuditEntry.objects.filter(action="livinglab.consent.withdraw").count() == 1
