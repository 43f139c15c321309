"""Personas and listings for the B2B tests.

``buyer`` (a large food processor) posts ``need``; ``supplier`` (the shared ``sme``) posts ``offer``; both
talk about predictive maintenance, so the matcher pairs them. ``rival`` is a third firm that sees only
teasers. ``staff_user`` (the shared cluster coordinator) brokers. Everybody who acts has accepted the B2B
ground rules (``b2b_rules``), except ``newcomer``.

``accepted_introduction`` has been brokered and accepted by both firms; ``project`` runs with the buyer, the
supplier and ``research`` as partners. ``directory`` holds service providers: listed ones, a hidden one and
a proposed one."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from livinglab import services as core
from livinglab.b2b.factories import (
    NeedFactory,
    OfferFactory,
    ProjectFactory,
    ProjectPartnerFactory,
    ServiceProviderFactory,
    TagFactory,
)
from livinglab.b2b.models import Introduction, ProjectPartner, Service, ServiceProvider, Tag, Visibility
from livinglab.b2b.services import introductions as introduction_services
from livinglab.factories import (
    GroundRulesFactory,
    GroundRulesVersionFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import Channel, GroundRules, Organisation, Role


@pytest.fixture
def b2b_rules(db):
    """The B2B ground rules both firms accept before an introduction reveals anything."""
    rules = GroundRulesFactory(
        title="Ground rules for brokered introductions",
        scope_kind=GroundRules.ScopeKind.CHANNEL,
        channel=Channel.B2B,
    )
    return GroundRulesVersionFactory(rules=rules)


@pytest.fixture
def accept_b2b(b2b_rules):
    """Accept every ground rules version that applies to ``scope`` (default: the B2B channel)."""

    def _accept(user, organisation=None, scope=Channel.B2B):
        for version in core.pending_ground_rules(user, scope, organisation=organisation):
            core.accept_ground_rules(
                version, organisation=organisation, acting_user=user, shown_sha256=version.text_sha256
            )
        return user

    return _accept


def firm_user(organisation, email, role=Role.FIRM_ADMIN):
    user = MembershipFactory(organisation=organisation, role=role, user=UserFactory(email=email)).user
    PersonFactory(user=user)
    return user


@pytest.fixture
def buyer(db):
    return OrganisationFactory(
        name="Nordic Foods", kind=Organisation.Kind.LARGE_ENTERPRISE, country="FI", region="Uusimaa"
    )


@pytest.fixture
def buyer_user(buyer, accept_b2b):
    return accept_b2b(firm_user(buyer, "buyer@example.org"), buyer)


@pytest.fixture
def supplier(sme):
    return sme


@pytest.fixture
def supplier_user(supplier, accept_b2b):
    return accept_b2b(firm_user(supplier, "supplier@example.org"), supplier)


@pytest.fixture
def rival(db):
    return OrganisationFactory(name="Rival Robotics", kind=Organisation.Kind.SME, country="DE")


@pytest.fixture
def rival_user(rival, accept_b2b):
    return accept_b2b(firm_user(rival, "rival@example.org"), rival)


@pytest.fixture
def newcomer(db):
    """A firm user who has not accepted the B2B ground rules."""
    firm = OrganisationFactory(name="Newcomer Oy", kind=Organisation.Kind.SME, country="FI")
    return firm_user(firm, "newcomer@example.org")


@pytest.fixture
def broker(staff_user, accept_b2b):
    """The shared cluster coordinator (TOTP enrolled), with the B2B ground rules accepted."""
    return accept_b2b(staff_user)


@pytest.fixture
def tags(db):
    return {
        "food": TagFactory(kind=Tag.Kind.SECTOR, name="Food processing"),
        "logistics": TagFactory(kind=Tag.Kind.SECTOR, name="Logistics"),
        "iot": TagFactory(kind=Tag.Kind.TECHNOLOGY, name="Internet of things"),
        "ml": TagFactory(kind=Tag.Kind.TECHNOLOGY, name="Machine learning"),
        "robotics": TagFactory(kind=Tag.Kind.TECHNOLOGY, name="Robotics"),
    }


@pytest.fixture
def need(buyer, buyer_user, tags):
    """Published; details revealed only after an accepted introduction."""
    return NeedFactory(
        organisation=buyer,
        contact=buyer_user,
        title="Predict breakdowns of our freezing lines",
        summary="We want to know days ahead when a freezing line will fail.",
        description="CONFIDENTIAL-NEED: line 4 in Kerava stops twice a month; each stop costs €40,000.",
        users_affected="CONFIDENTIAL-USERS: night-shift maintenance technicians.",
        budget="CONFIDENTIAL-BUDGET: up to €120,000",
        visibility=Visibility.INTRODUCTION,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )


@pytest.fixture
def offer(supplier, supplier_user, tags):
    """Published; details revealed only after an accepted introduction."""
    return OfferFactory(
        organisation=supplier,
        contact=supplier_user,
        title="Vibration sensors that predict machine failures",
        summary="Wireless sensors and a model that warns of failures of rotating machines days ahead.",
        description="CONFIDENTIAL-OFFER: our model reaches 92 % recall on compressor bearings.",
        references="CONFIDENTIAL-REFERENCES: piloted at two dairies.",
        visibility=Visibility.INTRODUCTION,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )


@pytest.fixture
def accepted_introduction(need, offer, buyer, buyer_user, supplier, supplier_user, broker):
    """Requested by the buyer, brokered by the cluster, accepted by both firms."""
    introduction = introduction_services.request_introduction(
        need, offer, organisation=buyer, message="Could we meet?", acting_user=buyer_user
    )
    introduction = introduction_services.broker_introduction(
        introduction, nda_required=False, nda_text="", note="", acting_user=broker
    )
    for organisation, user in ((buyer, buyer_user), (supplier, supplier_user)):
        introduction = introduction_services.accept_introduction(
            introduction, organisation=organisation, nda_sha256="", acting_user=user
        )
    assert introduction.status == Introduction.Status.ACCEPTED
    return introduction


@pytest.fixture
def research(db):
    return OrganisationFactory(name="Tampere Research Centre", kind=Organisation.Kind.RESEARCH, country="FI")


@pytest.fixture
def research_user(research, accept_b2b):
    return accept_b2b(firm_user(research, "researcher@example.org", role=Role.RESEARCHER), research)


@pytest.fixture
def project(cluster, buyer, supplier, research):
    """A running project: the buyer, the supplier and a research organisation, followed by the cluster."""
    project = ProjectFactory(
        title="Freezing line pilot",
        broker=cluster,
        goals="GOALS-MARKER: a working prototype on line 4 by June.",
        confidentiality="Line data stays confidential.",
    )
    ProjectPartnerFactory(project=project, organisation=buyer, role=ProjectPartner.Role.BUYER)
    ProjectPartnerFactory(project=project, organisation=supplier, role=ProjectPartner.Role.SUPPLIER)
    ProjectPartnerFactory(project=project, organisation=research, role=ProjectPartner.Role.RESEARCH)
    return project


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(name="specification.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def directory(db):
    """Listed providers in three countries, and one hidden and one proposed that no firm may find."""
    return {
        "studio": ServiceProviderFactory(
            name="Atelier Kerné",
            slug="atelier-kerne",
            description="Industrial and service design for food machinery.",
            country="FR",
            region="Bretagne",
            languages="French, English",
            services=[Service.DESIGN, Service.DESIGN_CENTRE],
            contact_email="hello@kerne.example",
            curator_note="Worked with six members since 2021.",
        ),
        "patents": ServiceProviderFactory(
            name="Nordic Patent Partners",
            description="Patent searches and filings for SMEs.",
            country="FI",
            region="Uusimaa",
            languages="Finnish, Swedish, English",
            services=[Service.IPR],
            contact_email="ip@npp.example",
        ),
        "lab": ServiceProviderFactory(
            name="Bavarian Living Lab",
            slug="bavarian-living-lab",
            description="Market tests with panels of older adults at home.",
            country="DE",
            region="Bayern",
            languages="German, English",
            website="https://bll.example",
            services=[Service.LIVING_LAB, Service.TESTING],
            contact_email="tests@bll.example",
        ),
        "fund": ServiceProviderFactory(
            name="Breizh Amorçage",
            description="Seed financing and loans for hardware start-ups.",
            country="FR",
            region="Bretagne",
            services=[Service.FINANCING],
            contact_email="invest@amorcage.example",
        ),
        "hidden": ServiceProviderFactory(
            name="Hidden Design Bureau",
            slug="hidden-design-bureau",
            description="Design studio that no longer answers.",
            country="FR",
            region="Bretagne",
            services=[Service.DESIGN],
            status=ServiceProvider.Status.HIDDEN,
            contact_email="gone@hidden.example",
        ),
        "proposed": ServiceProviderFactory(
            name="Proposed Design Collective",
            slug="proposed-design-collective",
            description="Design collective proposed by a member.",
            country="FR",
            region="Bretagne",
            services=[Service.DESIGN],
            status=ServiceProvider.Status.PROPOSED,
            contact_email="new@proposed.example",
        ),
    }


CONFIDENTIAL_MARKERS = (
    "CONFIDENTIAL-NEED",
    "CONFIDENTIAL-USERS",
    "CONFIDENTIAL-BUDGET",
    "CONFIDENTIAL-OFFER",
    "CONFIDENTIAL-REFERENCES",
)
