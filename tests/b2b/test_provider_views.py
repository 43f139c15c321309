"""The provider directory's pages: what firms find and what they never see, the contact form, proposals,
and the staff's curation queue and edits."""

import re
from html import unescape

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from livinglab.b2b.factories import ServiceProviderFactory
from livinglab.b2b.models import ContactRequest, Service, ServiceProvider
from livinglab.b2b.services import providers as services

Status = ServiceProvider.Status
SEARCH = "b2b:provider_search"

ADDRESSES = ("hello@kerne.example", "tests@bll.example", "gone@hidden.example", "new@proposed.example")


def page(client, name, *args, **query):
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def detail(provider):
    return reverse("b2b:provider_detail", args=[provider.slug])


# ------------------------------------------------------------------------------------------------ search


def test_a_firm_searches_by_service_region_country_and_words(client, supplier_user, directory):
    client.force_login(supplier_user)
    html = page(client, SEARCH, service=Service.TESTING)
    assert "Bavarian Living Lab" in html and "Atelier Kerné" not in html
    html = page(client, SEARCH, region="bretagne")
    assert "Atelier Kerné" in html and "Bavarian Living Lab" not in html
    html = page(client, SEARCH, country="DE")
    assert "Bavarian Living Lab" in html and "Atelier Kerné" not in html
    html = page(client, SEARCH, q="older adults")
    assert "Bavarian Living Lab" in html and "Atelier Kerné" not in html
    html = page(client, SEARCH, q="english", country="FR", service=Service.DESIGN)
    assert "Atelier Kerné" in html and "Bavarian Living Lab" not in html and "1 provider found" in html


def test_the_search_marks_providers_abroad_from_the_visitors_firm(
    client, supplier_user, buyer_user, directory
):
    client.force_login(supplier_user)  # a French firm
    html = page(client, SEARCH)
    lab = html[html.index("Bavarian Living Lab") :]
    studio = html[html.index("Atelier Kerné") : html.index("Bavarian Living Lab")]
    assert "Abroad" in lab[: lab.index("</article>")]
    assert "Abroad" not in studio
    client.force_login(buyer_user)  # a Finnish firm: all but the Finnish patent firm are abroad
    html = page(client, SEARCH)
    assert html.count("<strong>Abroad</strong>") == 3
    patents = html[html.index("Nordic Patent Partners") :]
    assert "Abroad" not in patents[: patents.index("</article>")]


def test_the_search_shows_how_many_results_offer_each_service_as_a_chart(client, supplier_user, directory):
    client.force_login(supplier_user)
    html = page(client, SEARCH, country="DE")
    chart = html[html.index('id="provider-services-title"') :]
    assert "<svg" in chart
    assert '<th scope="row">Living lab (market tests)</th><td>1</td>' in chart
    assert '<th scope="row">Design</th><td>0</td>' in chart


def test_the_country_filter_offers_only_countries_with_listed_providers(client, supplier_user, directory):
    ServiceProviderFactory(name="Hidden in Italy", country="IT", status=Status.HIDDEN)
    client.force_login(supplier_user)
    html = page(client, SEARCH)
    assert '<option value="DE">Germany</option>' in html and '<option value="FR">France</option>' in html
    assert 'value="IT"' not in html


def test_odd_search_parameters_show_an_error_or_the_first_page_never_a_failure(
    client, supplier_user, directory
):
    client.force_login(supplier_user)
    html = page(client, SEARCH, service="astrology", page="abc")
    assert "Select a valid choice" in html and "Atelier Kerné" in html
    html = page(client, SEARCH, page="999")
    assert "Bavarian Living Lab" in html


def test_the_search_page_runs_the_same_few_queries_whatever_the_number_of_providers(
    client, supplier_user, directory, django_assert_max_num_queries
):
    client.force_login(supplier_user)
    url = reverse(SEARCH)
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "e"})
    for n in range(30):
        ServiceProviderFactory(
            name=f"Studio {n:02d}", country="FR" if n % 2 else "ES", services=[Service.DESIGN, Service.IPR]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url, {"q": "e"})
    assert response.content.decode().count('<article class="card"') == 20
    with django_assert_max_num_queries(10):
        client.get(url, {"q": "design", "service": Service.DESIGN, "country": "FR", "region": "Bretagne"})


