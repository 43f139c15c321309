"""Crawl every page of the site as every persona: no page may fail with a server error, and nobody may
see a page they are not allowed to see.

The URLs are discovered by walking the project's URL resolver, so that a new page is crawled without
editing this file. What is crawled:

* every route outside the Wagtail admin: our own views, django-allauth's account and two-step pages,
  the public site (Wagtail's page server: the home page and the procurement notices), documents and
  language switching;
* in the Wagtail admin: every route of the admin viewsets whose model belongs to one of our apps
  (discovered from the views' ``model``), plus the admin's top pages (dashboard, page explorer, the
  home page's editor). Wagtail's own admin screens (images, workflows, reports, …) belong to Wagtail.

Path parameters are filled with ids of real objects created here, and with an id that does not exist.
Some texts of these objects may be read by some personas only (sealed bid content, a question waiting for
its answer, the people present at a meeting): every response, streamed ones included, is searched for them.
"""

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse, reverse_lazy
from django.urls.converters import IntConverter, SlugConverter, UUIDConverter
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from wagtail.models import Page

from cms.models import (
    B2BEventIndexPage,
    CallNoticePage,
    ChallengeNoticePage,
    HomePage,
    ProcurementIndexPage,
    ProviderDirectoryPage,
)
from livinglab import services
from livinglab.b2b.factories import NeedFactory, OfferFactory, TagFactory, TopicFactory
from livinglab.b2b.models import (
    Event,
    Introduction,
    IntroductionOutcome,
    ListingStatus,
    Match,
    Need,
    Offer,
    Project,
    ProjectDocument,
    ProjectPartner,
    Report,
    ServiceProvider,
    Tag,
    Visibility,
)
from livinglab.b2b.services import events as event_services
from livinglab.b2b.services import intelligence as intelligence_services
from livinglab.b2b.services import introductions as introduction_services
from livinglab.b2b.services import matching as matching_services
from livinglab.b2b.services import projects as project_services
from livinglab.b2b.services import providers as provider_services
from livinglab.factories import (
    GroundRulesFactory,
    GroundRulesVersionFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import (
    AuditEntry,
    Channel,
    ConsentDocumentVersion,
    ConsentRecord,
    EnterpriseGroup,
    GroundRules,
    GroundRulesVersion,
    Guardianship,
    Organisation,
    Role,
    VersionStatus,
)
from pilots.factories import CampaignFactory, PanelFactory
from pilots.models import (
    Answer,
    Booking,
    Campaign,
    CampaignKind,
    CampaignReview,
    DataExport,
    DigitalSkills,
    IdeaOwnership,
    Invitation,
    Method,
    Panel,
    PanelImport,
    PanelMembership,
    Participation,
    Question,
    ResultsFile,
    Screener,
)
from pilots.services import campaigns as campaign_services
from pilots.services import competitions as competition_services
from pilots.services import draws as draw_services
from pilots.services import enrolment as enrolment_services
from pilots.services import imports as import_services
from pilots.services import invitations as invitation_services
from pilots.services import panels as panel_services
from pilots.services import questionnaires as questionnaire_services
from pilots.services import results as results_services
from pilots.services import rights as rights_services
from pilots.services import sessions as session_services
from pilots.tokens import confirmation_token, invitation_token
from procurement.models import (
    AwardDecision,
    Bid,
    BidDocument,
    CallDocument,
    Clarification,
    Consortium,
    Contract,
    Interaction,
    Phase,
    Procurement,
)
from procurement.services import awards as award_services
from procurement.services import bids as bid_services
from procurement.services import calls as call_services
from procurement.services import clarifications as clarification_services
from procurement.services import conduct as conduct_services
from procurement.services import consortia as consortium_services
from procurement.services import consultation as consultation_services
from procurement.services import evaluation as evaluation_services
from tests.conftest import with_totp
from vouchers import services as voucher_services
from vouchers.factories import ProgrammeFactory, SolutionFactory
from vouchers.models import HouseholdType

PROJECT_APPS = {"livinglab", "cms", "pilots", "vouchers", "procurement"}
# The app labels of their models (for the admin's viewsets): the B2B channel's app lives in livinglab.b2b.
PROJECT_APP_LABELS = PROJECT_APPS | {"b2b"}
ADMIN_PREFIX = "/admin/"
# Wagtail admin pages that are not a viewset of ours but show our content: dashboard, page explorer,
# the explorer and the editor of our home page.
WAGTAIL_ADMIN_PAGES = {
    "wagtailadmin_home",
    "wagtailadmin_explore_root",
    "wagtailadmin_explore",
    "wagtailadmin_pages:edit",
}
SKIPPED = {
    "account_logout": "signs the crawling user out; the sign-out form is tested with allauth",
    "consent_withdraw": "POST-only (GET answers 405); withdrawal is tested in test_views.py",
}
MISSING_INT = 999_999
MISSING_TEXT = "no-such-thing"
MISSING_UUID = uuid.UUID("00000000-0000-4000-8000-000000000000")
FALLBACK_INTS = (1, 2, 3)
LOGIN_URL = reverse_lazy("account_login")

PERSONAS = ["anonymous", "participant", "sme_admin", "staff_user", "procurer", "funder", "superuser"]
ADMINS = {"staff_user", "superuser"}
# Admin screens of these models are for superusers only, not for cluster staff.
SUPERUSER_ONLY_MODELS = {"user"}

# What each admin view needs (Wagtail's generic views), and what our models allow in the admin.
ADMIN_VIEW_NEEDS = {
    "index": {"add", "change", "delete", "view"},
    "index_results": {"add", "change", "delete", "view"},
    "inspect": {"add", "change", "delete", "view"},
    "add": {"add"},
    "edit": {"change"},
    "delete": {"delete"},
    "history": {"add", "change", "delete"},
    "history_results": {"add", "change", "delete"},
    "usage": {"change"},
}
ADMIN_ACTIONS_ALLOWED = {
    "organisation": {"add", "change", "view"},
    "enterprisegroup": {"add", "change", "view"},
    "membership": {"add", "view", "delete"},
    "groundrules": {"add", "change", "view"},
    "groundrulesversion": {"add", "change", "view"},
    "consentpurpose": {"add", "change", "view"},
    "consentdocument": {"add", "change", "view"},
    "consentdocumentversion": {"add", "change", "view"},
    # Written only by services: nobody, not even a superuser, adds, edits or deletes them here.
    "groundrulesacceptance": {"view"},
    "consentrecord": {"view"},
    "auditentry": {"view"},
    # Bids are listed (who bid, when) for cluster staff and platform administrators; prices, once opened,
    # for administrators only.
    "bid": {"view"},
    # B2B reference data: staff keep the tags and topics tidy; nothing is deleted (listings refer to them).
    "tag": {"add", "change", "view"},
    "topic": {"add", "change", "view"},
}


# ------------------------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    pattern: str
    module: str
    params: tuple[tuple[str, object], ...]  # (name, converter or None for a regex group)
    positional: int  # number of unnamed regex groups
    model: type | None  # the model of an admin viewset's view

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith(ADMIN_PREFIX)

    @property
    def view_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]


def _params(pattern) -> tuple[list[tuple[str, object]], int]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters.items()), 0
    regex = pattern.regex
    return [(name, None) for name in regex.groupindex], regex.groups - len(regex.groupindex)


def walk(resolver, prefix="/", namespaces=(), params=(), positional=0):
    for entry in resolver.url_patterns:
        own, unnamed = _params(entry.pattern)
        text = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from walk(
                entry,
                text,
                (*namespaces, entry.namespace) if entry.namespace else namespaces,
                (*params, *own),
                positional + unnamed,
            )
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            model = getattr(callback, "view_initkwargs", {}).get("model") or getattr(
                getattr(callback, "view_class", None), "model", None
            )
            yield Route(
                name=":".join((*namespaces, entry.name)) if entry.name else "",
                pattern=text,
                module=getattr(callback, "__module__", "") or "",
                params=(*params, *own),
                positional=positional + unnamed,
                model=model if isinstance(model, type) else None,
            )


def our_admin_namespaces(routes) -> set[str]:
    return {
        r.name.rsplit(":", 1)[0]
        for r in routes
        if r.is_admin
        and ":" in r.name
        and r.model is not None
        and r.model._meta.app_label in PROJECT_APP_LABELS
    }


def discover() -> list[Route]:
    routes = list(walk(get_resolver()))
    ours = our_admin_namespaces(routes)
    selected = []
    for route in routes:
        if route.view_name in SKIPPED or route.name in SKIPPED:
            continue
        if not route.is_admin or route.name in WAGTAIL_ADMIN_PAGES or route.name.rsplit(":", 1)[0] in ours:
            selected.append(route)
    return selected


ROUTES = discover()


# --------------------------------------------------------------------------------------------- world


@dataclass
class World:
    users: dict = field(default_factory=dict)
    memberships: dict = field(default_factory=dict)  # persona → organisation slugs
    objects: dict = field(default_factory=dict)  # route name → [(object, owner persona or None)]
    # Routes whose parameters are not one object's id or slug (a panel's slug and a member's id, a signed
    # token, a receipt's reference): route name → [(kwargs, object, owner persona or None)].
    kwargs: dict = field(default_factory=dict)
    page_ids: list = field(default_factory=list)
    slugs: list = field(default_factory=list)
    secrets: list = field(default_factory=list)  # [Secret]: texts only some personas may read, anywhere
    cases: dict = field(default_factory=dict)  # (model, pk) → how the B2B world's personas see it


