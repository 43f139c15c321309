"""The market-intelligence pages: what a firm user, the cluster staff, a participant and an anonymous visitor
see and may do, the figures of a brief on its page (and no personal data), and the topics a firm follows."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from livinglab.b2b.factories import ReportFactory, TopicFactory
from livinglab.b2b.models import DigestDelivery, Report, TopicSubscription
from livinglab.b2b.services import intelligence as services
from livinglab.models import AuditEntry
from pilots.factories import CampaignFactory
from pilots.models import Campaign

from .test_intelligence import PERSONAL_MARKERS, respond, survey

LIST = reverse("b2b:report_list")
TOPICS = reverse("b2b:topic_subscriptions")
CREATE = reverse("b2b:report_create")


@pytest.fixture
def food(db):
    return TopicFactory(name="Food processing", slug="food-processing")


@pytest.fixture
def robotics(db):
    return TopicFactory(name="Robotics", slug="robotics")


@pytest.fixture
def campaign(cluster):
    """A closed campaign whose eight participants answered, each with a personal comment."""
    campaign = CampaignFactory(
        lab=cluster, title="Reminder app usability test", status=Campaign.Status.CLOSED
    )
    questionnaire, questions = survey(campaign)
    respond(questionnaire, questions, 8, sus=72.5)
    return campaign


@pytest.fixture
def market(cluster, food):
    return ReportFactory(
        publisher=cluster,
        title="Cold chain demand 2025",
        summary="Buyers of the food sector look for predictive maintenance.",
        topics=[food],
    )


@pytest.fixture
def brief(cluster, broker, food, campaign):
    draft = services.save_report(
        None,
        kind=Report.Kind.INSIGHT,
        title="What older users need from reminder apps",
        summary="Set-up is the hurdle; once set up, people keep using it.",
        body="Most participants found the set-up easy.",
        topics=[food],
        campaigns=[campaign],
        publisher=cluster,
        acting_user=broker,
    )
    return services.publish_report(draft, acting_user=broker)


@pytest.fixture
def draft(cluster, robotics):
    return ReportFactory(
        publisher=cluster,
        title="Unfinished robotics scan",
        topics=[robotics],
        status=Report.Status.DRAFT,
        published_at=None,
    )


@pytest.fixture
def withdrawn(cluster, food):
    return ReportFactory(
        publisher=cluster, title="Retracted forecast", topics=[food], status=Report.Status.WITHDRAWN
    )


def text_of(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------------------ who may read


@pytest.mark.parametrize("url", [LIST, TOPICS, CREATE, reverse("b2b:report_detail", args=["any-report"])])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_participant_is_told_reports_are_for_member_firms(client, participant, market):
    client.force_login(participant)
    for url in (LIST, TOPICS, reverse("b2b:report_detail", args=[market.slug]), CREATE):
        response = client.get(url)
        assert response.status_code == 403, url
    assert "member firms" in text_of(client.get(LIST))


def test_a_firm_user_reads_published_reports_only(client, buyer_user, market, brief, draft, withdrawn):
    client.force_login(buyer_user)
    page = text_of(client.get(LIST))

    assert "Cold chain demand 2025" in page and "What older users need from reminder apps" in page
    assert "Unfinished robotics scan" not in page and "Retracted forecast" not in page
    assert "Write a report or brief" not in page
    assert client.get(reverse("b2b:report_detail", args=[draft.slug])).status_code == 404
    gone = client.get(reverse("b2b:report_detail", args=[withdrawn.slug]))
    assert gone.status_code == 410
    assert "withdrawn" in text_of(gone) and withdrawn.body not in text_of(gone)


def test_the_staff_also_see_drafts_and_withdrawn_reports_marked_as_such(
    client, broker, market, draft, withdrawn
):
    client.force_login(broker)
    page = text_of(client.get(LIST))

    assert "Unfinished robotics scan" in page and "Retracted forecast" in page
    assert "Draft" in page and "Withdrawn" in page
    assert "Write a report or brief" in page
    drafts = text_of(client.get(LIST, {"status": "draft"}))
    assert "Unfinished robotics scan" in drafts and "Cold chain demand 2025" not in drafts


def test_reports_are_filtered_by_topic_and_kind(client, buyer_user, market, brief, robotics, cluster):
    ReportFactory(publisher=cluster, title="Cobots in bakeries", topics=[robotics])
    client.force_login(buyer_user)

    by_topic = text_of(client.get(LIST, {"topic": "robotics"}))
    assert "Cobots in bakeries" in by_topic and "Cold chain demand 2025" not in by_topic
    by_kind = text_of(client.get(LIST, {"kind": "insight"}))
    assert "What older users need from reminder apps" in by_kind and "Cold chain demand 2025" not in by_kind
    unknown = client.get(LIST, {"topic": "no-such-topic", "kind": "gossip"})
    assert unknown.status_code == 200 and "Cold chain demand 2025" in text_of(unknown)


def test_the_report_list_paginates(client, buyer_user, food, cluster):
    now = timezone.now()
    for i in range(23):
        ReportFactory(
            publisher=cluster,
            title=f"Weekly scan {i:02d}",
            topics=[food],
            published_at=now - timedelta(days=i),
        )
    client.force_login(buyer_user)

    first, second = text_of(client.get(LIST)), text_of(client.get(LIST, {"page": 2}))

    assert "Weekly scan 00" in first and "Weekly scan 19" in first and "Weekly scan 20" not in first
    assert "Weekly scan 22" in second and "Page 2 of 2" in second


@pytest.mark.parametrize("persona", ["buyer_user", "broker"])
def test_the_report_list_needs_few_queries_however_many_reports(
    persona, request, client, food, robotics, cluster, django_assert_max_num_queries
):
    for i in range(30):
        ReportFactory(publisher=cluster, title=f"Scan {i}", topics=[food, robotics])
    client.force_login(request.getfixturevalue(persona))
    with django_assert_max_num_queries(10):
        response = client.get(LIST)
    assert response.status_code == 200 and text_of(response).count("Robotics") >= 20


# ------------------------------------------------------------------------------------------ a brief


def test_a_brief_shows_its_frozen_figures_as_a_chart_and_a_table_without_personal_data(
    client, buyer_user, brief
):
    client.force_login(buyer_user)
    response = client.get(reverse("b2b:report_detail", args=[brief.slug]))
    page = text_of(response)

    assert response.status_code == 200
    assert "Set-up is the hurdle" in page and "Most participants found the set-up easy." in page
    assert "Reminder app usability test" in page  # the campaign, by title only
    assert '<svg role="img"' in page and "Shares, in per cent" in page
    assert "Average usability score (SUS, 0–100)" in page and "72.5" in page
    assert "<caption>Every figure, with the number of people it rests on</caption>" in page
    for marker in PERSONAL_MARKERS:
        assert marker not in page
    assert reverse("b2b:report_withdraw", args=[brief.slug]) not in page
    assert "For the cluster&#x27;s staff" not in page and "For the cluster's staff" not in page


def test_a_figure_resting_on_too_few_people_says_so_on_the_page(client, buyer_user, cluster, broker, food):
    small = CampaignFactory(lab=cluster, title="Tiny pilot", status=Campaign.Status.CLOSED)
    questionnaire, questions = survey(small)
    respond(questionnaire, questions, 3, sus=95.0)
    draft = services.save_report(
        None,
        kind="insight",
        title="A tiny pilot",
        summary="Three people.",
        body="Too early to tell.",
        topics=[food],
        campaigns=[small],
        publisher=cluster,
        acting_user=broker,
    )
    report = services.publish_report(draft, acting_user=broker)
    client.force_login(buyer_user)

    page = text_of(client.get(reverse("b2b:report_detail", args=[report.slug])))

    assert "Not shown: fewer than 5 people" in page
    assert "95" not in page.split("Figures from the campaigns")[1]


def test_the_staff_preview_the_figures_of_a_draft_brief(client, broker, cluster, food, campaign):
    draft = services.save_report(
        None,
        kind="insight",
        title="Preview me",
        summary="S.",
        body="B.",
        topics=[food],
        campaigns=[campaign],
        publisher=cluster,
        acting_user=broker,
    )
    client.force_login(broker)
    page = text_of(client.get(reverse("b2b:report_detail", args=[draft.slug])))
    assert "as publishing would freeze them now" in page and "72.5" in page
    assert reverse("b2b:report_publish", args=[draft.slug]) in page


# ------------------------------------------------------------------------------------------ staff actions


def test_the_staff_write_edit_and_publish_a_brief_through_the_pages(client, broker, food, robotics, campaign):
    client.force_login(broker)
    response = client.post(
        CREATE,
        {
            "kind": "insight",
            "title": "Reminder apps for older users",
            "summary": "Set-up is the hurdle.",
            "body": "Most found it easy once set up.",
            "topics": [food.pk],
            "campaigns": [campaign.pk],
        },
    )
    report = Report.objects.get(title="Reminder apps for older users")
    assert response.status_code == 302 and response["Location"] == reverse(
        "b2b:report_detail", args=[report.slug]
    )
    assert report.status == Report.Status.DRAFT and list(report.campaigns.all()) == [campaign]

    response = client.post(
        reverse("b2b:report_edit", args=[report.slug]),
        {
            "kind": "insight",
            "title": "Reminder apps for older users",
            "summary": "Set-up is the hurdle; then they stay.",
            "body": "Most found it easy once set up.",
            "topics": [food.pk, robotics.pk],
            "campaigns": [campaign.pk],
        },
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.summary == "Set-up is the hurdle; then they stay." and report.topics.count() == 2

    response = client.post(reverse("b2b:report_publish", args=[report.slug]), follow=True)
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED and report.figures
    assert "is published" in text_of(response)
    assert client.get(reverse("b2b:report_edit", args=[report.slug])).status_code == 302

    response = client.post(reverse("b2b:report_withdraw", args=[report.slug]), follow=True)
    report.refresh_from_db()
    assert report.status == Report.Status.WITHDRAWN and "is withdrawn" in text_of(response)
    assert list(
        AuditEntry.objects.filter(object_id=str(report.pk), action__startswith="b2b.report.")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["b2b.report.create", "b2b.report.update", "b2b.report.publish", "b2b.report.withdraw"]


def test_a_brief_without_campaigns_is_a_form_error(client, broker, food):
    client.force_login(broker)
    response = client.post(
        CREATE, {"kind": "insight", "title": "T", "summary": "S", "body": "B", "topics": [food.pk]}
    )
    assert response.status_code == 200
    assert "Choose the campaigns the brief draws on." in text_of(response)
    assert not Report.objects.exists()


def test_publishing_a_brief_with_an_e_mail_address_is_refused_with_the_reason(
    client, broker, cluster, food, campaign
):
    draft = services.save_report(
        None,
        kind="insight",
        title="Leaky",
        summary="S.",
        body="Write to aino@example.org for more.",
        topics=[food],
        campaigns=[campaign],
        publisher=cluster,
        acting_user=broker,
    )
    client.force_login(broker)
    response = client.post(reverse("b2b:report_publish", args=[draft.slug]), follow=True)

    assert "contains an e-mail address" in text_of(response)
    draft.refresh_from_db()
    assert draft.status == Report.Status.DRAFT


def test_publishing_twice_says_so_instead_of_failing(client, broker, market):
    client.force_login(broker)
    response = client.post(reverse("b2b:report_publish", args=[market.slug]), follow=True)
    assert response.status_code == 200 and "already published" in text_of(response)


def test_a_firm_user_can_neither_write_nor_publish_nor_withdraw(client, buyer_user, draft, market, food):
    client.force_login(buyer_user)
    assert client.get(CREATE).status_code == 403
    assert (
        client.post(
            CREATE, {"kind": "market", "title": "T", "summary": "S", "body": "B", "topics": [food.pk]}
        ).status_code
        == 403
    )
    assert client.post(reverse("b2b:report_publish", args=[draft.slug])).status_code == 403
    assert client.post(reverse("b2b:report_withdraw", args=[market.slug])).status_code == 403
    assert client.get(reverse("b2b:report_edit", args=[draft.slug])).status_code == 403
    draft.refresh_from_db()
    market.refresh_from_db()
    assert (draft.status, market.status) == (Report.Status.DRAFT, Report.Status.PUBLISHED)


def test_publish_and_withdraw_answer_only_posts_and_unknown_reports_are_not_found(client, broker, market):
    client.force_login(broker)
    assert client.get(reverse("b2b:report_publish", args=[market.slug])).status_code == 405
    assert client.post(reverse("b2b:report_withdraw", args=["no-such-report"])).status_code == 404
    assert client.get(reverse("b2b:report_detail", args=["no-such-report"])).status_code == 404


def test_the_report_page_needs_few_queries(client, buyer_user, brief, django_assert_max_num_queries):
    client.force_login(buyer_user)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("b2b:report_detail", args=[brief.slug]))
    assert response.status_code == 200


# ------------------------------------------------------------------------------------------ topics


def test_a_firm_user_ticks_the_topics_of_their_digest(client, buyer_user, food, robotics, market):
    client.force_login(buyer_user)
    page = text_of(client.get(TOPICS))
    assert "Food processing" in page and "Robotics" in page
    assert "No digest has been sent to you yet." in page
    assert "Published reports and briefs, by topic" in page

    response = client.post(TOPICS, {"topics": [food.pk, robotics.pk]}, follow=True)
    assert "Your topics are saved." in text_of(response)
    assert set(TopicSubscription.objects.filter(user=buyer_user).values_list("topic", flat=True)) == {
        food.pk,
        robotics.pk,
    }

    response = client.post(TOPICS, {"topics": [food.pk, robotics.pk]}, follow=True)
    assert "Nothing changed" in text_of(response)
    assert TopicSubscription.objects.filter(user=buyer_user).count() == 2

    client.post(TOPICS, {})
    assert not TopicSubscription.objects.filter(user=buyer_user).exists()


def test_the_topics_page_says_when_the_last_digest_was_sent(client, buyer_user, food):
    sent = timezone.now() - timedelta(days=2)
    DigestDelivery.objects.create(user=buyer_user, period_end=sent, sent_at=sent)
    client.force_login(buyer_user)
    page = text_of(client.get(TOPICS))
    assert "Your last digest was sent on" in page
    assert timezone.localtime(sent).strftime("%Y") in page


def test_an_unknown_topic_is_a_form_error(client, buyer_user):
    client.force_login(buyer_user)
    response = client.post(TOPICS, {"topics": ["999999"]})
    assert response.status_code == 200 and "Select a valid choice" in text_of(response)
    assert not TopicSubscription.objects.exists()


def test_the_topics_page_needs_few_queries(client, buyer_user, django_assert_max_num_queries):
    for i in range(15):
        TopicFactory(name=f"Topic {i:02d}")
    client.force_login(buyer_user)
    with django_assert_max_num_queries(8):
        response = client.get(TOPICS)
    assert response.status_code == 200 and "Topic 14" in text_of(response)
