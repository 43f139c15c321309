"""Campaign pages through the eyes of the lab's staff, the requesting firm, its partners, outsiders and
participants."""

import json

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import Organisation, Role
from pilots.factories import CampaignFactory, CampaignSessionFactory, PanelFactory, QuestionFactory
from pilots.models import Campaign, CampaignReview, Invitation, ParticipantAgreement
from pilots.templatetags.campaign_tags import my_campaigns, organisation_campaigns

Status = Campaign.Status


@pytest.fixture
def draft(cluster, sme, panel, purposes):
    campaign = CampaignFactory(
        lab=cluster, requested_by=sme, panel=panel, title="Fall sensor field trial", status=Status.DRAFT
    )
    campaign.required_purposes.add(purposes["participation"])
    return campaign


@pytest.fixture
def partner(draft):
    consortium = OrganisationFactory(name="Partner Robotics", kind=Organisation.Kind.SME)
    draft.partners.add(consortium)
    return MembershipFactory(
        organisation=consortium, role=Role.FIRM_ADMIN, user=UserFactory(email="partner@example.org")
    ).user


@pytest.fixture
def other_firm_user(other_sme):
    return MembershipFactory(
        organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory(email="rival@example.org")
    ).user


def request_data(cluster, sme, panel, purposes, **changes):
    data = {
        "requested_by": sme.pk,
        "lab": cluster.pk,
        "kind": "test",
        "channel": "b2c",
        "title": "Pill reminder for seniors",
        "product_name": "Pill reminder",
        "product_description": "An app that reminds people to take their medicines.",
        "maturity": "prototype",
        "objectives": "Can people over 65 set a reminder alone?",
        "methods": ["usability", "survey"],
        "panel": panel.pk,
        "target_participants": 8,
        "required_purposes": [purposes["participation"].pk],
        "incentive": "20 EUR voucher",
        "expect_activities": "Try the app for an hour.",
        "expect_time": "90 minutes",
        "expect_benefits": "A voucher.",
        "expect_not": "You do not keep the phone.",
        "expect_risks": "Mild frustration.",
        "idea_ownership": "none",
        "retention_months": 24,
        "conditions_json": json.dumps(
            {"all": [{"attribute": "age_band", "operator": "in", "value": ["65-74"]}]}
        ),
        "quotas_json": "",
    }
    data.update(changes)
    return data


# ------------------------------------------------------------------------------------------- the form


def test_a_firm_requests_a_campaign_with_a_screener_and_lands_on_its_draft(
    client, sme_admin, cluster, sme, panel, purposes
):
    client.force_login(sme_admin)
    response = client.post(reverse("campaigns:campaign_new"), request_data(cluster, sme, panel, purposes))
    campaign = Campaign.objects.get()
    assert response.url == reverse("campaigns:campaign_detail", args=[campaign.slug])
    assert campaign.status == Status.DRAFT and campaign.methods == ["usability", "survey"]
    assert campaign.conditions["all"][0]["value"] == ["65-74"]
    page = client.get(response.url).content.decode()
    assert "Submit to the living lab" in page and "You do not keep the phone." in page


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"conditions_json": "{not json"}, "The JSON is not valid (line 1, column 2)."),
        (
            {"conditions_json": json.dumps({"attribute": "shoe_size", "operator": "in", "value": ["42"]})},
            "“shoe_size” is not an attribute of this panel.",
        ),
        (
            {
                "quotas_json": json.dumps(
                    {"strata": ["age_band"], "quotas": [{"cell": {"age_band": "65-74"}, "min": 9, "max": 20}]}
                )
            },
            "The minimums add up to 9 people, more than the 8 to draw.",
        ),
        ({"methods": []}, "This field is required."),
        ({"nda_required": "on"}, "Say what participants must keep confidential, since an NDA applies."),
        ({"partners": ["SME"]}, "requests the campaign: list only the other organisations as partners."),
    ],
)
def test_bad_input_in_the_request_form_gives_a_specific_error_and_saves_nothing(
    client, sme_admin, cluster, sme, panel, purposes, changes, expected
):
    client.force_login(sme_admin)
    if changes.get("partners") == ["SME"]:
        changes["partners"] = [sme.pk]
    response = client.post(
        reverse("campaigns:campaign_new"), request_data(cluster, sme, panel, purposes, **changes)
    )
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_panel_of_another_lab_is_refused(client, sme_admin, cluster, sme, panel, purposes):
    elsewhere = PanelFactory(name="Oulu seniors")
    client.force_login(sme_admin)
    response = client.post(
        reverse("campaigns:campaign_new"), request_data(cluster, sme, elsewhere, purposes, conditions_json="")
    )
    assert "“Oulu seniors” is not a panel of" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_firm_can_only_request_for_its_own_organisation(
    client, sme_admin, cluster, other_sme, panel, purposes
):
    client.force_login(sme_admin)
    response = client.post(
        reverse("campaigns:campaign_new"), request_data(cluster, other_sme, panel, purposes)
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Campaign.objects.exists()


def test_the_requester_is_sent_back_from_editing_a_submitted_campaign_with_the_reason(
    client, sme_admin, draft
):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.SUBMITTED)
    client.force_login(sme_admin)
    response = client.post(reverse("campaigns:campaign_edit", args=[draft.slug]), {"title": "Changed"})
    assert response.url == reverse("campaigns:campaign_detail", args=[draft.slug])
    assert "Submitted for review" in str(next(iter(get_messages(response.wsgi_request))))
    assert Campaign.objects.get(pk=draft.pk).title == "Fall sensor field trial"


