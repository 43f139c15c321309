"""Campaign services: requests, the lab's review, the lifecycle and participants' acceptance of the terms."""

import itertools

import pytest
from django.core.cache import cache

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import AuditEntry, Role
from pilots.errors import CampaignError
from pilots.factories import CampaignFactory
from pilots.models import Campaign, CampaignReview, Draw, ParticipantAgreement
from pilots.request_views import visible_campaigns
from pilots.services import campaign_access
from pilots.services import campaigns as services
from tests.concurrency import on_postgresql, run_together

Status = Campaign.Status
ALL_TICKED = dict.fromkeys(CampaignReview.CHECKLIST, True)


@pytest.fixture(autouse=True)
def _fresh_mail_claims():
    cache.clear()  # the once-only mail claims live in the cache


@pytest.fixture
def make_campaign(cluster, sme, panel, purposes):
    def _make(status=Status.DRAFT, **fields):
        campaign = CampaignFactory(lab=cluster, requested_by=sme, panel=panel, status=status, **fields)
        campaign.required_purposes.add(purposes["participation"])
        return campaign

    return _make


@pytest.fixture
def firm_member(sme):
    return MembershipFactory(
        organisation=sme, role=Role.FIRM_MEMBER, user=UserFactory(email="dev@example.org")
    ).user


def audit_actions(campaign) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_id=str(campaign.pk), action__startswith="pilots.campaign.")
        .order_by("seq")
        .values_list("action", flat=True)
    )


# ------------------------------------------------------------------------------------------ lifecycle


def test_every_move_the_lifecycle_allows_succeeds_and_every_other_is_refused_leaving_the_status(
    make_campaign, staff_user
):
    for old, new in itertools.product(Status.values, Status.values):
        campaign = make_campaign(status=old)
        if new in Campaign.TRANSITIONS[old]:
            services.move_campaign(campaign, new, acting_user=staff_user)
            assert Campaign.objects.get(pk=campaign.pk).status == new, (old, new)
        else:
            with pytest.raises(CampaignError) as refused:
                services.move_campaign(campaign, new, acting_user=staff_user)
            assert Campaign.objects.get(pk=campaign.pk).status == old, (old, new)
            message = str(refused.value.message)
            assert str(Status(old).label) in message and str(Status(new).label) in message, message


def test_each_transition_service_refuses_a_campaign_in_the_wrong_state(make_campaign, staff_user):
    draft = make_campaign(status=Status.DRAFT)
    for service in (
        services.start_running,
        services.start_analysing,
        services.close_campaign,
        services.start_recruiting,
    ):
        with pytest.raises(CampaignError, match="Draft"):
            service(draft, acting_user=staff_user)
    closed = make_campaign(status=Status.CLOSED)
    with pytest.raises(CampaignError, match="Closed"):
        services.withdraw_campaign(closed, acting_user=staff_user)
    assert not services.start_review(draft, acting_user=staff_user)
    assert Campaign.objects.get(pk=draft.pk).status == Status.DRAFT
    assert Campaign.objects.get(pk=closed.pk).status == Status.CLOSED


