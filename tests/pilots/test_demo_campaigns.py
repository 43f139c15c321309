"""The demo campaigns: every status and channel, consistent participants, thousands of answers, built once
however often the seeder runs."""

import pytest
from django.core.management import call_command
from django.db import transaction

from livinglab.models import Channel, ConsentRecord
from pilots.demo_campaigns import CARER_APP, SLUGS, seed_campaigns
from pilots.models import (
    Answer,
    Booking,
    Campaign,
    CampaignReview,
    IdeaScore,
    Invitation,
    ParticipantAgreement,
    Question,
    QuestionKind,
    Response,
)
from pilots.scoring import sus_score


def counts() -> dict[str, int]:
    return {
        "campaigns": Campaign.objects.count(),
        "invitations": Invitation.objects.count(),
        "bookings": Booking.objects.count(),
        "responses": Response.objects.count(),
        "answers": Answer.objects.count(),
        "scores": IdeaScore.objects.count(),
    }


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo world with its campaigns, built once for this module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        seed_campaigns()
        yield counts()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo_world, db):
    return demo_world


def test_seeding_the_campaigns_again_adds_nothing(seeded):
    seed_campaigns()
    assert counts() == seeded
    assert Campaign.objects.filter(slug__in=SLUGS).count() == len(SLUGS)


def test_every_status_and_every_channel_has_a_demo_campaign(seeded):
    statuses = set(Campaign.objects.values_list("status", flat=True))
    assert statuses == set(Campaign.Status.values)
    assert set(Campaign.objects.values_list("channel", flat=True)) == set(Channel.values)
    in_review = Campaign.objects.get(status=Campaign.Status.IN_REVIEW)
    assert in_review.reviews.filter(decision=CampaignReview.Decision.REQUEST_CHANGES).exists()
    closed = Campaign.objects.get(status=Campaign.Status.CLOSED)
    assert closed.key_findings


def test_the_usability_test_has_thousands_of_answers_that_differ_by_age(seeded):
    campaign = Campaign.objects.get(slug=CARER_APP)
    answers = Answer.objects.filter(response__questionnaire__campaign=campaign)
    assert answers.count() >= 2000
    young, old = [], []
    for number, attributes in answers.filter(question__kind=QuestionKind.SUS).values_list(
        "number", "response__attributes"
    ):
        band = attributes.get("age_band")
        if band in ("18-24", "25-34", "35-44"):
            young.append(number)
        elif band in ("65-74", "75+"):
            old.append(number)
    assert young and old
    assert sum(young) / len(young) > sum(old) / len(old) + 5


def test_sus_answers_hold_ten_items_and_the_standard_score(seeded):
    sus = Answer.objects.filter(question__kind=QuestionKind.SUS)
    assert sus.exists()
    for items, number in sus.values_list("value", "number"):
        assert len(items) == 10
        assert number == sus_score(items)


def test_every_response_is_under_the_code_of_an_accepted_invitation_to_its_campaign(seeded):
    accepted = set(
        Invitation.objects.filter(status=Invitation.Status.ACCEPTED).values_list(
            "selection__draw__campaign_id", "selection__code", "person_id"
        )
    )
    responses = Response.objects.values_list("questionnaire__campaign_id", "code", "person_id")
    assert responses.exists()
    assert set(responses) <= accepted
    agreed = set(ParticipantAgreement.objects.values_list("campaign_id", "person_id"))
    assert {(c, p) for c, _code, p in responses} <= agreed


def test_nobody_answers_without_the_consents_their_campaign_requires(seeded):
    active = set(ConsentRecord.objects.active().values_list("person_id", "purpose_id"))
    for campaign in Campaign.objects.prefetch_related("required_purposes"):
        needed = [p.pk for p in campaign.required_purposes.all()]
        people = set(
            Response.objects.filter(questionnaire__campaign=campaign).values_list("person_id", flat=True)
        )
        missing = [
            (person, purpose) for person in people for purpose in needed if (person, purpose) not in active
        ]
        assert missing == [], campaign.slug


def test_bookings_hold_past_attendance_and_future_places_with_a_waiting_list(seeded):
    statuses = set(Booking.objects.values_list("status", flat=True))
    assert {"attended", "no_show", "booked", "waiting"} <= statuses
    attended = Booking.objects.filter(status__in=["attended", "no_show"])
    assert not attended.filter(participation__isnull=True).exists()


def test_the_joint_survey_has_questions_of_each_firm_and_shared_ones(seeded):
    campaign = Campaign.objects.get(kind="joint_survey")
    firms = set(Question.objects.filter(questionnaire__campaign=campaign).values_list("firm_id", flat=True))
    assert None in firms
    assert firms - {None} == set(campaign.partners.values_list("pk", flat=True))