# ---------------------------------------------------------------------------------- permission matrix

PERSONAS = ["staff_user", "sme_admin", "partner", "other_firm_user", "other_cluster_staff", "participant"]
MATRIX = {
    # page: expected status per persona, in PERSONAS order
    "campaign_detail": [200, 200, 200, 404, 404, 404],
    "campaign_edit": [200, 200, 302, 404, 404, 404],
    "campaign_review": [200, 403, 403, 404, 404, 404],
}


@pytest.mark.parametrize("page", sorted(MATRIX))
def test_who_may_open_which_campaign_page(client, request, draft, partner, other_firm_user, page):
    for persona, expected in zip(PERSONAS, MATRIX[page], strict=True):
        client.force_login(request.getfixturevalue(persona))
        response = client.get(reverse(f"campaigns:{page}", args=[draft.slug]))
        assert response.status_code == expected, (persona, page, response.status_code)


def test_only_the_labs_staff_open_the_review_queue(client, staff_user, sme_admin, participant, draft):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.SUBMITTED)
    client.force_login(staff_user)
    assert "Fall sensor field trial" in client.get(reverse("campaigns:review_queue")).content.decode()
    for user in (sme_admin, participant):
        client.force_login(user)
        assert client.get(reverse("campaigns:review_queue")).status_code == 403


def test_the_review_queue_of_another_lab_does_not_show_this_labs_requests(client, other_cluster_staff, draft):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.SUBMITTED)
    client.force_login(other_cluster_staff)
    assert "Fall sensor field trial" not in client.get(reverse("campaigns:review_queue")).content.decode()


def test_the_list_shows_each_user_only_the_campaigns_they_may_see(
    client, draft, other_sme, sme_admin, partner, other_firm_user, staff_user
):
    CampaignFactory(lab=draft.lab, requested_by=other_sme, title="Rival scooter test")
    seen = {}
    for name, user in [
        ("sme", sme_admin),
        ("partner", partner),
        ("rival", other_firm_user),
        ("staff", staff_user),
    ]:
        client.force_login(user)
        page = client.get(reverse("campaigns:campaign_list")).content.decode()
        seen[name] = ("Fall sensor field trial" in page, "Rival scooter test" in page)
    assert seen == {
        "sme": (True, False),
        "partner": (True, False),
        "rival": (False, True),
        "staff": (True, True),
    }


