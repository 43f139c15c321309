"""The demo's B2B channel keeps its promises: buyer and supplier firms of several sectors with needs and
offers of every visibility, introductions in every state, a running co-development project with its B2B
test campaign, past and upcoming events with lead users signed up, a curated provider directory, published
intelligence, logins that work, a trail of past-dated audit entries; built once however often the seeder
runs."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cms.models import B2BEventIndexPage, ProviderDirectoryPage
from livinglab import audit
from livinglab.b2b.demo import CANNERY, FERRIES, HOSPITALS, IOT, LOGINS, RETAIL, UNIVERSITY, seed_b2b
from livinglab.b2b.models import (
    ContactRequest,
    DigestDelivery,
    Event,
    Introduction,
    IntroductionOutcome,
    LeadUserSignup,
    ListingStatus,
    Match,
    Need,
    Offer,
    Project,
    ProjectPartner,
    ProviderService,
    Report,
    Service,
    ServiceProvider,
    TopicSubscription,
    Visibility,
)
from livinglab.b2b.services.intelligence import personal_data_in
from livinglab.factories import DEMO_PASSWORD
from livinglab.models import AuditEntry, Channel, ConsentRecord, GroundRulesAcceptance, Organisation, User
from pilots.models import Campaign, CampaignKind, PanelMembership

MODELS = (
    Need,
    Offer,
    Match,
    Introduction,
    IntroductionOutcome,
    Project,
    Event,
    LeadUserSignup,
    ServiceProvider,
    ContactRequest,
    Report,
    TopicSubscription,
    DigestDelivery,
)


def counts() -> dict[str, int]:
    found = {model.__name__: model.objects.count() for model in MODELS}
    found["audit entries"] = AuditEntry.objects.count()
    found["pages"] = B2BEventIndexPage.objects.count() + ProviderDirectoryPage.objects.count()
    return found


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo world with its B2B channel, built once for this module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield counts()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo_world, db):
    return demo_world


def org(slug: str) -> Organisation:
    return Organisation.objects.get(slug=slug)


def login(email: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def test_seeding_the_b2b_channel_again_adds_nothing_and_the_audit_chain_holds(seeded):
    seed_b2b()
    call_command("seed_demo", verbosity=0)

    assert counts() == seeded
    assert audit.verify_chain()[1] == []


def test_buyers_and_suppliers_of_several_sectors_post_needs_and_offers_of_every_visibility(seeded):
    for model in (Need, Offer):
        listings = model.objects.all()
        published = listings.filter(status=ListingStatus.PUBLISHED)
        assert set(published.values_list("visibility", flat=True)) == set(Visibility.values)
        assert listings.filter(status=ListingStatus.DRAFT).count() == 1
        assert listings.filter(status=ListingStatus.CLOSED).count() == 1
    assert 8 <= Need.objects.published().count() <= 12
    assert 12 <= Offer.objects.published().count() <= 16
    buyers = set(Need.objects.values_list("organisation__slug", flat=True))
    assert {CANNERY, FERRIES, HOSPITALS, RETAIL} <= buyers
    sectors = set(Need.objects.values_list("sectors__name", flat=True))
    assert {"Food processing", "Maritime transport", "Health care", "Retail"} <= sectors
    technologies = set(Offer.objects.values_list("technologies__name", flat=True))
    assert {"Internet of things", "Maritime and satellite connectivity", "Telemedicine"} <= technologies
    assert "Augmented and virtual reality" in technologies and "Route optimisation" in technologies


def test_the_matcher_suggests_the_sensor_tags_for_the_cannerys_cold_chain_and_says_why(seeded):
    need = Need.objects.get(organisation__slug=CANNERY, title__startswith="Cold-chain")
    best = Match.objects.filter(need=need).select_related("offer").order_by("-score").first()

    assert best.offer.organisation.slug == IOT and "temperature tags" in best.offer.title
    assert best.reasons["technologies"] and best.reasons["sectors"]
    assert not Match.objects.exclude(need__status=ListingStatus.PUBLISHED).exists()
    assert not Match.objects.exclude(offer__status=ListingStatus.PUBLISHED).exists()


def test_introductions_exist_in_every_status_with_the_outcomes_the_issue_names(seeded):
    Status = Introduction.Status
    assert set(Introduction.objects.values_list("status", flat=True)) == set(Status.values)

    # Brokered: one under an NDA that one firm has accepted, the other still to answer.
    under_nda = Introduction.objects.get(status=Status.BROKERED, nda_required=True)
    assert under_nda.nda_text and under_nda.acceptances.count() == 1
    assert under_nda.acceptances.get().nda_sha256 == under_nda.nda_sha256
    outcomes = set(
        IntroductionOutcome.objects.filter(introduction__status=Status.ACCEPTED).values_list(
            "kind", flat=True
        )
    )
    assert outcomes == set(IntroductionOutcome.Kind.values)
    for accepted in Introduction.objects.filter(status=Status.ACCEPTED):
        assert set(accepted.acceptances.values_list("organisation_id", flat=True)) == set(accepted.parties())
    refused = Introduction.objects.get(status=Status.REFUSED)
    assert refused.reason and refused.brokered_at is None


def test_the_running_project_started_from_an_introduction_and_has_a_launched_b2b_test_campaign(seeded):
    project = Project.objects.get()
    roles = {p.organisation.slug: p.role for p in project.partners.select_related("organisation")}

    assert project.status == Project.Status.ACTIVE
    assert project.introduction.status == Introduction.Status.ACCEPTED
    assert roles == {
        CANNERY: ProjectPartner.Role.BUYER,
        IOT: ProjectPartner.Role.SUPPLIER,
        UNIVERSITY: ProjectPartner.Role.RESEARCH,
    }
    assert project.licence_terms and project.confidentiality and project.exclusivity_until
    milestones = list(project.milestones.all())
    assert len(milestones) >= 3 and sum(m.done_at is not None for m in milestones) == 1
    document = project.documents.get()
    assert document.content_type == "application/pdf" and document.file.open("rb").read(5) == b"%PDF-"
    campaign = project.test_campaign
    assert (campaign.channel, campaign.kind) == (Channel.B2B, CampaignKind.TEST)
    assert campaign.requested_by.slug == IOT and campaign.partners.filter(slug=CANNERY).exists()
    assert campaign.status == Campaign.Status.APPROVED and campaign.panel.channel == Channel.B2B


def test_a_past_fair_signed_up_lead_users_with_consent_and_followed_up(seeded):
    now = timezone.now()
    fair = Event.objects.get(kind=Event.Kind.FAIR)

    assert fair.ends_at < now and fair.follow_up_sent_at is not None
    registered = fair.registrations.filter(status="registered")
    assert registered.filter(checked_in_at__isnull=False).count() < registered.count()
    signups = list(fair.lead_user_signups.select_related("membership__panel", "membership__person"))
    assert len(signups) >= 3
    for signup in signups:
        membership = signup.membership
        assert membership.panel == fair.lead_user_panel and membership.panel.channel == Channel.B2B
        assert membership.status == PanelMembership.Status.ACTIVE
        consents = ConsentRecord.objects.filter(person=membership.person)
        assert consents.exists() and {c.method for c in consents} == {ConsentRecord.Method.WITNESSED}
    # One of them walked in without registering.
    assert any(signup.registration is None for signup in signups)


def test_upcoming_events_take_registrations_and_the_breakfast_is_nearly_full(seeded):
    now = timezone.now()
    past = Event.objects.filter(ends_at__lt=now, status=Event.Status.PUBLISHED)
    upcoming = Event.objects.filter(starts_at__gt=now, status=Event.Status.PUBLISHED)

    assert past.count() == 2 and upcoming.count() == 2
    assert {e.kind for e in upcoming} == {Event.Kind.BREAKFAST, Event.Kind.CLUSTER_VISIT}
    breakfast = upcoming.get(kind=Event.Kind.BREAKFAST)
    taken = breakfast.registrations.filter(status="registered").count()
    assert breakfast.capacity - 3 <= taken < breakfast.capacity
    assert upcoming.get(kind=Event.Kind.CLUSTER_VISIT).registrations.exists()
    assert all(e.registration_closes_at <= e.ends_at for e in Event.objects.all())


def test_listed_providers_span_every_service_and_several_countries(seeded):
    listed = ServiceProvider.objects.listed()
    services = set(ProviderService.objects.filter(provider__in=listed).values_list("service", flat=True))

    assert 20 <= listed.count() <= 30
    assert services == set(Service.values)
    assert {"FR", "AT", "SE", "FI", "ES"} <= {str(c) for c in listed.values_list("country", flat=True)}
    assert listed.filter(country="AT", region="Oberösterreich", services__service=Service.DESIGN).exists()
    assert ServiceProvider.objects.filter(status=ServiceProvider.Status.PROPOSED).count() == 2
    hidden = ServiceProvider.objects.get(status=ServiceProvider.Status.HIDDEN)
    assert hidden.curator_note
    assert ContactRequest.objects.filter(provider__status=ServiceProvider.Status.LISTED).count() >= 2


def test_market_reports_and_insight_briefs_are_published_and_a_digest_went_out(seeded):
    published = Report.objects.filter(status=Report.Status.PUBLISHED)

    assert published.filter(kind=Report.Kind.MARKET).count() == 3
    briefs = published.filter(kind=Report.Kind.INSIGHT)
    assert briefs.count() == 2
    assert Report.objects.filter(status=Report.Status.DRAFT).exists()
    figures = [f for brief in briefs for f in brief.figures]
    assert any(f["key"] == "sus" and not f["suppressed"] for f in figures)
    for brief in briefs:
        assert brief.campaigns.exists()
        assert personal_data_in("\n".join([brief.title, brief.summary, brief.body])) is None
    firm_logins = {login.email for login in LOGINS}
    subscribers = set(TopicSubscription.objects.values_list("user__email", flat=True))
    assert firm_logins <= subscribers
    delivery = DigestDelivery.objects.get()
    assert delivery.sent_at is not None and delivery.reports.exists()


def test_the_audit_trail_tells_the_b2b_story_in_order_with_past_dates(seeded):
    entries = list(AuditEntry.objects.filter(action__startswith="b2b.").order_by("seq"))
    actions = {entry.action for entry in entries}

    for action in (
        "b2b.need.publish",
        "b2b.offer.publish",
        "b2b.introduction.request",
        "b2b.introduction.broker",
        "b2b.introduction.accept",
        "b2b.introduction.decline",
        "b2b.introduction.refuse",
        "b2b.introduction.withdraw",
        "b2b.introduction.record_outcome",
        "b2b.project.start",
        "b2b.project.launch_test_campaign",
        "b2b.registration.check_in",
        "b2b.lead_user.sign_up",
        "b2b.event.follow_up",
        "b2b.provider.create",
        "b2b.provider.hide",
        "b2b.contact_request.create",
        "b2b.report.publish",
        "b2b.digest.send",
    ):
        assert action in actions, action
    moments = [entry.created_at for entry in entries]
    assert moments == sorted(moments)
    assert moments[0] < timezone.now() - timedelta(days=120)
    follow_up = next(entry for entry in entries if entry.action == "b2b.event.follow_up")
    assert follow_up.created_at < timezone.now() - timedelta(days=30)


def test_every_firm_that_acts_accepted_the_b2b_ground_rules(seeded):
    for demo_login in LOGINS:
        user = User.objects.get(email=demo_login.email)
        accepted = GroundRulesAcceptance.objects.filter(
            user=user, organisation__slug=demo_login.organisation, version__rules__channel=Channel.B2B
        )
        assert accepted.exists(), demo_login.email


def test_each_b2b_demo_login_signs_in_to_its_workspace(seeded, client):
    cache.clear()  # allauth's login rate limit counts per address; start from zero
    for demo_login in LOGINS:
        response = client.post(
            reverse("account_login"), {"login": demo_login.email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, demo_login.email
        workspace = client.get(reverse("workspace"), follow=True)
        assert workspace.status_code == 200 and "/workspace/" in workspace.redirect_chain[-1][0]
        client.logout()


def test_the_project_is_shown_to_its_partners_and_to_no_other_firm(seeded):
    project = Project.objects.get()
    url = reverse("b2b:project_detail", args=[project.slug])

    for email in ("food@demo.livinglab.eu", "iot@demo.livinglab.eu", "research@demo.livinglab.eu"):
        response = login(email).get(url)
        assert response.status_code == 200 and project.title in response.content.decode(), email
    outsider = login("retail@demo.livinglab.eu").get(url)
    assert outsider.status_code in (403, 404) and project.title not in outsider.content.decode()


def test_the_public_event_list_and_provider_directory_are_published(seeded):
    events_page = B2BEventIndexPage.objects.live().get()
    directory = ProviderDirectoryPage.objects.live().get()
    anonymous = Client()

    events_html = anonymous.get(events_page.url).content.decode()
    assert Event.objects.get(kind=Event.Kind.BREAKFAST).title in events_html
    directory_html = anonymous.get(directory.url).content.decode()
    provider = ServiceProvider.objects.listed().order_by("name").first()
    assert provider.name in directory_html and provider.contact_email not in directory_html
    hidden = ServiceProvider.objects.get(status=ServiceProvider.Status.HIDDEN)
    assert hidden.name not in directory_html
