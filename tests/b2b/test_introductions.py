"""Brokered introductions: the services, their state machine, the ground rules and NDA before acceptance,
double requests, concurrent acceptance (PostgreSQL), outcomes and mails.

Personas come from ``tests/b2b/conftest.py``: ``buyer_user`` owns ``need``, ``supplier_user`` owns
``offer``, ``rival_user`` is a third firm, ``broker`` is the cluster coordinator."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from livinglab.b2b.errors import B2BError
from livinglab.b2b.factories import IntroductionFactory, NeedFactory, OfferFactory
from livinglab.b2b.models import (
    Introduction,
    IntroductionAcceptance,
    IntroductionOutcome,
    ListingStatus,
    Visibility,
)
from livinglab.b2b.services import introductions as services
from livinglab.b2b.tasks import introductions as tasks
from livinglab.errors import GroundRulesRequired
from livinglab.factories import OrganisationFactory
from livinglab.models import AuditEntry, Organisation, text_hash
from tests.b2b.conftest import CONFIDENTIAL_MARKERS
from tests.concurrency import on_postgresql, run_together

Status = Introduction.Status


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """Run what services enqueue on commit (the mails) when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def requested(need, offer, buyer, buyer_user, broker, mailoutbox, mails):
    """The buyer asked; the cluster has not answered yet. The outbox starts empty."""
    with mails():
        introduction = services.request_introduction(
            need, offer, organisation=buyer, message="Could we meet?", acting_user=buyer_user
        )
    mailoutbox.clear()
    return introduction


@pytest.fixture
def brokered(requested, broker, mailoutbox, mails):
    """Brokered with the default mutual NDA."""
    with mails():
        introduction = services.broker_introduction(
            requested, nda_required=True, nda_text="", note="You two should talk.", acting_user=broker
        )
    mailoutbox.clear()
    return introduction


@pytest.fixture
def accepted(brokered, buyer, buyer_user, supplier, supplier_user, mailoutbox, mails):
    with mails():
        for organisation, user in ((buyer, buyer_user), (supplier, supplier_user)):
            brokered = services.accept_introduction(
                brokered, organisation=organisation, nda_sha256=brokered.nda_sha256, acting_user=user
            )
    mailoutbox.clear()
    return brokered


def in_state(need, offer, cluster, status) -> Introduction:
    """An introduction put straight into ``status`` (as the demo data does), for the transition matrix."""
    now = timezone.now()
    brokered = status not in (Status.REQUESTED, Status.REFUSED)
    return IntroductionFactory(
        need=need,
        offer=offer,
        broker=cluster,
        status=status,
        brokered_at=now if brokered else None,
        accepted_at=now if status == Status.ACCEPTED else None,
        closed_at=now if status in (Status.DECLINED, Status.REFUSED, Status.WITHDRAWN) else None,
    )


def no_markers(text: str) -> bool:
    return not any(marker in text for marker in CONFIDENTIAL_MARKERS)


# ------------------------------------------------------------------------------------------------- request


def test_request_introduction_asks_the_cluster_and_mails_its_staff_without_confidential_details(
    need, offer, buyer, buyer_user, broker, cluster, mailoutbox, mails
):
    with mails():
        introduction = services.request_introduction(
            need,
            offer,
            organisation=buyer,
            message="Could we meet?",
            acting_user=buyer_user,
            nda_requested=True,
        )
    introduction.refresh_from_db()
    assert introduction.status == Status.REQUESTED
    assert introduction.broker == cluster
    assert introduction.requested_by == buyer and introduction.requested_by_user == buyer_user
    assert introduction.nda_required and introduction.channel == "b2b"
    assert [m.to for m in mailoutbox] == [["staff@example.org"]]
    mail = mailoutbox[0]
    assert need.title in mail.body and offer.title in mail.body
    assert f"/b2b/introductions/{introduction.pk}/" in mail.body
    assert no_markers(mail.subject + mail.body)
    entry = AuditEntry.objects.get(action="b2b.introduction.request")
    assert entry.organisation == buyer and entry.data["need"] == need.pk


def test_the_supplier_may_ask_as_well(need, offer, supplier, supplier_user, broker):
    introduction = services.request_introduction(
        need, offer, organisation=supplier, message="", acting_user=supplier_user
    )
    assert introduction.requested_by == supplier


def test_request_introduction_refuses_a_firm_that_owns_neither_listing(
    need, offer, rival, rival_user, broker
):
    with pytest.raises(B2BError, match="its own need or offer"):
        services.request_introduction(need, offer, organisation=rival, message="", acting_user=rival_user)
    assert not Introduction.objects.exists()