def test_the_list_filters_by_status_and_channel(client, staff_user, draft):
    CampaignFactory(
        lab=draft.lab, requested_by=draft.requested_by, title="Buyer test", channel="b2b", status="running"
    )
    client.force_login(staff_user)
    page = client.get(
        reverse("campaigns:campaign_list"), {"status": "running", "channel": "b2b"}
    ).content.decode()
    assert "Buyer test" in page and "Fall sensor field trial" not in page


def test_the_list_query_count_does_not_grow_with_the_number_of_campaigns(
    client, staff_user, cluster, sme, django_assert_max_num_queries
):
    client.force_login(staff_user)
    CampaignFactory.create_batch(3, lab=cluster, requested_by=sme)
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("campaigns:campaign_list"))
    CampaignFactory.create_batch(20, lab=cluster, requested_by=sme)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("campaigns:campaign_list")).content.decode()
    assert page.count('href="/campaigns/usability-test-') == 20  # a full page, paginated


# ------------------------------------------------------------------------------------ review and moves


def test_a_coordinator_claims_a_review_and_cannot_approve_with_an_unticked_checklist(
    client, staff_user, draft
):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.SUBMITTED, involves_health=True)
    client.force_login(staff_user)
    url = reverse("campaigns:campaign_review", args=[draft.slug])
    client.post(url, {"action": "claim"})
    assert Campaign.objects.get(pk=draft.pk).status == Status.IN_REVIEW

    response = client.post(url, {"action": "decide", "decision": "approve", "check_expectations": "on"})
    assert "To approve, every item of the checklist must hold" in response.content.decode()
    assert Campaign.objects.get(pk=draft.pk).status == Status.IN_REVIEW

    ticks = {f"check_{key}": "on" for key in CampaignReview.CHECKLIST}
    response = client.post(url, {"action": "decide", "decision": "approve", **ticks})
    assert response.url == reverse("campaigns:campaign_detail", args=[draft.slug])
    assert Campaign.objects.get(pk=draft.pk).status == Status.APPROVED
    detail = client.get(response.url).content.decode()
    assert "Draw participants and start recruiting" in detail and "Approve" in detail


def test_an_impossible_move_gives_a_message_naming_both_statuses(client, staff_user, draft):
    client.force_login(staff_user)
    response = client.post(
        reverse("campaigns:campaign_move", args=[draft.slug]), {"to": "closed"}, follow=True
    )
    assert "This campaign is “Draft”: it cannot become “Closed”." in response.content.decode()
    assert Campaign.objects.get(pk=draft.pk).status == Status.DRAFT


def test_the_requester_cannot_run_the_campaign_but_can_withdraw_it(client, sme_admin, draft):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.APPROVED)
    client.force_login(sme_admin)
    url = reverse("campaigns:campaign_move", args=[draft.slug])
    assert client.post(url, {"to": "recruiting"}).status_code == 403
    client.post(url, {"to": "withdrawn"})
    assert Campaign.objects.get(pk=draft.pk).status == Status.WITHDRAWN


def test_the_requester_submits_a_draft(client, sme_admin, draft, mailoutbox, staff_user):
    client.force_login(sme_admin)
    client.post(reverse("campaigns:campaign_submit", args=[draft.slug]))
    assert Campaign.objects.get(pk=draft.pk).status == Status.SUBMITTED


# ---------------------------------------------------------------------------------------- participants


def test_a_participant_reads_what_to_expect_and_accepts_the_terms(client, campaign, take_part):
    person = take_part(agree=False)
    client.force_login(person.user)
    url = reverse("campaigns:campaign_take_part", args=[campaign.slug])
    page = client.get(url).content.decode()
    for text in (
        campaign.expect_activities,
        campaign.expect_not,
        campaign.expect_risks,
        "Prototype",
        person.code,
    ):
        assert text in page
    response = client.post(url, {})
    assert "Tick this box to confirm" in response.content.decode()
    assert not ParticipantAgreement.objects.exists()

    response = client.post(url, {"understood": "on"})
    assert response.url == url
    assert ParticipantAgreement.objects.filter(person=person, campaign=campaign).exists()
    assert "You accepted these terms." in client.get(url).content.decode()