def test_signing_in_is_needed_to_search(client, directory):
    response = client.get(reverse(SEARCH))
    assert response.status_code == 302 and "login" in response["Location"]


# ---------------------------------------------------------------------------------------- what firms see


def test_hidden_and_proposed_providers_are_never_found_nor_opened_by_firms(client, supplier_user, directory):
    client.force_login(supplier_user)
    html = page(client, SEARCH, q="design")
    assert "Hidden Design Bureau" not in html and "Proposed Design Collective" not in html
    assert client.get(detail(directory["hidden"])).status_code == 404
    assert client.get(detail(directory["proposed"])).status_code == 404
    assert client.get(reverse("b2b:provider_detail", args=["no-such-provider"])).status_code == 404


def test_staff_open_hidden_and_proposed_providers_with_their_status(client, broker, directory):
    client.force_login(broker)
    html = client.get(detail(directory["hidden"])).content.decode()
    assert "Hidden Design Bureau" in html and "Firms do not see this provider" in html


def test_a_providers_page_shows_what_it_offers_and_the_clusters_note(client, supplier_user, directory):
    client.force_login(supplier_user)
    html = page(client, "b2b:provider_detail", "atelier-kerne")
    assert "Industrial and service design" in html and "Design centre" in html
    assert "Worked with six members since 2021." in html and "Bretagne, France" in html
    assert "Ask for contact" in html


def test_the_contact_address_is_never_in_any_page(client, supplier_user, broker, directory):
    client.force_login(supplier_user)
    pages = [
        client.get(reverse(SEARCH)),
        client.get(reverse(SEARCH), {"q": "kerne"}),
        client.get(detail(directory["studio"])),
        client.get(detail(directory["lab"])),
        client.post(
            reverse("b2b:provider_contact", args=["atelier-kerne"]), {"service": "design", "message": ""}
        ),
    ]
    client.force_login(broker)
    for provider in directory.values():
        pages.append(client.get(detail(provider)))
        pages.append(client.get(reverse("b2b:provider_edit", args=[provider.slug])))
    pages.append(client.get(reverse("b2b:provider_curation")))
    pages.append(client.get(reverse(SEARCH)))
    assert all(response.status_code == 200 for response in pages)
    for response in pages:
        html = response.content.decode()
        for address in ADDRESSES:
            assert address not in html, (response.request["PATH_INFO"], address)


# ------------------------------------------------------------------------------------------------ contact


def test_a_firm_asks_for_contact_and_the_provider_gets_one_mail(
    client, supplier_user, directory, django_capture_on_commit_callbacks
):
    client.force_login(supplier_user)
    url = reverse("b2b:provider_contact", args=["atelier-kerne"])
    data = {"service": Service.DESIGN, "message": "We need a design study for a new freezer door."}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "Your request is on its way to Atelier Kerné" in html
    assert "Your firm&#x27;s requests to this provider" in html or "Your firm's requests" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, data)  # a double submit
    assert len([m for m in mail.outbox if m.to == ["hello@kerne.example"]]) == 1
    assert ContactRequest.objects.count() == 1


