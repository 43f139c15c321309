"""The B2B start page: a firm sees what it can do with its own figures, cluster staff the brokering queue
and their tools, anyone signed in the events and the provider directory; anonymous visitors sign in first.
The page runs a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

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
from livinglab.b2b.models import Introduction, ListingStatus, Match, Report, ServiceProvider
from livinglab.factories import MembershipFactory
from livinglab.models import Role

Status = Introduction.Status
HOME = "/b2b/"


def hub(user, **params) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("b2b:home"), params)
    assert response.status_code == 200
    return response.content.decode()


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # that part of the B2B channel is not there
        return None


def suggest(need, offer):
    return Match.objects.create(
        need=need,
        offer=offer,
        score=0.7,
        tag_score=0.7,
        text_score=0.7,
        reasons={},
        computed_at=timezone.now(),
    )


def test_the_start_page_lives_at_b2b():
    assert reverse("b2b:home") == HOME


def test_an_anonymous_visitor_is_asked_to_sign_in(db):
    response = Client().get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=/b2b/" in response["Location"]


def test_a_firm_user_sees_what_the_firm_can_do_with_its_own_figures(
    buyer_user, buyer, need, offer, cluster, rival
):
    NeedFactory(organisation=buyer, title="Draft need", status=ListingStatus.DRAFT)
    NeedFactory(organisation=rival, title="A rival's need")  # not counted for the buyer
    suggest(need, offer)
    IntroductionFactory(
        need=need, offer=offer, broker=cluster, status=Status.BROKERED, brokered_at=timezone.now()
    )
    project = ProjectFactory(broker=cluster)
    ProjectPartnerFactory(project=project, organisation=buyer)
    EventRegistrationFactory(event=EventFactory(organiser=cluster), organisation=buyer)

    html = hub(buyer_user)

    assert "For Nordic Foods" in html
    assert "Published needs</dt><dd>1</dd>" in html and "and 1 draft" in html
    assert "Suggested matches</dt><dd>1</dd>" in html
    assert "Introductions awaiting your acceptance</dt><dd>1</dd>" in html
    assert "Running projects</dt><dd>1</dd>" in html
    assert "Upcoming event registrations</dt><dd>1</dd>" in html
    assert "Brokering" not in html and "Staff tools" not in html
    for name in ("b2b:need_create", "b2b:offer_create", "b2b:match_list", "b2b:introduction_list"):
        if url := url_or_none(name):
            assert url in html
    for name in ("b2b:event_create", "b2b:provider_curation", "b2b:introduction_overview"):
        if url := url_or_none(name):
            assert f'href="{url}"' not in html


def test_cluster_staff_see_the_brokering_queue_and_their_tools(broker, cluster, need, offer):
    IntroductionFactory.create_batch(2, broker=cluster)
    IntroductionFactory(
        need=need, offer=offer, broker=cluster, status=Status.BROKERED, brokered_at=timezone.now()
    )
    ServiceProviderFactory(status=ServiceProvider.Status.PROPOSED)
    ReportFactory(publisher=cluster, status=Report.Status.DRAFT)

    html = hub(broker)

    assert "Brokering" in html
    assert "Introductions requested</dt><dd>2</dd>" in html
    assert "Brokered, waiting for acceptance</dt><dd>1</dd>" in html
    assert "Providers to review</dt><dd>1</dd>" in html
    assert "Reports in draft</dt><dd>1</dd>" in html
    assert "For Images" not in html and "Post a need" not in html
    for name in (
        "b2b:introduction_list",
        "b2b:introduction_overview",
        "b2b:event_create",
        "b2b:provider_curation",
    ):
        if url := url_or_none(name):
            assert url in html


def test_a_person_acting_for_two_firms_chooses_the_firm(buyer_user, buyer, rival, need):
    MembershipFactory(organisation=rival, user=buyer_user, role=Role.FIRM_MEMBER)

    assert "For Nordic Foods" in hub(buyer_user)
    html = hub(buyer_user, **{"as": rival.slug})
    assert "For Rival Robotics" in html and "Published needs</dt><dd>0</dd>" in html
    assert 'aria-current="page"><strong>Rival Robotics' in html
    assert "For Nordic Foods" in hub(buyer_user, **{"as": "no-such-firm"})


def test_someone_without_a_firm_sees_events_and_providers_but_no_listings(participant):
    html = hub(participant)

    assert "Needs, offers and introductions are for the staff of member firms." in html
    assert "Post a need" not in html and "Brokering" not in html
    if url := url_or_none("b2b:event_list"):
        assert url in html


def test_a_firm_user_who_has_not_accepted_the_b2b_ground_rules_is_shown_them(newcomer, b2b_rules):
    html = hub(newcomer)

    assert "Ground rules to accept first" in html
    assert "Ground rules for brokered introductions" in html
    assert reverse("ground_rules_detail", args=[b2b_rules.pk]) in html


def test_a_firm_user_who_accepted_them_is_not_asked_again(buyer_user):
    assert "Ground rules to accept first" not in hub(buyer_user)


@pytest.mark.parametrize("persona", ["buyer_user", "broker"])
def test_the_start_page_runs_a_fixed_number_of_queries(
    persona, request, buyer, supplier, cluster, django_assert_max_num_queries
):
    user = request.getfixturevalue(persona)

    def grow(n):
        for _ in range(n):
            need, offer = NeedFactory(organisation=buyer), OfferFactory(organisation=supplier)
            suggest(need, offer)
            IntroductionFactory(need=need, offer=offer, broker=cluster)
            project = ProjectFactory(broker=cluster)
            ProjectPartnerFactory(project=project, organisation=buyer)
            event = EventFactory(organiser=cluster, starts_at=timezone.now() + timedelta(days=3))
            EventRegistrationFactory(event=event, organisation=buyer)
            ServiceProviderFactory(status=ServiceProvider.Status.PROPOSED)
            ReportFactory(publisher=cluster, status=Report.Status.DRAFT)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            hub(user)
        return len(captured)

    grow(1)
    before = queries()
    grow(6)
    assert queries() == before
    with django_assert_max_num_queries(before):
        hub(user)