def test_request_introduction_refuses_acting_for_another_firm(need, offer, buyer, rival_user, broker):
    with pytest.raises(B2BError, match="do not act for"):
        services.request_introduction(need, offer, organisation=buyer, message="", acting_user=rival_user)


def test_request_introduction_refuses_a_listing_the_firm_cannot_see(need, offer, buyer, buyer_user, broker):
    offer.visibility = Visibility.STAFF
    offer.save()
    with pytest.raises(B2BError, match="cannot see the other listing"):
        services.request_introduction(need, offer, organisation=buyer, message="", acting_user=buyer_user)
    assert not Introduction.objects.exists()


def test_request_introduction_refuses_unpublished_listings(need, offer, buyer, buyer_user, broker):
    need.status = ListingStatus.DRAFT
    need.save()
    with pytest.raises(B2BError, match="not published"):
        services.request_introduction(need, offer, organisation=buyer, message="", acting_user=buyer_user)


def test_request_introduction_refuses_a_firm_that_has_not_accepted_the_ground_rules(
    newcomer, offer, broker, b2b_rules
):
    firm = newcomer.memberships.get().organisation
    own_need = NeedFactory(organisation=firm)
    with pytest.raises(GroundRulesRequired) as refused:
        services.request_introduction(own_need, offer, organisation=firm, message="", acting_user=newcomer)
    assert refused.value.pending == [b2b_rules]
    assert "Ground rules for brokered introductions" in refused.value.message


def test_request_introduction_refuses_a_participant_without_a_firm(need, offer, buyer, participant, broker):
    with pytest.raises(B2BError, match="member firms"):
        services.request_introduction(need, offer, organisation=buyer, message="", acting_user=participant)


def test_a_second_request_for_the_same_pair_is_refused_with_a_clear_message(
    requested, need, offer, supplier, supplier_user
):
    with pytest.raises(B2BError, match="already under way"):
        services.request_introduction(
            need, offer, organisation=supplier, message="", acting_user=supplier_user
        )
    assert Introduction.objects.count() == 1


def test_a_double_click_past_the_check_gets_the_same_answer_not_a_database_error(
    requested, need, offer, buyer, buyer_user, monkeypatch
):
    monkeypatch.setattr(services, "_refuse_live", lambda need, offer: None)
    with pytest.raises(B2BError, match="already under way"):
        services.request_introduction(need, offer, organisation=buyer, message="", acting_user=buyer_user)
    assert Introduction.objects.count() == 1


def test_a_closed_introduction_does_not_block_a_new_request(requested, need, offer, buyer, buyer_user):
    services.withdraw_introduction(requested, acting_user=buyer_user)
    again = services.request_introduction(need, offer, organisation=buyer, message="", acting_user=buyer_user)
    assert again.pk != requested.pk and again.status == Status.REQUESTED


def test_a_need_and_offer_of_the_same_firm_are_not_introduced(need, buyer, buyer_user, broker):
    own_offer = OfferFactory(organisation=buyer)
    with pytest.raises(B2BError, match="same firm"):
        services.request_introduction(need, own_offer, organisation=buyer, message="", acting_user=buyer_user)


def test_choose_broker_takes_the_cluster_of_the_buyers_region_else_the_first_by_name(need, offer, cluster):
    assert services.choose_broker(need, offer) == cluster  # the only cluster
    finnish = OrganisationFactory(
        name="Uusimaa Cluster", kind=Organisation.Kind.CLUSTER, country="FI", region="Uusimaa"
    )
    assert services.choose_broker(need, offer) == finnish  # the buyer, Nordic Foods, is in Uusimaa
    need.organisation.region = "Lapland"
    assert services.choose_broker(need, offer) == cluster  # "Images & Réseaux…" comes first by name


def test_choose_broker_refuses_when_no_cluster_exists(need, offer):
    with pytest.raises(B2BError, match="No cluster"):
        services.choose_broker(need, offer)


# ------------------------------------------------------------------------------------------------ broker