@pytest.fixture
def world(
    participant,
    sme_admin,
    staff_user,
    procurer,
    funder,
    sme,
    other_sme,
    cluster,
    authority,
    agency,
    platform_rules,
    consent_form,
    purposes,
    give,
    django_capture_on_commit_callbacks,
):
    superuser = with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True))
    neighbour = PersonFactory(user=UserFactory(email="neighbour@example.org")).user
    world = World(
        users={
            "participant": participant,
            "sme_admin": sme_admin,
            "staff_user": staff_user,
            "procurer": procurer,
            "funder": funder,
            "superuser": superuser,
        }
    )
    world.memberships = {
        "participant": set(),
        "sme_admin": {sme.slug},
        "staff_user": {cluster.slug},
        "procurer": {authority.slug},
        "funder": {agency.slug},
        "superuser": set(),
    }
    records = [
        (give(participant.person), "participant"),
        (give(sme_admin.person, "recording"), "sme_admin"),
        (give(neighbour.person), "neighbour"),
    ]
    acceptances = [
        (
            services.accept_ground_rules(platform_rules, organisation=None, acting_user=participant),
            "participant",
        ),
        (services.accept_ground_rules(platform_rules, organisation=sme, acting_user=sme_admin), "sme_admin"),
    ]
    vouchers = voucher_world(participant, sme_admin, staff_user, funder, sme, cluster, agency)
    # Mails, exports and the rest of what services leave for after the commit run as a worker would.
    with django_capture_on_commit_callbacks(execute=True):
        panels = panel_world(participant, staff_user, sme, cluster, consent_form, purposes, give)
        campaigns = campaign_world(
            participant, sme_admin, staff_user, sme, other_sme, cluster, consent_form, purposes
        )
    # Told over the past six weeks (it has a clock of its own); its mails and documents go out as it goes.
    procurement = procurement_world(
        procurer,
        sme_admin,
        staff_user,
        sme,
        other_sme,
        cluster,
        authority,
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        b2b = b2b_world(participant, sme_admin, staff_user, sme, cluster)
    assert DataExport.objects.get(person=participant.person).status == DataExport.Status.READY
    csv = ResultsFile.objects.select_related("campaign").get()
    assert csv.status == ResultsFile.Status.READY and results_services.is_current(csv, csv.campaign)
    # A replaced version of each document, so that the "replaced" pages are crawled as well.
    for old in (platform_rules, consent_form):
        parent = {"rules": old.rules} if isinstance(old, GroundRulesVersion) else {"document": old.document}
        draft = services.save_draft_version(
            type(old)(text="Revised text.", number=0, **parent), acting_user=staff_user
        )
        if isinstance(old, ConsentDocumentVersion):
            draft.purposes.set(old.purposes.all())
        services.publish_version(draft, acting_user=staff_user)
    services.withdraw_consent(records[2][0], channel="online", acting_user=neighbour)
    # Drafts (their admin edit forms), and a linked-enterprise group.
    services.save_draft_version(
        GroundRulesVersion(rules=platform_rules.rules, text="Draft.", number=0), acting_user=staff_user
    )
    draft = services.save_draft_version(
        ConsentDocumentVersion(document=consent_form.document, text="Draft.", number=0),
        acting_user=staff_user,
    )
    draft.purposes.set(consent_form.purposes.all())
    sme.group = services.save_reference_data(EnterpriseGroup(name="Breizh Holding"), acting_user=staff_user)
    services.save_reference_data(sme, acting_user=staff_user)
    world.objects = {
        "consent_receipt": records,
        "ground_rules_receipt": acceptances,
        "ground_rules_detail": [(v, None) for v in GroundRulesVersion.objects.all()],
        "consent_give": [(v, None) for v in ConsentDocumentVersion.objects.all()],
        "organisation_workspace": [(o, None) for o in Organisation.objects.all()],
        **vouchers,
        **panels.objects,
        **campaigns.objects,
        **procurement.objects,
        **b2b.objects,
        "wagtail_serve": procurement.objects["wagtail_serve"] + b2b.objects["wagtail_serve"],
    }
    world.kwargs = {**panels.kwargs, **campaigns.kwargs, **procurement.kwargs, **b2b.kwargs}
    world.secrets = procurement.secrets + b2b.secrets
    world.cases = b2b.cases
    # The audit trail's oldest and newest entries, as for any admin inspect view, and those that name the
    # procurement world's private texts (a question waiting for its answer, written input).
    entries = AuditEntry.objects.order_by("pk")
    private = entries.filter(
        action__in=["procurement.clarification.ask", "procurement.consultationinput.create"]
    )
    world.kwargs["audit:inspect"] = [
        ({"pk": entry.pk}, entry, None)
        for entry in dict.fromkeys([entries.first(), entries.last(), *private])
    ]
    world.page_ids = list(Page.objects.values_list("pk", flat=True))
    world.slugs = [
        *Organisation.objects.values_list("slug", flat=True),
        *Panel.objects.values_list("slug", flat=True),
        *Campaign.objects.values_list("slug", flat=True),
    ]
    assert GroundRulesVersion.objects.filter(status=VersionStatus.RETIRED).exists()
    people = [participant.person, sme_admin.person, neighbour.person]
    assert AuditEntry.objects.exists() and ConsentRecord.objects.filter(person__in=people).count() == 3
    return world


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def voucher_world(participant, sme_admin, staff_user, funder, sme, cluster, agency) -> dict:
    """A programme the cluster runs for the agency, walked through once: the participant applies and
    gets a voucher, the SME redeems it, the participant answers the feedback, the SME claims, the
    cluster checks, the agency approves and batches the payment. Returns the crawl's objects per route."""
    programme = ProgrammeFactory(title="Crawl vouchers", operator=cluster, funder=agency)
    solution = SolutionFactory(firm=sme, name="Crawl solution", price=Decimal("900.00"))
    enrolment = voucher_services.apply_for_enrolment(solution, programme, acting_user=sme_admin)
    voucher_services.decide_enrolment(enrolment, approve=True, acting_user=staff_user)
    application = voucher_services.apply_for_voucher(
        programme,
        participant.person,
        region="Bretagne",
        postcode="29200",
        household_type=HouseholdType.SINGLE,
        acting_user=participant,
    )
    voucher = application.voucher
    redemption = voucher_services.redeem_voucher(
        voucher.code,
        firm=sme,
        amount=voucher.face_value,
        idempotency_key="crawl-1",
        acting_user=sme_admin,
        solution=solution,
    )
    voucher_services.submit_feedback(
        voucher, satisfaction=4, recommend=8, solved_need=True, acting_user=participant
    )
    claim = voucher_services.submit_claim(
        programme,
        sme,
        redemptions=[redemption],
        invoice_number="CRAWL-1",
        invoice=SimpleUploadedFile("crawl.pdf", PDF, content_type="application/pdf"),
        iban="FR1420041010050500013M02606",
        account_holder=sme.name,
        acting_user=sme_admin,
    )
    voucher_services.check_claim(claim, acting_user=staff_user)
    voucher_services.decide_claim_line(claim.lines.get(), approve=True, acting_user=funder)
    batch = voucher_services.create_payment_batch(
        programme, debtor_name=agency.name, debtor_iban="FR7630006000011234567890189", acting_user=funder
    )
    return {
        "voucher_detail": [(voucher, "participant")],
        "voucher_pdf": [(voucher, "participant")],
        "voucher_feedback": [(voucher, "participant")],
        "voucher_application": [(application, "participant")],
        "firm_redemption": [(redemption, "sme_admin")],
        "firm_solution_edit": [(solution, "sme_admin")],
        "claim_detail": [(claim, "sme_admin")],
        "claim_invoice": [(claim, "sme_admin")],
        "payment_batch_detail": [(batch, None)],
        "payment_batch_csv": [(batch, None)],
        "payment_batch_sepa": [(batch, None)],
        **{
            name: [(programme, None)]
            for name in (
                "programme_dashboard",
                "programme_report_xlsx",
                "programme_report_pdf",
                "programme_applications",
                "programme_claims",
                "payment_batches",
                "voucher_apply",
            )
        },
    }


@dataclass
class Part:
    """The crawl's objects of one part of the site."""

    objects: dict  # as World.objects
    kwargs: dict  # as World.kwargs
    secrets: list = field(default_factory=list)  # as World.secrets
    cases: dict = field(default_factory=dict)  # as World.cases


CSV_HEADER = b"Name,E-mail,Year of birth,Region\n"


def panel_world(participant, staff_user, sme, cluster, consent_form, purposes, give) -> Part:
    """A panel the cluster runs, walked through once: the participant joins with a profile and an answer to
    the panel's own question, and is drawn with another member for a study the SME asked for; the
    invitations go out and the other member takes part. Then somebody waits to confirm, somebody enrolled
    on paper has a scanned consent form, two member lists are imported (one refused), a member is given an
    exception to the contact limits, the participant asks for a copy of their data, and a former member
    erases theirs. The participant is also the guardian of a child. Returns the crawl's objects per route."""
    participation = purposes["participation"]
    panel = PanelFactory(
        owner=cluster, name="Crawl panel", channel=Channel.B2C, consent_document=consent_form.document
    )
    pets = enrolment_services.define_attribute(
        panel,
        code="pets",
        label="Do you live with a pet?",
        kind="choice",
        options=["yes", "no"],
        acting_user=staff_user,
    )

    def join(person, user):
        give(person, acting_user=user)
        panel_services.save_profile(
            person,
            {
                "year_of_birth": person.birth_date.year,
                "region": "Bretagne",
                "postcode_area": "29",
                "languages": ["fr"],
                "household_type": HouseholdType.SINGLE,
                "digital_skills": DigitalSkills.EVERYDAY,
                "devices": ["smartphone"],
                "shared_attributes": ["age_band", "region"],
            },
            acting_user=user,
        )
        membership, _created = panel_services.add_member(
            panel, person, source=PanelMembership.Source.SELF, acting_user=user, confirmed=True
        )
        enrolment_services.save_answers(membership, {"pets": "yes"}, acting_user=user)
        return membership

    mine = join(participant.person, participant)
    other_user = UserFactory(email="yann@example.org")
    other = join(PersonFactory(user=other_user, full_name="Yann Le Bihan"), other_user)
    ward = PersonFactory(user=None, full_name="Lou", birth_date=date(timezone.localdate().year - 9, 6, 1))
    services.add_guardian(
        ward,
        guardian=participant.person,
        relationship=Guardianship.Relationship.PARENT,
        acting_user=participant,
    )

    # A screener, and a draw of both active members (everyone eligible: the seed decides only the order).
    screener = Screener(
        panel=panel,
        name="French speakers",
        conditions={"all": [{"attribute": "languages", "operator": "any_of", "value": ["fr"]}]},
    )
    panel_services.save_screener(screener, acting_user=staff_user)
    draw = draw_services.draw_sample(
        panel,
        draw_services.Spec(
            conditions=screener.conditions, strata=[], quotas=[], size=2, purposes=[participation]
        ),
        title="Smart thermostat at home",
        involves="Two weeks with a thermostat, then a 30-minute interview.",
        seed=20240601,
        requested_by=sme,
        screener=screener,
        acting_user=staff_user,
    )
    invitation_services.send_invitations(draw, acting_user=staff_user)
    invitation = Invitation.objects.get(selection__draw=draw, person=participant.person)
    accepted = Invitation.objects.get(selection__draw=draw, person=other.person)
    invitation_services.answer_invitation(accepted, True, acting_user=other_user)
    invitation_services.record_participation(
        accepted, Participation.Outcome.TOOK_PART, acting_user=staff_user
    )
    override = draw_services.grant_override(
        other, reason="Speaks Breton, rare in the panel.", acting_user=staff_user
    )

    # Somebody who still has to confirm by e-mail, and somebody enrolled with a signed paper form.
    pending, _created = panel_services.add_member(
        panel,
        PersonFactory(user=UserFactory(email="pending@example.org")),
        source=PanelMembership.Source.STAFF,
        acting_user=staff_user,
        confirmed=False,
    )
    on_paper, _created = enrolment_services.enrol_participant(
        panel,
        full_name="Maïwenn Kerjean",
        profile={
            "year_of_birth": 1948,
            "region": "Bretagne",
            "preferred_contact": "phone",
            "phone": "0298000001",
        },
        answers={},
        consent_route=enrolment_services.ConsentRoute.PAPER,
        purposes=[participation],
        scan=SimpleUploadedFile("consent.pdf", PDF, content_type="application/pdf"),
        recruited_by=None,
        submission_key="crawl-paper",
        acting_user=staff_user,
    )
    scanned = ConsentRecord.objects.get(person=on_paper.person)

    # Two member lists: one imported, one refused for a bad e-mail address.
    def import_list(name, row):
        upload = SimpleUploadedFile(name, CSV_HEADER + row, content_type="text/csv")
        uploaded = import_services.upload_import(panel, upload, acting_user=staff_user)
        import_services.map_import(uploaded, uploaded.mapping["targets"], acting_user=staff_user)
        return import_services.run_import(uploaded.pk)

    imported = import_list("cafe.csv", b"Anne Le Goff,anne@example.org,1948,Bretagne\n")
    refused = import_list("market.csv", b"Jean Martin,jean-at-example.org,1951,Bretagne\n")
    assert (imported.status, refused.status) == (PanelImport.Status.IMPORTED, PanelImport.Status.INVALID)

    # The participant's copy of their data; a former member's erasure (its receipt is public by reference).
    export = rights_services.request_data_export(participant.person, acting_user=participant)
    leaver_user = UserFactory(email="leaver@example.org")
    leaver = join(PersonFactory(user=leaver_user, full_name="Gwen Leaver"), leaver_user).person
    receipt = rights_services.erase_person(
        leaver, acting_user=leaver_user, requested_by=rights_services.RequestedBy.PERSON
    )
    assert {s.membership_id for s in draw.selections.all()} == {mine.pk, other.pk}

    reference = {"reference": receipt.reference}

    def in_panel(*objs):
        return [({"slug": panel.slug, "pk": obj.pk}, obj, None) for obj in objs]

    own = "participant"
    objects = {
        **{
            f"pilots:{name}": [(panel, None)]
            for name in (
                "join_panel",
                "enrol_participant",
                "recruit_counts",
                "panel_attributes",
                "attribute_add",
                "import_list",
                "import_new",
                "panel_detail",
                "panel_edit",
                "member_list",
                "screener_list",
                "screener_new",
                "draw_list",
                "draw_new",
            )
        },
        **{
            f"pilots:{name}": [(draw, None)]
            for name in (
                "draw_detail",
                "draw_cancel",
                "draw_invitations",
                "send_invitations",
                "draw_participants",
            )
        },
        "pilots:record_consent": [(pending, None), (mine, None)],
        "pilots:consent_scan": [(scanned, None)],
        "pilots:my_invitation": [(invitation, own)],
        "pilots:record_participation": [(accepted, None)],
        "pilots:change_my_membership": [(mine, own)],
        "pilots:my_export": [(export, own)],
        "pilots:download_my_export": [(export, own)],
        **{
            f"pilots:{name}": [(participant.person, own), (ward, own)]
            for name in (
                "edit_ward_profile",
                "my_data_for",
                "pause_panels_for",
                "contact_preferences_for",
                "request_export_for",
                "erase_for",
            )
        },
    }
    kwargs = {
        "pilots:member_detail": in_panel(mine, pending, on_paper),
        "pilots:member_status": in_panel(mine),
        "pilots:member_override": in_panel(other),
        "pilots:screener_edit": in_panel(screener),
        "pilots:attribute_edit": in_panel(pets),
        "pilots:attribute_delete": in_panel(pets),
        "pilots:import_detail": in_panel(imported, refused),
        "pilots:import_progress": in_panel(imported, refused),
        # Only a refused list has a problem report and can be mapped again; an imported one redirects.
        "pilots:import_mapping": in_panel(refused),
        "pilots:import_errors": in_panel(refused),
        "pilots:import_errors_csv": in_panel(refused),
        "pilots:confirm_membership": [({"token": confirmation_token(pending)}, pending, None)],
        "pilots:invitation_answer": [({"token": invitation_token(invitation)}, invitation, None)],
        "pilots:erasure_receipt": [(reference, receipt, None)],
        "pilots:erasure_receipt_pdf": [(reference, receipt, None)],
    }
    assert override.used_by is None  # open: the member's page shows it
    return Part(objects=objects, kwargs=kwargs)


ALL_TICKED = dict.fromkeys(CampaignReview.CHECKLIST, True)


def campaign_world(
    participant, sme_admin, staff_user, sme, other_sme, cluster, consent_form, purposes
) -> Part:
    """Test campaigns the cluster hosts for the SME, walked through once. A usability test is requested,
    reviewed, approved and recruits the participant from a panel of its own; the participant accepts the
    invitation and the terms, books a session and answers a questionnaire with a free-text comment, which
    staff tag; a CSV of the answers is made. An idea competition is fast-tracked, the participant takes part
    and submits an idea, and the cluster's coordinator sits on the jury. A joint survey for two firms is
    still a draft, and another request waits for review. Returns the crawl's objects per route."""
    panel = PanelFactory(
        owner=cluster,
        name="Crawl campaign panel",
        channel=Channel.B2C,
        consent_document=consent_form.document,
    )
    panel_services.add_member(
        panel, participant.person, source=PanelMembership.Source.SELF, acting_user=participant, confirmed=True
    )

    def request(title, **fields):
        draft = CampaignFactory.build(
            lab=cluster, requested_by=sme, panel=panel, title=title, slug="", target_participants=1, **fields
        )
        return campaign_services.save_campaign(
            draft, required_purposes=[purposes["participation"]], acting_user=sme_admin
        )

    def recruit(campaign):
        """Draw the participant, who accepts the invitation and the campaign's terms; the campaign runs."""
        draw = campaign_services.start_recruiting(campaign, acting_user=staff_user, seed=20240601)
        invitation_services.send_invitations(draw, acting_user=staff_user)
        invitation = Invitation.objects.get(selection__draw=draw, person=participant.person)
        invitation_services.answer_invitation(invitation, True, acting_user=participant)
        campaign_services.accept_campaign_terms(campaign, participant.person, False, acting_user=participant)
        return campaign_services.start_running(campaign, acting_user=staff_user)

    # The usability test: reviewed, then running with a session, questionnaires and results.
    test = request("Crawl usability test")
    campaign_services.submit_campaign(test, acting_user=sme_admin)
    assert campaign_services.start_review(test, acting_user=staff_user)
    campaign_services.decide_review(test, "approve", ALL_TICKED, "", acting_user=staff_user)
    recruit(test)
    starts_at = timezone.now() + timezone.timedelta(days=7)
    session = session_services.save_session(
        test,
        title="Morning test",
        starts_at=starts_at,
        ends_at=starts_at + timezone.timedelta(minutes=90),
        capacity=6,
        place="Living lab, 2 rue de la Chalotais, Rennes",
        acting_user=staff_user,
    )
    booking = session_services.book_session(session, participant.person, acting_user=participant)

    def questionnaire(title):
        made = questionnaire_services.create_questionnaire(test, title, ["en"], acting_user=staff_user)
        questionnaire_services.replace_definition(
            made,
            {
                "version": 1,
                "languages": ["en"],
                "title": {"en": title},
                "introduction": {},
                "questions": [
                    {"key": "ease", "kind": "likert5", "text": {"en": "The app was easy to use."}},
                    {"key": "why", "kind": "text", "text": {"en": "What would you change?"}},
                ],
            },
            acting_user=staff_user,
        )
        return made

    answered = questionnaire_services.open_questionnaire(
        questionnaire("After the test"), acting_user=staff_user
    )
    unanswered = questionnaire_services.open_questionnaire(
        questionnaire("A week later"), acting_user=staff_user
    )
    draft_questionnaire = questionnaire("Not written yet")
    response = questionnaire_services.start_response(answered, participant.person, acting_user=participant)
    questionnaire_services.save_answers(
        response, 1, {"ease": 4, "why": "Bigger buttons."}, acting_user=participant, advance=True
    )
    questionnaire_services.submit_response(response, acting_user=participant)
    comment = Answer.objects.get(response=response, question__key="why")
    tag = results_services.tag_answer(comment, "buttons", acting_user=staff_user)
    results_services.save_findings(
        test, "Buttons are too small.", "Make them bigger.", acting_user=staff_user
    )
    csv = results_services.request_results_file(
        test, ResultsFile.Kind.CSV, for_firm=None, acting_user=staff_user
    )

    # The idea competition: no review needed, fast-tracked; the coordinator is the jury.
    contest = request(
        "Crawl idea competition", kind=CampaignKind.COMPETITION, idea_ownership=IdeaOwnership.PARTICIPANT
    )
    campaign_services.submit_campaign(contest, acting_user=sme_admin)
    campaign_services.fast_track_campaign(contest, acting_user=staff_user)
    recruit(contest)
    competition = competition_services.set_up_competition(
        contest,
        "How could older people keep in touch with their family?",
        timezone.now() + timezone.timedelta(days=14),
        1,
        prize_description="A tablet.",
        acting_user=staff_user,
    )
    criterion = competition_services.save_criterion(
        competition, "Originality", Decimal("1"), 5, acting_user=staff_user
    )
    competition_services.set_jury(competition, [staff_user], acting_user=staff_user)
    idea = competition_services.submit_idea(
        competition,
        participant.person,
        "Photo frame",
        "A frame that shows new photos.",
        acting_user=participant,
    )

    # A joint survey in draft, for the SME and another firm; and a request waiting for review.
    survey = request("Crawl joint survey", kind=CampaignKind.JOINT_SURVEY, methods=[Method.SURVEY])
    competition_services.add_survey_partner(survey, other_sme, acting_user=staff_user)
    waiting = request("Crawl request in review")
    campaign_services.submit_campaign(waiting, acting_user=sme_admin)

    assert booking.status == Booking.Status.BOOKED and idea.code

    def on(campaign, *objs):
        return [({"slug": campaign.slug, "pk": obj.pk}, obj, None) for obj in objs]

    own = "participant"
    objects = {
        **{
            f"campaigns:{name}": [(c, None) for c in (test, contest, survey, waiting)]
            for name in ("campaign_detail", "campaign_submit", "campaign_move")
        },
        "campaigns:campaign_edit": [(survey, None)],
        "campaigns:campaign_review": [(waiting, None), (test, None)],
        "campaigns:campaign_take_part": [(test, own), (contest, own)],
        **{
            f"campaigns:{name}": [(test, None)]
            for name in (
                "session_list",
                "session_create",
                "session_book",
                "questionnaires",
                "results",
                "results_answers",
                "results_files",
                "results_findings",
            )
        },
        "campaigns:booking_cancel": [(booking, own)],
        "campaigns:booking_attendance": [(booking, None)],
        "campaigns:booking_calendar": [(booking, own)],
        "campaigns:questionnaire_answer": [(answered, own), (unanswered, own)],
        **{
            f"campaigns:{name}": [(contest, None)]
            for name in (
                "competition_setup",
                "criterion_add",
                "competition_jury",
                "competition_start_judging",
                "competition_announce",
                "competition_results",
                "competition_ideas",
                "jury_ideas",
            )
        },
        "campaigns:survey_partners": [(survey, None)],
    }
    questions = [
        ({"slug": test.slug, "pk": q.questionnaire_id, "question_pk": q.pk}, q, None)
        for q in Question.objects.filter(questionnaire__in=[answered, draft_questionnaire]).order_by("pk")
    ]
    kwargs = {
        **{
            f"campaigns:{name}": on(test, session)
            for name in ("session_detail", "session_edit", "session_cancel", "session_book_place")
        },
        **{
            f"campaigns:{name}": on(test, answered, unanswered, draft_questionnaire)
            for name in (
                "questionnaire_builder",
                "questionnaire_export",
                "questionnaire_import",
                "questionnaire_preview",
                "questionnaire_open",
                "questionnaire_close",
            )
        },
        **{f"campaigns:{name}": questions for name in ("question_edit", "question_move", "question_delete")},
        "campaigns:results_tag_answer": on(test, comment),
        "campaigns:results_untag_answer": [({"slug": test.slug, "pk": comment.pk, "tag": tag.pk}, tag, None)],
        **{
            f"campaigns:{name}": on(test, csv)
            for name in ("results_file", "results_file_progress", "results_file_download")
        },
        **{f"campaigns:{name}": on(contest, criterion) for name in ("criterion_edit", "criterion_delete")},
        "campaigns:idea_withdraw": [({"slug": contest.slug, "pk": idea.pk}, idea, own)],
        "campaigns:idea_score": on(contest, idea),
        "campaigns:survey_partner_remove": on(survey, other_sme),
    }
    return Part(objects=objects, kwargs=kwargs)


@dataclass(frozen=True)
class Secret:
    """A text only ``readers`` may read, on whatever page of the site it could appear; ``shown`` names the
    pages (URL → personas) where those readers must find it, so that the check cannot pass by showing
    nothing at all."""

    text: str
    readers: frozenset
    shown: dict = field(default_factory=dict, hash=False)


class Clock:
    """``django.utils.timezone.now`` moved to each step of a story told over the past weeks, so that the
    services enforce deadlines, the seal of the bids and the standstill period as they do in real use."""

    def __init__(self):
        self.real_now = timezone.now()
        self.moment = self.real_now

    def at(self, days_ago: float) -> datetime:
        """A moment ``days_ago`` days before the story ends (negative: after it)."""
        return self.real_now - timedelta(days=days_ago)

    def go(self, days_ago: float) -> datetime:
        self.moment = self.at(days_ago)
        return self.moment

    @contextmanager
    def running(self):
        with mock.patch.object(timezone, "now", lambda: self.moment):
            yield self


def upload(name: str, marker: str) -> SimpleUploadedFile:
    """A small PDF carrying ``marker`` as a comment, so that the crawl can tell where its bytes are served."""
    return SimpleUploadedFile(name, PDF + f"% {marker}\n".encode(), content_type="application/pdf")


def procurement_world(procurer, sme_admin, staff_user, sme, other_sme, cluster, authority, capture) -> Part:
    """A pre-commercial procurement of the authority, with the cluster as intermediary, walked through
    over six weeks. A market consultation: the SME and a rival firm register and come to the information
    day, the SME sends written input (with an attachment) and a message, the cluster records a meeting, the
    procurer declares a refused dinner, and the summary is published. Then the call: partner posts; the
    SME's consortium (with a research partner), the rival's, and one the cluster proposes; a question
    answered to all and a rival's question still waiting; both consortia bid with a document. After the
    deadline the evaluator (the panel's chair) declares no conflict, scores and records the consensus; the
    procurer awards phase 1 to the SME's consortium, the award becomes final, the contract is signed and
    its first milestone delivered. Phase 2 is open: the SME's consortium has bid (sealed until the
    deadline) and asked a question. The authority also drafts a second procurement, and the public index
    lists notices of both (the draft's is not served). Returns the crawl's objects per route and the texts
    only some personas may read."""
    clock = Clock()

    def member(organisation, role, email):
        return MembershipFactory(organisation=organisation, role=role, user=UserFactory(email=email)).user

    with clock.running(), capture(execute=True):
        clock.go(42)
        GroundRulesVersionFactory(
            rules=GroundRulesFactory(
                title="Ground rules for public procurement contacts",
                scope_kind=GroundRules.ScopeKind.CHANNEL,
                channel=Channel.B2G,
            )
        )
        rival = member(other_sme, Role.FIRM_ADMIN, "crawl-rival@example.org")
        research = OrganisationFactory(name="Crawl Care Research", kind=Organisation.Kind.RESEARCH)
        researcher = member(research, Role.RESEARCHER, "crawl-researcher@example.org")
        renovator = OrganisationFactory(name="Crawl Home Renovation", kind=Organisation.Kind.SME)
        evaluator = with_totp(member(authority, Role.EVALUATOR, "crawl-evaluator@example.org"))

        call = call_services.create_procurement(
            buyer=authority,
            title="Crawl: living at home longer",
            challenge="Older people want to live at home longer, safely and with dignity.",
            needs="Notice falls at night without cameras; fit into the home-care nurses' visits.",
            expected_outcome="Nurses act before a crisis, tested with 200 households.",
            budget=Decimal("1500000"),
            time_zone="Europe/Helsinki",
            intermediaries=[cluster],
            acting_user=procurer,
        )
        phases = {phase.number: phase for phase in call.phases.all()}
        for phase in phases.values():
            for position, (name, weight, threshold, is_price) in enumerate(
                (("Quality of the solution", 60, 5, False), ("Price", 40, 0, True))
            ):
                call_services.save_criterion(
                    phase,
                    {
                        "name": name,
                        "description": "How well the bid answers the challenge.",
                        "weight": Decimal(weight),
                        "threshold": Decimal(threshold),
                        "is_price": is_price,
                        "position": position,
                    },
                    acting_user=procurer,
                )
        for user, organisation in (
            (procurer, authority),
            (evaluator, authority),
            (staff_user, cluster),
            (sme_admin, sme),
            (rival, other_sme),
            (researcher, research),
        ):
            for version in services.pending_ground_rules(user, call, organisation=organisation):
                services.accept_ground_rules(
                    version, organisation=organisation, acting_user=user, shown_sha256=version.text_sha256
                )

        # The open market consultation.
        call = consultation_services.open_consultation(call, closes_at=clock.at(34), acting_user=procurer)
        clock.go(41)
        for organisation, user in ((sme, sme_admin), (other_sme, rival)):
            consultation_services.register_interest(call, organisation, "consultation", acting_user=user)
        event = consultation_services.add_consultation_event(
            call,
            {
                "title": "Information day at the city hall",
                "starts_at": clock.at(38),
                "ends_at": clock.at(38) + timedelta(hours=3),
                "place": "Espoo city hall, council room",
            },
            acting_user=procurer,
        )
        clock.go(37)
        consultation_services.record_event_attendance(event, [sme, other_sme], acting_user=procurer)
        contribution = consultation_services.submit_consultation_input(
            call,
            sme,
            subject=f"Most falls happen at night [{INPUT_SUBJECT}]",
            text=f"Two falls in three happen when no nurse visits. [{INPUT}]",
            document=upload("trials.pdf", INPUT_DOCUMENT),
            acting_user=sme_admin,
        )
        conduct_services.send_message(
            call,
            sme,
            authority,
            "Broadband at home",
            f"Do all home-care clients have a broadband connection? [{MESSAGE}]",
            acting_user=sme_admin,
        )
        conduct_services.record_interaction(
            call,
            cluster,
            Interaction.Kind.MEETING,
            clock.at(37) - timedelta(hours=2),
            "Making the call accessible to small firms",
            "The cluster asked for a first phase small enough for SMEs; no firm's plans were discussed.",
            PRESENT,
            [sme],
            on_behalf_of=cluster,
            acting_user=staff_user,
        )
        conduct_services.declare_gift(
            call,
            other_sme,
            "A dinner invitation after the information day.",
            Decimal("80"),
            clock.at(38).date(),
            "refused",
            acting_user=procurer,
        )
        clock.go(33)
        consultation_services.mark_input_used(contribution, True, acting_user=procurer)
        call = consultation_services.publish_consultation_summary(
            call,
            "Two firms took part: most falls happen at night; cameras are not acceptable.",
            acting_user=procurer,
        )

        # The call: phase 1 open for questions and bids.
        call = call_services.update_procurement(
            call, {"specifications": "Detect falls at night without cameras."}, acting_user=procurer
        )
        call_services.save_phase(
            phases[1], {"question_deadline": clock.at(25), "bid_deadline": clock.at(22)}, acting_user=procurer
        )
        clock.go(32)
        call = call_services.publish_call(call, acting_user=procurer)
        phase1 = Phase.objects.get(pk=phases[1].pk)
        clock.go(31)
        for organisation, user in ((sme, sme_admin), (other_sme, rival), (research, researcher)):
            consultation_services.register_interest(call, organisation, "call", acting_user=user)
        consortium_services.post_partner_search(
            call,
            sme,
            kind="capability",
            title="Night-time fall detection",
            text="Radar sensors that see falls without cameras.",
            acting_user=sme_admin,
        )
        consortium_services.post_partner_search(
            call,
            other_sme,
            kind="need",
            title="Looking for a care research partner",
            text="We build the app; we look for a partner who evaluates with nurses.",
            acting_user=rival,
        )
        home_sense = consortium_services.form_consortium(
            call,
            sme,
            name="Crawl HomeSense",
            agreement_text="Breizh Sensors leads; each partner keeps the IPR of its own results.",
            acting_user=sme_admin,
        )
        invitation = consortium_services.invite_partner(
            home_sense, research, contribution="Evaluation with nurses.", acting_user=sme_admin
        )
        consortium_services.answer_invitation(invitation, accept=True, acting_user=researcher)
        loire = consortium_services.form_consortium(
            call,
            other_sme,
            name="Crawl Loire Care",
            agreement_text="Loire Mobile bids alone and keeps the IPR of its results.",
            acting_user=rival,
        )
        proposal = consortium_services.propose_consortium(
            call,
            cluster=cluster,
            name="Crawl Warm Home",
            lead=renovator,
            partners=[],
            agreement_text="Crawl Home Renovation leads and installs sensors during renovations.",
            acting_user=staff_user,
        )
        clock.go(28)
        asked = clarification_services.ask_clarification(
            phase1, sme, "May we reuse the alarm buttons our devices already equip?", acting_user=sme_admin
        )
        clarification_services.answer_clarification(
            asked,
            "May a solution rely on the alarm buttons clients already have?",
            "Yes, but it must also work for clients who have none.",
            acting_user=procurer,
        )
        clarification_services.ask_clarification(
            phase1, other_sme, f"Which firms came to the workshop? [{RIVAL_QUESTION}]", acting_user=rival
        )
        clock.go(26)
        chair = evaluation_services.assign_evaluator(phase1, evaluator, "chair", acting_user=procurer)

        def bid(phase, consortium, user, summary, document, price):
            draft = bid_services.save_bid_draft(
                phase,
                consortium,
                summary=f"{summary} [{summary_marker(document)}]",
                price=Decimal(price),
                answers={str(c.pk): "Designed with three nurse teams." for c in phase.criteria.all()},
                documents=[upload("design.pdf", document)],
                acting_user=user,
            )
            return bid_services.submit_bid(draft, acting_user=user)

        clock.go(24)
        ours = bid(phase1, home_sense, sme_admin, "Radar sensors detect falls.", SEALED["ours-1"], "91234.56")
        theirs = bid(
            phase1, loire, rival, "A phone app asks how people are.", SEALED["theirs-1"], RIVAL_PRICE
        )

        # After the deadline: the evaluation and the award.
        clock.go(21)
        assert bid_services.close_phase_for_bids(phase1)
        clock.go(20)
        criteria = list(phase1.criteria.order_by("position"))
        agreed = {ours: (8, 7), theirs: (3, 9)}  # the rival is under the quality threshold (5)
        for one in agreed:
            evaluation_services.declare_conflict(chair, one, has_conflict=False, acting_user=evaluator)
            for criterion, score in zip(criteria, agreed[one], strict=True):
                evaluation_services.score_bid(
                    chair, one, criterion, score, "As agreed.", acting_user=evaluator
                )
        clock.go(19)
        for one in agreed:
            for criterion, score in zip(criteria, agreed[one], strict=True):
                evaluation_services.record_consensus(one, criterion, score, "Agreed.", acting_user=evaluator)
        clock.go(18)
        decision = award_services.decide_award(
            phase1,
            "HomeSense passes every threshold; Loire Care is under the quality threshold.",
            acting_user=procurer,
        )
        clock.go(7)
        award_services.finalise_award(decision, acting_user=procurer)
        contract = award_services.sign_contract(Contract.objects.get(phase=phase1), acting_user=procurer)
        clock.go(6)
        award_services.record_milestone(
            contract.milestones.order_by("due_on", "pk").first(), "delivered", acting_user=procurer
        )

        # Phase 2, open for bids from the contractors of phase 1.
        clock.go(5)
        phase2 = call_services.open_next_phase(
            phases[2], question_deadline=clock.at(-5), bid_deadline=clock.at(-7), acting_user=procurer
        )
        second_chair = evaluation_services.assign_evaluator(phase2, evaluator, "chair", acting_user=procurer)
        clock.go(3)
        sealed = bid(phase2, home_sense, sme_admin, "Ten working prototypes.", SEALED["ours-2"], SEALED_PRICE)
        clock.go(2)
        clarification_services.ask_clarification(
            phase2, sme, "Do lab tests include residents with memory problems?", acting_user=sme_admin
        )
        conduct_services.record_interaction(
            call,
            authority,
            Interaction.Kind.OTHER,
            clock.at(2) - timedelta(hours=3),
            "Chance meeting at a trade fair",
            "The procurer said that the call cannot be discussed while phase 2 is open.",
            "",
            [sme],
            acting_user=procurer,
        )

        # A second procurement, still a draft.
        draft = call_services.create_procurement(
            buyer=authority,
            title="Crawl: digital companion against loneliness",
            challenge="A third of residents over 80 feel lonely most days.",
            needs="Keep older people in touch with people around them.",
            expected_outcome="Fewer residents who feel lonely.",
            budget=Decimal("900000"),
            acting_user=procurer,
        )
        draft_phase = draft.phases.get(number=1)
        criterion = call_services.save_criterion(
            draft_phase,
            {"name": "Quality", "weight": Decimal("100"), "threshold": Decimal("0"), "is_price": False},
            acting_user=procurer,
        )
        clock.go(0)

    # The public index of notices, under the home page.
    index = ProcurementIndexPage(title="Crawl: public procurement of innovation", slug="crawl-procurement")
    HomePage.objects.get().add_child(instance=index)
    index.save_revision().publish()
    notices = [
        ChallengeNoticePage(
            title="Challenge: living at home longer", slug="crawl-challenge", procurement=call
        ),
        CallNoticePage(title="Call: living at home longer", slug="crawl-call", procurement=call),
        ChallengeNoticePage(
            title="Challenge: loneliness (draft)", slug="crawl-draft-challenge", procurement=draft
        ),
    ]
    for notice in notices:
        index.add_child(instance=notice)
        notice.save_revision().publish()

    call, draft = Procurement.objects.get(pk=call.pk), Procurement.objects.get(pk=draft.pk)
    phase1, phase2 = Phase.objects.get(pk=phase1.pk), Phase.objects.get(pk=phase2.pk)
    documents = list(CallDocument.objects.filter(procurement=call).order_by("pk"))
    documents_of = {
        ours: BidDocument.objects.get(bid=ours),
        theirs: BidDocument.objects.get(bid=theirs),
        # Sealed: only its own consortium reads it before the deadline.
        sealed: BidDocument.objects.of_own_bid(sealed, sme).get(),
    }
    assert {d.kind for d in documents} >= {"call", "consultation_notice", "consultation_summary"}
    assert (phase1.status, phase2.status, call.status) == (Phase.Status.AWARDED, Phase.Status.OPEN, "call")
    assert AwardDecision.objects.get(phase=phase1).status == AwardDecision.Status.FINAL
    assert phase2.is_sealed() and not phase1.is_sealed() and not BidDocument.objects.filter(bid=sealed)
    assert contract.award.bid == ours and not Contract.objects.filter(award__bid=theirs).exists()
    assert Clarification.objects.filter(phase__procurement=call, status="asked").count() == 2
    assert Consortium.objects.get(pk=proposal.pk).status == Consortium.Status.PROPOSED

    own = "sme_admin"

    def on(phase_list):
        return [({"slug": p.procurement.slug, "number": p.number}, p, None) for p in phase_list]

    def in_call(procurement, obj, owner=None):
        return [({"slug": procurement.slug, "pk": obj.pk}, obj, owner)]

    bids = [(ours, own), (theirs, None), (sealed, own)]
    objects = {
        **{
            f"procurement:{name}": [(call, None), (draft, None)]
            for name in ("detail", "consultation", "call_pdf")
        },
        **{
            f"procurement:{name}": [(call, None)]
            for name in (
                "clarifications",
                "messages",
                "register",
                "register_summary",
                "register_csv",
                "gifts_csv",
                "record_interaction",
                "declare_gift",
                "partners",
                "consortia",
                "cancel",
                "register_interest",
                "event_add",
                "input_submit",
                "summary_publish",
            )
        },
        # A draft's pages: a published call is no longer edited.
        **{
            f"procurement:{name}": [(draft, None)]
            for name in ("edit", "publish", "phase_add", "consultation_open")
        },
        "procurement:document": [(document, None) for document in documents],
        "procurement:consortium": [(home_sense, own), (loire, None), (proposal, None)],
        **{f"procurement:{name}": bids for name in ("bid_detail", "bid_receipt", "evaluate_bid")},
        "procurement:evaluation_bids": [(chair, None), (second_chair, None)],
        "procurement:contract": [(contract, own)],
        "wagtail_serve": [(index, None), *((notice, None) for notice in notices)],
    }
    kwargs = {
        **{
            f"procurement:{name}": [({"ocid": p.ocid}, p, None) for p in (call, phase1, phase2, draft)]
            for name in ("ocds_releases", "ocds_record")
        },
        **{f"procurement:{name}": on([phase1, phase2]) for name in ("bid", "evaluation", "award")},
        **{
            f"procurement:{name}": on([draft_phase])
            for name in ("phase_edit", "phase_remove", "criterion_add")
        },
        "procurement:phase_open": on([call.phases.get(number=3)]),
        "procurement:criterion_edit": [
            ({"slug": draft.slug, "number": draft_phase.number, "pk": criterion.pk}, criterion, None)
        ],
        "procurement:event_attendance": in_call(call, event),
        **{
            f"procurement:{name}": in_call(call, contribution, own)
            for name in ("input_used", "input_document")
        },
        "procurement:bid_document": [
            ({"pk": one.pk, "document_pk": documents_of[one].pk}, documents_of[one], owner)
            for one, owner in bids
        ],
        "procurement:evaluation_document": [
            ({"pk": one.pk, "document": documents_of[one].pk}, documents_of[one], owner)
            for one, owner in bids
        ],
    }

    def url(name, **kw):
        return reverse(f"procurement:{name}", kwargs=kw)

    def pages_of(one):
        document = documents_of[one]
        return (
            url("bid_detail", pk=one.pk),
            url("evaluate_bid", pk=one.pk),
            url("bid_document", pk=one.pk, document_pk=document.pk),
            url("evaluation_document", pk=one.pk, document=document.pk),
        )

    def readers(names: str) -> frozenset:
        return frozenset(names.split())

    detail, evaluated, download, evaluation_download = pages_of(ours)
    secrets = [
        # Bid content, once the deadline has passed: the consortium, the procurer and platform administrators
        # (and the evaluators without conflict); not the intermediary cluster, not rival firms.
        Secret(
            summary_marker(SEALED["ours-1"]),
            readers("sme_admin procurer superuser"),
            {detail: readers("sme_admin procurer superuser"), evaluated: readers("procurer superuser")},
        ),
        Secret(
            SEALED["ours-1"],
            readers("sme_admin procurer superuser"),
            {
                download: readers("sme_admin procurer superuser"),
                evaluation_download: readers("procurer superuser"),
            },
        ),
    ]
    detail, evaluated, download, evaluation_download = pages_of(theirs)
    secrets += [
        Secret(
            summary_marker(SEALED["theirs-1"]),
            readers("procurer superuser"),
            {detail: readers("procurer superuser"), evaluated: readers("procurer superuser")},
        ),
        Secret(
            SEALED["theirs-1"],
            readers("procurer superuser"),
            {download: readers("procurer superuser"), evaluation_download: readers("procurer superuser")},
        ),
    ]
    detail, _evaluated, download, _evaluation_download = pages_of(sealed)
    secrets += [
        # Sealed until the deadline: nobody but its own consortium, not the authority, not administrators.
        Secret(summary_marker(SEALED["ours-2"]), readers("sme_admin"), {detail: readers("sme_admin")}),
        Secret(SEALED["ours-2"], readers("sme_admin"), {download: readers("sme_admin")}),
        Secret(SEALED_PRICE, readers("sme_admin")),
        # The price of a bid that did not win is never published (the winner's is, with its award); the
        # cluster, which brokers consortia, does not read it either, not even in the admin's bid listing.
        Secret(RIVAL_PRICE, readers("procurer superuser")),
        # Written input to the consultation: the authority and the firm that sent it.
        *(
            Secret(
                text,
                readers("sme_admin procurer superuser"),
                {url("consultation", slug=call.slug): readers("sme_admin procurer superuser")},
            )
            for text in (INPUT_SUBJECT, INPUT)
        ),
        Secret(
            INPUT_DOCUMENT,
            readers("sme_admin procurer superuser"),
            {
                url("input_document", slug=call.slug, pk=contribution.pk): readers(
                    "sme_admin procurer superuser"
                )
            },
        ),
        # A direct message: its two sides, and the register (compliance, the intermediaries).
        Secret(
            MESSAGE,
            readers("sme_admin procurer staff_user superuser"),
            {
                url("messages", slug=call.slug): readers("sme_admin procurer"),
                url("register", slug=call.slug): readers("staff_user superuser"),
            },
        ),
        # The people present at a contact: the full register only, never its public summary or exports.
        Secret(
            PRESENT,
            readers("staff_user superuser"),
            {url("register", slug=call.slug): readers("staff_user superuser")},
        ),
        # A question waiting for its answer: procurers and administrators; not other firms, not the cluster.
        Secret(
            RIVAL_QUESTION,
            readers("procurer superuser"),
            {url("clarifications", slug=call.slug): readers("procurer superuser")},
        ),
    ]
    return Part(objects=objects, kwargs=kwargs, secrets=secrets)


# Texts of the procurement world that only some may read (see procurement_world's secrets).
SEALED = {
    "ours-1": "sealed-document-homesense-phase-1",
    "theirs-1": "sealed-document-loire-care-phase-1",
    "ours-2": "sealed-document-homesense-phase-2",
}
INPUT = "private-input-of-breizh-sensors"
INPUT_SUBJECT = "private-input-subject-of-breizh-sensors"
RIVAL_PRICE = "41234.57"
SEALED_PRICE = "301234.56"
INPUT_DOCUMENT = "private-input-attachment-of-breizh-sensors"
MESSAGE = "private-message-of-breizh-sensors"
PRESENT = "Aino Crawlinen, present at the meeting"
RIVAL_QUESTION = "private-question-of-loire-mobile"


def summary_marker(document_marker: str) -> str:
    return document_marker.replace("sealed-document", "sealed-summary")


# Texts of the B2B world that only some may read (see b2b_world's secrets). The buyer's needs: one revealed
# to the SME by an accepted introduction, one whose introduction is brokered (teaser only), one whose
# introduction the buyer asked for and the SME does not know of, one public to member firms, and a draft;
# the third firm's need is for the cluster staff only.
B2B_NEEDS = ("accepted", "brokered", "requested", "members", "draft", "staff")
B2B_NEED_FIELDS = ("description", "users", "budget")
B2B_OFFER = "b2b-offer-of-breizh-sensors"
B2B_STAFF_NEED_TITLE = "Crawl staff-only need b2b-staff-need-title"
B2B_DRAFT_NEED_TITLE = "Crawl draft need b2b-draft-need-title"
B2B_REQUEST_MESSAGE = "b2b-request-message-of-nordic-foods"
B2B_DOCUMENT = "b2b-project-document-of-breizh-sensors"
B2B_THEIR_DOCUMENT = "b2b-project-document-of-rival-robotics"
B2B_THEIR_PROJECT = "Crawl co-development b2b-their-project-title"
B2B_DRAFT_EVENT = "Crawl draft event b2b-draft-event-title"
B2B_DRAFT_REPORT = "b2b-draft-report-findings"
B2B_PROVIDER_EMAILS = {
    "listed": "listed-provider-b2b-secret@example.org",
    "proposed": "proposed-provider-b2b-secret@example.org",
    "hidden": "hidden-provider-b2b-secret@example.org",
}


def need_marker(case: str, name: str) -> str:
    return f"b2b-need-{case}-{name}"


def b2b_world(participant, sme_admin, staff_user, sme, cluster) -> Part:
    """The B2B channel with the cluster as broker, run through its services. A buyer firm (no persona of
    its own) posts needs; the SME posts an offer; a third firm posts a need for the cluster staff only. The
    matcher suggests pairs. Introductions: one the SME asked for, brokered and accepted by both firms (a
    meeting held, then a co-development project with a document); one the buyer asked for, brokered and
    waiting for answers; one the buyer asked for, still waiting for the cluster; one the SME asked for,
    waiting too. The cluster also runs a project between the buyer and the third firm. A published event
    with the participant's and the SME's tickets, and a draft event; a listed, a proposed and a hidden
    service provider, the SME asking the listed one for contact; a published report the SME follows by
    topic, and a draft. The public event list and provider directory are published. Returns the crawl's
    objects per route, how each object is seen (``cases``) and the texts only some personas may read."""

    def member(organisation, email):
        user = MembershipFactory(
            organisation=organisation, role=Role.FIRM_ADMIN, user=UserFactory(email=email)
        ).user
        PersonFactory(user=user)
        return user

    def fresh(user):
        """The user as a new request sees them: permissions read again (they are cached per user object)."""
        return type(user).objects.get(pk=user.pk)

    GroundRulesVersionFactory(
        rules=GroundRulesFactory(
            title="Ground rules for brokered introductions",
            scope_kind=GroundRules.ScopeKind.CHANNEL,
            channel=Channel.B2B,
        )
    )
    buyer = OrganisationFactory(
        name="Crawl Nordic Foods", kind=Organisation.Kind.LARGE_ENTERPRISE, country="FI", region="Uusimaa"
    )
    # (Not a secret: organisation names are listed wherever an organisation is chosen, e.g. a project's
    # partners; what is confidential is what a firm posts.)
    third = OrganisationFactory(name="Crawl Rival Robotics", kind=Organisation.Kind.SME, country="DE")
    buyer_user = member(buyer, "crawl-buyer@example.org")
    third_user = member(third, "crawl-third@example.org")
    for user, organisation in (
        (buyer_user, buyer),
        (sme_admin, sme),
        (third_user, third),
        (staff_user, None),
    ):
        user = fresh(user)
        for version in services.pending_ground_rules(user, Channel.B2B, organisation=organisation):
            services.accept_ground_rules(
                version, organisation=organisation, acting_user=user, shown_sha256=version.text_sha256
            )

    # Needs and offers, with the words and tags the matcher pairs them on.
    food = TagFactory(kind=Tag.Kind.SECTOR, name="Crawl food processing")
    iot = TagFactory(kind=Tag.Kind.TECHNOLOGY, name="Crawl vibration sensing")
    topic = TopicFactory(name="Crawl food markets")
    summary = "Warn days ahead when a freezing line will fail, with vibration sensors on its compressors."

    def need(case, organisation=buyer, contact=buyer_user, **fields):
        return NeedFactory(
            organisation=organisation,
            contact=contact,
            title=fields.pop("title", f"Crawl need ({case}): predict failures of freezing lines"),
            summary=summary,
            description=f"Line 4 stops twice a month. [{need_marker(case, 'description')}]",
            users_affected=f"Night-shift technicians. [{need_marker(case, 'users')}]",
            budget=f"Up to €120,000 [{need_marker(case, 'budget')}]",
            sectors=[food],
            technologies=[iot],
            **fields,
        )

    needs = {
        "accepted": need("accepted"),
        "brokered": need("brokered"),
        "requested": need("requested"),
        "members": need("members", visibility=Visibility.MEMBERS),
        "draft": need("draft", title=B2B_DRAFT_NEED_TITLE, status=ListingStatus.DRAFT, published_at=None),
        "staff": need(
            "staff",
            organisation=third,
            contact=third_user,
            title=B2B_STAFF_NEED_TITLE,
            visibility=Visibility.STAFF,
        ),
    }
    offer = OfferFactory(
        organisation=sme,
        contact=sme_admin,
        title="Crawl offer: vibration sensors that predict failures of freezing lines",
        summary=summary,
        description=f"Our model reaches 92 % recall on compressor bearings. [{B2B_OFFER}-description]",
        references=f"Piloted at two dairies. [{B2B_OFFER}-references]",
        sectors=[food],
        technologies=[iot],
    )
    matching_services.refresh_matches()
    assert Match.objects.filter(offer=offer, need=needs["accepted"]).exists()
    assert Match.objects.filter(offer=offer, need=needs["staff"]).exists()

    # Introductions in each state the SME sees differently.
    def request(need_, organisation, user, message="We would like to discuss a pilot."):
        return introduction_services.request_introduction(
            need_, offer, organisation=organisation, message=message, acting_user=fresh(user)
        )

    def broker(introduction):
        return introduction_services.broker_introduction(
            introduction,
            nda_required=False,
            nda_text="",
            note="Both firms fit.",
            acting_user=fresh(staff_user),
        )

    accepted = broker(request(needs["accepted"], sme, sme_admin))
    for user, organisation in ((buyer_user, buyer), (sme_admin, sme)):
        accepted = introduction_services.accept_introduction(
            accepted, organisation=organisation, nda_sha256=accepted.nda_sha256, acting_user=fresh(user)
        )
    introduction_services.record_outcome(
        accepted,
        kind=IntroductionOutcome.Kind.MEETING_HELD,
        occurred_on=timezone.localdate(),
        note="Met at the cannery.",
        acting_user=fresh(staff_user),
    )
    brokered = broker(
        request(needs["brokered"], buyer, buyer_user, f"Please introduce us. [{B2B_REQUEST_MESSAGE}]")
    )
    requested = request(needs["requested"], buyer, buyer_user)
    ours = request(needs["members"], sme, sme_admin)
    assert (accepted.status, brokered.status) == (Introduction.Status.ACCEPTED, Introduction.Status.BROKERED)

    # Co-development: the SME's project from the accepted introduction, and one the SME is no partner of.
    arrangement = {
        "goals": "A prototype tested by the buyer's staff within six months.",
        "ip_ownership": Project.Ownership.SUPPLIER,
        "licence_terms": "The buyer receives a free, non-exclusive licence for its own operations.",
        "exclusivity": Project.Exclusivity.NONE,
        "exclusivity_until": None,
        "confidentiality": "Both partners keep the specifications confidential for three years.",
        "started_on": timezone.localdate(),
    }
    project = project_services.start_project(
        introduction=accepted,
        title="Crawl co-development: freezing lines",
        acting_user=fresh(sme_admin),
        **arrangement,
    )
    milestone = project_services.add_milestone(
        project,
        title="Prototype on line 4",
        due_on=timezone.localdate() + timedelta(days=60),
        acting_user=fresh(sme_admin),
    )
    document = project_services.upload_document(
        project,
        title="Kick-off minutes",
        upload=upload("minutes.pdf", B2B_DOCUMENT),
        acting_user=fresh(sme_admin),
    )
    theirs = project_services.start_project(
        title=B2B_THEIR_PROJECT,
        partners=[(buyer, ProjectPartner.Role.BUYER), (third, ProjectPartner.Role.SUPPLIER)],
        broker=cluster,
        acting_user=fresh(staff_user),
        **arrangement,
    )
    their_document = project_services.upload_document(
        theirs,
        title="Their minutes",
        upload=upload("theirs.pdf", B2B_THEIR_DOCUMENT),
        acting_user=fresh(staff_user),
    )

    # Events: one published, with two tickets, and a draft.
    starts_at = timezone.now() + timedelta(days=14)

    def event(title):
        return event_services.save_event(
            None,
            {
                "title": title,
                "kind": Event.Kind.WORKSHOP,
                "description": "Buyers present their needs; suppliers pitch in five minutes each.",
                "venue": "Cluster house, 1 Harbour Street",
                "time_zone": "Europe/Paris",
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(hours=3),
                "registration_closes_at": starts_at - timedelta(days=1),
                "capacity": 30,
            },
            organiser=cluster,
            acting_user=fresh(staff_user),
        )

    published = event_services.publish_event(
        event("Crawl workshop: sensors for food"), acting_user=fresh(staff_user)
    )
    draft_event = event(B2B_DRAFT_EVENT)
    tickets = {}
    for persona, user, organisation in (("participant", participant, None), ("sme_admin", sme_admin, sme)):
        tickets[persona], _created = event_services.register_for_event(
            published,
            user=fresh(user),
            full_name=f"Crawl attendee {persona}",
            email=user.email,
            organisation=organisation,
            acting_user=fresh(user),
        )

    # Service providers: listed, proposed by the SME, hidden; the SME asks the listed one for contact.
    def provider_fields(name, case):
        return {
            "name": name,
            "description": "Service design and prototyping for small firms.",
            "country": "FR",
            "region": "Bretagne",
            "contact_email": B2B_PROVIDER_EMAILS[case],
        }

    providers = {
        "listed": provider_services.save_provider(
            None,
            services=["design"],
            acting_user=fresh(staff_user),
            **provider_fields("Crawl Design Studio", "listed"),
        ),
        "proposed": provider_services.propose_provider(
            services=["ipr"],
            acting_user=fresh(sme_admin),
            **provider_fields("Crawl Patent Office", "proposed"),
        ),
        "hidden": provider_services.save_provider(
            None,
            services=["financing"],
            acting_user=fresh(staff_user),
            **provider_fields("Crawl Old Fund", "hidden"),
        ),
    }
    provider_services.curate_provider(
        providers["hidden"],
        status=ServiceProvider.Status.HIDDEN,
        note="Closed.",
        acting_user=fresh(staff_user),
    )
    provider_services.request_contact(
        providers["listed"],
        organisation=sme,
        service="design",
        message="Please call us.",
        acting_user=fresh(sme_admin),
    )

    # Market intelligence: a published report the SME follows by topic, and a draft.
    def report(title, body):
        return intelligence_services.save_report(
            None,
            topics=[topic],
            publisher=cluster,
            acting_user=fresh(staff_user),
            kind=Report.Kind.MARKET,
            title=title,
            summary="What buyers in the region look for this quarter.",
            body=body,
        )

    published_report = intelligence_services.publish_report(
        report("Crawl report: food markets", "Demand for predictive maintenance grows."),
        acting_user=fresh(staff_user),
    )
    draft_report = report("Crawl report in draft", f"Not checked yet. [{B2B_DRAFT_REPORT}]")
    intelligence_services.subscribe_topic(topic, acting_user=fresh(sme_admin))

    # The public pages, under the home page.
    home = HomePage.objects.get()
    pages = [
        B2BEventIndexPage(title="Crawl: cluster events", slug="crawl-b2b-events"),
        ProviderDirectoryPage(title="Crawl: service providers", slug="crawl-b2b-providers"),
    ]
    for page in pages:
        home.add_child(instance=page)
        page.save_revision().publish()

    providers = {case: ServiceProvider.objects.get(pk=p.pk) for case, p in providers.items()}
    cases = {
        **{(Need, n.pk): "hidden" if case in {"draft", "staff"} else "visible" for case, n in needs.items()},
        (Offer, offer.pk): "own",
        (Introduction, accepted.pk): "accepted",
        (Introduction, brokered.pk): "brokered",
        (Introduction, requested.pk): "requested",
        (Introduction, ours.pk): "ours",
        (Project, project.pk): "ours",
        (Project, theirs.pk): "theirs",
        (ProjectDocument, document.pk): "ours",
        (ProjectDocument, their_document.pk): "theirs",
        (Event, published.pk): "published",
        (Event, draft_event.pk): "draft",
        **{(ServiceProvider, p.pk): case for case, p in providers.items()},
        (Report, published_report.pk): "published",
        (Report, draft_report.pk): "draft",
    }
    introductions = [accepted, brokered, requested, ours]
    projects = [project, theirs]
    events = [published, draft_event]
    objects = {
        **{f"b2b:need_{name}": [(n, None) for n in needs.values()] for name in B2B_LISTING_VIEWS},
        **{f"b2b:offer_{name}": [(offer, "sme_admin")] for name in B2B_LISTING_VIEWS},
        **{f"b2b:introduction_{name}": [(i, None) for i in introductions] for name in B2B_INTRODUCTION_VIEWS},
        **{f"b2b:project_{name}": [(p, None) for p in projects] for name in B2B_PROJECT_VIEWS},
        **{f"b2b:event_{name}": [(e, None) for e in events] for name in B2B_EVENT_VIEWS},
        **{f"b2b:provider_{name}": [(p, None) for p in providers.values()] for name in B2B_PROVIDER_VIEWS},
        **{
            f"b2b:report_{name}": [(published_report, None), (draft_report, None)]
            for name in ("detail", "edit", "publish", "withdraw")
        },
        "wagtail_serve": [(page, None) for page in pages],
    }
    codes = [({"code": r.ticket_code}, r, persona) for persona, r in tickets.items()]
    kwargs = {
        **{f"b2b:ticket_{name}": codes for name in ("pdf", "cancel", "check_in")},
        "b2b:project_milestone_done": [({"slug": project.slug, "pk": milestone.pk}, milestone, None)],
        "b2b:project_document": [
            ({"slug": d.project.slug, "pk": d.pk}, d, None) for d in (document, their_document)
        ],
    }

    def url(name, *args):
        return reverse(f"b2b:{name}", args=args)

    def readers(names: str) -> frozenset:
        return frozenset(names.split())

    staff_only = readers("staff_user superuser")
    revealed = readers("sme_admin staff_user superuser")
    secrets = [
        # A need is revealed to the SME by an accepted introduction, or when it is public to member firms; the
        # cluster staff read every need in full; a brokered or requested introduction reveals nothing.
        *(
            Secret(
                need_marker(case, name),
                revealed if case in {"accepted", "members"} else staff_only,
                {
                    url("need_detail", needs[case].pk): revealed
                    if case in {"accepted", "members"}
                    else staff_only
                },
            )
            for case in B2B_NEEDS
            for name in B2B_NEED_FIELDS
        ),
        # Staff-only and draft listings: other firms do not even learn that they exist.
        Secret(B2B_STAFF_NEED_TITLE, staff_only, {url("need_detail", needs["staff"].pk): staff_only}),
        Secret(B2B_DRAFT_NEED_TITLE, staff_only, {url("need_detail", needs["draft"].pk): staff_only}),
        # The SME's own offer: its details are the SME's (and the buyer's, once accepted).
        *(
            Secret(f"{B2B_OFFER}-{name}", revealed, {url("offer_detail", offer.pk): revealed})
            for name in ("description", "references")
        ),
        # The buyer's message asking for the brokered introduction: the cluster, not the other firm.
        Secret(B2B_REQUEST_MESSAGE, staff_only, {url("introduction_detail", brokered.pk): staff_only}),
        # Project documents: the partners and the cluster staff.
        Secret(B2B_DOCUMENT, revealed, {url("project_document", project.slug, document.pk): revealed}),
        Secret(
            B2B_THEIR_DOCUMENT,
            staff_only,
            {url("project_document", theirs.slug, their_document.pk): staff_only},
        ),
        Secret(B2B_THEIR_PROJECT, staff_only, {url("project_detail", theirs.slug): staff_only}),
        # Tickets: their holder and the staff who check people in.
        *(
            Secret(
                r.ticket_code,
                readers(f"{persona} staff_user superuser"),
                {
                    url("ticket_list"): readers(persona),
                    url("event_registrations", published.slug): staff_only,
                },
            )
            for persona, r in tickets.items()
        ),
        # A draft event and a draft report: the staff only.
        Secret(B2B_DRAFT_EVENT, staff_only, {url("event_list"): staff_only}),
        Secret(B2B_DRAFT_REPORT, staff_only, {url("report_detail", draft_report.slug): staff_only}),
        # Providers' e-mail addresses: contact requests are mailed to them, and no page shows them (not even
        # the staff's edit form, which leaves the field empty to keep the address).
        *(Secret(email, staff_only) for email in B2B_PROVIDER_EMAILS.values()),
    ]
    return Part(objects=objects, kwargs=kwargs, secrets=secrets, cases=cases)


B2B_LISTING_VIEWS = ("detail", "edit", "publish", "close", "matches", "matches_export")
B2B_INTRODUCTION_VIEWS = ("detail", "broker", "refuse", "withdraw", "decline", "accept", "outcome")
B2B_PROJECT_VIEWS = ("detail", "edit", "partners", "milestone_add", "document_upload", "launch_test", "close")
B2B_EVENT_VIEWS = (
    "detail",
    "edit",
    "publish",
    "cancel",
    "register",
    "registrations",
    "registrations_export",
    "check_in",
    "lead_users",
    "follow_up",
)
B2B_PROVIDER_VIEWS = ("detail", "contact", "edit", "status")


# ------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Visit:
    url: str
    route: Route
    obj: object = None  # the real object in the URL, if any
    owner: str | None = None


def _missing(converter) -> object:
    if isinstance(converter, UUIDConverter):
        return MISSING_UUID
    return MISSING_INT if isinstance(converter, IntConverter) or converter is None else MISSING_TEXT


def _value(obj, converter):
    return obj.slug if isinstance(converter, SlugConverter) else obj.pk


def _fallbacks(converter, world: World) -> list:
    if isinstance(converter, IntConverter):
        return list(FALLBACK_INTS)
    return world.slugs if isinstance(converter, SlugConverter) else []


def visits_for(route: Route, world: World) -> list[Visit]:
    """The URLs to request for one route: one per real object it can show, and one that does not exist."""
    if route.name == "wagtail_serve":
        pages = [
            Visit(page.get_url(), route, page, owner) for page, owner in world.objects.get(route.name, [])
        ]
        return [Visit("/", route), *pages, Visit(f"/{MISSING_TEXT}/", route)]
    names = [name for name, _ in route.params]
    converters = dict(route.params)
    if not names and not route.positional:
        return [Visit(reverse(route.name), route)]
    candidates: list[tuple[object, str | None]] = []
    visits = []
    if route.name in world.kwargs:
        visits = [
            Visit(reverse(route.name, kwargs=kwargs), route, obj, owner)
            for kwargs, obj, owner in world.kwargs[route.name]
        ]
    elif len(names) == 1 and not route.positional:
        if route.model is not None:
            pks = list(route.model._default_manager.order_by("pk").values_list("pk", flat=True))
            candidates = (
                [(route.model._default_manager.get(pk=pk), None) for pk in {pks[0], pks[-1]}] if pks else []
            )
        elif route.name in world.objects:
            candidates = world.objects[route.name]
        elif "page" in names[0]:
            candidates = [(Page.objects.get(pk=pk), None) for pk in world.page_ids]
        visits = [
            Visit(
                reverse(route.name, kwargs={names[0]: _value(obj, converters[names[0]])}), route, obj, owner
            )
            for obj, owner in candidates
        ]
    if not visits and is_ours(route) and not route.positional:
        # A new page of ours that this crawl has no objects for yet: try the first ids of every table
        # (each holds a few rows here), or the slugs of the organisations and panels; with several
        # parameters, the n-th value of each.
        for values in zip(*(_fallbacks(converters[n], world) for n in names), strict=False):
            try:
                visits.append(Visit(reverse(route.name, kwargs=dict(zip(names, values, strict=True))), route))
            except NoReverseMatch:
                continue
    try:
        if route.positional:
            args = [str(MISSING_INT)] * route.positional
            url = reverse(route.name, args=args)
        else:
            url = reverse(route.name, kwargs={n: _missing(converters[n]) for n in names})
    except NoReverseMatch:
        url = reverse(route.name, kwargs=dict.fromkeys(names, MISSING_TEXT))
    visits.append(Visit(url, route))
    return visits


# ------------------------------------------------------------------------------------------- expectations

# Our views anybody may open; every other view of our apps requires signing in (a new public page must
# be added here, so that a page meant for members cannot go public by accident). Those with an object in
# their URL must show it to everyone, signed in or not.
PUBLIC_VIEWS = {
    "healthz",
    "mfa_required",
    # Links sent by e-mail: a signed token that carries the object's id and a per-object nonce; it cannot
    # be guessed or altered, and names nobody but the panel.
    "confirm_membership",
    "invitation_answer",
    # An erasure receipt is found by its random reference (a UUID), given to the person erased; it names
    # nobody.
    "erasure_receipt",
    "erasure_receipt_pdf",
}
# Our pages without parameters that every signed-in persona opens.
EVERYONES_PAGES = {
    "participant_workspace",
    "ground_rules_list",
    "consent_overview",
    # The user's own data, profile and erasure (anybody signed in is a person), and the panels their
    # interest groups recruit for (an empty list for most).
    "my_data",
    "edit_profile",
    "erase_me",
    "recruiting_panels",
}


def is_ours(route: Route) -> bool:
    return route.module.split(".")[0] in PROJECT_APPS


def expectation(persona: str, visit: Visit, world: World) -> str | None:
    """What ``persona`` must get: "granted" (200), "refused" (anything but 200), an exact status code,
    LOGIN (a redirect to the sign-in page) or None (no server error)."""
    route, obj = visit.route, visit.obj
    if route.is_admin:
        return admin_expectation(persona, visit)
    if route.name == "wagtail_serve" and obj is not None:
        # The public site serves every live page to everyone, except a notice of a procurement in draft.
        procurement = getattr(obj.specific, "procurement", None)
        return (
            "refused"
            if procurement is not None and procurement.status == Procurement.Status.DRAFT
            else "granted"
        )
    if not is_ours(route):
        return None
    if route.name.startswith("procurement:"):
        return procurement_expectation(persona, visit)
    if route.name.startswith("b2b:"):
        return b2b_expectation(persona, visit, world)
    if route.view_name in PUBLIC_VIEWS:
        return "granted" if obj is not None else None
    if persona == "anonymous":
        return "refused"
    if route.view_name in EVERYONES_PAGES:
        return "granted"
    if obj is None and (route.params or route.positional):
        return None  # an object that does not exist, or a guess: anything but a server error
    if route.view_name in {"consent_receipt", "ground_rules_receipt"}:
        return "granted" if visit.owner == persona or persona in ADMINS else "refused"
    if route.view_name == "organisation_workspace":
        return "granted" if obj.slug in world.memberships[persona] or persona == "superuser" else "refused"
    if route.view_name in {"ground_rules_detail", "consent_give"}:
        return "granted" if obj.status == VersionStatus.PUBLISHED else None
    if route.name.startswith("campaigns:"):
        return CAMPAIGN_PAGES.get(route.view_name, {}).get(persona)
    return (VOUCHER_PAGES | PANEL_PAGES).get(route.view_name, {}).get(persona)


# Who may open the voucher world's pages (see voucher_world): the holder and staff see the voucher; the
# firm, the operator and the funder see the claim; only the operator and the funder see the figures.
def access(granted: str, refused: str) -> dict[str, str]:
    return dict.fromkeys(granted.split(), "granted") | dict.fromkeys(refused.split(), "refused")


_HOLDER = access("participant staff_user superuser", "sme_admin procurer funder")
_CLAIM = access("sme_admin staff_user funder superuser", "participant procurer")
_PROGRAMME = access("staff_user funder superuser", "participant sme_admin procurer")
VOUCHER_PAGES = {
    "voucher_detail": _HOLDER,
    "voucher_pdf": _HOLDER,
    "voucher_application": _HOLDER,
    "claim_detail": _CLAIM,
    "claim_invoice": _CLAIM,
    "programme_dashboard": _PROGRAMME,
    "programme_report_xlsx": _PROGRAMME,
    "programme_report_pdf": _PROGRAMME,
    "programme_claims": _PROGRAMME,
    "programme_applications": access("staff_user superuser", "participant sme_admin procurer funder"),
    "firm_redemption": access("sme_admin staff_user superuser", "participant procurer funder"),
}


# Who may open the panel world's pages (see panel_world). The panel's staff pages are for the living lab
# that runs it; the firm a draw was made for sees its participants under codes; the participant's own pages
# (their person, their ward, their invitation and export) are theirs alone: not even a platform
# administrator reads, answers or erases through them (pilots.rules.may_manage_own_data).
_PANEL_STAFF = access("staff_user superuser", "participant sme_admin procurer funder")
_OWN = access("participant", "sme_admin staff_user procurer funder superuser")
PANEL_PAGES = {
    **dict.fromkeys(
        (
            "panel_list",
            "panel_new",
            "panel_detail",
            "panel_edit",
            "member_list",
            "member_detail",
            "screener_list",
            "screener_new",
            "screener_edit",
            "draw_list",
            "draw_new",
            "draw_detail",
            "draw_invitations",
            "import_list",
            "import_new",
            "import_detail",
            "import_mapping",
            "import_progress",
            "import_errors",
            "import_errors_csv",
            "panel_attributes",
            "attribute_add",
            "attribute_edit",
            "attribute_delete",
            "record_consent",
            "consent_scan",
            "enrol_participant",
            "recruit_counts",
        ),
        _PANEL_STAFF,
    ),
    "draw_participants": access("sme_admin staff_user superuser", "participant procurer funder"),
    # Anybody signed in may read what a panel is about and ask to join it.
    "join_panel": access("participant sme_admin staff_user procurer funder superuser", ""),
    **dict.fromkeys(
        ("my_invitation", "my_export", "download_my_export", "my_data_for", "edit_ward_profile", "erase_for"),
        _OWN,
    ),
}
# Panel routes that only take a POST (a GET answers 405): crawled for server errors only.
PANEL_POST_ONLY = {
    "member_status",
    "member_override",
    "draw_cancel",
    "send_invitations",
    "record_participation",
    "change_my_membership",
    "pause_my_panels",
    "pause_panels_for",
    "my_contact_preferences",
    "contact_preferences_for",
    "request_my_export",
    "request_export_for",
}


# Who may open the campaign world's pages (see campaign_world). The hosting lab's staff run a campaign; the
# firm that requested it sees its request, its sessions' dates, its questionnaires and its results (under
# participants' codes); other organisations do not even learn that it exists. The participant's pages (taking
# part, booking, answering, ideas) are for the people who accepted an invitation: a platform administrator
# has no invitation, so these pages refuse them too. A participant's own booking is theirs alone, as with the
# panel's own pages (pilots.rules.may_manage_own_data).
_CAMPAIGN_STAFF = access("staff_user superuser", "participant sme_admin procurer funder")
_CAMPAIGN_FIRM = access("sme_admin staff_user superuser", "participant procurer funder")
_TAKING_PART = access("participant", "sme_admin staff_user procurer funder superuser")
CAMPAIGN_PAGES = {
    # Anybody signed in has a list (of the campaigns they may see; none for most).
    "campaign_list": access("participant sme_admin staff_user procurer funder superuser", ""),
    # Firms, research organisations and authorities request tests; the lab's staff on their behalf.
    "campaign_new": access("sme_admin staff_user procurer superuser", "participant funder"),
    **dict.fromkeys(
        (
            "review_queue",
            "campaign_review",
            "session_create",
            "session_detail",
            "session_edit",
            "session_cancel",
            "results_findings",
            "competition_setup",
            "survey_partners",
            # The ranking is the lab's until the winners are announced (the competition here is open).
            "competition_results",
        ),
        _CAMPAIGN_STAFF,
    ),
    **dict.fromkeys(
        (
            "campaign_detail",
            # The requester edits its draft (the joint survey here); the lab until recruitment.
            "campaign_edit",
            "session_list",
            "questionnaires",
            "questionnaire_builder",
            "question_edit",
            "questionnaire_export",
            "questionnaire_preview",
            "results",
            "results_answers",
            "results_files",
            "results_file",
            "results_file_progress",
            "results_file_download",
        ),
        _CAMPAIGN_FIRM,
    ),
    **dict.fromkeys(
        ("campaign_take_part", "session_book", "questionnaire_answer", "booking_calendar"), _TAKING_PART
    ),
    # The challenge page: the participant submits ideas; the lab and the firm see it as participants do,
    # without the form.
    "competition_ideas": access("participant sme_admin staff_user superuser", "procurer funder"),
    # The jury (the lab's coordinator here) scores; a platform administrator may look (Django's superuser
    # shortcut for pilots.judge_competition), but the service refuses their scores.
    "jury_ideas": access("staff_user superuser", "participant sme_admin procurer funder"),
}
# Campaign routes that only take a POST (a GET answers 405): crawled for server errors only.
CAMPAIGN_POST_ONLY = {
    "campaign_submit",
    "campaign_move",
    "session_book_place",
    "booking_cancel",
    "booking_attendance",
    "question_move",
    "question_delete",
    "questionnaire_import",
    "questionnaire_open",
    "questionnaire_close",
    "results_tag_answer",
    "results_untag_answer",
    "criterion_add",
    "criterion_edit",
    "criterion_delete",
    "competition_jury",
    "competition_start_judging",
    "competition_announce",
    "idea_withdraw",
    "idea_score",
    "survey_partner_remove",
}


# Who may open the procurement world's pages (see procurement_world).
_EVERYONE = access("anonymous participant sme_admin staff_user procurer funder superuser", "")
_SIGNED_IN = access("participant sme_admin staff_user procurer funder superuser", "")
_NOBODY = access("", "participant sme_admin staff_user procurer funder superuser")
_AUTHORITY = access("procurer superuser", "participant sme_admin staff_user funder")
_INTERMEDIARY = access("staff_user superuser", "participant sme_admin procurer funder")
# Procurement pages anybody may open, signed in or not: consulted before the rule that refuses anonymous
# visitors. With an object in their URL, they show a published procurement's to everyone.
PROCUREMENT_PUBLIC = {
    # The list of procurements (drafts only for their authority, its intermediaries and administrators).
    "index",
    # A published call is a public notice: its page, its market consultation (events, who took part) and
    # the documents generated from it.
    "detail",
    "consultation",
    "call_pdf",
    "document",
    # Answers go to every bidder at the same moment, without saying who asked: they are published.
    "clarifications",
    # The interaction register summarised: counts by kind, month and organisation; no people, no summaries.
    "register_summary",
    # The partner-search board: organisations' offers and needs, so that firms find partners.
    "partners",
    # Open contracting data.
    "ocds_index",
    "ocds_bulk",
    "ocds_releases",
    "ocds_record",
}
# Who may open the other procurement pages, for the call, the SME's consortium and its bids (the SME's
# consortium won phase 1 and has bid, sealed, in phase 2).
PROCUREMENT_PAGES = {
    # Procurers of an authority start procurements and edit them while they are drafts.
    "create": _AUTHORITY,
    "edit": _AUTHORITY,
    "phase_edit": _AUTHORITY,
    # Cluster staff: the calls they intermediate, with their registers.
    "registers": _INTERMEDIARY,
    # Direct messages: the authority and the bidders' side (a firm, the intermediary cluster). A platform
    # administrator speaks for no organisation.
    "messages": access("sme_admin staff_user procurer", "participant funder superuser"),
    "record_interaction": access("sme_admin staff_user procurer", "participant funder superuser"),
    # The full register (people present, summaries) is for the authority's compliance officers (none
    # here), the neutral intermediaries and platform administrators; not for the procurers.
    "register": _INTERMEDIARY,
    "register_csv": _INTERMEDIARY,
    "gifts_csv": _INTERMEDIARY,
    # The authority's staff declare what they were offered.
    "declare_gift": _AUTHORITY,
    # Anybody signed in has a list of their consortia, a bid page per phase (which says when they lead no
    # consortium) and a list of the panels they sit on (empty for most).
    "consortia": _SIGNED_IN,
    "bid": _SIGNED_IN,
    "my_evaluations": _SIGNED_IN,
    # A consortium: its members, the intermediary cluster and platform administrators; not the authority.
    "consortium": access("sme_admin staff_user superuser", "participant procurer funder"),
    # That a bid exists: its consortium, the authority, the intermediary cluster, administrators (and the
    # phase's evaluators); its content only to some of them (see the secrets of procurement_world).
    "bid_detail": access("sme_admin staff_user procurer superuser", "participant funder"),
    # The receipt is the bidder's own, for nobody else.
    "bid_receipt": access("sme_admin", "participant staff_user procurer funder superuser"),
    # Bid documents, once the deadline has passed: the consortium, the procurer and administrators.
    "bid_document": access("sme_admin procurer superuser", "participant staff_user funder"),
    # The evaluation and the award: the authority's procurers (and the panel's chair, who is no persona;
    # a platform administrator passes Django's superuser shortcut of procurement.manage_evaluation).
    "evaluation": _AUTHORITY,
    "evaluate_bid": _AUTHORITY,
    "evaluation_document": _AUTHORITY,
    "award": _AUTHORITY,
    # An evaluator's own list of bids: theirs alone, not even an administrator's.
    "evaluation_bids": _NOBODY,
    # The contract: the authority and the contractor's consortium; not the intermediary.
    "contract": access("sme_admin procurer superuser", "participant staff_user funder"),
    # Written input's attachment: the authority and the organisation that sent it.
    "input_document": access("sme_admin procurer superuser", "participant staff_user funder"),
}
# Objects others see less (or more) of than the table above says: (view name, case) → who may open it.
# Cases: "draft" (the authority's procurement still in draft), "rival" (another consortium's), "sealed" (a
# bid of a phase before its deadline).
PROCUREMENT_CASES = {
    # A draft: its authority and platform administrators (the cluster does not intermediate this one);
    # it has no open data at all.
    **{
        (name, "draft"): access("procurer superuser", "anonymous participant sme_admin staff_user funder")
        for name in ("detail", "consultation", "call_pdf")
    },
    **{(name, "draft"): access("", " ".join(PERSONAS)) for name in ("ocds_releases", "ocds_record")},
    # Rival firms do not even learn that another consortium, or its bid, exists.
    ("consortium", "rival"): _INTERMEDIARY,
    ("bid_detail", "rival"): access("staff_user procurer superuser", "participant sme_admin funder"),
    ("bid_receipt", "rival"): _NOBODY,
    ("bid_document", "rival"): _AUTHORITY,
    # Sealed until the deadline: only its own consortium reads it; not the authority, not administrators.
    ("bid_document", "sealed"): access("sme_admin", "participant staff_user procurer funder superuser"),
    ("evaluation_document", "sealed"): _NOBODY,
}
# Procurement routes that only take a POST (a GET answers 405): crawled for server errors only.
PROCUREMENT_POST_ONLY = {
    "publish",
    "cancel",
    "register_interest",
    "phase_add",
    "phase_remove",
    "phase_open",
    "criterion_add",
    "criterion_edit",
    "consultation_open",
    "event_add",
    "event_attendance",
    "input_submit",
    "input_used",
    "summary_publish",
}


def procurement_of(obj) -> Procurement | None:
    if isinstance(obj, Procurement):
        return obj
    for path in ("procurement", "phase.procurement", "bid.phase.procurement", "consortium.procurement"):
        target = obj
        for name in path.split("."):
            target = getattr(target, name, None)
        if isinstance(target, Procurement):
            return target
    return None


def procurement_case(visit: Visit) -> str | None:
    """Which row of PROCUREMENT_CASES applies to the object in the URL, if any (see there)."""
    obj = visit.obj
    procurement = procurement_of(obj)
    if procurement is not None and procurement.status == Procurement.Status.DRAFT:
        return "draft"
    bid = obj if isinstance(obj, Bid) else getattr(obj, "bid", None)
    if isinstance(bid, Bid) and Phase.objects.get(pk=bid.phase_id).is_sealed():
        return "sealed"
    if isinstance(bid, Bid) or isinstance(obj, Consortium):
        return None if visit.owner == "sme_admin" else "rival"
    return None


def procurement_expectation(persona: str, visit: Visit) -> str | None:
    route = visit.route
    name = route.view_name
    missing = visit.obj is None and bool(route.params)
    if name in PROCUREMENT_PUBLIC:
        if missing:
            return None
        return PROCUREMENT_CASES.get((name, procurement_case(visit)), _EVERYONE).get(persona)
    if persona == "anonymous":
        return "refused"
    if missing or name in PROCUREMENT_POST_ONLY:
        return None
    access_ = PROCUREMENT_CASES.get((name, procurement_case(visit))) or PROCUREMENT_PAGES.get(name, {})
    return access_.get(persona)


# Who may open the B2B world's pages (see b2b_world), as the exact answer each persona gets: 200, a redirect
# to the sign-in page (LOGIN), 403 (may not do this at all), 404 (may not know that the object exists) or 302
# (may open the page, but not for this object now: sent back to it with a message). Every B2B page but the
# events' requires signing in. ``livinglab.b2b.rules`` is the policy.
LOGIN = "login"
SIGNED_IN_PERSONAS = [persona for persona in PERSONAS if persona != "anonymous"]


def answers(ok="", forbidden="", missing="", moved="", anonymous=LOGIN) -> dict[str, object]:
    said = (
        dict.fromkeys(ok.split(), 200)
        | dict.fromkeys(forbidden.split(), 403)
        | dict.fromkeys(missing.split(), 404)
        | dict.fromkeys(moved.split(), 302)
    )
    assert set(said) == set(SIGNED_IN_PERSONAS), f"say what each signed-in persona gets: {said}"
    return {"anonymous": anonymous, **said}


_B2B_SIGNED_IN = answers(ok="participant sme_admin staff_user procurer funder superuser")
_B2B_FIRMS_AND_STAFF = answers(ok="sme_admin staff_user superuser", forbidden="participant procurer funder")
_B2B_FIRMS = answers(ok="sme_admin", forbidden="participant staff_user procurer funder superuser")
_B2B_STAFF = answers(ok="staff_user superuser", forbidden="participant sme_admin procurer funder")
# Objects: the SME and the staff (platform administrators pass every staff rule) see them; others get 404.
_B2B_REVEALED = answers(ok="sme_admin staff_user superuser", missing="participant procurer funder")
_B2B_STAFF_SEES = answers(ok="staff_user superuser", missing="participant sme_admin procurer funder")
# Pages without an object in their URL.
B2B_PAGES = {
    "home": _B2B_SIGNED_IN,
    # The marketplace: member firms and the staff; only firms post.
    "need_list": _B2B_FIRMS_AND_STAFF,
    "offer_list": _B2B_FIRMS_AND_STAFF,
    "need_create": _B2B_FIRMS,
    "offer_create": _B2B_FIRMS,
    "match_list": _B2B_STAFF,
    # Everyone signed in has a list of introductions and of projects (empty unless they act for a firm).
    "introduction_list": _B2B_SIGNED_IN,
    "introduction_export": _B2B_STAFF,
    "introduction_overview": _B2B_STAFF,
    "project_list": _B2B_SIGNED_IN,
    "project_create": _B2B_FIRMS_AND_STAFF,
    # Events are public; anybody signed in registers and has a list of tickets; staff run them.
    "event_list": answers(ok="participant sme_admin staff_user procurer funder superuser", anonymous=200),
    "event_create": _B2B_STAFF,
    "ticket_list": _B2B_SIGNED_IN,
    # The directory: anybody signed in searches it and proposes a provider; the staff curate it.
    "provider_search": _B2B_SIGNED_IN,
    "provider_propose": _B2B_SIGNED_IN,
    "provider_curation": _B2B_STAFF,
    # Reports: member firms and the staff read them; the staff write them.
    "report_list": _B2B_FIRMS_AND_STAFF,
    "topic_subscriptions": _B2B_FIRMS_AND_STAFF,
    "report_create": _B2B_STAFF,
}
# Pages of one object: (view name, case of the object in b2b_world.cases) → answers.
_B2B_NOT_OURS = answers(
    ok="staff_user superuser", forbidden="sme_admin", missing="participant procurer funder"
)
B2B_OBJECT_PAGES = {
    # Another firm's listing: its teaser for member firms (details as ``disclosure`` decides); its edit
    # form, suggestions and their CSV for its firm and the staff. Staff-only listings and drafts: staff only.
    ("need_detail", "visible"): _B2B_REVEALED,
    ("need_detail", "hidden"): _B2B_STAFF_SEES,
    **{
        (f"need_{name}", case): _B2B_NOT_OURS if case == "visible" else _B2B_STAFF_SEES
        for name in ("edit", "matches", "matches_export")
        for case in ("visible", "hidden")
    },
    **{(f"offer_{name}", "own"): _B2B_REVEALED for name in ("detail", "edit", "matches", "matches_export")},
    # Introductions: the staff, and a firm of the pair once it knows of it (it asked, or it was brokered).
    # Cases: "accepted" (the SME asked; brokered and accepted), "brokered" (the buyer asked; brokered),
    # "requested" (the buyer asked; the cluster has not brokered it), "ours" (the SME asked; not brokered).
    **{("introduction_detail", case): _B2B_REVEALED for case in ("accepted", "brokered", "ours")},
    ("introduction_detail", "requested"): _B2B_STAFF_SEES,
    # Brokering and refusing: the staff, while the introduction is requested.
    ("introduction_broker", "requested"): _B2B_STAFF_SEES,
    ("introduction_broker", "ours"): _B2B_NOT_OURS,
    **{
        ("introduction_broker", case): answers(
            moved="staff_user superuser", forbidden="sme_admin", missing="participant procurer funder"
        )
        for case in ("accepted", "brokered")
    },
    ("introduction_refuse", "requested"): _B2B_STAFF_SEES,
    ("introduction_refuse", "ours"): answers(
        ok="staff_user superuser", moved="sme_admin", missing="participant procurer funder"
    ),
    **{
        ("introduction_refuse", case): answers(
            moved="sme_admin staff_user superuser", missing="participant procurer funder"
        )
        for case in ("accepted", "brokered")
    },
    # Withdrawing: the staff and the firm that asked, until it is accepted.
    ("introduction_withdraw", "requested"): _B2B_STAFF_SEES,
    ("introduction_withdraw", "ours"): _B2B_REVEALED,
    ("introduction_withdraw", "brokered"): answers(
        ok="staff_user superuser", moved="sme_admin", missing="participant procurer funder"
    ),
    ("introduction_withdraw", "accepted"): answers(
        moved="sme_admin staff_user superuser", missing="participant procurer funder"
    ),
    # Answering: the two firms, while it is brokered (the SME has not answered the brokered one yet).
    ("introduction_decline", "brokered"): answers(
        ok="sme_admin", moved="staff_user superuser", missing="participant procurer funder"
    ),
    **{
        ("introduction_decline", case): answers(
            moved="sme_admin staff_user superuser", missing="participant procurer funder"
        )
        for case in ("accepted", "ours")
    },
    ("introduction_decline", "requested"): answers(
        moved="staff_user superuser", missing="participant sme_admin procurer funder"
    ),
    ("introduction_accept", "brokered"): answers(
        ok="sme_admin", forbidden="staff_user superuser", missing="participant procurer funder"
    ),
    **{
        ("introduction_accept", case): answers(
            moved="sme_admin", forbidden="staff_user superuser", missing="participant procurer funder"
        )
        for case in ("accepted", "ours")
    },
    ("introduction_accept", "requested"): answers(
        forbidden="staff_user superuser", missing="participant sme_admin procurer funder"
    ),
    # Outcomes: either firm or the staff, once accepted.
    ("introduction_outcome", "accepted"): _B2B_REVEALED,
    **{
        ("introduction_outcome", case): answers(
            moved="sme_admin staff_user superuser", missing="participant procurer funder"
        )
        for case in ("brokered", "ours")
    },
    ("introduction_outcome", "requested"): answers(
        moved="staff_user superuser", missing="participant sme_admin procurer funder"
    ),
    # Projects and their documents: the partners and the staff; nobody else learns that they exist.
    **{
        (f"project_{name}", case): _B2B_REVEALED if case == "ours" else _B2B_STAFF_SEES
        for name in ("detail", "edit", "partners", "milestone_add", "document_upload", "close", "document")
        for case in ("ours", "theirs")
    },
    # Events: a published one is public; a draft exists for the staff only; the staff run both.
    ("event_detail", "published"): answers(
        ok="participant sme_admin staff_user procurer funder superuser", anonymous=200
    ),
    ("event_detail", "draft"): answers(
        ok="staff_user superuser", missing="participant sme_admin procurer funder", anonymous=404
    ),
    **{
        (f"event_{name}", case): _B2B_STAFF
        for name in (
            "edit",
            "publish",
            "cancel",
            "registrations",
            "registrations_export",
            "check_in",
            "lead_users",
            "follow_up",
        )
        for case in ("published", "draft")
    },
    # Tickets (case: who holds it): the holder and the staff who check people in.
    **{
        (f"ticket_{name}", holder): answers(
            ok=f"{holder} staff_user superuser",
            missing=" ".join(p for p in ("participant", "sme_admin", "procurer", "funder") if p != holder),
        )
        for name in ("pdf", "cancel")
        for holder in ("participant", "sme_admin")
    },
    **{("ticket_check_in", holder): _B2B_STAFF for holder in ("participant", "sme_admin")},
    # Providers: a listed one for anybody signed in; proposed and hidden ones for the staff, who edit all.
    ("provider_detail", "listed"): _B2B_SIGNED_IN,
    **{("provider_detail", case): _B2B_STAFF_SEES for case in ("proposed", "hidden")},
    **{("provider_edit", case): _B2B_STAFF for case in ("listed", "proposed", "hidden")},
    # Reports: a published one for firms and the staff; a draft for the staff, who alone edit drafts.
    ("report_detail", "published"): _B2B_FIRMS_AND_STAFF,
    ("report_detail", "draft"): answers(
        ok="staff_user superuser", missing="sme_admin", forbidden="participant procurer funder"
    ),
    ("report_edit", "published"): answers(
        moved="staff_user superuser", forbidden="participant sme_admin procurer funder"
    ),
    ("report_edit", "draft"): _B2B_STAFF,
}
# B2B routes that only take a POST (a GET answers 405 once signed in).
B2B_POST_ONLY = {
    "need_publish",
    "need_close",
    "offer_publish",
    "offer_close",
    "introduction_request",
    "project_milestone_done",
    "project_launch_test",
    "event_register",
    "provider_contact",
    "provider_status",
    "report_publish",
    "report_withdraw",
}
# Pages of one object anybody may open without signing in (a missing object: 404 for everyone).
B2B_PUBLIC = {"event_detail"}


def b2b_case(visit: Visit, world: World) -> str | None:
    """Which row of B2B_OBJECT_PAGES applies to the object in the URL (tickets: their holder)."""
    if visit.route.view_name.startswith("ticket_"):
        return visit.owner
    return world.cases.get((type(visit.obj), visit.obj.pk))


def b2b_expectation(persona: str, visit: Visit, world: World) -> object:
    name = visit.route.view_name
    if name in B2B_POST_ONLY:
        return LOGIN if persona == "anonymous" else 405
    if name in B2B_PAGES:
        return B2B_PAGES[name][persona]
    if visit.obj is None:
        # An object that does not exist: the public pages say so; the others first ask to sign in.
        if name in B2B_PUBLIC:
            return 404
        return LOGIN if persona == "anonymous" else None
    return B2B_OBJECT_PAGES[name, b2b_case(visit, world)][persona]


def admin_expectation(persona: str, visit: Visit) -> str | None:
    route = visit.route
    if persona not in ADMINS:
        return "refused"
    model_name = route.model._meta.model_name if route.model is not None else None
    if model_name in SUPERUSER_ONLY_MODELS:
        return None if persona == "superuser" else "refused"
    needs = ADMIN_VIEW_NEEDS.get(route.view_name)
    allowed = ADMIN_ACTIONS_ALLOWED.get(model_name)
    if needs is None or allowed is None:
        return None
    if not needs & allowed:
        return "refused"
    if route.view_name in {"index", "index_results"} or (
        visit.obj is not None and route.view_name == "inspect"
    ):
        return "granted"
    return None


# ------------------------------------------------------------------------------------------------ tests


def test_the_crawl_finds_our_pages_and_admin_viewsets():
    names = {route.name for route in ROUTES}
    assert {
        "healthz",
        "participant_workspace",
        "organisation_workspace",
        "consent_receipt",
        "ground_rules_receipt",
        "mfa_required",
        "account_login",
        "mfa_index",
        "wagtailadmin_home",
        "wagtailadmin_explore_root",
        "wagtail_serve",
    } <= names
    assert {
        "audit",
        "organisation",
        "membership",
        "consentrecord",
        "groundrulesacceptance",
        "groundrulesversion",
        "consentdocumentversion",
    } <= our_admin_namespaces(list(walk(get_resolver())))
    assert {"audit:index", "audit:edit", "consentrecord:edit", "organisation:edit"} <= names
    assert not {"consent_withdraw", "account_logout"} & names
    assert all(route.name for route in ROUTES), "every crawled route needs a name to be reversed"
    # Wagtail's own admin screens are left to Wagtail; our admin covers every model it registers.
    assert not any(route.name.startswith(("wagtailimages:", "wagtailadmin_workflows:")) for route in ROUTES)


def test_every_panel_page_is_crawled_with_real_objects_and_has_an_expectation(world):
    routes = [route for route in ROUTES if route.name.startswith("pilots:")]
    assert len(routes) > 50
    without_expectation = {
        route.view_name
        for route in routes
        if route.view_name not in PANEL_PAGES.keys() | PANEL_POST_ONLY | PUBLIC_VIEWS | EVERYONES_PAGES
    }
    assert not without_expectation, "say who may open these panel pages"
    without_objects = {
        route.name
        for route in routes
        if route.params and not any(visit.obj is not None for visit in visits_for(route, world))
    }
    assert not without_objects, "the crawl needs real objects for these panel pages"


def test_every_campaign_page_is_crawled_with_real_objects_and_has_an_expectation(world):
    routes = [route for route in ROUTES if route.name.startswith("campaigns:")]
    assert len(routes) > 40
    without_expectation = {
        route.view_name
        for route in routes
        if route.view_name not in CAMPAIGN_PAGES.keys() | CAMPAIGN_POST_ONLY
    }
    assert not without_expectation, "say who may open these campaign pages"
    without_objects = {
        route.name
        for route in routes
        if route.params and not any(visit.obj is not None for visit in visits_for(route, world))
    }
    assert not without_objects, "the crawl needs real objects for these campaign pages"
    # Expectations of pages that no longer exist hide nothing, but mislead the reader.
    assert not (CAMPAIGN_PAGES.keys() | CAMPAIGN_POST_ONLY) - {route.view_name for route in routes}


def test_every_b2b_page_is_crawled_with_real_objects_and_has_an_expectation(world):
    routes = [route for route in ROUTES if route.name.startswith("b2b:")]
    # The B2B app lives in livinglab.b2b: its pages are ours, not skipped as somebody else's.
    assert len(routes) >= 60 and all(is_ours(route) for route in routes)
    names = {route.view_name for route in routes}
    with_objects = {name for name, _case in B2B_OBJECT_PAGES}
    said = B2B_PAGES.keys() | B2B_POST_ONLY | with_objects
    assert not names - said, "say who may open these B2B pages"
    assert not B2B_PAGES.keys() & (B2B_POST_ONLY | with_objects)
    # Expectations of pages that no longer exist hide nothing, but mislead the reader.
    assert not said - names
    without_objects = {
        route.name
        for route in routes
        if route.params and not any(visit.obj is not None for visit in visits_for(route, world))
    }
    assert not without_objects, "the crawl needs real objects for these B2B pages"
    # Each object of the world has a row for each page that shows it, and each row is met by an object.
    met = {
        (route.view_name, b2b_case(visit, world))
        for route in routes
        if route.view_name not in B2B_POST_ONLY
        for visit in visits_for(route, world)
        if visit.obj is not None
    }
    assert not met - B2B_OBJECT_PAGES.keys(), "say who may open these B2B pages for these objects"
    assert not B2B_OBJECT_PAGES.keys() - met, "the world needs objects for these cases"
    # The admin of the B2B reference data, and the public B2B pages.
    admin = our_admin_namespaces(list(walk(get_resolver())))
    assert {"wagtailsnippets_b2b_tag", "wagtailsnippets_b2b_topic"} <= admin
    public = {type(page.specific) for page, _owner in world.objects["wagtail_serve"]}
    assert {B2BEventIndexPage, ProviderDirectoryPage} <= public
    # Every secret of the B2B world is looked for where its readers must find it.
    visited = {visit.url for route in ROUTES for visit in visits_for(route, world)}
    assert all(url in visited for secret in world.secrets for url in secret.shown)


def body_of(response) -> bytes:
    """The whole body, streamed ones (files, CSV, the OCDS bulk package) included."""
    # (The test client closes a streamed response once it has been read.)
    return b"".join(response.streaming_content) if response.streaming else response.content


def secrets_problems(persona: str, visit: Visit, response, world: World) -> list[str]:
    """Where a secret of the world shows up for someone who may not read it, or fails to show for a reader
    on a page that must show it."""
    try:
        body = body_of(response)
    except Exception as error:  # a stream that breaks half-way is a server error its status code hides
        return [f"{visit.url} failed while streaming its body: {error!r}"]
    problems = []
    typed = unquote(visit.url)
    for secret in world.secrets:
        if secret.text in typed:
            continue  # the visitor typed it (a ticket's code): a page may say what was asked for
        found = secret.text.encode() in body
        if found and persona not in secret.readers:
            problems.append(f"{visit.url} shows “{secret.text}” to a {persona}, who may not read it")
        elif not found and response.status_code == 200 and persona in secret.shown.get(visit.url, ()):
            problems.append(
                f"{visit.url} does not show “{secret.text}” to a {persona}, who must find it there"
            )
    return problems


def test_every_procurement_page_is_crawled_with_real_objects_and_has_an_expectation(world):
    routes = [route for route in ROUTES if route.name.startswith("procurement:")]
    assert len(routes) >= 50
    said = PROCUREMENT_PAGES.keys() | PROCUREMENT_POST_ONLY | PROCUREMENT_PUBLIC
    without_expectation = {route.view_name for route in routes if route.view_name not in said}
    assert not without_expectation, "say who may open these procurement pages"
    assert not PROCUREMENT_PAGES.keys() & (PROCUREMENT_POST_ONLY | PROCUREMENT_PUBLIC)
    # Every table names every signed-in persona (the anonymous visitor too where the page is public).
    for access_ in [*PROCUREMENT_PAGES.values(), *PROCUREMENT_CASES.values()]:
        assert set(access_) >= set(PERSONAS) - {"anonymous"}, access_
    without_objects = {
        route.name
        for route in routes
        if route.params and not any(visit.obj is not None for visit in visits_for(route, world))
    }
    assert not without_objects, "the crawl needs real objects for these procurement pages"
    # Expectations of pages that no longer exist hide nothing, but mislead the reader.
    names = {route.view_name for route in routes}
    assert not (said | {name for name, _case in PROCUREMENT_CASES}) - names
    # Each case the table states is met by an object of the world.
    met = {
        (route.view_name, procurement_case(visit))
        for route in routes
        for visit in visits_for(route, world)
        if visit.obj is not None
    }
    assert not PROCUREMENT_CASES.keys() - met, "the world needs objects for these cases"
    # The secrets are looked for where their readers must find them, and the public notices are served.
    visited = {visit.url for route in ROUTES for visit in visits_for(route, world)}
    assert world.secrets and all(url in visited for secret in world.secrets for url in secret.shown)
    notices = [page.specific for page, _owner in world.objects["wagtail_serve"]]
    assert {type(page) for page in notices} >= {ProcurementIndexPage, ChallengeNoticePage, CallNoticePage}


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_answers_without_server_error_and_refuses_what_the_persona_may_not_see(persona, world):
    client = Client()
    client.raise_request_exception = False
    if persona != "anonymous":
        client.force_login(world.users[persona])
    problems, crawled = [], 0
    for route in ROUTES:
        for visit in visits_for(route, world):
            response = client.get(visit.url)
            crawled += 1
            expected = expectation(persona, visit, world)
            if response.status_code >= 500:
                problems.append(f"{visit.url} answered {response.status_code}")
            elif expected == "refused" and response.status_code == 200:
                problems.append(f"{visit.url} was shown, but a {persona} may not see it")
            elif expected == "granted" and response.status_code != 200:
                problems.append(f"{visit.url} answered {response.status_code}, but a {persona} may see it")
            elif expected == LOGIN and not (
                response.status_code == 302 and response["Location"].startswith(str(LOGIN_URL))
            ):
                problems.append(
                    f"{visit.url} answered {response.status_code}, but must send a {persona} to sign in"
                )
            elif isinstance(expected, int) and response.status_code != expected:
                where = f" (to {response['Location']})" if response.status_code == 302 else ""
                problems.append(
                    f"{visit.url} answered {response.status_code}{where}, but must answer {expected} "
                    f"to a {persona}"
                )
            problems += secrets_problems(persona, visit, response, world)
    assert crawled > 100
    assert not problems, f"{len(problems)} of {crawled} pages went wrong for {persona}:\n" + "\n".join(
        problems
    )
