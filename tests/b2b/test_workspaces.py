"""The B2B part of the workspaces: a firm's needs and offers, suggested matches, introductions and what is
awaited from it, projects and event registrations; the cluster staff's brokering queue, figures, events,
providers to review, draft reports and the chart of introductions and outcomes over time. Another firm's
confidential fields never appear before an accepted introduction, and the number of queries does not grow
with the data."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from livinglab.b2b.disclosure import WITHHELD
from livinglab.b2b.factories import (
    EventFactory,
    EventRegistrationFactory,
    IntroductionFactory,
    NeedFactory,
    OfferFactory,
    ProjectFactory,
    ProjectPartnerFactory,
    ReportFactory,
    ServiceProviderFactory,
)
from livinglab.b2b.models import (
    Event,
    EventRegistration,
    Introduction,
    IntroductionAcceptance,
    IntroductionOutcome,
    ListingStatus,
    Match,
    ProjectMilestone,
    ProjectPartner,
    Report,
    ServiceProvider,
    Visibility,
)
from livinglab.b2b.timeline import introduction_timeline
from livinglab.factories import OrganisationFactory

from .conftest import CONFIDENTIAL_MARKERS

Status = Introduction.Status
SUPPLIER_MARKERS = [m for m in CONFIDENTIAL_MARKERS if m in ("CONFIDENTIAL-OFFER", "CONFIDENTIAL-REFERENCES")]
BUYER_MARKERS = [m for m in CONFIDENTIAL_MARKERS if m not in SUPPLIER_MARKERS]


def workspace(user, organisation, **params) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("organisation_workspace", args=[organisation.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # that part of the B2B channel is not there
        return None


def suggest(need, offer, score=0.8, **reasons):
    return Match.objects.create(
        need=need,
        offer=offer,
        score=score,
        tag_score=score,
        text_score=score,
        reasons=reasons,
        computed_at=timezone.now(),
    )


def introduce(need, offer, broker, status=Status.REQUESTED, **fields):
    now = timezone.now()
    if status in (Status.BROKERED, Status.ACCEPTED):
        fields.setdefault("brokered_at", now)
    if status == Status.ACCEPTED:
        fields.setdefault("accepted_at", now)
    return IntroductionFactory(need=need, offer=offer, broker=broker, status=status, **fields)


def accept(introduction, organisation, user=None):
    return IntroductionAcceptance.objects.create(
        introduction=introduction, organisation=organisation, user=user, accepted_at=timezone.now()
    )


def position(html, text) -> int:
    assert text in html, text
    return html.index(text)


# ------------------------------------------------------------------------------------------------ firm


def test_a_firm_sees_its_needs_and_offers_with_their_status_and_the_matches_suggested_for_each(
    buyer_user, buyer, need, offer, tags
):
    NeedFactory(organisation=buyer, title="Cold-chain tracking for pallets", status=ListingStatus.DRAFT)
    suggest(need, offer)

    html = workspace(buyer_user, buyer)

    assert "Business to business" in html and "Your needs" in html
    assert "Predict breakdowns of our freezing lines" in html and "Published" in html
    assert "Cold-chain tracking for pallets" in html and "Draft" in html
    assert "Details revealed only after an accepted introduction" in html
    assert "1 match" in html
    assert "This organisation has posted no offer yet." in html
    if matches_url := url_or_none("b2b:need_matches", need.pk):
        assert matches_url in html


@pytest.mark.parametrize("status", [None, Status.REQUESTED, Status.BROKERED, Status.DECLINED, Status.REFUSED])
def test_the_buyer_sees_the_suppliers_offer_as_a_teaser_never_its_confidential_fields_before_acceptance(
    buyer_user, buyer, supplier, need, offer, cluster, status
):
    suggest(need, offer, sectors=[t.pk for t in need.sectors.all()])
    if status:
        introduce(need, offer, cluster, status)

    html = workspace(buyer_user, buyer)

    assert "Vibration sensors that predict machine failures" in html
    assert "Wireless sensors and a model" in html  # the summary: the teaser every member may read
    assert "Food processing" in html  # why it matched
    for marker in SUPPLIER_MARKERS:
        assert marker not in html
    assert supplier.name not in html
    assert str(WITHHELD) in html


def test_once_both_firms_accepted_the_introduction_the_buyer_sees_which_firm_made_the_offer(
    buyer_user, buyer, supplier, need, offer, cluster
):
    suggest(need, offer)
    introduction = introduce(need, offer, cluster, Status.ACCEPTED)
    accept(introduction, buyer)
    accept(introduction, supplier)

    html = workspace(buyer_user, buyer)

    assert supplier.name in html
    assert "Accepted by both firms" in html
    assert "Introduction under way" in html  # the match is no longer only a suggestion


def test_a_rival_sees_the_buyers_need_only_as_a_teaser(rival_user, rival, buyer, need, tags):
    rival_offer = OfferFactory(organisation=rival, title="Robots that inspect freezers")
    suggest(need, rival_offer)

    html = workspace(rival_user, rival)

    assert "Predict breakdowns of our freezing lines" in html
    for marker in BUYER_MARKERS:
        assert marker not in html
    assert buyer.name not in html


def test_a_listing_visible_to_staff_only_is_never_suggested_to_another_firm(buyer_user, buyer, need, offer):
    offer.visibility = Visibility.STAFF
    offer.save()
    suggest(need, offer)

    html = workspace(buyer_user, buyer)

    assert "Vibration sensors that predict machine failures" not in html
    assert "No match has been suggested" in html


def test_a_firm_is_asked_to_accept_a_brokered_introduction_until_it_has(
    buyer_user, buyer, supplier_user, supplier, need, offer, cluster
):
    introduction = introduce(need, offer, cluster, Status.BROKERED)

    assert "Accept the introduction" in workspace(buyer_user, buyer)
    accept(introduction, buyer, buyer_user)

    assert "Waiting for the other firm to accept" in workspace(buyer_user, buyer)
    assert "Accept the introduction" in workspace(supplier_user, supplier)
    if detail_url := url_or_none("b2b:introduction_detail", introduction.pk):
        assert detail_url in workspace(supplier_user, supplier)


def test_the_other_firm_learns_of_an_introduction_only_once_the_cluster_brokered_it(
    buyer_user, buyer, supplier_user, supplier, need, offer, cluster
):
    suggest(need, offer)
    introduction = introduce(need, offer, cluster, requested_by=buyer)

    html = workspace(supplier_user, supplier)
    assert f"Introduction #{introduction.pk}" not in html and "Introduction under way" not in html
    assert "This organisation has no introduction yet." in html
    assert "Introduction under way" in workspace(buyer_user, buyer)

    Introduction.objects.filter(pk=introduction.pk).update(status=Status.BROKERED, brokered_at=timezone.now())
    html = workspace(supplier_user, supplier)
    assert f"Introduction #{introduction.pk}" in html and "Accept the introduction" in html


def test_a_requested_introduction_waits_for_the_cluster_and_an_accepted_one_asks_for_its_outcome(
    buyer_user, buyer, supplier, need, offer, cluster
):
    introduction = introduce(need, offer, cluster)
    assert "Waiting for the cluster organisation to broker it" in workspace(buyer_user, buyer)

    Introduction.objects.filter(pk=introduction.pk).update(
        status=Status.ACCEPTED, brokered_at=timezone.now(), accepted_at=timezone.now()
    )
    assert "Record what came of it" in workspace(buyer_user, buyer)

    IntroductionOutcome.objects.create(
        introduction=introduction, kind=IntroductionOutcome.Kind.MEETING_HELD, occurred_on=date.today()
    )
    html = workspace(buyer_user, buyer)
    assert "Meeting held" in html and "Record what came of it" not in html


def test_introductions_awaiting_the_firm_come_first(buyer_user, buyer, need, cluster):
    accepted = introduce(need, OfferFactory(title="Older accepted offer"), cluster, Status.ACCEPTED)
    Introduction.objects.filter(pk=accepted.pk).update(created_at=timezone.now() - timedelta(days=3))
    introduce(need, OfferFactory(title="Newest requested offer"), cluster)
    introduce(need, OfferFactory(title="Offer to accept"), cluster, Status.BROKERED)

    html = workspace(buyer_user, buyer)

    assert position(html, "Offer to accept") < position(html, "Newest requested offer")
    assert position(html, "Newest requested offer") < position(html, "Older accepted offer")


def test_a_firm_sees_its_co_development_projects_with_milestone_progress(
    buyer_user, buyer, supplier, rival_user, rival, cluster
):
    project = ProjectFactory(title="Predictive maintenance pilot", broker=cluster)
    ProjectPartnerFactory(project=project, organisation=buyer, role=ProjectPartner.Role.BUYER)
    ProjectPartnerFactory(project=project, organisation=supplier, role=ProjectPartner.Role.SUPPLIER)
    today = timezone.localdate()
    ProjectMilestone.objects.create(
        project=project, title="Sensors fitted", due_on=today, done_at=timezone.now()
    )
    ProjectMilestone.objects.create(project=project, title="First warning", due_on=date(2031, 1, 15))
    ProjectMilestone.objects.create(project=project, title="Evaluation", due_on=date(2031, 3, 1))

    html = workspace(buyer_user, buyer)

    assert "Predictive maintenance pilot" in html
    assert "1 of 3 done" in html and "Next due: Jan. 15, 2031" in html
    assert f"{supplier.name} (Supplier)" in html
    assert "Predictive maintenance pilot" not in workspace(rival_user, rival)


def test_a_firm_sees_its_upcoming_event_registrations_in_the_events_zone_and_not_past_ones(
    buyer_user, buyer, cluster
):
    upcoming = EventFactory(
        organiser=cluster,
        title="Food-tech breakfast",
        time_zone="Europe/Helsinki",
        starts_at=datetime(2030, 3, 15, 6, 0, tzinfo=UTC),
        ends_at=datetime(2030, 3, 15, 8, 0, tzinfo=UTC),
        registration_closes_at=datetime(2030, 3, 14, tzinfo=UTC),
    )
    past = EventFactory(
        organiser=cluster,
        title="Last year's fair",
        starts_at=timezone.now() - timedelta(days=300),
        ends_at=timezone.now() - timedelta(days=299),
        registration_closes_at=timezone.now() - timedelta(days=301),
    )
    for event in (upcoming, past):
        EventRegistrationFactory(event=event, organisation=buyer, user=buyer_user, full_name="Aino Buyer")
    EventRegistrationFactory(
        event=EventFactory(organiser=cluster, title="Cancelled place"),
        organisation=buyer,
        status=EventRegistration.Status.CANCELLED,
    )

    html = workspace(buyer_user, buyer)

    assert "Food-tech breakfast" in html
    assert "March 15, 2030, 8 a.m." in html and "Europe/Helsinki time" in html
    assert "Registered: Aino Buyer" in html
    assert "Last year&#x27;s fair" not in html and "Last year's fair" not in html
    assert "Cancelled place" not in html


def test_each_list_of_the_firm_workspace_pages_on_its_own_parameter(buyer_user, buyer):
    for n in range(7):
        NeedFactory(organisation=buyer, title=f"Need number {n}")
        OfferFactory(organisation=buyer, title=f"Offer number {n}")

    first = workspace(buyer_user, buyer)
    second = workspace(buyer_user, buyer, b2b_needs=2)

    assert "Need number 6" in first and "Need number 1" not in first
    assert "Need number 1" in second and "Need number 6" not in second
    assert "Offer number 6" in second and "Offer number 1" not in second
    assert "b2b_needs=2" in first and "b2b_offers=2" in first


# --------------------------------------------------------------------------------------------- cluster


def test_cluster_staff_see_the_brokering_queue_oldest_request_first(broker, cluster, supplier, need, offer):
    older = introduce(need, OfferFactory(title="Old request"), cluster)
    Introduction.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=10))
    newer = introduce(need, offer, cluster)
    brokered = introduce(NeedFactory(title="Brokered need"), OfferFactory(), cluster, Status.BROKERED)
    accept(brokered, brokered.need.organisation)
    elsewhere = OrganisationFactory(name="Another cluster", kind="cluster")
    introduce(NeedFactory(title="Brokered by another cluster"), OfferFactory(), elsewhere)

    html = workspace(broker, cluster)

    assert "Introductions to broker" in html
    assert position(html, f"introduction #{older.pk}") < position(html, f"introduction #{newer.pk}")
    assert "2 introductions requested, oldest first" in html
    assert "Brokered need" in html and "1 of 2" in html
    assert "Brokered by another cluster" not in html
    # Staff broker with the full picture: they see who posted what.
    assert supplier.name in html and "Nordic Foods" in html


def test_cluster_staff_see_the_figures_events_against_capacity_providers_to_review_and_draft_reports(
    broker, cluster, need, offer
):
    suggest(need, offer)
    event = EventFactory(organiser=cluster, title="Robotics fair", capacity=3)
    EventRegistrationFactory.create_batch(2, event=event)
    EventRegistrationFactory(event=event, status=EventRegistration.Status.CANCELLED)
    EventFactory(organiser=cluster, title="Old cancelled visit", status=Event.Status.CANCELLED)
    ServiceProviderFactory(name="Nantes IP Partners", status=ServiceProvider.Status.PROPOSED)
    ServiceProviderFactory(name="Already listed studio")
    ReportFactory(publisher=cluster, title="Cold-chain demand 2030", status=Report.Status.DRAFT)
    ReportFactory(publisher=cluster, title="Published brief")

    html = workspace(broker, cluster)

    assert "Published needs</dt><dd>1</dd>" in html and "Suggested matches</dt><dd>1</dd>" in html
    assert "Robotics fair" in html and "2 of 3 places" in html
    assert "Old cancelled visit" not in html
    assert "Nantes IP Partners" in html and "Already listed studio" not in html
    assert "Cold-chain demand 2030" in html and "Published brief" not in html


def test_the_cluster_workspace_draws_introductions_and_outcomes_over_time(broker, cluster, need, offer):
    introduction = introduce(need, offer, cluster, Status.ACCEPTED)
    IntroductionOutcome.objects.create(
        introduction=introduction,
        kind=IntroductionOutcome.Kind.CODEVELOPMENT,
        occurred_on=timezone.localdate(),
    )

    html = workspace(broker, cluster)

    assert "Introductions and outcomes over time, last 12 months" in html
    assert "<svg" in html and "Co-development started" in html and "No fit" in html
    assert timezone.localdate().strftime("%B %Y") in html
    if overview_url := url_or_none("b2b:introduction_overview"):
        assert overview_url in html


def test_the_timeline_counts_introductions_and_outcomes_per_month(cluster, need, offer):
    def at(day):
        return timezone.make_aware(datetime(day.year, day.month, day.day, 12))

    def made(created, *, broker=cluster, accepted=None, **kinds):
        intro = IntroductionFactory(broker=broker, status=Status.ACCEPTED if accepted else Status.REFUSED)
        Introduction.objects.filter(pk=intro.pk).update(
            created_at=at(created), accepted_at=at(accepted) if accepted else None
        )
        for kind, days in kinds.items():
            for day in days:
                IntroductionOutcome.objects.create(introduction=intro, kind=kind, occurred_on=day)
        return intro

    made(
        date(2030, 4, 10),
        accepted=date(2030, 5, 2),
        meeting=[date(2030, 5, 20), date(2030, 5, 25)],  # two meetings, one introduction
        codevelopment=[date(2030, 6, 1)],
    )
    made(date(2030, 5, 5))
    made(date(2030, 1, 5), accepted=date(2030, 4, 3), no_fit=[date(2030, 6, 10)])
    made(date(2030, 6, 1), meeting=[date(2030, 6, 30)])  # an outcome after "today" is not counted
    made(date(2030, 5, 6), broker=OrganisationFactory(name="Other cluster", kind="cluster"))

    timeline = introduction_timeline(3, broker=cluster, today=date(2030, 6, 15))

    assert timeline.months == [date(2030, 4, 1), date(2030, 5, 1), date(2030, 6, 1)]
    assert timeline.counts == {
        "requested": [1, 1, 1],
        "accepted": [1, 1, 0],
        "meeting": [0, 1, 0],
        "codevelopment": [0, 0, 1],
        "no_fit": [0, 0, 1],
    }
    everywhere = introduction_timeline(3, today=date(2030, 6, 15))
    assert everywhere.counts["requested"] == [1, 2, 1]
    chart = timeline.chart()
    assert [line.name for line in chart["lines"]] == [
        "Introductions requested",
        "Accepted by both firms",
        "Meeting held",
        "Co-development started",
        "No fit",
    ]
    assert chart["table"]["rows"][1] == ("May 2030", ["1", "1", "1", "0", "0"])
    assert len({(line.colour, line.dash) for line in chart["lines"]}) == 5  # told apart without colour
    assert len({line.dash for line in chart["lines"]}) == 5


# ------------------------------------------------------------------------------------------- elsewhere


def test_a_public_authority_workspace_shows_nothing_of_the_b2b_channel(procurer, authority, need, offer):
    html = workspace(procurer, authority)

    assert "Business to business" not in html
    assert "Predict breakdowns" not in html and "Vibration sensors" not in html


def test_a_firm_workspace_shows_no_brokering_queue(buyer_user, buyer, need, offer, cluster):
    introduce(need, offer, cluster)

    html = workspace(buyer_user, buyer)

    assert "Introductions to broker" not in html and "Introductions and outcomes over time" not in html


# --------------------------------------------------------------------------------------------- queries


def grow(n, *, buyer, supplier, cluster, start=0):
    """``n`` more of everything: needs and offers of both firms with matches, introductions in every state,
    projects with milestones, events with registrations, providers to review and draft reports."""
    for i in range(start, start + n):
        need = NeedFactory(organisation=buyer, title=f"Grown need {i}")
        offer = OfferFactory(organisation=supplier, title=f"Grown offer {i}")
        suggest(need, offer, sectors=[], technologies=[])
        for status in (Status.REQUESTED, Status.BROKERED, Status.ACCEPTED):
            intro = introduce(need, OfferFactory(organisation=supplier), cluster, status)
            accept(intro, buyer)
            IntroductionOutcome.objects.create(
                introduction=intro, kind=IntroductionOutcome.Kind.MEETING_HELD, occurred_on=date.today()
            )
        project = ProjectFactory(title=f"Grown project {i}", broker=cluster)
        ProjectPartnerFactory(project=project, organisation=buyer, role=ProjectPartner.Role.BUYER)
        ProjectPartnerFactory(project=project, organisation=supplier, role=ProjectPartner.Role.SUPPLIER)
        ProjectMilestone.objects.create(project=project, title="Step", due_on=date.today())
        event = EventFactory(organiser=cluster, title=f"Grown event {i}")
        EventRegistrationFactory(event=event, organisation=buyer)
        EventRegistrationFactory(event=event, organisation=supplier)
        ServiceProviderFactory(name=f"Grown provider {i}", status=ServiceProvider.Status.PROPOSED)
        ReportFactory(publisher=cluster, title=f"Grown report {i}", status=Report.Status.DRAFT)


def test_the_workspaces_run_the_same_number_of_queries_whatever_the_amount_of_b2b_data(
    buyer_user, buyer, supplier_user, supplier, broker, cluster, django_assert_max_num_queries
):
    people = [(buyer_user, buyer), (supplier_user, supplier), (broker, cluster)]

    def queries(user, organisation):
        with CaptureQueriesContext(connection) as captured:
            workspace(user, organisation)
        return len(captured)

    # One of everything first (empty lists skip their queries), then many more.
    grow(1, buyer=buyer, supplier=supplier, cluster=cluster)
    before = [queries(u, o) for u, o in people]
    grow(8, buyer=buyer, supplier=supplier, cluster=cluster, start=1)
    after = [queries(u, o) for u, o in people]

    assert after == before
    with django_assert_max_num_queries(max(after)):
        html = workspace(buyer_user, buyer)
    assert "Grown need 8" in html and "Grown project 8" in html