def test_a_request_goes_from_draft_through_changes_requested_to_closed_with_mails_and_an_audit_trail(
    cluster,
    sme,
    panel,
    purposes,
    member,
    staff_user,
    sme_admin,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    members = [member() for _ in range(3)]
    draft = CampaignFactory.build(
        lab=cluster, requested_by=sme, panel=panel, slug="", involves_health=True, target_participants=3
    )
    campaign = services.save_campaign(
        draft, required_purposes=[purposes["participation"]], acting_user=sme_admin
    )
    assert campaign.status == Status.DRAFT and campaign.created_by == sme_admin and campaign.slug

    with django_capture_on_commit_callbacks(execute=True):
        services.submit_campaign(campaign, acting_user=sme_admin)
    assert [m.to for m in mailoutbox] == [["staff@example.org"]]
    assert campaign.title in mailoutbox[0].subject

    assert services.start_review(campaign, acting_user=staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_review(
            campaign, "request_changes", {}, "Say the sensor is a prototype.", acting_user=staff_user
        )
    campaign.refresh_from_db()
    assert campaign.status == Status.DRAFT
    assert mailoutbox[-1].to == ["sme@example.org"]
    assert "Say the sensor is a prototype." in mailoutbox[-1].body

    campaign.expect_not = "You do not keep the sensor; it is a prototype."
    services.save_campaign(campaign, acting_user=sme_admin)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_campaign(campaign, acting_user=sme_admin)
    assert len(mailoutbox) == 3  # a second submission is announced again
    assert services.start_review(campaign, acting_user=staff_user)
    services.decide_review(campaign, "approve", ALL_TICKED, "", acting_user=staff_user)
    assert campaign.status == Status.APPROVED

    draw = services.start_recruiting(campaign, acting_user=staff_user)
    assert draw.campaign_id == campaign.pk and draw.requested_by == sme
    assert set(draw.selections.values_list("membership", flat=True)) == {m.pk for m in members}
    services.start_running(campaign, acting_user=staff_user)
    services.start_analysing(campaign, acting_user=staff_user)
    services.close_campaign(campaign, acting_user=staff_user)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.CLOSED
    assert audit_actions(campaign) == [
        "pilots.campaign.create",
        "pilots.campaign.submit",
        "pilots.campaign.start_review",
        "pilots.campaign.request_changes",
        "pilots.campaign.edit",
        "pilots.campaign.submit",
        "pilots.campaign.start_review",
        "pilots.campaign.approve",
        "pilots.campaign.start_recruiting",
        "pilots.campaign.start_running",
        "pilots.campaign.start_analysing",
        "pilots.campaign.close",
    ]
    assert list(campaign.reviews.order_by("decided_at").values_list("decision", flat=True)) == [
        "request_changes",
        "approve",
    ]


def test_recruiting_draws_the_wanted_number_from_the_panel_for_the_campaign(
    make_campaign, member, staff_user, sme
):
    for _ in range(5):
        member()
    campaign = make_campaign(status=Status.APPROVED, target_participants=3)
    draw = services.start_recruiting(campaign, acting_user=staff_user, seed=7)
    assert (draw.campaign, draw.size, draw.selections.count()) == (campaign, 3, 3)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.RECRUITING


def test_recruiting_is_refused_in_words_when_the_panel_cannot_give_enough_people(
    make_campaign, member, staff_user
):
    member()
    campaign = make_campaign(status=Status.APPROVED, target_participants=4)
    with pytest.raises(CampaignError, match="Only 1"):
        services.start_recruiting(campaign, acting_user=staff_user)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.APPROVED
    assert not Draw.objects.exists()


def test_submitting_an_incomplete_request_says_what_is_missing(make_campaign, sme_admin):
    campaign = make_campaign(methods=[])
    campaign.required_purposes.clear()
    with pytest.raises(CampaignError) as refused:
        services.submit_campaign(campaign, acting_user=sme_admin)
    assert "method" in refused.value.message and "consent purposes" in refused.value.message
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


# --------------------------------------------------------------------------------------------- review


def test_approval_needs_every_checklist_item_and_says_which_are_missing(make_campaign, staff_user):
    campaign = make_campaign(status=Status.IN_REVIEW, involves_minors=True)
    with pytest.raises(CampaignError, match="retention period"):
        services.decide_review(
            campaign, "approve", {**ALL_TICKED, "retention": False}, "", acting_user=staff_user
        )
    assert Campaign.objects.get(pk=campaign.pk).status == Status.IN_REVIEW
    assert not CampaignReview.objects.exists()
    review = services.decide_review(campaign, "approve", ALL_TICKED, "", acting_user=staff_user)
    assert review.checklist == ALL_TICKED and review.reviewer == staff_user


@pytest.mark.parametrize("decision", ["request_changes", "reject"])
def test_requesting_changes_or_rejecting_needs_reasons(make_campaign, staff_user, decision):
    campaign = make_campaign(status=Status.IN_REVIEW)
    with pytest.raises(CampaignError, match="reasons"):
        services.decide_review(campaign, decision, ALL_TICKED, "   ", acting_user=staff_user)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.IN_REVIEW
    services.decide_review(
        campaign, decision, {}, "Too many sessions for older people.", acting_user=staff_user
    )
    expected = Status.DRAFT if decision == "request_changes" else Status.REJECTED
    assert Campaign.objects.get(pk=campaign.pk).status == expected


def test_a_decision_on_a_campaign_not_in_review_is_refused(make_campaign, staff_user):
    campaign = make_campaign(status=Status.SUBMITTED)
    with pytest.raises(CampaignError, match="in review"):
        services.decide_review(campaign, "approve", ALL_TICKED, "", acting_user=staff_user)
    assert not CampaignReview.objects.exists()


@pytest.mark.parametrize(
    "flag", ["involves_health", "involves_minors", "involves_vulnerable", "involves_recordings"]
)
def test_a_sensitive_campaign_cannot_be_fast_tracked(make_campaign, staff_user, flag):
    campaign = make_campaign(status=Status.SUBMITTED, **{flag: True})
    with pytest.raises(CampaignError, match="must be reviewed"):
        services.fast_track_campaign(campaign, acting_user=staff_user)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SUBMITTED
    assert not CampaignReview.objects.exists()


def test_a_plain_campaign_is_fast_tracked_with_a_recorded_decision_and_a_mail(
    make_campaign, staff_user, sme_admin, mailoutbox, django_capture_on_commit_callbacks
):
    campaign = make_campaign(status=Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        review = services.fast_track_campaign(campaign, acting_user=staff_user)
    assert review.decision == CampaignReview.Decision.FAST_TRACK
    assert Campaign.objects.get(pk=campaign.pk).status == Status.APPROVED
    assert audit_actions(campaign) == ["pilots.campaign.fast_track"]
    assert [m.to for m in mailoutbox] == [["sme@example.org"]]


def test_a_decision_mail_is_sent_once_even_when_the_task_runs_twice(
    make_campaign, staff_user, sme_admin, mailoutbox
):
    from pilots.tasks.campaigns import send_campaign_decision

    campaign = make_campaign(status=Status.IN_REVIEW)
    review = services.decide_review(campaign, "reject", {}, "Out of scope.", acting_user=staff_user)
    assert send_campaign_decision(review.pk) is True
    assert send_campaign_decision(review.pk) is False
    assert len(mailoutbox) == 1


# -------------------------------------------------------------------------------------------- editing


def test_the_requester_cannot_edit_a_submitted_campaign_but_the_lab_can(make_campaign, sme_admin, staff_user):
    campaign = make_campaign(status=Status.SUBMITTED)
    campaign.expect_benefits = "A free phone."
    with pytest.raises(CampaignError, match="only the living lab"):
        services.save_campaign(campaign, acting_user=sme_admin)
    assert Campaign.objects.get(pk=campaign.pk).expect_benefits != "A free phone."

    campaign.expect_benefits = "A 20 EUR voucher and a summary of the results."
    services.save_campaign(campaign, acting_user=staff_user)
    assert Campaign.objects.get(pk=campaign.pk).expect_benefits.startswith("A 20 EUR")


def test_nobody_edits_a_campaign_once_recruitment_started(make_campaign, staff_user):
    campaign = make_campaign(status=Status.RECRUITING)
    campaign.expect_risks = "None."
    with pytest.raises(CampaignError, match="no longer be edited"):
        services.save_campaign(campaign, acting_user=staff_user)


def test_saving_cannot_change_the_status_behind_the_services_back(make_campaign, sme_admin):
    campaign = make_campaign()
    campaign.status = Status.APPROVED
    services.save_campaign(campaign, acting_user=sme_admin)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


def test_a_campaign_address_never_takes_a_fixed_word_or_another_campaigns(cluster, sme, sme_admin):
    first = services.save_campaign(
        CampaignFactory.build(lab=cluster, requested_by=sme, title="Reviews", slug=""), acting_user=sme_admin
    )
    second = services.save_campaign(
        CampaignFactory.build(lab=cluster, requested_by=sme, title="Reviews", slug=""), acting_user=sme_admin
    )
    assert first.slug not in services.RESERVED_SLUGS and first.slug != second.slug


# ---------------------------------------------------------------------------------------- visibility


def test_a_firm_never_sees_another_firms_campaign(make_campaign, other_sme, sme_admin, staff_user):
    mine = make_campaign()
    theirs = CampaignFactory(lab=mine.lab, requested_by=other_sme)
    assert list(visible_campaigns(sme_admin)) == [mine]
    assert not sme_admin.has_perm("pilots.view_campaign", theirs)
    assert set(visible_campaigns(staff_user)) == {mine, theirs}


# ----------------------------------------------------------------------------------------- participants


def test_a_participant_accepts_the_terms_and_accepts_again_after_they_change(campaign, take_part):
    person = take_part(agree=False)
    with pytest.raises(CampaignError, match="Please read"):
        campaign_access.require_participant(campaign, person)
    services.accept_campaign_terms(campaign, person, False, acting_user=person.user)
    assert campaign_access.require_participant(campaign, person)

    Campaign.objects.filter(pk=campaign.pk).update(ip_terms="Ideas belong to the firm.")
    campaign.refresh_from_db()
    assert not campaign_access.has_agreed(campaign, person)
    services.accept_campaign_terms(campaign, person, False, acting_user=person.user)
    assert campaign_access.has_agreed(campaign, person)
    assert ParticipantAgreement.objects.filter(person=person).count() == 1
    assert AuditEntry.objects.filter(action="pilots.agreement.accept").count() == 2


def test_accepting_is_refused_without_the_nda_when_one_applies(campaign, take_part):
    Campaign.objects.filter(pk=campaign.pk).update(nda_required=True, confidentiality_terms="The app design.")
    campaign.refresh_from_db()
    person = take_part(agree=False)
    with pytest.raises(CampaignError, match="confidentiality agreement"):
        services.accept_campaign_terms(campaign, person, False, acting_user=person.user)
    assert not ParticipantAgreement.objects.filter(person=person).exists()
    agreement = services.accept_campaign_terms(campaign, person, True, acting_user=person.user)
    assert agreement.nda_accepted


def test_someone_without_an_accepted_invitation_cannot_accept_the_terms(campaign, participant):
    with pytest.raises(CampaignError, match="accepted an invitation"):
        services.accept_campaign_terms(campaign, participant.person, True, acting_user=participant)
    assert not ParticipantAgreement.objects.exists()


# ----------------------------------------------------------------------------------------- concurrency


@on_postgresql
def test_two_coordinators_claiming_the_same_review_only_one_gets_it(
    transactional_db, make_campaign, staff_user
):
    campaign = make_campaign(status=Status.SUBMITTED)
    others = [MembershipFactory(organisation=campaign.lab, role=Role.LAB_COORDINATOR).user for _ in range(5)]
    reviewers = [staff_user, *others]

    results = run_together(
        lambda i: services.start_review(Campaign.objects.get(pk=campaign.pk), acting_user=reviewers[i]), 6
    )

    assert results.count(True) == 1 and results.count(False) == 5, results
    assert AuditEntry.objects.filter(action="pilots.campaign.start_review").count() == 1
    winner = reviewers[results.index(True)]
    assert Campaign.objects.get(pk=campaign.pk).reviewer == winner
