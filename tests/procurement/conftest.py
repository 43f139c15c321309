"""Personas and a published call for the procurement tests.

``call`` is Espoo's published procurement (intermediary: ``cluster``) with phase 1 open: questions until
five days from now, bids until a week from now, two criteria (quality 60 %, price 40 %). Everybody who acts
on it has accepted its ground rules (``pcp_rules``, B2G channel) — except ``newcomer``."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from livinglab import services as core
from livinglab.factories import GroundRulesFactory, GroundRulesVersionFactory, MembershipFactory, UserFactory
from livinglab.models import Channel, GroundRules, Organisation, Role
from procurement.factories import (
    AwardCriterionFactory,
    BidFactory,
    ConsortiumFactory,
    ConsortiumMemberFactory,
    PhaseFactory,
    ProcurementFactory,
)
from procurement.models import Phase
from procurement.services import calls
from tests.conftest import with_totp


@pytest.fixture
def pcp_rules(db):
    """The B2G ground rules every party of a call accepts."""
    rules = GroundRulesFactory(
        title="Ground rules for public procurement contacts",
        scope_kind=GroundRules.ScopeKind.CHANNEL,
        channel=Channel.B2G,
    )
    return GroundRulesVersionFactory(rules=rules)


@pytest.fixture
def accept(pcp_rules):
    """Accept every ground rules version that applies to ``procurement`` for ``organisation``."""

    def _accept(user, procurement, organisation=None):
        for version in core.pending_ground_rules(user, procurement, organisation=organisation):
            core.accept_ground_rules(
                version, organisation=organisation, acting_user=user, shown_sha256=version.text_sha256
            )
        return user

    return _accept


def _member(organisation, role, email, *, totp=False):
    user = MembershipFactory(organisation=organisation, role=role, user=UserFactory(email=email)).user
    return with_totp(user) if totp else user


@pytest.fixture
def call(authority, cluster, procurer, accept):
    procurement = ProcurementFactory(
        buyer=authority,
        title="Living at home longer in Espoo",
        slug="living-at-home-longer",
        intermediaries=[cluster],
    )
    phase = PhaseFactory(procurement=procurement)
    AwardCriterionFactory(
        phase=phase, name="Quality of the solution design", weight=Decimal("60"), position=1
    )
    AwardCriterionFactory(phase=phase, name="Price", weight=Decimal("40"), position=2, is_price=True)
    for number, title in ((2, "Prototype development"), (3, "Field testing of first products")):
        PhaseFactory(
            procurement=procurement,
            number=number,
            title=title,
            status=Phase.Status.PLANNED,
            opened_at=None,
            question_deadline=None,
            bid_deadline=None,
            budget=Decimal("450000.00") if number == 2 else Decimal("900000.00"),
            max_contractors=3 if number == 2 else 2,
        )
    accept(procurer, procurement, authority)
    return procurement


@pytest.fixture
def draft(procurer, authority, cluster, accept):
    """A draft procurement of ``authority`` made by the service: three default phases, no criteria yet."""
    procurement = calls.create_procurement(
        buyer=authority,
        title="Home care that sees a fall coming",
        challenge="Older people want to live at home longer, safely.",
        needs="Detect falls early, without cameras.",
        expected_outcome="Nurses act before a crisis.",
        budget=Decimal("1000000"),
        time_zone="Europe/Helsinki",
        intermediaries=[cluster],
        acting_user=procurer,
    )
    accept(procurer, procurement, authority)
    return procurement


@pytest.fixture
def phase1(call):
    return call.phases.get(number=1)


@pytest.fixture
def compliance_user(authority, call, accept):
    return accept(_member(authority, Role.COMPLIANCE, "compliance@example.org", totp=True), call, authority)


@pytest.fixture
def evaluator_user(authority, call, accept):
    return accept(_member(authority, Role.EVALUATOR, "evaluator@example.org", totp=True), call, authority)


@pytest.fixture
def intermediary(staff_user, call, cluster, accept):
    """``staff_user``, coordinator of the intermediary cluster, having accepted the call's rules."""
    return accept(staff_user, call, cluster)


@pytest.fixture
def bidder(sme, call, accept):
    """An administrator of ``sme`` (Breizh Sensors), ground rules accepted for it."""
    return accept(_member(sme, Role.FIRM_ADMIN, "bidder@example.org"), call, sme)


@pytest.fixture
def partner_firm(db):
    return Organisation.objects.create(
        name="Aalto Care Research", slug="aalto-care-research", kind=Organisation.Kind.RESEARCH, country="FI"
    )


@pytest.fixture
def partner_user(partner_firm, call, accept):
    return accept(_member(partner_firm, Role.RESEARCHER, "partner@example.org"), call, partner_firm)


@pytest.fixture
def rival(other_sme, call, accept):
    """An administrator of ``other_sme`` (Loire Mobile), a competing bidder."""
    return accept(_member(other_sme, Role.FIRM_ADMIN, "rival@example.org"), call, other_sme)


@pytest.fixture
def newcomer(db):
    """A firm administrator who has not accepted the call's ground rules."""
    firm = Organisation.objects.create(
        name="Newcomer Oy", slug="newcomer-oy", kind=Organisation.Kind.SME, country="FI"
    )
    return _member(firm, Role.FIRM_ADMIN, "newcomer@example.org")


@pytest.fixture
def consortium(call, sme, partner_firm):
    """Breizh Sensors leads, Aalto Care Research is an accepted partner."""
    consortium = ConsortiumFactory(procurement=call, lead=sme, name="HomeSense")
    ConsortiumMemberFactory(consortium=consortium, organisation=partner_firm)
    return consortium


@pytest.fixture
def rival_consortium(call, other_sme):
    return ConsortiumFactory(procurement=call, lead=other_sme, name="Loire Care")


@pytest.fixture
def sealed_bid(phase1, consortium):
    """A submitted bid of ``consortium`` in phase 1, before the deadline."""
    return BidFactory(phase=phase1, consortium=consortium, content__price=Decimal("120000.00"))


@pytest.fixture
def pass_deadline():
    """Move a phase's bid (and question) deadline into the past, as if time had passed."""

    def _pass(phase, seconds=1):
        moment = timezone.now() - timedelta(seconds=seconds)
        type(phase).objects.filter(pk=phase.pk).update(
            bid_deadline=moment, question_deadline=min(moment, phase.question_deadline or moment)
        )
        phase.refresh_from_db()
        return phase

    return _pass