def test_broker_introduction_stores_the_nda_fingerprint_and_mails_both_firms_the_teaser_only(
    requested, broker, need, offer, mailoutbox, mails
):
    text = "Both firms keep each other's information secret for three years."
    with mails():
        introduction = services.broker_introduction(
            requested, nda_required=True, nda_text=text, note="Worth a meeting.", acting_user=broker
        )
    introduction.refresh_from_db()
    assert introduction.status == Status.BROKERED
    assert introduction.nda_text == text and introduction.nda_sha256 == text_hash(text)
    assert introduction.brokered_by == broker and introduction.brokered_at is not None
    by_address = {m.to[0]: m for m in mailoutbox}
    assert set(by_address) == {"buyer@example.org", "supplier@example.org"}
    assert offer.title in by_address["buyer@example.org"].body
    assert need.title in by_address["supplier@example.org"].body
    for mail in mailoutbox:
        assert no_markers(mail.subject + mail.body)
        assert "Worth a meeting." in mail.body
        assert introduction.nda_sha256 in mail.body
        # Neither firm is named to the other before both accepted.
        assert "Nordic Foods" not in by_address["supplier@example.org"].body
        assert "Breizh Sensors" not in by_address["buyer@example.org"].body
    assert AuditEntry.objects.get(action="b2b.introduction.broker").data == {
        "nda_sha256": introduction.nda_sha256
    }


def test_broker_introduction_with_an_nda_but_no_text_uses_the_default_mutual_nda(requested, broker):
    introduction = services.broker_introduction(
        requested, nda_required=True, nda_text="  ", note="", acting_user=broker
    )
    assert introduction.nda_text == str(services.DEFAULT_NDA_TEXT)
    assert introduction.nda_sha256 == text_hash(str(services.DEFAULT_NDA_TEXT))


def test_broker_introduction_without_an_nda_stores_no_text(requested, broker):
    introduction = services.broker_introduction(
        requested, nda_required=False, nda_text="ignored", note="", acting_user=broker
    )
    assert (introduction.nda_text, introduction.nda_sha256) == ("", "")


def test_only_cluster_staff_broker_introductions(requested, buyer_user):
    with pytest.raises(B2BError, match="Only the staff"):
        services.broker_introduction(
            requested, nda_required=False, nda_text="", note="", acting_user=buyer_user
        )
    requested.refresh_from_db()
    assert requested.status == Status.REQUESTED


def test_staff_of_another_cluster_do_not_broker_it(requested, accept_b2b):
    from livinglab.factories import MembershipFactory, UserFactory
    from livinglab.models import Role

    other = OrganisationFactory(name="Another cluster", kind=Organisation.Kind.CLUSTER)
    user = MembershipFactory(organisation=other, role=Role.CLUSTER_MANAGER, user=UserFactory()).user
    with pytest.raises(B2BError, match="Only the staff"):
        services.broker_introduction(requested, nda_required=False, nda_text="", note="", acting_user=user)


def test_propose_introduction_starts_brokered_and_mails_both_firms(
    need, offer, broker, cluster, mailoutbox, mails
):
    with mails():
        introduction = services.propose_introduction(
            need,
            offer,
            broker=cluster,
            note="Meet them.",
            nda_required=False,
            nda_text="",
            acting_user=broker,
        )
    assert introduction.status == Status.BROKERED and introduction.requested_by is None
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]
    assert all(no_markers(m.body) for m in mailoutbox)
    assert AuditEntry.objects.filter(action="b2b.introduction.propose").count() == 1


def test_propose_introduction_is_for_staff_only(need, offer, cluster, buyer_user):
    with pytest.raises(B2BError, match="cluster staff"):
        services.propose_introduction(
            need, offer, broker=cluster, note="", nda_required=False, nda_text="", acting_user=buyer_user
        )


# ------------------------------------------------------------------------------------------ state machine

ACTIONS = ("broker", "refuse", "withdraw", "decline", "accept")
ALLOWED = {
    (Status.REQUESTED, "broker"): Status.BROKERED,
    (Status.REQUESTED, "refuse"): Status.REFUSED,
    (Status.REQUESTED, "withdraw"): Status.WITHDRAWN,
    (Status.BROKERED, "decline"): Status.DECLINED,
    (Status.BROKERED, "withdraw"): Status.WITHDRAWN,
    (Status.BROKERED, "accept"): Status.ACCEPTED,
}


