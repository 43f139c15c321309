"""Pages of the conduct part: who sees the interaction register and the people in it, the public summary,
the clarifications page for each role, messages in and out of the quiet period."""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from livinglab.models import Organisation
from procurement.models import (
    Clarification,
    DirectMessage,
    GiftDeclaration,
    Interaction,
    Phase,
    Procurement,
    Registration,
)
from procurement.services import clarifications, conduct

PEOPLE = "Aino Virtanen (procurer), Yann Le Gall (Breizh Sensors)"
SUMMARY = "Walked through the night-time fall scenario with the home-care team."
QUESTION = "Breizh Sensors asks: may the sensor reuse our own gateway?"


def url(name, procurement, **query):
    address = reverse(f"procurement:{name}", args=[procurement.slug])
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def meeting(call, procurer, authority, sme):
    return conduct.record_interaction(
        call,
        authority,
        Interaction.Kind.MEETING,
        timezone.now() - timedelta(days=3),
        "Site visit at the home-care centre",
        SUMMARY,
        PEOPLE,
        [sme],
        acting_user=procurer,
    )


@pytest.fixture
def gift(call, compliance_user, sme):
    return conduct.declare_gift(
        call,
        sme,
        "Dinner invitation",
        Decimal("85.50"),
        timezone.localdate() - timedelta(days=1),
        GiftDeclaration.Outcome.REFUSED,
        acting_user=compliance_user,
    )


@pytest.fixture
def registered(call, sme, other_sme, bidder, rival):
    for organisation in (sme, other_sme):
        Registration.objects.create(
            procurement=call, organisation=organisation, stage=Registration.Stage.CALL
        )


def quiet_over(procurement):
    procurement.phases.update(status=Phase.Status.PLANNED)
    Procurement.objects.filter(pk=procurement.pk).update(status=Procurement.Status.CONSULTATION)


# ------------------------------------------------------------------------------------------ the register


@pytest.mark.parametrize("persona", ["compliance_user", "intermediary"])
def test_compliance_and_the_intermediary_see_the_people_present(
    client, request, call, meeting, gift, persona
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url("register", call))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Aino Virtanen" in page and SUMMARY in page
    assert "Dinner invitation" in page
    assert "Breizh Sensors" in page


@pytest.mark.parametrize("persona", ["procurer", "bidder", "evaluator_user"])
def test_procurers_firms_and_evaluators_do_not_open_the_register(client, request, call, meeting, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url("register", call))
    assert response.status_code == 403
    assert "Aino Virtanen" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in_for_the_register(client, call, meeting):
    response = client.get(url("register", call))
    assert response.status_code == 302 and "Aino Virtanen" not in response.content.decode()


@pytest.mark.parametrize("persona", [None, "procurer", "bidder", "compliance_user"])
def test_the_public_summary_shows_counts_only(client, request, call, meeting, gift, persona):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.get(url("register_summary", call))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Aino" not in page and "Yann" not in page and SUMMARY not in page
    assert "Site visit" not in page and "Dinner invitation" not in page
    assert response.context["total"] == 1
    assert [(bar.label, bar.value) for bar in response.context["kind_chart"]["bars"]] == [("Meeting", 1)]
    assert [(o.name, o.contacts) for o in response.context["organisations"]] == [("Breizh Sensors", 1)]
    assert response.context["gifts"] == [("Refused", 1, Decimal("85.50"))]
    assert "85.50" in page  # the declared value, by outcome


def test_the_summary_counts_contacts_per_month_in_the_authority_s_time_zone(
    client, call, procurer, authority, sme
):
    helsinki = ZoneInfo("Europe/Helsinki")
    # 31 January, 23:30 in Helsinki is still January there, though already February nowhere west of it.
    moment = datetime(2025, 1, 31, 23, 30, tzinfo=helsinki)
    conduct.record_interaction(
        call, authority, Interaction.Kind.CALL, moment, "Call", "x", "", [sme], acting_user=procurer
    )
    conduct.record_interaction(
        call,
        authority,
        Interaction.Kind.MEETING,
        datetime(2025, 3, 1, 0, 30, tzinfo=helsinki),
        "Meeting",
        "x",
        "",
        [sme],
        acting_user=procurer,
    )
    response = client.get(url("register_summary", call))
    table = [(month, total) for month, _kinds, total in response.context["month_table"]]
    assert table == [("January 2025", 1), ("February 2025", 0), ("March 2025", 1)]


