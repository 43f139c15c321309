"""Shared fixtures: personas for every kind of user, and published ground rules and consent forms."""

from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator

from livinglab import services
from livinglab.factories import (
    ConsentDocumentVersionFactory,
    ConsentPurposeFactory,
    GroundRulesVersionFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    UserFactory,
)
from livinglab.models import Organisation, Role
from tests.browser import browser, page, pytest_runtest_makereport, shoot  # noqa: F401
from vouchers.factories import EnrolmentFactory, ProgrammeFactory, SolutionFactory


def with_totp(user):
    """Give a user an enrolled authenticator, as privileged roles need to open their workspace."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return user


@pytest.fixture
def cluster(db):
    return OrganisationFactory(name="Images & Réseaux Living Lab", kind=Organisation.Kind.CLUSTER)


@pytest.fixture
def sme(db):
    return OrganisationFactory(name="Breizh Sensors", kind=Organisation.Kind.SME)


@pytest.fixture
def other_sme(db):
    return OrganisationFactory(name="Loire Mobile", kind=Organisation.Kind.SME, region="Pays de la Loire")


@pytest.fixture
def authority(db):
    return OrganisationFactory(
        name="City of Espoo Social Services",
        kind=Organisation.Kind.PUBLIC_AUTHORITY,
        country="FI",
        region="Uusimaa",
    )


@pytest.fixture
def agency(db):
    return OrganisationFactory(name="Bretagne Innovation Agency", kind=Organisation.Kind.FUNDING_AGENCY)


@pytest.fixture
def participant(db):
    """An end-user with no organisation."""
    return PersonFactory(user=UserFactory(email="participant@example.org")).user


@pytest.fixture
def sme_admin(sme):
    user = MembershipFactory(
        organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory(email="sme@example.org")
    ).user
    PersonFactory(user=user)
    return user


@pytest.fixture
def staff_user(cluster):
    """A living-lab coordinator with an authenticator enrolled."""
    user = MembershipFactory(
        organisation=cluster, role=Role.LAB_COORDINATOR, user=UserFactory(email="staff@example.org")
    ).user
    PersonFactory(user=user)
    return with_totp(user)


@pytest.fixture
def procurer(authority):
    user = MembershipFactory(
        organisation=authority, role=Role.PROCURER, user=UserFactory(email="procurer@example.org")
    ).user
    return with_totp(user)


@pytest.fixture
def funder(agency):
    user = MembershipFactory(
        organisation=agency, role=Role.FUNDING_OFFICER, user=UserFactory(email="funder@example.org")
    ).user
    return with_totp(user)


@pytest.fixture
def platform_rules(db):
    return GroundRulesVersionFactory(rules__title="Platform code of conduct")


@pytest.fixture
def purposes(db):
    return {
        "participation": ConsentPurposeFactory(code="participation", name="Taking part in studies"),
        "recording": ConsentPurposeFactory(code="recording", name="Audio and video recording"),
        "health": ConsentPurposeFactory(code="health-data", name="Health data", special_category=True),
    }


@pytest.fixture
def consent_form(purposes):
    return ConsentDocumentVersionFactory(
        document__title="Panel participation", purposes=list(purposes.values())
    )


@pytest.fixture
def give(consent_form, purposes):
    """Give consent to one purpose for a person, online, by themselves."""

    def _give(person, code="participation", **kwargs):
        purpose = purposes[code]
        kwargs.setdefault("explicit_purposes", [purpose] if purpose.special_category else [])
        return services.give_consent(
            person,
            consent_form,
            [purpose],
            method="online",
            acting_user=kwargs.pop("acting_user", person.user),
            **kwargs,
        )[0]

    return _give


# ---------------------------------------------------------------------------------------- voucher programmes


@pytest.fixture
def programme(cluster, agency):
    """Fixed 500 EUR vouchers, budget 10,000 EUR, one redemption per voucher, open for applications."""
    return ProgrammeFactory(
        title="Warm homes Bretagne", operator=cluster, funder=agency, total_budget=Decimal("10000.00")
    )


@pytest.fixture
def solution(sme, programme):
    """The SME's solution, approved in the programme."""
    solution = SolutionFactory(firm=sme, name="Heat-pump retrofit", price=Decimal("900.00"))
    EnrolmentFactory(solution=solution, programme=programme)
    return solution