def act(action, introduction, *, broker, buyer, buyer_user, supplier, supplier_user):
    if action == "broker":
        return services.broker_introduction(
            introduction, nda_required=False, nda_text="", note="", acting_user=broker
        )
    if action == "refuse":
        return services.refuse_introduction(
            introduction, reason="Not a fit for the cluster.", acting_user=broker
        )
    if action == "withdraw":
        return services.withdraw_introduction(introduction, reason="", acting_user=buyer_user)
    if action == "decline":
        return services.decline_introduction(
            introduction, organisation=supplier, reason="Not now.", acting_user=supplier_user
        )
    # accept: the buyer accepted earlier; the supplier's acceptance completes it.
    IntroductionAcceptance.objects.get_or_create(
        introduction=introduction, organisation=buyer, defaults={"accepted_at": timezone.now()}
    )
    return services.accept_introduction(
        introduction, organisation=supplier, nda_sha256="", acting_user=supplier_user
    )


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition_is_allowed_or_refused_as_the_state_machine_says(
    status, action, need, offer, cluster, broker, buyer, buyer_user, supplier, supplier_user
):
    introduction = in_state(need, offer, cluster, status)
    people = {
        "broker": broker,
        "buyer": buyer,
        "buyer_user": buyer_user,
        "supplier": supplier,
        "supplier_user": supplier_user,
    }
    expected = ALLOWED.get((status, action))
    if expected is not None:
        act(action, introduction, **people)
        introduction.refresh_from_db()
        assert introduction.status == expected
        assert Introduction.TRANSITIONS[status] >= {expected}
    elif status == Status.ACCEPTED and action == "accept":
        act(action, introduction, **people)  # accepting again changes nothing
        introduction.refresh_from_db()
        assert introduction.status == Status.ACCEPTED
    else:
        with pytest.raises(B2BError):
            act(action, introduction, **people)
        introduction.refresh_from_db()
        assert introduction.status == status


def test_the_matrix_covers_every_transition_of_the_model():
    allowed = {(str(s), str(t)) for s, targets in Introduction.TRANSITIONS.items() for t in targets}
    assert {(str(s), str(t)) for (s, _a), t in ALLOWED.items()} == allowed


def test_refuse_needs_a_reason_and_tells_only_the_firm_that_asked(requested, broker, mailoutbox, mails):
    with pytest.raises(B2BError, match="why"):
        services.refuse_introduction(requested, reason=" ", acting_user=broker)
    with mails():
        services.refuse_introduction(requested, reason="The offer is not mature enough.", acting_user=broker)
    requested.refresh_from_db()
    assert requested.status == Status.REFUSED and requested.closed_at is not None
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == ["buyer@example.org", "staff@example.org"]  # the supplier never hears of it
    assert "The offer is not mature enough." in mailoutbox[0].body


def test_withdraw_is_for_the_firm_that_asked_or_the_staff(requested, supplier_user, rival_user, broker):
    for outsider in (supplier_user, rival_user):
        with pytest.raises(B2BError, match="Only the firm that asked"):
            services.withdraw_introduction(requested, acting_user=outsider)
    services.withdraw_introduction(requested, acting_user=broker)
    requested.refresh_from_db()
    assert requested.status == Status.WITHDRAWN


def test_decline_is_for_the_two_firms_and_tells_both_and_the_cluster(
    brokered, rival, rival_user, buyer, buyer_user, mailoutbox, mails
):
    with pytest.raises(B2BError):
        services.decline_introduction(brokered, organisation=rival, reason="", acting_user=rival_user)
    with mails():
        services.decline_introduction(
            brokered, organisation=buyer, reason="Budget frozen.", acting_user=buyer_user
        )
    brokered.refresh_from_db()
    assert brokered.status == Status.DECLINED and brokered.reason == "Budget frozen."
    assert sorted(m.to[0] for m in mailoutbox) == [
        "buyer@example.org",
        "staff@example.org",
        "supplier@example.org",
    ]
    assert all(no_markers(m.body) for m in mailoutbox)
    assert AuditEntry.objects.filter(action="b2b.introduction.decline", organisation=buyer).count() == 1


def test_a_requested_introduction_cannot_be_answered_yet(requested, supplier, supplier_user):
    with pytest.raises(B2BError, match="not brokered"):
        services.accept_introduction(
            requested, organisation=supplier, nda_sha256="", acting_user=supplier_user
        )


# ------------------------------------------------------------------------------------------------ accept


def test_accept_requires_the_ground_rules_of_the_introduction(need, cluster, broker, newcomer, b2b_rules):
    firm = newcomer.memberships.get().organisation
    their_offer = OfferFactory(organisation=firm, contact=newcomer)
    introduction = services.propose_introduction(
        need, their_offer, broker=cluster, note="", nda_required=False, nda_text="", acting_user=broker
    )
    with pytest.raises(GroundRulesRequired) as refused:
        services.accept_introduction(introduction, organisation=firm, nda_sha256="", acting_user=newcomer)
    assert refused.value.pending == [b2b_rules]
    assert "Ground rules for brokered introductions" in refused.value.message
    assert not IntroductionAcceptance.objects.exists()


