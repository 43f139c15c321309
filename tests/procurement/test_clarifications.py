"""Clarifications: asked privately before the question deadline, answered to every registered bidder at the
same moment and in the same words, without saying who asked."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from livinglab.errors import GroundRulesRequired
from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import AuditEntry, Organisation, Role
from procurement.errors import ProcurementError
from procurement.models import Clarification, Consortium, Phase, Registration
from procurement.services import clarifications as services
from procurement.tasks.clarifications import send_clarification_answers
from tests.concurrency import on_postgresql, run_together

QUESTION = "Breizh Sensors asks: may our fall sensor use the Bluetooth gateway we already sell?"
PUBLIC = "May a solution use a Bluetooth gateway the bidder already sells?"
ANSWER = "Yes, provided that the gateway meets the interoperability requirements of annex 2."


@pytest.fixture
def bidders(call, sme, other_sme, bidder, rival, partner_user, consortium, sme_admin):
    """Registered bidders: Breizh Sensors (registered, and leads HomeSense with Aalto Care Research) and
    Loire Mobile (registered). Returns the addresses that must receive every answer."""
    for organisation in (sme, other_sme):
        Registration.objects.create(
            procurement=call, organisation=organisation, stage=Registration.Stage.CALL
        )
    bidder.first_name, bidder.last_name = "Yann", "Le Gall"
    bidder.save()
    return {"bidder@example.org", "sme@example.org", "rival@example.org", "partner@example.org"}


@pytest.fixture
def question(phase1, sme, bidder, bidders):
    return services.ask_clarification(phase1, sme, QUESTION, acting_user=bidder)


def publish(question, procurer, captured, **kwargs):
    with captured(execute=True):
        return services.answer_clarification(question, PUBLIC, ANSWER, acting_user=procurer, **kwargs)


# ------------------------------------------------------------------------------------------ asking


def test_a_registered_bidder_asks_privately_before_the_deadline(question, sme, bidder):
    assert question.status == Clarification.Status.ASKED
    assert question.asking_organisation == sme and question.asked_by == bidder
    assert question.published_at is None
    entry = AuditEntry.objects.get(action="procurement.clarification.ask")
    assert entry.organisation == sme


def test_a_question_at_the_deadline_s_own_second_is_refused(phase1, sme, bidder, bidders, monkeypatch):
    moment = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
    Phase.objects.filter(pk=phase1.pk).update(question_deadline=moment)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    with pytest.raises(ProcurementError, match="closed on"):
        services.ask_clarification(phase1, sme, "Late?", acting_user=bidder)
    assert not Clarification.objects.exists()


def test_a_question_one_second_before_the_deadline_is_accepted(phase1, sme, bidder, bidders, monkeypatch):
    moment = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
    Phase.objects.filter(pk=phase1.pk).update(question_deadline=moment)
    monkeypatch.setattr(timezone, "now", lambda: moment - timedelta(seconds=1))
    services.ask_clarification(phase1, sme, "Just in time?", acting_user=bidder)
    assert Clarification.objects.filter(question="Just in time?").exists()


def test_the_refusal_names_the_deadline_in_the_authority_s_time_zone(
    phase1, sme, bidder, bidders, pass_deadline
):
    pass_deadline(phase1)
    with pytest.raises(ProcurementError) as refusal:
        services.ask_clarification(phase1, sme, "Late?", acting_user=bidder)
    assert "Europe/Helsinki" in refusal.value.message


def test_a_planned_phase_takes_no_questions(call, sme, bidder, bidders):
    with pytest.raises(ProcurementError, match="not open for questions"):
        services.ask_clarification(call.phases.get(number=2), sme, "Phase 2?", acting_user=bidder)


def test_a_firm_not_registered_as_bidder_cannot_ask(phase1, call, accept):
    firm = Organisation.objects.create(name="Tampere Robotics", slug="tampere-robotics", kind="sme")
    user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
    accept(user, call, firm)
    with pytest.raises(ProcurementError, match="Register"):
        services.ask_clarification(phase1, firm, "Can we?", acting_user=user)


def test_the_authority_cannot_ask_itself(phase1, authority, procurer, bidders):
    with pytest.raises(ProcurementError, match="firm or research organisation"):
        services.ask_clarification(phase1, authority, "Hm?", acting_user=procurer)


def test_a_newcomer_is_refused_with_the_ground_rules_to_accept(call, phase1, newcomer, pcp_rules):
    firm = Organisation.objects.get(slug="newcomer-oy")
    Registration.objects.create(procurement=call, organisation=firm, stage=Registration.Stage.CALL)
    with pytest.raises(GroundRulesRequired) as refusal:
        services.ask_clarification(phase1, firm, "Can we?", acting_user=newcomer)
    assert pcp_rules in refusal.value.pending
    assert not Clarification.objects.exists()


# ------------------------------------------------------------------------------------------ answering


def test_every_registered_bidder_receives_the_same_answer_without_the_asker(
    question, procurer, bidders, newcomer, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    publish(question, procurer, django_capture_on_commit_callbacks)

    recipients = [address for message in mail.outbox for address in message.to]
    assert sorted(recipients) == sorted(bidders)  # one mail per address, no one twice, no one else
    assert all(len(message.to) == 1 and not message.cc and not message.bcc for message in mail.outbox)
    assert len({(m.subject, m.body) for m in mail.outbox}) == 1  # identical for everyone
    message = mail.outbox[0]
    assert PUBLIC in message.body and ANSWER in message.body
    for trace in ("Breizh Sensors", "Yann", "Le Gall", "bidder@example.org", QUESTION):
        assert trace not in message.body and trace not in message.subject
    assert "newcomer@example.org" not in recipients


def test_an_answer_is_published_to_all_at_one_moment(question, procurer, django_capture_on_commit_callbacks):
    published = publish(question, procurer, django_capture_on_commit_callbacks)
    published.refresh_from_db()
    assert published.status == Clarification.Status.PUBLISHED
    assert published.published_at is not None and published.notified_at is not None
    assert published.public_question == PUBLIC


def test_the_published_wording_defaults_to_the_question(
    question, procurer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_clarification(question, "  ", ANSWER, acting_user=procurer)
    question.refresh_from_db()
    assert question.public_question == QUESTION


def test_answers_saved_for_later_appear_together_at_the_same_moment(
    phase1, sme, other_sme, bidder, rival, question, procurer, bidders, django_capture_on_commit_callbacks
):
    second = services.ask_clarification(phase1, other_sme, "Is Swedish accepted?", acting_user=rival)
    services.answer_clarification(question, PUBLIC, ANSWER, acting_user=procurer, publish=False)
    services.answer_clarification(
        second, "", "Bids are in English or Finnish.", acting_user=procurer, publish=False
    )
    assert not Clarification.objects.filter(status=Clarification.Status.PUBLISHED).exists()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.publish_clarifications(phase1, acting_user=procurer)

    moments = set(Clarification.objects.values_list("published_at", flat=True))
    assert len(moments) == 1 and None not in moments
    # one mail per address carrying both answers
    assert sorted(a for m in mail.outbox for a in m.to) == sorted(bidders)
    assert all(ANSWER in m.body and "English or Finnish" in m.body for m in mail.outbox)


def test_publishing_with_nothing_answered_is_refused(phase1, procurer, question):
    with pytest.raises(ProcurementError, match="No answered question"):
        services.publish_clarifications(phase1, acting_user=procurer)


def test_only_the_procurer_answers(question, compliance_user, bidder):
    for user in (compliance_user, bidder):
        with pytest.raises(ProcurementError, match="procurers"):
            services.answer_clarification(question, "", ANSWER, acting_user=user)


def test_a_question_is_answered_once(question, procurer, django_capture_on_commit_callbacks):
    publish(question, procurer, django_capture_on_commit_callbacks)
    with pytest.raises(ProcurementError, match="already"):
        services.answer_clarification(question, "", "Something else", acting_user=procurer)


def test_no_answer_is_published_once_bids_are_closed(question, phase1, procurer, pass_deadline):
    pass_deadline(phase1)
    with pytest.raises(ProcurementError, match="no longer takes bids"):
        services.answer_clarification(question, "", ANSWER, acting_user=procurer)


def test_a_declined_question_is_never_published_and_its_asker_learns_why(question, procurer):
    mail.outbox.clear()
    services.decline_clarification(question, "Covered by section 4 of the call.", acting_user=procurer)
    question.refresh_from_db()
    assert question.status == Clarification.Status.DECLINED and question.published_at is None
    assert question.decline_reason == "Covered by section 4 of the call." and question.answer == ""
    assert mail.outbox == []


def test_dissolved_consortia_no_longer_receive_answers(
    question, consortium, procurer, bidders, django_capture_on_commit_callbacks
):
    Consortium.objects.filter(pk=consortium.pk).update(status=Consortium.Status.DISSOLVED)
    mail.outbox.clear()
    publish(question, procurer, django_capture_on_commit_callbacks)
    assert "partner@example.org" not in [a for m in mail.outbox for a in m.to]  # only via the consortium
    assert "bidder@example.org" in [a for m in mail.outbox for a in m.to]  # registered on its own


def test_the_mail_task_sends_each_answer_once(
    question, procurer, bidders, django_capture_on_commit_callbacks
):
    publish(question, procurer, django_capture_on_commit_callbacks)
    sent = len(mail.outbox)
    assert sent == len(bidders)
    assert send_clarification_answers([question.pk]) == 0
    assert len(mail.outbox) == sent


def test_a_failed_sending_is_retried_later(question, procurer, bidders, monkeypatch):
    services.answer_clarification(question, "", ANSWER, acting_user=procurer)  # callbacks not run

    def broken(self, messages):
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", broken)
    with pytest.raises(OSError):
        send_clarification_answers.run([question.pk])
    question.refresh_from_db()
    assert question.notified_at is None
    monkeypatch.undo()
    mail.outbox.clear()
    assert send_clarification_answers([question.pk]) == len(bidders)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_mail_the_same_answers_twice(question, procurer, bidders):
    services.answer_clarification(question, "", ANSWER, acting_user=procurer)  # mailed once on commit
    Clarification.objects.filter(pk=question.pk).update(notified_at=None)  # as if the worker had not run
    mail.outbox.clear()
    results = run_together(lambda i: send_clarification_answers.run([question.pk]), 2)
    assert sorted(results) == [0, len(bidders)]
    assert len(mail.outbox) == len(bidders)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_procurers_answering_at_once_publish_one_answer(question, procurer, authority, call, accept):
    other = accept(
        MembershipFactory(organisation=authority, role=Role.PROCURER, user=UserFactory()).user,
        call,
        authority,
    )
    users = [procurer, other]
    results = run_together(
        lambda i: services.answer_clarification(question, "", f"Answer {i}", acting_user=users[i]), 2
    )
    assert sum(isinstance(r, Clarification) for r in results) == 1
    assert sum(isinstance(r, ProcurementError) for r in results) == 1
    assert AuditEntry.objects.filter(action="procurement.clarification.publish").count() == 1
