"""Market and user intelligence: the aggregated, anonymous figures of user-insight briefs, publishing and
its refusals, topic subscriptions, and the weekly digest e-mail (once per subscriber and period, whatever
runs)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from livinglab import services as core
from livinglab.b2b.errors import B2BError
from livinglab.b2b.factories import ReportFactory, TopicFactory
from livinglab.b2b.models import DigestDelivery, Report, TopicSubscription
from livinglab.b2b.services import intelligence as services
from livinglab.b2b.tasks import intelligence as tasks
from livinglab.factories import PersonFactory, UserFactory
from livinglab.models import AuditEntry, Membership
from pilots.factories import CampaignFactory, QuestionFactory, QuestionnaireFactory
from pilots.models import Answer, Campaign, QuestionKind, Response
from tests.concurrency import on_postgresql, run_together

PERSONAL_MARKERS = ("Aino Virtanen", "example.org", "PX-", "+358 40 123 4567", "my neighbour Jussi")


# ------------------------------------------------------------------------------------------- fixtures


def survey(campaign, *, joint_firm=None):
    """A questionnaire with a SUS, an NPS, an agreement statement and a free-text question."""
    questionnaire = QuestionnaireFactory(campaign=campaign, title={"en": "After the test"}, status="open")
    questions = {
        "sus": QuestionFactory(
            questionnaire=questionnaire, key="sus", kind=QuestionKind.SUS, text={"en": "SUS"}
        ),
        "nps": QuestionFactory(
            questionnaire=questionnaire, key="nps", kind=QuestionKind.NPS, text={"en": "NPS"}
        ),
        "easy": QuestionFactory(
            questionnaire=questionnaire,
            key="easy",
            kind=QuestionKind.LIKERT5,
            text={"en": "Setting up a reminder was easy."},
        ),
        "comment": QuestionFactory(
            questionnaire=questionnaire, key="comment", kind=QuestionKind.TEXT, text={"en": "Anything else?"}
        ),
    }
    if joint_firm is not None:
        questions["own"] = QuestionFactory(
            questionnaire=questionnaire,
            key="own",
            kind=QuestionKind.LIKERT5,
            text={"en": "FIRM-OWN: our packaging is clear."},
            firm=joint_firm,
        )
    return questionnaire, questions


def respond(questionnaire, questions, n, *, sus=80.0, nps=9, easy=4, submitted=True, start=0):
    """``n`` people answer (or only start answering) the questionnaire; each leaves a personal comment."""
    for i in range(start, start + n):
        person = PersonFactory(
            full_name=f"Aino Virtanen {i}",
            user=UserFactory(email=f"aino{questionnaire.pk}-{i}@example.org"),
        )
        response = Response.objects.create(
            questionnaire=questionnaire,
            person=person,
            code=f"PX-{questionnaire.campaign_id}-{i:03d}",
            attributes={"age_band": "65-74"},
            status=Response.Status.SUBMITTED if submitted else Response.Status.IN_PROGRESS,
            submitted_at=timezone.now() if submitted else None,
        )
        values = {"sus": sus, "nps": nps, "easy": easy, "own": 5}
        for key, question in questions.items():
            if key == "comment":
                Answer.objects.create(
                    response=response,
                    question=question,
                    text="Call me on +358 40 123 4567 or aino@example.org, my neighbour Jussi helped.",
                )
            else:
                value = values[key]
                Answer.objects.create(
                    response=response, question=question, number=value(i) if callable(value) else value
                )


@pytest.fixture
def food(db):
    return TopicFactory(name="Food processing", slug="food-processing")


@pytest.fixture
def robotics(db):
    return TopicFactory(name="Robotics", slug="robotics")


@pytest.fixture
def closed_campaign(cluster):
    return CampaignFactory(lab=cluster, title="Reminder app usability test", status=Campaign.Status.CLOSED)


@pytest.fixture
def brief(cluster, broker, food, closed_campaign):
    """A draft user-insight brief drawing on ``closed_campaign``."""
    return services.save_report(
        None,
        kind=Report.Kind.INSIGHT,
        title="What older users need from reminder apps",
        summary="Set-up is the hurdle; once set up, people keep using it.",
        body="Most participants found the set-up easy; usability scores are good.",
        topics=[food],
        campaigns=[closed_campaign],
        publisher=cluster,
        acting_user=broker,
    )


def figures_by_key(figures):
    return {f["key"]: f for f in figures}


# ------------------------------------------------------------------------------------------- figures


def test_campaign_figures_pool_the_answers_of_several_campaigns(cluster):
    first = CampaignFactory(lab=cluster, status=Campaign.Status.CLOSED)
    second = CampaignFactory(lab=cluster, status=Campaign.Status.ANALYSING)
    q1, questions1 = survey(first)
    respond(q1, questions1, 3, sus=80.0, nps=10, easy=5)
    respond(q1, questions1, 1, submitted=False, start=10)  # started, not submitted
    q2, questions2 = survey(second)
    respond(q2, questions2, 3, sus=60.0, nps=lambda i: 3 if i == 0 else 7, easy=2)

    figures = figures_by_key(services.campaign_figures([first, second]))

    assert figures["respondents"] == {
        "key": "respondents",
        "label": "People who answered",
        "value": 6,
        "base": 6,
        "unit": "people",
        "suppressed": False,
    }
    assert figures["completion"]["value"] == round(100 * 6 / 7, 1)  # 6 of 7 questionnaires started
    assert figures["completion"]["base"] == 7
    assert figures["sus"]["value"] == 70.0 and figures["sus"]["base"] == 6
    # NPS answers 10, 10, 10, 3, 7, 7: three promoters, two passives, one detractor.
    assert figures["nps_promoters"]["value"] == 50.0
    assert figures["nps_passives"]["value"] == round(100 * 2 / 6, 1)
    assert figures["nps_detractors"]["value"] == round(100 / 6, 1)
    # One agreement statement per campaign, each resting on three people: too few, so not shown.
    statements = [f for key, f in figures.items() if key.startswith("agree_")]
    assert len(statements) == 2
    assert all(f["suppressed"] and f["value"] is None and f["base"] is None for f in statements)
    assert "Setting up a reminder was easy." in statements[0]["label"]


def test_people_who_answer_before_and_after_a_test_count_once_so_small_groups_stay_hidden(cluster):
    campaign = CampaignFactory(lab=cluster, status=Campaign.Status.CLOSED)
    before, before_questions = survey(campaign)
    after, after_questions = survey(campaign)
    # Three people answer both questionnaires: six answers to each scale, but three people, too few to show.
    respond(before, before_questions, 3, sus=50.0, nps=5)
    respond(after, after_questions, 3, sus=90.0, nps=10)
    figures = figures_by_key(services.campaign_figures([campaign]))
    for key in ("respondents", "sus", "nps_promoters", "nps_passives", "nps_detractors"):
        assert figures[key]["suppressed"] and figures[key]["base"] is None, figures[key]
    # Two more people answer both: five people, and the figures rest on five, not on ten answers.
    respond(before, before_questions, 2, sus=50.0, nps=5, start=3)
    respond(after, after_questions, 2, sus=90.0, nps=10, start=3)
    figures = figures_by_key(services.campaign_figures([campaign]))
    assert figures["sus"] == {
        "key": "sus",
        "label": "Average usability score (SUS, 0–100)",
        "value": 70.0,
        "base": 5,
        "unit": "score",
        "suppressed": False,
    }
    assert figures["nps_promoters"]["base"] == 5 and figures["nps_promoters"]["value"] == 50.0


def test_a_figure_resting_on_fewer_than_the_minimum_group_is_suppressed_and_says_so(closed_campaign):
    questionnaire, questions = survey(closed_campaign)
    respond(questionnaire, questions, services.MIN_GROUP - 1)

    figures = services.campaign_figures([closed_campaign])

    assert figures, "the brief still lists what it would show"
    for figure in figures:
        assert figure["suppressed"] is True, figure
        assert figure["value"] is None and figure["base"] is None, figure

    respond(questionnaire, questions, 1, start=50)
    shown = figures_by_key(services.campaign_figures([closed_campaign]))
    assert shown["respondents"]["value"] == services.MIN_GROUP
    assert shown[f"agree_{questions['easy'].pk}"] == {
        "key": f"agree_{questions['easy'].pk}",
        "label": "Agree: “Setting up a reminder was easy.” (%)",
        "value": 100.0,
        "base": services.MIN_GROUP,
        "unit": "percent",
        "suppressed": False,
    }


def test_figures_hold_no_names_e_mails_codes_free_text_or_ids_of_people(closed_campaign):
    questionnaire, questions = survey(closed_campaign)
    respond(questionnaire, questions, 8)

    figures = services.campaign_figures([closed_campaign])

    text = json.dumps(figures)
    for marker in PERSONAL_MARKERS:
        assert marker not in text
    assert [f["key"] for f in figures] == [
        "respondents",
        "completion",
        "sus",
        "nps_promoters",
        "nps_passives",
        "nps_detractors",
        f"agree_{questions['easy'].pk}",  # the question's id, never a person's
    ]
    for figure in figures:
        assert set(figure) == {"key", "label", "value", "base", "unit", "suppressed"}
        assert isinstance(figure["value"], int | float) and figure["base"] == 8


def test_figures_leave_out_a_firm_s_own_questions_of_a_joint_survey(closed_campaign, sme):
    questionnaire, questions = survey(closed_campaign, joint_firm=sme)
    respond(questionnaire, questions, 6)

    figures = services.campaign_figures([closed_campaign])

    assert "FIRM-OWN" not in json.dumps(figures)
    assert f"agree_{questions['own'].pk}" not in figures_by_key(figures)


@pytest.mark.parametrize(
    "status", [Campaign.Status.WITHDRAWN, Campaign.Status.REJECTED, Campaign.Status.DRAFT]
)
def test_campaigns_without_results_count_for_nothing(cluster, status):
    campaign = CampaignFactory(lab=cluster, status=status)
    questionnaire, questions = survey(campaign)
    respond(questionnaire, questions, 6)

    assert services.campaign_figures([campaign]) == []


# ------------------------------------------------------------------------------------------- publishing


def test_publish_report_freezes_the_figures_of_an_insight_brief(brief, broker, closed_campaign):
    questionnaire, questions = survey(closed_campaign)
    respond(questionnaire, questions, 6, sus=75.0)

    published = services.publish_report(brief, acting_user=broker)

    assert published.status == Report.Status.PUBLISHED
    assert published.published_at is not None
    frozen = figures_by_key(published.figures)
    assert frozen["respondents"]["value"] == 6 and frozen["sus"]["value"] == 75.0

    respond(questionnaire, questions, 6, sus=25.0, start=100)  # later answers change nothing published
    published.refresh_from_db()
    assert figures_by_key(published.figures)["sus"]["value"] == 75.0
    entry = AuditEntry.objects.get(action="b2b.report.publish", object_id=str(brief.pk))
    assert entry.actor == broker
    assert entry.data["campaigns"] == [closed_campaign.pk] and entry.data["figures"] == len(published.figures)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("Ask aino.virtanen@example.org for the raw data.", "e-mail address"),
        ("One participant (+358 40 123 4567) asked to be called back.", "phone number"),
        ("Reach the lead user on 020 7946 0958.", "phone number"),
    ],
)
def test_publish_report_refuses_a_brief_whose_findings_hold_contact_details(brief, broker, text, what):
    brief.body = f"Set-up is the hurdle. {text}"
    brief.save()

    with pytest.raises(B2BError) as refused:
        services.publish_report(brief, acting_user=broker)

    assert what in refused.value.message
    brief.refresh_from_db()
    assert brief.status == Report.Status.DRAFT and brief.figures == []
    assert not AuditEntry.objects.filter(action="b2b.report.publish").exists()


@pytest.mark.parametrize(
    "text",
    [
        "Between 2019–2024 demand doubled.",
        "Some 70,000 students use the service; 92 % recall.",
        "Funding: 1.75 MSEK per year, 5.25 MSEK from industry.",
        "Line 4 stops twice a month; each stop costs €40,000.",
    ],
)
def test_the_personal_data_check_lets_years_amounts_and_percentages_through(text):
    assert services.personal_data_in(text) is None


def test_a_market_report_may_give_a_contact_address(cluster, broker, food):
    report = services.save_report(
        None,
        kind=Report.Kind.MARKET,
        title="Cold chain demand 2025",
        summary="Buyers look for predictive maintenance.",
        body="Questions: intelligence@cluster.example.org",
        topics=[food],
        publisher=cluster,
        acting_user=broker,
    )
    published = services.publish_report(report, acting_user=broker)
    assert published.status == Report.Status.PUBLISHED and published.figures == []


def test_publish_report_refuses_a_second_publication(brief, broker, closed_campaign):
    services.publish_report(brief, acting_user=broker)
    with pytest.raises(B2BError, match="already published"):
        services.publish_report(brief, acting_user=broker)
    assert AuditEntry.objects.filter(action="b2b.report.publish").count() == 1


def test_publish_report_refuses_a_brief_without_campaigns_or_a_report_without_topics(brief, broker, cluster):
    brief.campaigns.clear()
    with pytest.raises(B2BError, match="at least one campaign"):
        services.publish_report(brief, acting_user=broker)
    untopical = ReportFactory(publisher=cluster, status=Report.Status.DRAFT, published_at=None)
    with pytest.raises(B2BError, match="at least one topic"):
        services.publish_report(untopical, acting_user=broker)


def test_only_the_cluster_staff_save_publish_and_withdraw_reports(brief, buyer_user, cluster, food):
    with pytest.raises(B2BError, match="cluster's staff"):
        services.publish_report(brief, acting_user=buyer_user)
    with pytest.raises(B2BError, match="cluster's staff"):
        services.save_report(
            None,
            kind="market",
            title="T",
            summary="S",
            body="B",
            topics=[food],
            publisher=cluster,
            acting_user=buyer_user,
        )
    brief.refresh_from_db()
    assert brief.status == Report.Status.DRAFT


def test_staff_publish_only_for_their_own_cluster(broker, food):
    from livinglab.factories import OrganisationFactory
    from livinglab.models import Organisation

    other = OrganisationFactory(name="Another cluster", kind=Organisation.Kind.CLUSTER)
    with pytest.raises(B2BError, match="cluster organisation you work for"):
        services.save_report(
            None,
            kind="market",
            title="T",
            summary="S",
            body="B",
            topics=[food],
            publisher=other,
            acting_user=broker,
        )


def test_a_published_report_is_never_changed_and_a_withdrawn_one_stays_withdrawn(brief, broker, food):
    services.publish_report(brief, acting_user=broker)
    with pytest.raises(B2BError, match="never changed"):
        services.save_report(brief, title="Quietly rewritten", topics=[food], acting_user=broker)

    withdrawn = services.withdraw_report(brief, acting_user=broker)
    assert withdrawn.status == Report.Status.WITHDRAWN
    with pytest.raises(B2BError, match="Only a published report"):
        services.withdraw_report(brief, acting_user=broker)
    with pytest.raises(B2BError, match="already published or was withdrawn"):
        services.publish_report(brief, acting_user=broker)
    assert AuditEntry.objects.filter(action="b2b.report.withdraw").count() == 1


def test_save_report_gives_each_report_a_free_web_address(cluster, broker, food):
    made = [
        services.save_report(
            None,
            kind="market",
            title=title,
            summary="S",
            body="B",
            topics=[food],
            publisher=cluster,
            acting_user=broker,
        )
        for title in ("Cold chain", "Cold chain", "New", "Topics")
    ]
    assert [r.slug for r in made] == ["cold-chain", "cold-chain-2", "new-2", "topics-2"]
    assert AuditEntry.objects.filter(action="b2b.report.create").count() == 4


# ---------------------------------------------------------------------------------------- subscriptions


def test_subscribing_to_a_topic_twice_keeps_one_subscription(buyer_user, food):
    assert services.subscribe_topic(food, acting_user=buyer_user) is True
    assert services.subscribe_topic(food, acting_user=buyer_user) is False
    assert TopicSubscription.objects.filter(user=buyer_user, topic=food).count() == 1
    assert AuditEntry.objects.filter(action="b2b.topic.subscribe").count() == 1

    assert services.unsubscribe_topic(food, acting_user=buyer_user) is True
    assert services.unsubscribe_topic(food, acting_user=buyer_user) is False
    assert not TopicSubscription.objects.filter(user=buyer_user).exists()
    assert AuditEntry.objects.filter(action="b2b.topic.unsubscribe").count() == 1


def test_save_subscriptions_follows_exactly_the_ticked_topics(buyer_user, food, robotics):
    assert services.save_subscriptions([food], acting_user=buyer_user) == (1, 0)
    assert services.save_subscriptions([robotics], acting_user=buyer_user) == (1, 1)
    assert services.save_subscriptions([robotics], acting_user=buyer_user) == (0, 0)
    assert list(TopicSubscription.objects.filter(user=buyer_user).values_list("topic", flat=True)) == [
        robotics.pk
    ]


def test_a_participant_cannot_follow_topics(participant, food):
    with pytest.raises(B2BError):
        services.subscribe_topic(food, acting_user=participant)
    assert not TopicSubscription.objects.exists()


# --------------------------------------------------------------------------------------------- digests

DAY = timedelta(days=1)


@pytest.fixture
def period_end():
    return services.digest_period_end()


def subscribe(user, topic, *, days_ago=14):
    """``user`` has followed ``topic`` for ``days_ago`` days."""
    services.subscribe_topic(topic, acting_user=user)
    TopicSubscription.objects.filter(user=user, topic=topic).update(
        created_at=timezone.now() - days_ago * DAY
    )


def published(topic, title, *, days_ago=3, **fields):
    return ReportFactory(title=title, topics=[topic], published_at=timezone.now() - days_ago * DAY, **fields)


def mails_to(mailoutbox, address):
    return [m for m in mailoutbox if m.to == [address]]


def test_the_digest_lists_each_subscriber_s_new_reports_of_their_topics_once(
    buyer_user, supplier_user, food, robotics, mailoutbox
):
    subscribe(buyer_user, food)
    subscribe(supplier_user, robotics)
    cold = published(food, "Cold chain demand", summary="Freezer makers see demand for sensors.")
    arms = published(robotics, "Cobots in bakeries")
    published(TopicFactory(name="Tourism"), "Hotel booking habits")

    tasks.send_topic_digests()

    (to_buyer,) = mails_to(mailoutbox, "buyer@example.org")
    assert "1 report" in to_buyer.subject
    assert "Cold chain demand" in to_buyer.body
    assert "Market-intelligence report" in to_buyer.body
    assert "Freezer makers see demand for sensors." in to_buyer.body
    assert f"http://testserver/b2b/intelligence/{cold.slug}/" in to_buyer.body
    assert "http://testserver/b2b/intelligence/topics/" in to_buyer.body
    assert "Cobots in bakeries" not in to_buyer.body and "Hotel booking habits" not in to_buyer.body
    (to_supplier,) = mails_to(mailoutbox, "supplier@example.org")
    assert "Cobots in bakeries" in to_supplier.body and "Cold chain demand" not in to_supplier.body
    assert len(mailoutbox) == 2

    delivery = DigestDelivery.objects.get(user=buyer_user)
    assert delivery.sent_at is not None and list(delivery.reports.all()) == [cold]
    assert AuditEntry.objects.filter(action="b2b.digest.send").count() == 2
    assert (
        arms.pk
        in AuditEntry.objects.get(action="b2b.digest.send", data__user=supplier_user.pk).data["reports"]
    )


def test_running_the_digest_twice_sends_nothing_twice(buyer_user, food, mailoutbox, period_end):
    subscribe(buyer_user, food)
    published(food, "Cold chain demand")

    tasks.send_topic_digests()
    tasks.send_topic_digests()
    tasks.send_topic_digest(buyer_user.pk, period_end.isoformat())  # a retried delivery

    assert len(mailoutbox) == 1
    assert DigestDelivery.objects.filter(user=buyer_user).count() == 1


def test_a_report_in_two_followed_topics_is_listed_once(buyer_user, food, robotics, mailoutbox):
    subscribe(buyer_user, food)
    subscribe(buyer_user, robotics)
    report = published(food, "Robots in the cold chain")
    report.topics.add(robotics)

    tasks.send_topic_digests()

    (mail,) = mailoutbox
    assert mail.body.count("Robots in the cold chain") == 1


def test_the_digest_leaves_out_withdrawn_drafts_and_reports_from_before_the_subscription(
    buyer_user, food, mailoutbox
):
    subscribe(buyer_user, food, days_ago=5)
    published(food, "Withdrawn study", status=Report.Status.WITHDRAWN)
    published(food, "Still a draft", status=Report.Status.DRAFT)
    published(food, "Older than the subscription", days_ago=6)
    published(food, "Fresh study", days_ago=2)

    tasks.send_topic_digests()

    (mail,) = mailoutbox
    assert "Fresh study" in mail.body
    for left_out in ("Withdrawn study", "Still a draft", "Older than the subscription"):
        assert left_out not in mail.body


def test_nothing_new_means_no_mail(buyer_user, food, robotics, mailoutbox):
    subscribe(buyer_user, food)
    published(robotics, "Cobots in bakeries")  # not a followed topic
    published(food, "Published today", days_ago=0)  # after this period's end: next week's digest

    tasks.send_topic_digests()

    assert mailoutbox == []
    assert not DigestDelivery.objects.exists()


def test_the_next_digest_lists_only_what_is_new_since_the_last_one(buyer_user, food, mailoutbox, period_end):
    subscribe(buyer_user, food)
    published(food, "Last week's study")
    tasks.send_topic_digests()
    published(food, "This week's study", days_ago=-3)  # published three days after the first digest

    tasks.send_topic_digest(buyer_user.pk, (period_end + 7 * DAY).isoformat())

    first, second = mailoutbox
    assert "Last week's study" in first.body
    assert "This week's study" in second.body and "Last week's study" not in second.body
    assert DigestDelivery.objects.filter(user=buyer_user).count() == 2


def test_a_subscriber_who_no_longer_acts_for_any_firm_gets_nothing(buyer_user, broker, food, mailoutbox):
    subscribe(buyer_user, food)
    published(food, "Cold chain demand")
    membership = Membership.objects.get(user=buyer_user)
    core.end_membership(membership, acting_user=broker)

    tasks.send_topic_digests()

    assert mailoutbox == []


def test_a_failed_send_gives_the_claim_back_so_that_the_retry_sends_it(
    buyer_user, food, mailoutbox, period_end, monkeypatch
):
    subscribe(buyer_user, food)
    published(food, "Cold chain demand")

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(tasks, "send_mail", broken)
    with pytest.raises(OSError):
        tasks.send_topic_digest(buyer_user.pk, period_end.isoformat())
    assert not DigestDelivery.objects.exists()

    monkeypatch.undo()
    assert tasks.send_topic_digest(buyer_user.pk, period_end.isoformat()) is True
    assert len(mailoutbox) == 1


@on_postgresql
def test_two_digest_runs_at_once_send_one_mail_per_subscriber(
    transactional_db, buyer_user, supplier_user, food, mailoutbox
):
    subscribe(buyer_user, food)
    subscribe(supplier_user, food)
    published(food, "Cold chain demand")

    results = run_together(lambda _i: tasks.send_topic_digests(), 4)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]
    assert DigestDelivery.objects.count() == 2
    assert AuditEntry.objects.filter(action="b2b.digest.send").count() == 2
