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