def test_accept_refuses_when_the_nda_text_changed(brokered, buyer, buyer_user):
    with pytest.raises(B2BError, match="changed while you were reading"):
        services.accept_introduction(
            brokered, organisation=buyer, nda_sha256=text_hash("an older text"), acting_user=buyer_user
        )
    assert not IntroductionAcceptance.objects.exists()


def test_accept_records_the_nda_fingerprint_once_per_firm(brokered, buyer, buyer_user):
    for _ in range(2):
        services.accept_introduction(
            brokered, organisation=buyer, nda_sha256=brokered.nda_sha256, acting_user=buyer_user
        )
    acceptance = IntroductionAcceptance.objects.get()
    assert acceptance.organisation == buyer and acceptance.user == buyer_user
    assert acceptance.nda_sha256 == brokered.nda_sha256
    brokered.refresh_from_db()
    assert brokered.status == Status.BROKERED and brokered.accepted_at is None
    assert AuditEntry.objects.filter(action="b2b.introduction.accept").count() == 1


def test_accept_by_a_firm_outside_the_introduction_is_refused(brokered, rival, rival_user):
    with pytest.raises(B2BError, match="two firms"):
        services.accept_introduction(
            brokered, organisation=rival, nda_sha256=brokered.nda_sha256, acting_user=rival_user
        )


def test_both_acceptances_accept_the_introduction_and_mail_both_firms(
    brokered, buyer, buyer_user, supplier, supplier_user, mailoutbox, mails
):
    with mails():
        services.accept_introduction(
            brokered, organisation=buyer, nda_sha256=brokered.nda_sha256, acting_user=buyer_user
        )
    assert mailoutbox == []
    with mails():
        introduction = services.accept_introduction(
            brokered, organisation=supplier, nda_sha256=brokered.nda_sha256, acting_user=supplier_user
        )
    introduction.refresh_from_db()
    assert introduction.status == Status.ACCEPTED and introduction.accepted_at is not None
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]
    assert all("now visible" in m.body for m in mailoutbox)
    assert all(no_markers(m.body) for m in mailoutbox)
    completed = AuditEntry.objects.filter(action="b2b.introduction.accept").order_by("seq")
    assert [e.data["completed"] for e in completed] == [False, True]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_firms_accepting_at_the_same_moment_accept_the_introduction_exactly_once(
    brokered, buyer, buyer_user, supplier, supplier_user, mailoutbox
):
    parties = [(buyer, buyer_user), (supplier, supplier_user)]

    def attempt(i):
        organisation, user = parties[i]
        introduction = Introduction.objects.get(pk=brokered.pk)
        return services.accept_introduction(
            introduction, organisation=organisation, nda_sha256=brokered.nda_sha256, acting_user=user
        )

    results = run_together(attempt, 2)
    assert all(isinstance(r, Introduction) for r in results), results
    introduction = Introduction.objects.get(pk=brokered.pk)
    assert introduction.status == Status.ACCEPTED
    assert IntroductionAcceptance.objects.filter(introduction=introduction).count() == 2
    completed = AuditEntry.objects.filter(action="b2b.introduction.accept", data__completed=True)
    assert completed.count() == 1
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_for_one_pair_make_one_introduction(
    need, offer, buyer, buyer_user, supplier, supplier_user, broker
):
    askers = [(buyer, buyer_user), (supplier, supplier_user)]

    def attempt(i):
        organisation, user = askers[i]
        return services.request_introduction(
            need, offer, organisation=organisation, message="", acting_user=user
        )

    results = run_together(attempt, 2)
    made = [r for r in results if isinstance(r, Introduction)]
    refused = [r for r in results if isinstance(r, B2BError)]
    assert len(made) == 1 and len(refused) == 1, results
    assert "already under way" in refused[0].message
    assert not any(isinstance(r, IntegrityError) for r in results)
    assert Introduction.objects.count() == 1


# ---------------------------------------------------------------------------------------------- outcomes


def test_an_outcome_is_recorded_only_after_acceptance(brokered, buyer_user):
    with pytest.raises(B2BError, match="once both firms have accepted"):
        services.record_outcome(
            brokered,
            kind=IntroductionOutcome.Kind.MEETING_HELD,
            occurred_on=timezone.localdate(),
            note="",
            acting_user=buyer_user,
        )
    assert not IntroductionOutcome.objects.exists()


