"""Public pages of the B2B channel: the list of cluster events (upcoming first, then past, in each event's
own time zone, with places left) and the directory of service providers (searchable, never showing a
provider's e-mail address). Drafts, cancelled events and providers not listed stay out, and neither page
runs more queries for more rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cms.models import B2BEventIndexPage, HomePage, ProcurementIndexPage, ProviderDirectoryPage
from livinglab.b2b.factories import EventFactory, EventRegistrationFactory, ServiceProviderFactory
from livinglab.b2b.models import Event, EventRegistration, Service, ServiceProvider


def publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def visit(url, **params) -> tuple[int, str]:
    response = Client().get(url, params)
    return response.status_code, response.content.decode()


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # that part of the B2B channel is not there
        return None


def position(html, text) -> int:
    assert text in html, text
    return html.index(text)


def days(n):
    return timezone.now() + timedelta(days=n)


def event(title, start_in_days, **fields):
    starts_at = fields.pop("starts_at", days(start_in_days))
    return EventFactory(
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        registration_closes_at=starts_at - timedelta(days=1),
        **fields,
    )


@pytest.fixture
def events_page(db):
    return publish(
        HomePage.objects.get(),
        B2BEventIndexPage(
            title="Cluster events", slug="cluster-events", introduction="Fairs, visits and breakfasts."
        ),
    )


@pytest.fixture
def directory(db):
    return publish(
        HomePage.objects.get(),
        ProviderDirectoryPage(
            title="Service providers", slug="service-providers", introduction="Design, IPR, finance."
        ),
    )


# ---------------------------------------------------------------------------------------------- events


def test_the_event_list_shows_upcoming_events_soonest_first_then_past_events_latest_first(events_page):
    event("Far fair", 60)
    event("Soon breakfast", 3)
    event("Old visit", -90)
    event("Recent workshop", -5)

    status, html = visit(events_page.url)

    assert status == 200
    assert "Cluster events" in html and "Fairs, visits and breakfasts." in html
    assert "Upcoming events" in html and "Past events" in html
    order = [position(html, t) for t in ("Soon breakfast", "Far fair", "Recent workshop", "Old visit")]
    assert order == sorted(order)
    assert position(html, "Far fair") < position(html, "Past events") < position(html, "Recent workshop")


def test_each_event_shows_its_time_in_its_own_zone_its_venue_and_the_places_left(events_page):
    breakfast = EventFactory(
        title="Food-tech breakfast",
        kind=Event.Kind.BREAKFAST,
        venue="Kerava innovation hub",
        time_zone="Europe/Helsinki",
        starts_at=datetime(2030, 3, 15, 6, 0, tzinfo=UTC),  # 8:00 in Helsinki, 7:00 in Brussels
        ends_at=datetime(2030, 3, 15, 8, 0, tzinfo=UTC),
        registration_closes_at=datetime(2030, 3, 14, tzinfo=UTC),
        capacity=30,
    )
    EventRegistrationFactory.create_batch(2, event=breakfast)
    EventRegistrationFactory(event=breakfast, status=EventRegistration.Status.CANCELLED)
    full = event("Sold-out fair", 10, capacity=1)
    EventRegistrationFactory(event=full)

    status, html = visit(events_page.url)

    assert status == 200
    assert "March 15, 2030, 8 a.m." in html and "10 a.m." in html and "Europe/Helsinki time" in html
    assert "Kerava innovation hub" in html and "Breakfast meeting" in html
    assert "28 places left" in html
    assert "Fully booked" in html
    if detail_url := url_or_none("b2b:event_detail", breakfast.slug):
        assert detail_url in html and "sign-in needed" in html


def test_draft_and_cancelled_events_are_never_listed(events_page):
    event("Published fair", 10)
    event("Draft fair", 10, status=Event.Status.DRAFT)
    event("Cancelled fair", 10, status=Event.Status.CANCELLED)

    status, html = visit(events_page.url)

    assert status == 200
    assert "Published fair" in html
    assert "Draft fair" not in html and "Cancelled fair" not in html
    assert "1 event" in html


def test_the_event_list_filters_by_kind_and_an_unknown_kind_is_refused_not_crashed(events_page):
    event("Robotics fair", 10, kind=Event.Kind.FAIR)
    event("Cluster visit to Rennes", 12, kind=Event.Kind.CLUSTER_VISIT)

    status, html = visit(events_page.url, kind=Event.Kind.FAIR)
    assert status == 200
    assert "Robotics fair" in html and "Cluster visit to Rennes" not in html
    assert '<label for="id_kind">Kind of event' in html

    status, html = visit(events_page.url, kind="rave")
    assert status == 200
    assert "Select a valid choice" in html


def test_the_event_list_paginates_with_the_same_number_of_queries_for_many_events(events_page):
    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            status, html = visit(events_page.url, **params)
        assert status == 200
        return len(captured), html

    for n in range(3):
        EventRegistrationFactory(event=event(f"Event {n:02d}", n + 1))
    few, _html = queries()
    for n in range(3, 25):
        EventRegistrationFactory(event=event(f"Event {n:02d}", n + 1))
    many, html = queries()

    assert many == few
    assert "Event 09" in html and "Event 10" not in html and "Page 1 of 3" in html
    _count, second = queries(page=2)
    assert "Event 10" in second and "Event 09" not in second


# ------------------------------------------------------------------------------------------- providers


def test_the_directory_shows_listed_providers_with_services_place_and_website_never_their_email(directory):
    ServiceProviderFactory(
        name="Atelier Nantes Design",
        description="Service design and prototyping for small food firms.",
        country="FR",
        region="Pays de la Loire",
        website="https://atelier-nantes.example.org",
        contact_email="secret-contact@atelier.example.org",
        services=[Service.DESIGN, Service.DESIGN_CENTRE],
    )

    status, html = visit(directory.url)

    assert status == 200
    assert "Atelier Nantes Design" in html
    assert "Design, Design centre" in html
    assert "Pays de la Loire, France" in html
    assert "Service design and prototyping for small food firms." in html
    assert "https://atelier-nantes.example.org" in html
    assert "secret-contact" not in html and "@atelier.example.org" not in html
    if detail_url := url_or_none("b2b:provider_detail", "atelier-nantes-design"):
        assert detail_url in html and "Ask for contact" in html


def test_providers_proposed_or_hidden_are_not_in_the_directory(directory):
    ServiceProviderFactory(name="Listed studio")
    ServiceProviderFactory(name="Proposed studio", status=ServiceProvider.Status.PROPOSED)
    ServiceProviderFactory(name="Hidden studio", status=ServiceProvider.Status.HIDDEN, country="SE")

    status, html = visit(directory.url)

    assert status == 200
    assert "Listed studio" in html
    assert "Proposed studio" not in html and "Hidden studio" not in html
    assert "Sweden" not in html  # the country filter offers only countries of listed providers


def test_the_directory_searches_by_words_service_country_and_region(directory):
    ServiceProviderFactory(
        name="Breton patents",
        description="Patent filing.",
        services=[Service.IPR],
        country="FR",
        region="Bretagne",
    )
    ServiceProviderFactory(
        name="Lund living lab",
        description="Market tests with Swedish households.",
        services=[Service.LIVING_LAB, Service.TESTING],
        country="SE",
        region="Skåne",
    )
    ServiceProviderFactory(
        name="Loire finance", services=[Service.FINANCING], country="FR", region="Pays de la Loire"
    )

    def found(**params):
        status, html = visit(directory.url, **params)
        assert status == 200
        return {n for n in ("Breton patents", "Lund living lab", "Loire finance") if n in html}

    assert found(q="households") == {"Lund living lab"}
    assert found(service=Service.IPR) == {"Breton patents"}
    assert found(country="FR") == {"Breton patents", "Loire finance"}
    assert found(region="loire") == {"Loire finance"}
    assert found(country="FR", service=Service.TESTING) == set()
    assert "No provider matches this search." in visit(directory.url, q="nothing-like-this")[1]


def test_the_directory_paginates_with_the_same_number_of_queries_for_many_providers(directory):
    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            status, html = visit(directory.url, **params)
        assert status == 200
        return len(captured), html

    for n in range(3):
        ServiceProviderFactory(name=f"Provider {n:02d}", services=[Service.DESIGN, Service.IPR])
    few, _html = queries()
    for n in range(3, 25):
        ServiceProviderFactory(name=f"Provider {n:02d}", services=[Service.DESIGN, Service.IPR], country="DE")
    many, html = queries()

    assert many == few
    assert "Provider 09" in html and "Provider 10" not in html and "Page 1 of 3" in html
    _count, second = queries(page=2, service=Service.DESIGN)
    assert "Provider 10" in second and "Provider 09" not in second


# ------------------------------------------------------------------------------------------ the pages


@pytest.mark.parametrize("model", [B2BEventIndexPage, ProviderDirectoryPage])
def test_each_b2b_page_is_created_once_under_the_home_page_or_a_standard_page(model, db):
    home = HomePage.objects.get()
    assert model.can_create_at(home)
    assert not model.can_create_at(ProcurementIndexPage(title="x"))

    publish(home, model(title="Page", slug="b2b-page"))

    assert not model.can_create_at(home)