def test_over_the_daily_cap_the_contact_form_says_when_the_firm_can_try_again(
    client, supplier, supplier_user, directory
):
    for n in range(services.CONTACT_REQUESTS_PER_FIRM_PER_DAY):
        services.request_contact(
            directory["lab"],
            organisation=supplier,
            service=Service.TESTING,
            message=f"Request {n}",
            acting_user=supplier_user,
        )
    client.force_login(supplier_user)
    response = client.post(
        reverse("b2b:provider_contact", args=["atelier-kerne"]),
        {"service": Service.DESIGN, "message": "One more, please."},
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert "the most a firm may send. You can send the next one from" in html
    assert ContactRequest.objects.count() == services.CONTACT_REQUESTS_PER_FIRM_PER_DAY


def test_a_firm_cannot_post_a_contact_request_to_a_hidden_provider(client, supplier_user, directory):
    client.force_login(supplier_user)
    response = client.post(
        reverse("b2b:provider_contact", args=["hidden-design-bureau"]),
        {"service": "design", "message": "Hello"},
    )
    assert response.status_code == 404 and not ContactRequest.objects.exists()


def test_people_who_do_not_act_for_a_firm_get_no_contact_form(client, broker, participant, directory):
    for user in (broker, participant):
        client.force_login(user)
        html = page(client, "b2b:provider_detail", "atelier-kerne")
        assert "Ask for contact" not in html
        response = client.post(
            reverse("b2b:provider_contact", args=["atelier-kerne"]), {"service": "design", "message": "Hello"}
        )
        assert response.status_code == 403
    assert not ContactRequest.objects.exists()


def test_a_newcomer_is_shown_the_ground_rules_to_accept_before_asking(client, newcomer, b2b_rules, directory):
    client.force_login(newcomer)
    response = client.post(
        reverse("b2b:provider_contact", args=["atelier-kerne"]), {"service": "design", "message": "Hello"}
    )
    html = response.content.decode()
    assert "Accept the ground rules first" in html and "Ground rules for brokered introductions" in html
    assert not ContactRequest.objects.exists()


def test_a_contact_request_for_a_service_the_provider_does_not_offer_shows_a_form_error(
    client, supplier_user, directory
):
    client.force_login(supplier_user)
    response = client.post(
        reverse("b2b:provider_contact", args=["atelier-kerne"]), {"service": "financing", "message": "Hello"}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ContactRequest.objects.exists()


# ------------------------------------------------------------------------------- proposal and curation


def test_a_proposed_provider_is_reviewed_and_listed_before_firms_find_it(
    client, supplier_user, buyer_user, broker, directory, django_capture_on_commit_callbacks
):
    client.force_login(supplier_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("b2b:provider_propose"),
            {
                "name": "Loire Export Conseil",
                "description": "Export plans and trade missions to the Nordics.",
                "services": [Service.INTERNATIONALISATION],
                "country": "FR",
                "region": "Pays de la Loire",
                "languages": "French, English",
                "website": "https://export.example",
                "contact_email": "contact@export.example",
            },
            follow=True,
        )
    assert "review “Loire Export Conseil” before it appears" in response.content.decode()
    assert [m.to for m in mail.outbox] == [[broker.email]]
    assert "Loire Export Conseil" not in page(client, SEARCH)

    client.force_login(broker)
    queue = page(client, "b2b:provider_curation")
    assert queue.index("Loire Export Conseil") < queue.index("Atelier Kerné")  # proposals come first
    assert queue.index("Proposed Design Collective") < queue.index("Atelier Kerné")
    assert "2 proposals wait for review" in queue
    response = client.post(
        reverse("b2b:provider_status", args=["loire-export-conseil"]),
        {
            "status": Status.LISTED,
            "seen": Status.PROPOSED,
            "note": "Good reviews from members.",
            "next": reverse("b2b:provider_curation"),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("b2b:provider_curation")
    assert "“Loire Export Conseil” is listed in the directory." in response.content.decode()

    client.force_login(buyer_user)
    assert "Loire Export Conseil" in page(client, SEARCH, service=Service.INTERNATIONALISATION)
    assert "Good reviews from members." in page(client, "b2b:provider_detail", "loire-export-conseil")


def test_a_curation_decision_on_a_stale_page_is_refused_with_a_message(client, broker, directory):
    client.force_login(broker)
    url = reverse("b2b:provider_status", args=["proposed-design-collective"])
    client.post(url, {"status": Status.HIDDEN, "seen": Status.PROPOSED})
    response = client.post(url, {"status": Status.LISTED, "seen": Status.PROPOSED}, follow=True)
    assert "Someone changed “Proposed Design Collective” meanwhile" in response.content.decode()
    assert ServiceProvider.objects.get(slug="proposed-design-collective").status == Status.HIDDEN


def test_the_status_form_never_sends_the_curator_to_another_site(client, broker, directory):
    client.force_login(broker)
    response = client.post(
        reverse("b2b:provider_status", args=["hidden-design-bureau"]),
        {"status": Status.LISTED, "seen": Status.HIDDEN, "next": "https://evil.example/"},
    )
    assert response["Location"] == detail(directory["hidden"])


def test_staff_add_a_provider_listed_at_once(client, broker):
    client.force_login(broker)
    response = client.post(
        reverse("b2b:provider_propose"),
        {
            "name": "Tampere Test Centre",
            "description": "Certification testing for machinery.",
            "services": [Service.TESTING],
            "country": "FI",
            "contact_email": "lab@ttc.example",
        },
    )
    provider = ServiceProvider.objects.get(name="Tampere Test Centre")
    assert response["Location"] == detail(provider) and provider.status == Status.LISTED


def test_staff_edit_a_provider_without_ever_seeing_its_address(client, broker, directory):
    client.force_login(broker)
    url = reverse("b2b:provider_edit", args=["atelier-kerne"])
    html = page(client, "b2b:provider_edit", "atelier-kerne")
    assert "Industrial and service design" in html and "Leave empty to keep the current address" in html
    response = client.post(
        url,
        {
            "name": "Atelier Kerné",
            "description": "Industrial design, now with user research.",
            "services": [Service.DESIGN, Service.TESTING],
            "country": "FR",
            "region": "Bretagne",
            "contact_email": "",
        },
    )
    assert response.status_code == 302
    studio = ServiceProvider.objects.get(slug="atelier-kerne")
    assert studio.contact_email == "hello@kerne.example" and "user research" in studio.description
    assert sorted(s.service for s in studio.services.all()) == [Service.DESIGN, Service.TESTING]


def test_the_staff_pages_refuse_firms(client, supplier_user, directory):
    client.force_login(supplier_user)
    assert client.get(reverse("b2b:provider_curation")).status_code == 403
    assert client.get(reverse("b2b:provider_edit", args=["atelier-kerne"])).status_code == 403
    response = client.post(reverse("b2b:provider_edit", args=["atelier-kerne"]), {"name": "Mine now"})
    assert response.status_code == 403
    response = client.post(
        reverse("b2b:provider_status", args=["proposed-design-collective"]),
        {"status": Status.LISTED, "seen": Status.PROPOSED},
    )
    assert response.status_code == 403
    assert ServiceProvider.objects.get(slug="proposed-design-collective").status == Status.PROPOSED
    assert ServiceProvider.objects.get(slug="atelier-kerne").name == "Atelier Kerné"


def test_the_curation_queue_filters_by_status_and_words(client, broker, directory):
    client.force_login(broker)
    html = page(client, "b2b:provider_curation", status=Status.HIDDEN)
    assert "Hidden Design Bureau" in html and "Atelier Kerné" not in html
    html = page(client, "b2b:provider_curation", q="bayern")
    assert "Bavarian Living Lab" in html and "Hidden Design Bureau" not in html


def test_the_curation_queue_runs_the_same_few_queries_whatever_its_length(
    client, broker, directory, django_assert_max_num_queries
):
    client.force_login(broker)
    url = reverse("b2b:provider_curation")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(25):
        ServiceProviderFactory(name=f"Studio {n:02d}", status=Status.PROPOSED, services=[Service.DESIGN])
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('<span class="status status-') == 20  # a page of 20
    assert "Page 1 of 2" in html


def test_a_newcomer_who_accepts_the_ground_rules_comes_back_to_the_provider(
    client, newcomer, b2b_rules, directory
):
    client.force_login(newcomer)
    provider = reverse("b2b:provider_detail", args=["atelier-kerne"])
    # The refused form posts to an address that answers no plain visit: the way back is the provider's page.
    refused = client.post(
        reverse("b2b:provider_contact", args=["atelier-kerne"]),
        {"service": "design", "message": "Hello"},
        HTTP_REFERER=f"http://testserver{provider}",
    ).content.decode()
    link = unescape(re.search(r'href="(/ground-rules/\d+/\?next=[^"]+)"', refused).group(1))
    rules = client.get(link).content.decode()
    assert "After accepting, you go back to the page you came from." in rules
    organisation = newcomer.memberships.get().organisation
    response = client.post(
        link,
        {
            "organisation": organisation.pk,
            "text_sha256": b2b_rules.text_sha256,
            "confirm": "on",
            "next": f"http://testserver{provider}",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"http://testserver{provider}"
    assert "Ask for contact" in page(client, "b2b:provider_detail", "atelier-kerne")


def test_accepting_the_ground_rules_never_sends_anyone_to_another_site(client, newcomer, b2b_rules):
    client.force_login(newcomer)
    detail = reverse("ground_rules_detail", args=[b2b_rules.pk])
    response = client.post(
        f"{detail}?next=https://evil.example/",
        {
            "organisation": newcomer.memberships.get().organisation.pk,
            "text_sha256": b2b_rules.text_sha256,
            "confirm": "on",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("ground_rules_list")
    assert newcomer.ground_rules_acceptances.filter(version=b2b_rules).exists()
