"""The directory of service providers: search, proposals and curation, contact requests and their mails.

Personas: ``supplier_user`` acts for Breizh Sensors (France, Bretagne), ``buyer_user`` for Nordic Foods
(Finland), ``broker`` is the cluster's coordinator, ``newcomer`` a firm user who has not accepted the B2B
ground rules."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import formats, timezone

from livinglab.b2b.errors import B2BError
from livinglab.b2b.models import ContactRequest, Service, ServiceProvider
from livinglab.b2b.services import providers as services
from livinglab.b2b.tasks.providers import mail_contact_request, notify_staff_of_proposal
from livinglab.errors import GroundRulesRequired
from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import AuditEntry, Role
from tests.concurrency import on_postgresql, run_together

Status = ServiceProvider.Status


def names(providers) -> list[str]:
    return [p.name for p in providers]


# ------------------------------------------------------------------------------------------------ search


def test_search_by_service_finds_the_listed_providers_that_offer_it(directory):
    assert names(services.search_providers(service=Service.DESIGN)) == ["Atelier Kerné"]
    assert names(services.search_providers(service=Service.TESTING)) == ["Bavarian Living Lab"]


def test_search_by_country_and_by_region(directory):
    assert names(services.search_providers(country="FR")) == ["Atelier Kerné", "Breizh Amorçage"]
    assert names(services.search_providers(country="fi")) == ["Nordic Patent Partners"]
    assert names(services.search_providers(region="bayern")) == ["Bavarian Living Lab"]
    assert names(services.search_providers(region="Breta")) == ["Atelier Kerné", "Breizh Amorçage"]


def test_search_by_words_needs_every_word_in_the_name_description_region_or_languages(directory):
    assert names(services.search_providers(q="PATENT")) == ["Nordic Patent Partners"]
    assert names(services.search_providers(q="older panels")) == ["Bavarian Living Lab"]
    assert names(services.search_providers(q="swedish")) == ["Nordic Patent Partners"]
    assert names(services.search_providers(q="uusimaa")) == ["Nordic Patent Partners"]
    assert names(services.search_providers(q="design banking")) == []


def test_search_filters_combine(directory):
    assert names(services.search_providers(country="FR", service=Service.FINANCING)) == ["Breizh Amorçage"]
    assert names(services.search_providers(q="english", region="Bretagne")) == ["Atelier Kerné"]
    assert names(services.search_providers(q="english", service=Service.IPR, country="FI")) == [
        "Nordic Patent Partners"
    ]
    assert names(services.search_providers(q="english", service=Service.IPR, country="DE")) == []


def test_search_lists_every_listed_provider_by_name_and_never_a_hidden_or_proposed_one(directory):
    found = names(services.search_providers())
    assert found == ["Atelier Kerné", "Bavarian Living Lab", "Breizh Amorçage", "Nordic Patent Partners"]
    assert names(services.search_providers(q="design", country="FR", service=Service.DESIGN)) == [
        "Atelier Kerné"
    ]


def test_search_reads_the_services_of_all_results_in_one_query(directory, django_assert_num_queries):
    with django_assert_num_queries(2):
        found = list(services.search_providers(country="FR"))
        offered = [[s.service for s in p.services.all()] for p in found]
    assert offered == [[Service.DESIGN, Service.DESIGN_CENTRE], [Service.FINANCING]]


def test_the_summary_counts_the_current_results_and_how_many_offer_each_service(directory):
    total, counts = services.summarise(services.search_providers(country="FR"))
    counts = dict(counts)
    assert total == 2  # Atelier Kerné offers two services and counts once
    assert counts[Service.DESIGN_CENTRE.label] == 1
    assert counts[Service.DESIGN.label] == 1
    assert counts[Service.FINANCING.label] == 1
    assert counts[Service.IPR.label] == 0
    assert len(counts) == len(Service.choices)


# ------------------------------------------------------------------------------------ proposal and curation


def test_a_proposal_waits_for_review_and_the_staff_hear_of_it(
    supplier_user, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        provider = services.propose_provider(
            name="Loire Export Conseil",
            description="Export plans and trade missions to the Nordics.",
            country="FR",
            region="Pays de la Loire",
            website="https://export.example",
            contact_email="contact@export.example",
            languages="French",
            services=[Service.INTERNATIONALISATION],
            acting_user=supplier_user,
        )
    assert provider.status == Status.PROPOSED and provider.proposed_by == supplier_user
    assert provider.slug == "loire-export-conseil"
    assert names(services.search_providers(q="export")) == []
    assert [m.to for m in mail.outbox] == [[broker.email]]
    assert "Loire Export Conseil" in mail.outbox[0].subject
    assert "contact@export.example" not in mail.outbox[0].body
    assert ServiceProvider.objects.get(pk=provider.pk).proposal_mailed_at is not None
    assert notify_staff_of_proposal(provider.pk) is False  # a retried task sends nothing twice
    assert len(mail.outbox) == 1


def test_a_proposal_under_a_taken_name_gets_its_own_web_address(directory, supplier_user):
    provider = services.propose_provider(
        name="Atelier Kerné",
        description="The same name, another studio.",
        country="FR",
        contact_email="other@kerne.example",
        services=[Service.DESIGN],
        acting_user=supplier_user,
    )
    assert provider.slug == "atelier-kerne-2"


def test_a_provider_cannot_take_a_web_address_of_the_directory_itself(broker):
    provider = services.save_provider(
        None,
        name="Propose",
        description="A studio with an unlucky name.",
        country="FR",
        contact_email="studio@propose.example",
        services=[Service.DESIGN],
        acting_user=broker,
    )
    assert provider.slug == "propose-2"


def test_curating_a_proposal_lists_it_and_records_the_decision(directory, broker):
    proposed = directory["proposed"]
    services.curate_provider(
        proposed, status=Status.LISTED, note="Recommended by two members.", acting_user=broker
    )
    proposed.refresh_from_db()
    assert proposed.status == Status.LISTED and proposed.curated_by == broker
    assert proposed.curator_note == "Recommended by two members."
    assert "Proposed Design Collective" in names(services.search_providers(service=Service.DESIGN))
    entry = AuditEntry.objects.get(action="b2b.provider.list")
    assert entry.data == {"from": "proposed", "to": "listed", "with_note": True}


def test_hiding_a_listed_provider_takes_it_out_of_the_search(directory, broker):
    services.curate_provider(directory["studio"], status=Status.HIDDEN, acting_user=broker)
    assert "Atelier Kerné" not in names(services.search_providers())


def test_a_decision_on_a_status_that_changed_meanwhile_is_refused(directory, broker):
    seen_by_one = ServiceProvider.objects.get(pk=directory["proposed"].pk)
    seen_by_other = ServiceProvider.objects.get(pk=directory["proposed"].pk)
    services.curate_provider(seen_by_one, status=Status.HIDDEN, acting_user=broker)
    with pytest.raises(B2BError, match=r"changed .* meanwhile"):
        services.curate_provider(seen_by_other, status=Status.LISTED, acting_user=broker)
    assert ServiceProvider.objects.get(pk=seen_by_one.pk).status == Status.HIDDEN


def test_a_provider_is_not_listed_twice_nor_sent_back_to_proposed(directory, broker):
    with pytest.raises(B2BError, match="already"):
        services.curate_provider(directory["studio"], status=Status.LISTED, acting_user=broker)
    with pytest.raises(B2BError, match="back"):
        services.curate_provider(directory["studio"], status=Status.PROPOSED, acting_user=broker)


def test_only_the_staff_curate_and_edit_providers(directory, supplier_user):
    with pytest.raises(B2BError, match="staff"):
        services.curate_provider(directory["proposed"], status=Status.LISTED, acting_user=supplier_user)
    with pytest.raises(B2BError, match="staff"):
        services.save_provider(
            directory["studio"],
            name="Taken over",
            description="x",
            country="FR",
            services=[Service.DESIGN],
            acting_user=supplier_user,
        )
    assert ServiceProvider.objects.get(pk=directory["proposed"].pk).status == Status.PROPOSED
    assert ServiceProvider.objects.get(pk=directory["studio"].pk).name == "Atelier Kerné"


def test_staff_edit_a_provider_and_its_services_and_an_empty_address_keeps_the_old_one(directory, broker):
    studio = directory["studio"]
    services.save_provider(
        studio,
        name="Atelier Kerné Design",
        description="Industrial design and user research.",
        country="FR",
        region="Bretagne",
        website="",
        languages="French",
        contact_email="",
        services=[Service.DESIGN, Service.TESTING],
        acting_user=broker,
    )
    studio.refresh_from_db()
    assert studio.name == "Atelier Kerné Design" and studio.contact_email == "hello@kerne.example"
    assert sorted(s.service for s in studio.services.all()) == [Service.DESIGN, Service.TESTING]
    entry = AuditEntry.objects.get(action="b2b.provider.edit")
    assert entry.data["services_added"] == [Service.TESTING]
    assert entry.data["services_removed"] == [Service.DESIGN_CENTRE]


def test_a_provider_needs_at_least_one_known_service(broker):
    for chosen in ([], ["astrology"]):
        with pytest.raises(B2BError):
            services.save_provider(
                None,
                name="Nowhere",
                description="x",
                country="FR",
                contact_email="x@nowhere.example",
                services=chosen,
                acting_user=broker,
            )
    assert not ServiceProvider.objects.exists()


# ------------------------------------------------------------------------------------- contact requests


def ask(provider, user, organisation, message="We need a design study for a new freezer door.", **kwargs):
    return services.request_contact(
        provider,
        organisation=organisation,
        service=kwargs.pop("service", provider.services.first().service),
        message=message,
        acting_user=user,
    )


def test_a_contact_request_mails_the_provider_once_with_the_firm_the_requester_and_the_message(
    directory, supplier, supplier_user, django_capture_on_commit_callbacks
):
    studio = directory["studio"]
    with django_capture_on_commit_callbacks(execute=True):
        contact = ask(studio, supplier_user, supplier, service=Service.DESIGN)
    to_provider = [m for m in mail.outbox if m.to == ["hello@kerne.example"]]
    assert len(to_provider) == 1
    body = to_provider[0].body
    assert "Breizh Sensors" in body and "supplier@example.org" in body
    assert supplier_user.person.full_name in body
    assert "Design" in body and "a design study for a new freezer door" in body
    assert to_provider[0].reply_to == ["supplier@example.org"]
    # A retried task sends nothing more.
    assert mail_contact_request(contact.pk) is False
    assert len([m for m in mail.outbox if m.to == ["hello@kerne.example"]]) == 1
    contact.refresh_from_db()
    assert contact.mailed_at is not None


def test_the_requester_gets_a_copy_that_does_not_reveal_the_providers_address(
    directory, supplier, supplier_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(directory["studio"], supplier_user, supplier)
    copies = [m for m in mail.outbox if m.to == ["supplier@example.org"]]
    assert len(copies) == 1
    assert "freezer door" in copies[0].body
    assert "hello@kerne.example" not in copies[0].body + copies[0].subject + " ".join(copies[0].cc)


def test_a_failed_send_gives_the_claim_back_so_that_the_retry_sends_it(
    directory, supplier, supplier_user, monkeypatch
):
    contact = ask(directory["studio"], supplier_user, supplier)  # on-commit not run: nothing sent yet

    def broken(self, messages):
        raise OSError("SMTP server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", broken)
    with pytest.raises(OSError):
        mail_contact_request(contact.pk)
    contact.refresh_from_db()
    assert contact.mailed_at is None
    monkeypatch.undo()
    assert mail_contact_request(contact.pk) is True
    assert [m.to for m in mail.outbox] == [["hello@kerne.example"], ["supplier@example.org"]]


def test_the_request_is_stored_and_audited_without_addresses_or_message(directory, supplier, supplier_user):
    contact = ask(directory["studio"], supplier_user, supplier, service=Service.DESIGN_CENTRE)
    stored = ContactRequest.objects.get()
    assert stored == contact and stored.organisation == supplier and stored.user == supplier_user
    assert stored.service == Service.DESIGN_CENTRE
    entry = AuditEntry.objects.get(action="b2b.contact_request.create")
    assert entry.data == {"provider": directory["studio"].pk, "service": Service.DESIGN_CENTRE}
    assert entry.organisation == supplier
    trail = " ".join(f"{e.object_repr} {e.data}" for e in AuditEntry.objects.all())
    assert "@" not in trail and "freezer" not in trail


def test_the_daily_cap_refuses_the_next_request_and_says_when_the_firm_can_try_again(
    directory, supplier, supplier_user
):
    for n in range(services.CONTACT_REQUESTS_PER_FIRM_PER_DAY):
        ask(directory["lab"], supplier_user, supplier, message=f"Request number {n}")
    first = ContactRequest.objects.order_by("created_at").first()
    with pytest.raises(B2BError) as refused:
        ask(directory["patents"], supplier_user, supplier)
    reason = refused.value.message
    assert "Breizh Sensors" in reason and "24 hours" in reason
    again = formats.date_format(timezone.localtime(first.created_at + timedelta(hours=24)), "DATETIME_FORMAT")
    assert again in reason
    assert ContactRequest.objects.count() == services.CONTACT_REQUESTS_PER_FIRM_PER_DAY


def test_the_cap_counts_per_firm_and_frees_up_24_hours_after_the_oldest_request(
    directory, supplier, supplier_user, buyer, buyer_user
):
    for n in range(services.CONTACT_REQUESTS_PER_FIRM_PER_DAY):
        ask(directory["lab"], supplier_user, supplier, message=f"Request number {n}")
    ask(directory["lab"], buyer_user, buyer)  # another firm has its own allowance
    oldest = ContactRequest.objects.filter(organisation=supplier).order_by("created_at").first()
    ContactRequest.objects.filter(pk=oldest.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    assert services.contact_allowance(supplier) == (1, None)
    ask(directory["patents"], supplier_user, supplier)
    with pytest.raises(B2BError):
        ask(directory["studio"], supplier_user, supplier)


def test_sending_the_same_request_twice_sends_it_once(directory, supplier, supplier_user):
    first = ask(directory["studio"], supplier_user, supplier)
    again = ask(directory["studio"], supplier_user, supplier)
    assert again == first and ContactRequest.objects.count() == 1


@pytest.mark.parametrize("status", [Status.HIDDEN, Status.PROPOSED])
def test_a_provider_that_is_not_listed_cannot_be_contacted(directory, supplier, supplier_user, status):
    provider = directory["hidden" if status == Status.HIDDEN else "proposed"]
    with pytest.raises(B2BError, match="not in the directory"):
        ask(provider, supplier_user, supplier)
    assert not ContactRequest.objects.exists()


def test_a_provider_hidden_after_the_page_was_read_cannot_be_contacted(
    directory, supplier, supplier_user, broker
):
    studio = ServiceProvider.objects.get(pk=directory["studio"].pk)
    services.curate_provider(directory["studio"], status=Status.HIDDEN, acting_user=broker)
    with pytest.raises(B2BError, match="not in the directory"):
        ask(studio, supplier_user, supplier)


def test_a_service_the_provider_does_not_offer_is_refused(directory, supplier, supplier_user):
    with pytest.raises(B2BError, match="does not list this service"):
        ask(directory["studio"], supplier_user, supplier, service=Service.FINANCING)


def test_contact_is_asked_only_for_a_firm_one_acts_for(directory, supplier_user, buyer, broker, participant):
    with pytest.raises(B2BError, match="firm you act for"):
        ask(directory["studio"], supplier_user, buyer)
    for outsider in (broker, participant):
        with pytest.raises(B2BError, match="Firms ask"):
            ask(directory["studio"], outsider, buyer)
    assert not ContactRequest.objects.exists()


def test_a_firm_member_who_has_not_accepted_the_b2b_ground_rules_is_asked_to_first(
    directory, newcomer, b2b_rules
):
    firm = newcomer.memberships.get().organisation
    with pytest.raises(GroundRulesRequired) as refused:
        ask(directory["studio"], newcomer, firm)
    assert refused.value.pending
    assert not ContactRequest.objects.exists()


def test_an_empty_message_is_refused(directory, supplier, supplier_user):
    with pytest.raises(B2BError, match="Write"):
        ask(directory["studio"], supplier_user, supplier, message="   ")


def test_every_member_of_a_firm_shares_its_daily_cap(directory, supplier, supplier_user, accept_b2b):
    colleague = MembershipFactory(
        organisation=supplier, role=Role.FIRM_MEMBER, user=UserFactory(email="colleague@example.org")
    ).user
    accept_b2b(colleague, supplier)
    for n in range(services.CONTACT_REQUESTS_PER_FIRM_PER_DAY):
        ask(directory["lab"], supplier_user, supplier, message=f"Request number {n}")
    with pytest.raises(B2BError, match="24 hours"):
        ask(directory["lab"], colleague, supplier, message="From a colleague")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_of_one_firm_never_exceed_the_daily_cap(directory, supplier, supplier_user):
    cap = services.CONTACT_REQUESTS_PER_FIRM_PER_DAY
    for n in range(cap - 2):
        ask(directory["lab"], supplier_user, supplier, message=f"Earlier request {n}")

    def worker(i):
        from livinglab.models import User

        user = User.objects.get(pk=supplier_user.pk)
        return ask(directory["lab"], user, supplier, message=f"Simultaneous request {i}")

    results = run_together(worker, 6)
    sent = [r for r in results if isinstance(r, ContactRequest)]
    refused = [r for r in results if isinstance(r, B2BError)]
    assert len(sent) == 2 and len(refused) == 4, results
    assert ContactRequest.objects.filter(organisation=supplier).count() == cap