def test_both_firms_and_the_staff_record_outcomes_and_nobody_else(
    accepted, buyer, buyer_user, supplier_user, broker, rival_user
):
    today = timezone.localdate()
    with pytest.raises(B2BError, match="Only the two firms"):
        services.record_outcome(accepted, kind="meeting", occurred_on=today, note="", acting_user=rival_user)
    for user, kind in ((buyer_user, "meeting"), (supplier_user, "codevelopment"), (broker, "no_fit")):
        services.record_outcome(accepted, kind=kind, occurred_on=today, note="", acting_user=user)
    assert list(accepted.outcomes.values_list("kind", flat=True)) == ["meeting", "codevelopment", "no_fit"]
    first = AuditEntry.objects.filter(action="b2b.introduction.record_outcome").order_by("seq").first()
    assert first.organisation == buyer and first.data["kind"] == "meeting"


def test_an_outcome_cannot_be_dated_in_the_future_or_of_an_unknown_kind(accepted, buyer_user):
    with pytest.raises(B2BError, match="future"):
        services.record_outcome(
            accepted,
            kind="meeting",
            occurred_on=timezone.localdate() + timedelta(days=1),
            note="",
            acting_user=buyer_user,
        )
    with pytest.raises(B2BError, match="Choose"):
        services.record_outcome(
            accepted, kind="party", occurred_on=timezone.localdate(), note="", acting_user=buyer_user
        )


# ------------------------------------------------------------------------------------------------- tasks


def test_a_mail_task_does_nothing_once_the_introduction_moved_on(accepted, mailoutbox):
    assert tasks.send_introduction_brokered(accepted.pk) is False
    assert tasks.send_introduction_requested(accepted.pk) is False
    assert tasks.send_introduction_closed(accepted.pk) is False
    assert mailoutbox == []


def test_a_step_is_mailed_once_however_often_its_task_runs(accepted, mailoutbox):
    Introduction.objects.filter(pk=accepted.pk).update(accepted_mailed_at=None)
    assert tasks.send_introduction_accepted(accepted.pk) is True
    assert tasks.send_introduction_accepted(accepted.pk) is False
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]
    accepted.refresh_from_db()
    assert accepted.accepted_mailed_at is not None


def test_a_failed_send_gives_the_claim_back_so_that_the_retry_mails(accepted, mailoutbox, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    Introduction.objects.filter(pk=accepted.pk).update(accepted_mailed_at=None)

    def broken(self, messages):
        raise OSError("mail server down")

    monkeypatch.setattr(EmailBackend, "send_messages", broken)
    with pytest.raises(OSError):
        tasks.send_introduction_accepted.run(accepted.pk)
    accepted.refresh_from_db()
    assert accepted.accepted_mailed_at is None
    monkeypatch.undo()
    assert tasks.send_introduction_accepted(accepted.pk) is True
    assert len(mailoutbox) == 2


def test_mails_go_to_the_listing_contact_else_the_firms_staff(brokered, buyer):
    from tests.b2b.conftest import firm_user

    firm_user(buyer, "colleague@example.org")
    assert tasks.firm_addresses(brokered, buyer.pk) == ["buyer@example.org"]
    brokered.need.contact = None
    brokered.requested_by_user = None
    assert tasks.firm_addresses(brokered, buyer.pk) == ["buyer@example.org", "colleague@example.org"]


def test_a_firm_learns_of_a_request_only_once_it_is_brokered(requested, supplier_user, buyer_user):
    assert services.may_view(buyer_user, requested)
    assert not services.may_view(supplier_user, requested)
    assert list(services.introductions_for(supplier_user)) == []
    Introduction.objects.filter(pk=requested.pk).update(brokered_at=timezone.now(), status=Status.BROKERED)
    requested.refresh_from_db()
    supplier_user = type(supplier_user).objects.get(pk=supplier_user.pk)  # a fresh request's user
    assert services.may_view(supplier_user, requested)


def test_a_platform_administrator_cannot_record_an_outcome_before_both_firms_accepted(brokered):
    """Django grants a superuser every permission, so the state is checked by the service itself."""
    from livinglab.factories import UserFactory

    admin = UserFactory(is_superuser=True, is_staff=True)
    assert "outcome" not in services.actions_for(admin, brokered)
    assert "decline" not in services.actions_for(admin, brokered)
    with pytest.raises(B2BError, match="once both firms have accepted"):
        services.record_outcome(
            brokered, kind="meeting", occurred_on=timezone.localdate(), note="", acting_user=admin
        )
    assert not brokered.outcomes.exists()
