"""Ground rules in practice: the quiet period closes direct messages, every contact lands in the interaction
register, gifts are declared, and nothing happens on a call before its ground rules are accepted."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from livinglab.errors import GroundRulesRequired
from livinglab.models import AuditEntry, Organisation
from procurement.errors import ProcurementError
from procurement.models import DirectMessage, GiftDeclaration, Interaction, Phase, Procurement
from procurement.services import conduct
from procurement.tasks.clarifications import send_message_notice


def before_the_call(procurement):
    """The procurement as it was during the market consultation: no phase open yet."""
    procurement.phases.update(status=Phase.Status.PLANNED)
    Procurement.objects.filter(pk=procurement.pk).update(status=Procurement.Status.CONSULTATION)
    procurement.refresh_from_db()
    return procurement


def after_award(procurement):
    """Phase 1 awarded (standstill over), the later phases not opened yet."""
    procurement.phases.filter(number=1).update(status=Phase.Status.AWARDED)
    return procurement


def say_hello(procurement, bidder, sme, authority):
    return conduct.send_message(
        procurement,
        sme,
        authority,
        "Demo of our sensor",
        "May we show you our prototype?",
        acting_user=bidder,
    )


# ------------------------------------------------------------------------------------------ quiet period


@pytest.mark.parametrize("status", sorted(Phase.QUIET))
def test_the_call_is_quiet_while_a_phase_is_open_under_evaluation_or_in_standstill(call, phase1, status):
    Phase.objects.filter(pk=phase1.pk).update(status=status)
    assert conduct.in_quiet_period(call)


def test_the_call_is_not_quiet_before_any_phase_opens_nor_after_the_award(call):
    assert not conduct.in_quiet_period(before_the_call(call))
    call.phases.filter(number=1).update(status=Phase.Status.AWARDED)
    assert not conduct.in_quiet_period(call)


def test_a_firm_cannot_message_the_authority_while_a_phase_is_open(call, bidder, sme, authority):
    with pytest.raises(ProcurementError, match=r"quiet period.*clarification"):
        say_hello(call, bidder, sme, authority)
    assert not DirectMessage.objects.exists()
    assert not Interaction.objects.exists()


def test_the_authority_cannot_message_a_firm_during_the_quiet_period_either(call, procurer, sme, authority):
    with pytest.raises(ProcurementError, match="quiet period"):
        conduct.send_message(call, authority, sme, "About your bid", "Can we talk?", acting_user=procurer)


def test_a_firm_messages_the_authority_before_the_call_and_the_register_logs_it(call, bidder, sme, authority):
    message = say_hello(before_the_call(call), bidder, sme, authority)
    entry = Interaction.objects.get()
    assert entry.message == message
    assert entry.kind == Interaction.Kind.MESSAGE
    assert entry.subject == "Demo of our sensor"
    assert set(entry.organisations.all()) == {sme, authority}
    assert entry.participants == bidder.get_full_name()
    assert entry.on_behalf_of is None
    audit = AuditEntry.objects.get(action="procurement.message.send")
    assert audit.data["interaction"] == entry.pk and bidder.get_full_name() not in str(audit.data)


def test_the_authority_s_procurers_are_told_once_of_a_message(
    call, bidder, sme, authority, procurer, compliance_user, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = say_hello(before_the_call(call), bidder, sme, authority)
    assert [m.to for m in mail.outbox] == [["procurer@example.org"]]
    assert (
        "Breizh Sensors" in mail.outbox[0].subject and "May we show you our prototype?" in mail.outbox[0].body
    )
    assert f"with={sme.slug}" in mail.outbox[0].body
    assert send_message_notice(message.pk) == 0  # claimed already: a retry sends nothing
    assert len(mail.outbox) == 1


def test_a_firm_messages_the_authority_again_once_the_phase_is_awarded(call, bidder, sme, authority):
    say_hello(after_award(call), bidder, sme, authority)
    assert Interaction.objects.filter(kind=Interaction.Kind.MESSAGE, organisations=sme).count() == 1


def test_a_cluster_writes_on_behalf_of_firms_and_the_register_says_so(call, intermediary, cluster, authority):
    conduct.send_message(
        before_the_call(call),
        cluster,
        authority,
        "Firms ask for an info day",
        "Could you hold one?",
        acting_user=intermediary,
    )
    entry = Interaction.objects.get()
    assert entry.on_behalf_of == cluster
    assert set(entry.organisations.all()) == {cluster, authority}


def test_messages_between_two_firms_are_not_direct_messages_of_the_call(call, bidder, sme, other_sme):
    with pytest.raises(ProcurementError, match="buying authority"):
        conduct.send_message(before_the_call(call), sme, other_sme, "Hi", "Partner?", acting_user=bidder)


def test_nobody_messages_for_an_organisation_they_do_not_represent(call, bidder, other_sme, authority):
    with pytest.raises(ProcurementError, match="represent"):
        conduct.send_message(before_the_call(call), other_sme, authority, "Hi", "Hello", acting_user=bidder)


def test_a_newcomer_cannot_message_before_accepting_the_ground_rules(call, newcomer, authority, pcp_rules):
    firm = Organisation.objects.get(slug="newcomer-oy")
    with pytest.raises(GroundRulesRequired) as refusal:
        conduct.send_message(before_the_call(call), firm, authority, "Hi", "Hello", acting_user=newcomer)
    assert pcp_rules in refusal.value.pending
    assert not DirectMessage.objects.exists()


# ------------------------------------------------------------------------------------------ the register


def test_the_authority_records_a_meeting_with_a_firm_in_its_own_time_zone(call, procurer, authority, sme):
    occurred = timezone.now() - timedelta(days=2)
    entry = conduct.record_interaction(
        call,
        authority,
        Interaction.Kind.MEETING,
        occurred,
        "Site visit",
        "Showed the home-care workflow.",
        "Aino Virtanen (procurer), Yann Le Gall (Breizh Sensors)",
        [sme],
        acting_user=procurer,
    )
    entry.refresh_from_db()
    assert entry.occurred_at == occurred
    assert set(entry.organisations.all()) == {authority, sme}
    assert entry.recorded_by == procurer
    audit = AuditEntry.objects.get(action="procurement.interaction.record")
    assert "Aino" not in str(audit.data) and "Aino" not in audit.object_repr


def test_a_firm_records_a_call_it_had_and_the_authority_is_added_by_itself(call, bidder, sme, authority):
    entry = conduct.record_interaction(
        call,
        sme,
        Interaction.Kind.CALL,
        timezone.now() - timedelta(hours=1),
        "Phone call",
        "Asked for the info-day slides.",
        "",
        [],
        acting_user=bidder,
    )
    assert set(entry.organisations.all()) == {sme, authority}


def test_the_register_refuses_a_contact_in_the_future(call, procurer, authority, sme):
    with pytest.raises(ProcurementError, match="future"):
        conduct.record_interaction(
            call,
            authority,
            Interaction.Kind.MEETING,
            timezone.now() + timedelta(hours=1),
            "Soon",
            "x",
            "",
            [sme],
            acting_user=procurer,
        )


def test_the_register_refuses_a_contact_without_a_firm(call, procurer, authority):
    with pytest.raises(ProcurementError, match="name the firms"):
        conduct.record_interaction(
            call,
            authority,
            Interaction.Kind.MEETING,
            timezone.now(),
            "Internal",
            "x",
            "",
            [],
            acting_user=procurer,
        )


def test_messages_cannot_be_recorded_by_hand(call, procurer, authority, sme):
    with pytest.raises(ProcurementError, match="registered by themselves"):
        conduct.record_interaction(
            call,
            authority,
            Interaction.Kind.MESSAGE,
            timezone.now(),
            "x",
            "x",
            "",
            [sme],
            acting_user=procurer,
        )


def test_only_an_intermediary_cluster_acts_on_behalf_of_firms(call, procurer, authority, sme):
    stranger = Organisation.objects.create(name="Other Cluster", slug="other-cluster", kind="cluster")
    with pytest.raises(ProcurementError, match="not an intermediary"):
        conduct.record_interaction(
            call,
            authority,
            Interaction.Kind.EVENT,
            timezone.now(),
            "x",
            "x",
            "",
            [sme],
            stranger,
            acting_user=procurer,
        )


def test_a_newcomer_cannot_record_a_contact_before_accepting_the_ground_rules(call, newcomer, pcp_rules):
    firm = Organisation.objects.get(slug="newcomer-oy")
    with pytest.raises(GroundRulesRequired) as refusal:
        conduct.record_interaction(
            call, firm, Interaction.Kind.CALL, timezone.now(), "x", "x", "", [], acting_user=newcomer
        )
    assert pcp_rules in refusal.value.pending
    assert not Interaction.objects.exists()


# ------------------------------------------------------------------------------------------ gifts


def test_buyer_staff_declare_a_refused_gift(call, compliance_user, sme):
    declaration = conduct.declare_gift(
        call,
        sme,
        "Two concert tickets",
        Decimal("120.00"),
        date.today() - timedelta(days=1),
        GiftDeclaration.Outcome.REFUSED,
        acting_user=compliance_user,
    )
    assert declaration.declared_by == compliance_user
    assert AuditEntry.objects.get(action="procurement.gift.declare").data["value"] == "120.00"


def test_a_firm_cannot_declare_gifts_for_the_authority(call, bidder, sme, other_sme):
    with pytest.raises(ProcurementError, match="authority's staff"):
        conduct.declare_gift(
            call,
            other_sme,
            "Lunch",
            Decimal("30"),
            date.today(),
            GiftDeclaration.Outcome.ACCEPTED,
            acting_user=bidder,
        )