def test_the_register_filters_by_kind_and_organisation(
    client, call, meeting, intermediary, procurer, authority
):
    other = Organisation.objects.create(name="Savo Health Tech", slug="savo-health-tech", kind="sme")
    conduct.record_interaction(
        call,
        authority,
        Interaction.Kind.EVENT,
        timezone.now() - timedelta(days=1),
        "Info day",
        "Presented the call.",
        "",
        [other],
        acting_user=procurer,
    )
    client.force_login(intermediary)
    response = client.get(url("register", call, kind="event"))
    assert [e.subject for e in response.context["entries"]] == ["Info day"]
    response = client.get(
        url("register", call, organisation=meeting.organisations.exclude(pk=authority.pk)[0].pk)
    )
    assert [e.subject for e in response.context["entries"]] == ["Site visit at the home-care centre"]


def test_the_register_export_leaves_out_the_people_present(client, call, meeting, gift, compliance_user):
    client.force_login(compliance_user)
    response = client.get(url("register_csv", call))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "id",
        "occurred_at (Europe/Helsinki)",
        "kind",
        "subject",
        "summary",
        "organisations",
        "on_behalf_of",
    ]
    assert rows[1][3] == "Site visit at the home-care centre"
    assert "Aino" not in text and "Yann" not in text
    gifts = b"".join(client.get(url("gifts_csv", call)).streaming_content).decode("utf-8-sig")
    assert "Dinner invitation" in gifts and compliance_user.email not in gifts
    assert compliance_user.get_full_name() not in gifts


def test_the_export_is_refused_to_procurers(client, call, meeting, procurer):
    client.force_login(procurer)
    assert client.get(url("register_csv", call)).status_code == 403