def test_someone_never_invited_does_not_learn_that_the_campaign_exists(client, campaign, participant):
    client.force_login(participant)
    response = client.get(reverse("campaigns:campaign_take_part", args=[campaign.slug]))
    assert response.status_code == 404
    assert campaign.title not in response.content.decode()


def test_someone_whose_invitation_was_withdrawn_is_told_the_page_no_longer_concerns_them(
    client, campaign, take_part
):
    person = take_part()
    Invitation.objects.filter(person=person).update(status=Invitation.Status.WITHDRAWN)
    client.force_login(person.user)
    response = client.get(reverse("campaigns:campaign_take_part", args=[campaign.slug]))
    assert response.status_code == 403
    assert "no longer concerns you" in response.content.decode()


# ---------------------------------------------------------------------------------------------- workspaces


def test_the_firm_workspace_lists_its_campaigns_and_next_sessions_not_others(
    client, sme_admin, sme, campaign, other_sme
):
    CampaignSessionFactory(campaign=campaign, title="Morning test")
    CampaignFactory(lab=campaign.lab, requested_by=other_sme, title="Rival scooter test")
    client.force_login(sme_admin)
    page = client.get(reverse("organisation_workspace", args=[sme.slug])).content.decode()
    assert "Pill reminder usability" in page and "Morning test" in page
    assert "Rival scooter test" not in page


def test_the_lab_workspace_shows_the_review_queue_and_running_campaigns(
    client, staff_user, cluster, draft, campaign
):
    Campaign.objects.filter(pk=draft.pk).update(status=Status.SUBMITTED, submitted_at=draft.created_at)
    client.force_login(staff_user)
    page = client.get(reverse("organisation_workspace", args=[cluster.slug])).content.decode()
    assert "Review queue: 1 campaign waits" in page
    assert "Fall sensor field trial" in page and "Pill reminder usability" in page


def test_the_participant_workspace_links_to_the_campaigns_they_take_part_in(client, campaign, take_part):
    person = take_part(agree=False)
    client.force_login(person.user)
    page = client.get(reverse("participant_workspace")).content.decode()
    assert reverse("campaigns:campaign_take_part", args=[campaign.slug]) in page
    assert "read and accept what taking part involves" in page


def test_workspace_tags_run_a_bounded_number_of_queries(
    sme, cluster, staff_user, campaign, take_part, django_assert_max_num_queries
):
    CampaignFactory.create_batch(12, lab=cluster, requested_by=sme, status=Status.SUBMITTED)
    for _ in range(3):
        CampaignSessionFactory(campaign=campaign)
    person = take_part()
    with django_assert_max_num_queries(3):
        assert len(organisation_campaigns(sme, staff_user)["campaigns"]) == 8
    with django_assert_max_num_queries(5):
        lab = organisation_campaigns(cluster, staff_user)
    assert lab["queue_count"] == 12 and len(lab["sessions"]) == 3
    with django_assert_max_num_queries(3):
        assert [c.agreed for c in my_campaigns(person)["campaigns"]] == [True]


def test_the_participant_workspace_lists_questionnaires_to_answer_and_next_sessions(
    client, campaign, take_part, staff_user
):
    from pilots.services import questionnaires, sessions

    person = take_part()
    session = CampaignSessionFactory(campaign=campaign, title="Morning test")
    booking = sessions.book_session(session, person, acting_user=person.user)
    questionnaire = questionnaires.create_questionnaire(
        campaign, {"en": "After the test"}, ["en"], acting_user=staff_user
    )
    QuestionFactory(questionnaire=questionnaire)
    questionnaires.open_questionnaire(questionnaire, acting_user=staff_user)
    client.force_login(person.user)

    page = client.get(reverse("participant_workspace")).content.decode()

    assert "Morning test" in page and reverse("campaigns:booking_calendar", args=[booking.pk]) in page
    assert reverse("campaigns:questionnaire_answer", args=[questionnaire.pk]) in page
