"""Personas and panels for the user-panel tests."""

import pytest

from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import Channel, Organisation, Role
from pilots.factories import PanelFactory, PanelMembershipFactory, ParticipantProfileFactory
from tests.conftest import with_totp


@pytest.fixture
def panel(cluster, consent_form):
    return PanelFactory(
        owner=cluster, name="Living well at home", channel=Channel.B2C, consent_document=consent_form.document
    )


@pytest.fixture
def seniors_club(db):
    return OrganisationFactory(name="Rennes Seniors' Club", kind=Organisation.Kind.INTEREST_GROUP)


@pytest.fixture
def group_rep(seniors_club, panel):
    """A representative of an interest group that recruits for ``panel``."""
    panel.recruiting_groups.add(seniors_club)
    user = MembershipFactory(
        organisation=seniors_club, role=Role.GROUP_REPRESENTATIVE, user=UserFactory(email="club@example.org")
    ).user
    PersonFactory(user=user)
    return user


@pytest.fixture
def other_cluster_staff(db):
    """A coordinator of another living lab: runs none of this cluster's panels."""
    other = OrganisationFactory(name="Oulu Living Lab", kind=Organisation.Kind.CLUSTER, country="FI")
    user = MembershipFactory(
        organisation=other, role=Role.LAB_COORDINATOR, user=UserFactory(email="oulu@example.org")
    ).user
    return with_totp(user)


@pytest.fixture
def member(panel, give):
    """Add a consenting, active member to ``panel`` with the given profile attributes."""

    def _member(consent=("participation",), status="active", **profile):
        person = ParticipantProfileFactory(**profile).person
        for code in consent:
            give(person, code)
        return PanelMembershipFactory(panel=panel, person=person, status=status)

    return _member


# ------------------------------------------------------------------------------------------- campaigns


@pytest.fixture
def campaign(cluster, sme, panel, purposes):
    """A B2C usability test of ``sme`` hosted by ``cluster``, recruiting from ``panel``, running."""
    from pilots.factories import CampaignFactory

    c = CampaignFactory(
        lab=cluster, requested_by=sme, panel=panel, title="Pill reminder usability", status="running"
    )
    c.required_purposes.add(purposes["participation"])
    return c


@pytest.fixture
def take_part(campaign, give):
    """Make a person a participant of ``campaign`` (or another): a panel member drawn, invited, who
    accepted and agreed to the terms. Returns the person; ``person.code`` is their pseudonymous code."""
    from django.utils import timezone

    from pilots.models import Draw, DrawSelection, Invitation, ParticipantAgreement

    def _take_part(person=None, *, of=None, agree=True, **profile):
        target = of or campaign
        if person is None:
            membership = PanelMembershipFactory(
                panel=target.panel, person=ParticipantProfileFactory(**profile).person
            )
            give(membership.person, "participation")
        else:
            membership = PanelMembershipFactory(panel=target.panel, person=person)
        draw = target.draws.first() or Draw.objects.create(
            panel=target.panel,
            campaign=target,
            title=target.title,
            involves=target.expect_activities,
            requested_by=target.requested_by,
            size=target.target_participants,
            status=Draw.Status.INVITING,
        )
        selection = DrawSelection.objects.create(
            draw=draw, membership=membership, rank=draw.selections.count() + 1
        )
        Invitation.objects.create(
            selection=selection,
            person=membership.person,
            panel=target.panel,
            status=Invitation.Status.ACCEPTED,
            expires_at=timezone.now() + timezone.timedelta(days=10),
            responded_at=timezone.now(),
        )
        if agree:
            ParticipantAgreement.objects.create(
                campaign=target, person=membership.person, terms_sha256=target.terms_sha256()
            )
        membership.person.code = selection.code
        return membership.person

    return _take_part