def test_the_register_page_runs_the_same_queries_for_few_or_many_contacts(
    client, call, procurer, authority, sme, other_sme, compliance_user, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            conduct.record_interaction(
                call,
                authority,
                Interaction.Kind.CALL,
                timezone.now() - timedelta(hours=i + 1),
                f"Call {i}",
                "x",
                "",
                [sme, other_sme],
                acting_user=procurer,
            )

    client.force_login(compliance_user)
    add(2)
    client.get(url("register", call))  # warm caches (content types, sessions)
    with django_assert_max_num_queries(22) as queries:
        assert client.get(url("register", call)).status_code == 200
    few = len(queries)
    add(18)
    with django_assert_max_num_queries(few):
        response = client.get(url("register", call))
    assert len(response.context["entries"]) == 20


def test_the_procurer_records_a_meeting_typed_in_the_authority_s_time_zone(client, call, procurer, sme):
    client.force_login(procurer)
    Registration.objects.create(procurement=call, organisation=sme, stage=Registration.Stage.CALL)
    response = client.post(
        url("record_interaction", call),
        {
            "kind": "meeting",
            "occurred_at": "2025-03-10T14:00",
            "subject": "Clarifying the pilot sites",
            "summary": "Discussed the two pilot districts.",
            "participants": "Aino Virtanen",
            "organisations": [sme.pk],
        },
    )
    assert response.status_code == 302
    entry = Interaction.objects.get()
    assert entry.occurred_at == datetime(2025, 3, 10, 14, 0, tzinfo=ZoneInfo("Europe/Helsinki"))


def test_the_procurer_declares_a_gift_and_the_summary_counts_it(client, call, procurer, sme):
    Registration.objects.create(procurement=call, organisation=sme, stage=Registration.Stage.CALL)
    client.force_login(procurer)
    response = client.post(
        url("declare_gift", call),
        {
            "offered_by": sme.pk,
            "description": "A bottle of wine",
            "value": "25",
            "offered_on": timezone.localdate().isoformat(),
            "outcome": "returned",
        },
    )
    assert response.status_code == 302
    summary = client.get(url("register_summary", call))
    assert summary.context["gifts"] == [("Returned", 1, Decimal("25.00"))]


def test_a_newcomer_recording_a_contact_sees_the_rules_to_accept(client, call, newcomer, pcp_rules):
    client.force_login(newcomer)
    response = client.post(
        url("record_interaction", call),
        {"kind": "call", "occurred_at": "2025-03-10T14:00", "subject": "x", "summary": "y"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Accept the ground rules first" in page
    assert reverse("ground_rules_detail", args=[pcp_rules.pk]) in page
    assert not Interaction.objects.exists()


def test_cluster_staff_see_the_registers_of_the_calls_they_broker(client, call, meeting, intermediary):
    client.force_login(intermediary)
    response = client.get(reverse("procurement:registers"))
    assert [(p.title, p.contacts) for p in response.context["procurements"]] == [(call.title, 1)]


def test_firms_do_not_open_the_cluster_registers_page(client, bidder):
    client.force_login(bidder)
    assert client.get(reverse("procurement:registers")).status_code == 403


# ------------------------------------------------------------------------------------------ messages


def test_during_the_quiet_period_the_message_form_is_replaced_by_clarifications(client, call, bidder):
    client.force_login(bidder)
    response = client.get(url("messages", call))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Quiet period" in page and url("clarifications", call) in page
    assert 'name="subject"' not in page


def test_a_message_posted_during_the_quiet_period_is_refused(client, call, bidder):
    client.force_login(bidder)
    response = client.post(url("messages", call), {"subject": "Hi", "body": "Can we meet?"}, follow=True)
    assert "quiet period" in response.content.decode()
    assert not DirectMessage.objects.exists()


def test_before_the_call_a_firm_writes_to_the_authority_and_sees_the_thread(client, call, bidder, authority):
    quiet_over(call)
    client.force_login(bidder)
    response = client.post(url("messages", call), {"subject": "Info day", "body": "Is there one?"})
    assert response.status_code == 302
    message = DirectMessage.objects.get()
    assert message.recipient_organisation == authority and message.register_entry is not None
    page = client.get(response["Location"]).content.decode()
    assert "Is there one?" in page


def test_the_authority_answers_a_firm_before_the_call(client, call, procurer, sme, bidder):
    quiet_over(call)
    Registration.objects.create(procurement=call, organisation=sme, stage=Registration.Stage.CALL)
    client.force_login(procurer)
    response = client.post(
        url("messages", call), {"recipient": sme.pk, "subject": "Re", "body": "Yes, on 3 May."}
    )
    assert response.status_code == 302
    assert DirectMessage.objects.get().recipient_organisation == sme


def test_people_outside_the_procurement_cannot_open_messages(client, call, participant):
    client.force_login(participant)
    assert client.get(url("messages", call)).status_code == 403


# ------------------------------------------------------------------------------------------ clarifications


def test_a_firm_asks_on_the_page_and_sees_its_pending_question(
    client, call, phase1, bidder, registered, rival
):
    client.force_login(bidder)
    response = client.post(
        url("clarifications", call), {"action": "ask", "phase": phase1.pk, "question": QUESTION}
    )
    assert response.status_code == 302
    page = client.get(url("clarifications", call)).content.decode()
    assert "Breizh Sensors asks" in page
    client.force_login(rival)
    assert "Breizh Sensors asks" not in client.get(url("clarifications", call)).content.decode()


def test_after_the_question_deadline_the_ask_form_is_closed(
    client, call, phase1, bidder, registered, pass_deadline
):
    phase1.question_deadline = timezone.now() + timedelta(days=5)
    pass_deadline(phase1)
    Phase.objects.filter(pk=phase1.pk).update(bid_deadline=timezone.now() + timedelta(days=2))
    client.force_login(bidder)
    page = client.get(url("clarifications", call)).content.decode()
    assert "Questions are closed" in page and "Europe/Helsinki" in page
    assert 'name="question"' not in page
    response = client.post(
        url("clarifications", call), {"action": "ask", "phase": phase1.pk, "question": "Late?"}
    )
    assert "closed on" in response.content.decode()
    assert not Clarification.objects.exists()


def test_a_newcomer_asking_is_shown_the_ground_rules_to_accept(client, call, phase1, newcomer, pcp_rules):
    Registration.objects.create(
        procurement=call, organisation=Organisation.objects.get(slug="newcomer-oy"), stage="call"
    )
    client.force_login(newcomer)
    response = client.post(
        url("clarifications", call), {"action": "ask", "phase": phase1.pk, "question": "Hi?"}
    )
    page = response.content.decode()
    assert "Accept the ground rules first" in page
    assert reverse("ground_rules_detail", args=[pcp_rules.pk]) in page
    assert not Clarification.objects.exists()


def test_only_procurers_see_who_asked_and_the_public_page_never_does(
    client, call, phase1, sme, bidder, registered, procurer, rival, django_capture_on_commit_callbacks
):
    question = clarifications.ask_clarification(phase1, sme, QUESTION, acting_user=bidder)
    client.force_login(procurer)
    queue = client.get(url("clarifications", call)).content.decode()
    assert "Asked by Breizh Sensors" in queue

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("clarifications", call),
            {
                "action": "publish",
                "clarification": question.pk,
                f"c{question.pk}-public_question": "May a bidder reuse its own gateway?",
                f"c{question.pk}-answer": "Yes, if it meets annex 2.",
            },
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 2  # bidder@ and rival@

    client.logout()
    public = client.get(url("clarifications", call)).content.decode()
    assert "May a bidder reuse its own gateway?" in public and "Yes, if it meets annex 2." in public
    assert "Breizh Sensors" not in public and "bidder@example.org" not in public and QUESTION not in public
    client.force_login(rival)
    seen_by_rival = client.get(url("clarifications", call)).content.decode()
    assert "Yes, if it meets annex 2." in seen_by_rival and "Breizh Sensors" not in seen_by_rival


def test_the_procurer_publishes_saved_answers_together(
    client,
    call,
    phase1,
    sme,
    other_sme,
    bidder,
    rival,
    registered,
    procurer,
    django_capture_on_commit_callbacks,
):
    first = clarifications.ask_clarification(phase1, sme, "One?", acting_user=bidder)
    second = clarifications.ask_clarification(phase1, other_sme, "Two?", acting_user=rival)
    client.force_login(procurer)
    for item, answer in ((first, "Answer one."), (second, "Answer two.")):
        client.post(
            url("clarifications", call),
            {"action": "save", "clarification": item.pk, f"c{item.pk}-answer": answer},
        )
    assert not Clarification.objects.filter(status=Clarification.Status.PUBLISHED).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("clarifications", call), {"action": "publish_all", "phase": phase1.pk})
    assert Clarification.objects.filter(status="published").values("published_at").distinct().count() == 1
    assert {m.body for m in mail.outbox} == {mail.outbox[0].body}


def test_firms_cannot_answer(client, call, phase1, sme, bidder, registered):
    question = clarifications.ask_clarification(phase1, sme, "One?", acting_user=bidder)
    client.force_login(bidder)
    response = client.post(
        url("clarifications", call),
        {"action": "publish", "clarification": question.pk, f"c{question.pk}-answer": "x"},
    )
    assert response.status_code == 403
    question.refresh_from_db()
    assert question.status == Clarification.Status.ASKED


def test_a_declined_question_shows_its_reason_to_the_asker_only(
    client, call, phase1, sme, bidder, rival, registered, procurer
):
    question = clarifications.ask_clarification(phase1, sme, QUESTION, acting_user=bidder)
    client.force_login(procurer)
    client.post(
        url("clarifications", call),
        {
            "action": "decline",
            "clarification": question.pk,
            f"c{question.pk}-reason": "A duplicate of question 3.",
        },
    )
    question.refresh_from_db()
    assert question.status == Clarification.Status.DECLINED
    client.force_login(bidder)
    assert "A duplicate of question 3." in client.get(url("clarifications", call)).content.decode()
    client.force_login(rival)
    assert "A duplicate of question 3." not in client.get(url("clarifications", call)).content.decode()
    client.logout()
    assert "A duplicate of question 3." not in client.get(url("clarifications", call)).content.decode()
