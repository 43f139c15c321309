"""Who may do what to which object: the policy as a role × object × action matrix.

The expected answers are written down below as a table a reviewer can read line by line; every cell
becomes one test. ``Y`` means allowed, ``.`` refused, ``-`` does not apply (the persona has no such object).
"""

from dataclasses import dataclass, field
from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from wagtail.permissions import policy_registry

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
from livinglab.models import (
    AuditEntry,
    ConsentRecord,
    Guardianship,
    Membership,
    Organisation,
    Person,
    Role,
    User,
)
from livinglab.policy import requires_mfa
from livinglab.viewsets import RulesPolicy

# Every case reads the database; the marker also tells pytest-django to create the test database.
pytestmark = pytest.mark.django_db

# Column header → persona, and where the persona works (organisation fixture name, role).
PERSONAS = {
    "anon": ("anonymous", None),
    "part": ("participant", None),
    "guard": ("guardian of a minor", None),
    "smeA": ("SME admin", ("sme", Role.FIRM_ADMIN)),
    "smeM": ("SME member", ("sme", Role.FIRM_MEMBER)),
    "othA": ("other firm's admin", ("other_sme", Role.FIRM_ADMIN)),
    "coord": ("lab coordinator", ("cluster", Role.LAB_COORDINATOR)),
    "mgr": ("cluster manager", ("cluster", Role.CLUSTER_MANAGER)),
    "proc": ("procurer", ("authority", Role.PROCURER)),
    "eval": ("evaluator", ("authority", Role.EVALUATOR)),
    "fund": ("funder", ("agency", Role.FUNDING_OFFICER)),
    "rep": ("interest-group rep", ("interest_group", Role.GROUP_REPRESENTATIVE)),
    "root": ("superuser", None),
}

# Objects, seen from the persona in the column:
#   own_consent      the persona's own consent record (anonymous: the record of a person enrolled on paper,
#                    who has no login: "no user" must never match "no user")
#   other_consent    a neighbour's consent record
#   ward_consent     the consent record of the guardian's 12-year-old ward
#   own_acceptance   the persona's own ground rules acceptance (anonymous: the neighbour's)
#   other_acceptance the neighbour's acceptance
#   myself           accepting ground rules on behalf of nobody but oneself
#   own_org          the organisation the persona works for
#   other_org        a firm the persona does not belong to
#   audit_entry      an entry of the audit trail
#   -                no object (a model-level permission or a property of the user)
# Actions without an app label are livinglab permissions (view_consent is livinglab.view_consent).
# give_consent_for is asked about the person behind the consent record.
# admin:<action>_<model> asks the Wagtail permission policy registered for the model (livinglab/viewsets.py),
# the gate of every admin view; Django's has_perm alone says yes to a superuser for anything.
MATRIX = """
action                      object           anon part guard smeA smeM othA coord mgr proc eval fund rep root
view_consent                own_consent       .    Y     Y    Y    Y    Y     Y    Y   Y    Y    Y    Y   Y
view_consent                other_consent     .    .     .    .    .    .     Y    Y   .    .    .    .   Y
view_consent                ward_consent      .    .     Y    .    .    .     Y    Y   .    .    .    .   Y
withdraw_consent            own_consent       .    Y     Y    Y    Y    Y     Y    Y   Y    Y    Y    Y   Y
withdraw_consent            other_consent     .    .     .    .    .    .     Y    Y   .    .    .    .   Y
withdraw_consent            ward_consent      .    .     Y    .    .    .     Y    Y   .    .    .    .   Y
give_consent_for            own_consent       .    Y     Y    Y    Y    Y     Y    Y   Y    Y    Y    Y   Y
give_consent_for            other_consent     .    .     .    .    .    .     .    .   .    .    .    .   Y
give_consent_for            ward_consent      .    .     Y    .    .    .     .    .   .    .    .    .   Y
view_acceptance             own_acceptance    .    Y     Y    Y    Y    Y     Y    Y   Y    Y    Y    Y   Y
view_acceptance             other_acceptance  .    .     .    .    .    .     Y    Y   .    .    .    .   Y
accept_ground_rules         myself            .    Y     Y    Y    Y    Y     Y    Y   Y    Y    Y    Y   Y
accept_ground_rules         own_org           -    -     -    Y    Y    Y     Y    Y   Y    Y    Y    Y   -
accept_ground_rules         other_org         .    .     .    .    .    .     .    .   .    .    .    .   Y
open_organisation_workspace own_org           -    -     -    Y    Y    Y     Y    Y   Y    Y    Y    Y   -
open_organisation_workspace other_org         .    .     .    .    .    .     .    .   .    .    .    .   Y
manage_members              own_org           -    -     -    Y    .    Y     Y    Y   .    .    .    .   -
manage_members              other_org         .    .     .    .    .    .     Y    Y   .    .    .    .   Y
wagtailadmin.access_admin   -                 .    .     .    .    .    .     Y    Y   .    .    .    .   Y
view_auditentry             -                 .    .     .    .    .    .     Y    Y   .    .    .    .   Y
view_auditentry             audit_entry       .    .     .    .    .    .     Y    Y   .    .    .    .   Y
admin:view_auditentry       audit_entry       .    .     .    .    .    .     Y    Y   .    .    .    .   Y
admin:change_auditentry     audit_entry       .    .     .    .    .    .     .    .   .    .    .    .   .
admin:delete_auditentry     audit_entry       .    .     .    .    .    .     .    .   .    .    .    .   .
admin:add_auditentry        -                 .    .     .    .    .    .     .    .   .    .    .    .   .
admin:change_consentrecord  own_consent       .    .     .    .    .    .     .    .   .    .    .    .   .
admin:change_organisation   other_org         .    .     .    .    .    .     Y    Y   .    .    .    .   Y
requires_mfa                -                 .    .     .    .    .    .     Y    Y   Y    Y    Y    .   Y
"""


PROPERTIES = {"requires_mfa"}


def parse_matrix(text: str) -> list[tuple[str, str, str, bool]]:
    lines = [line.split() for line in text.strip().splitlines()]
    columns = lines[0][2:]
    assert columns == list(PERSONAS), "the matrix header must list every persona, in order"
    cases = []
    for action, obj, *cells in lines[1:]:
        assert len(cells) == len(columns), f"row {action} {obj} has {len(cells)} cells"
        if "." not in action and ":" not in action and action not in PROPERTIES:
            action = f"livinglab.{action}"
        for column, cell in zip(columns, cells, strict=True):
            if cell != "-":
                cases.append((action, obj, column, cell == "Y"))
    return cases


CASES = parse_matrix(MATRIX)


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    consents: dict[str, ConsentRecord] = field(default_factory=dict)
    acceptances: dict[str, object] = field(default_factory=dict)
    paper_consent: ConsentRecord | None = None
    neighbour_consent: ConsentRecord | None = None
    neighbour_acceptance: object = None
    ward_consent: ConsentRecord | None = None
    audit_entry: AuditEntry | None = None


def build_world() -> World:
    world = World()
    kinds = {
        "cluster": Organisation.Kind.CLUSTER,
        "sme": Organisation.Kind.SME,
        "other_sme": Organisation.Kind.SME,
        "authority": Organisation.Kind.PUBLIC_AUTHORITY,
        "agency": Organisation.Kind.FUNDING_AGENCY,
        "interest_group": Organisation.Kind.INTEREST_GROUP,
    }
    for name, kind in kinds.items():
        world.organisations[name] = OrganisationFactory(name=f"Policy {name.replace('_', ' ')}", kind=kind)
    purpose = ConsentPurposeFactory(code="policy-participation", name="Taking part in studies")
    form = ConsentDocumentVersionFactory(purposes=[purpose])
    rules = GroundRulesVersionFactory()

    def consent(person, acting_user, guardian=None):
        return services.give_consent(
            person, form, [purpose], method="online", acting_user=acting_user, guardian=guardian
        )[0]

    for column, (_label, work) in PERSONAS.items():
        if column == "anon":
            continue
        user = UserFactory(
            email=f"{column.lower()}@policy.example.org",
            is_superuser=column == "root",
            is_staff=column == "root",
        )
        if work is not None:
            organisation, role = work
            MembershipFactory(user=user, organisation=world.organisations[organisation], role=role)
        person = PersonFactory(user=user)
        world.users[column] = user
        world.consents[column] = consent(person, user)
        world.acceptances[column] = services.accept_ground_rules(rules, organisation=None, acting_user=user)

    ward = Person.objects.create(full_name="Léa Martin", birth_date=date(date.today().year - 12, 1, 1))
    guardian = world.users["guard"]
    services.add_guardian(
        ward, guardian=guardian.person, relationship=Guardianship.Relationship.PARENT, acting_user=guardian
    )
    world.ward_consent = consent(ward, guardian, guardian=guardian.person)

    paper = Person.objects.create(full_name="Enrolled on paper", birth_date=date(1950, 5, 5))
    world.paper_consent = consent(paper, world.users["coord"])

    neighbour = PersonFactory(user=UserFactory(email="neighbour@policy.example.org")).user
    world.neighbour_consent = consent(neighbour.person, neighbour)
    world.neighbour_acceptance = services.accept_ground_rules(rules, organisation=None, acting_user=neighbour)
    world.audit_entry = AuditEntry.objects.order_by("-seq").first()
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the whole matrix, rolled back at the end of the module (as setUpTestData does)."""
    with django_db_blocker.unblock(), transaction.atomic():
        assert "test" in connection.settings_dict["NAME"], "the matrix must run on the test database"
        yield build_world()
        transaction.set_rollback(True)


def resolve(world: World, column: str, obj: str):
    """The object a matrix row asks about, seen from the persona in ``column``."""
    anonymous = column == "anon"
    if obj == "own_consent":
        return world.paper_consent if anonymous else world.consents[column]
    if obj == "other_consent":
        return world.neighbour_consent
    if obj == "ward_consent":
        return world.ward_consent
    if obj == "own_acceptance":
        return world.neighbour_acceptance if anonymous else world.acceptances[column]
    if obj == "other_acceptance":
        return world.neighbour_acceptance
    if obj == "own_org":
        return world.organisations[PERSONAS[column][1][0]]
    if obj == "other_org":
        return world.organisations["sme" if column == "othA" else "other_sme"]
    if obj == "audit_entry":
        return world.audit_entry
    assert obj in {"myself", "-"}, obj
    return None


def ask(user, action: str, target) -> bool:
    if action == "requires_mfa":
        return requires_mfa(user)
    if action.startswith("admin:"):
        verb, model_name = action.removeprefix("admin:").split("_", 1)
        model = {"auditentry": AuditEntry, "consentrecord": ConsentRecord, "organisation": Organisation}[
            model_name
        ]
        policy = policy_registry.get_by_type(model)
        assert isinstance(policy, RulesPolicy), f"{model_name} must be guarded by the rules policy"
        if target is None:
            return policy.user_has_permission(user, verb)
        return policy.user_has_permission_for_instance(user, verb, target)
    if action == "livinglab.give_consent_for":
        target = target.person
    if target is None and action != "livinglab.accept_ground_rules":
        return user.has_perm(action)
    return user.has_perm(action, target)


@pytest.mark.parametrize(
    ("action", "obj", "column", "allowed"),
    CASES,
    ids=[f"{a.split('.')[-1]}-{o}-{PERSONAS[c][0].replace(' ', '_')}" for a, o, c, _ in CASES],
)
def test_policy_matrix(world, action, obj, column, allowed):
    # A fresh user object per case: nothing cached on the user leaks from one question to the next.
    user = AnonymousUser() if column == "anon" else User.objects.get(pk=world.users[column].pk)
    target = resolve(world, column, obj)
    verdict = "may" if allowed else "may not"
    assert ask(user, action, target) is allowed, f"a {PERSONAS[column][0]} {verdict} {action} on {obj}"


def test_the_matrix_covers_every_persona_and_every_action_of_the_brief():
    actions = {action for action, *_ in CASES}
    assert {
        "livinglab.view_consent",
        "livinglab.withdraw_consent",
        "livinglab.give_consent_for",
        "livinglab.view_acceptance",
        "livinglab.accept_ground_rules",
        "livinglab.open_organisation_workspace",
        "livinglab.manage_members",
        "wagtailadmin.access_admin",
        "livinglab.view_auditentry",
        "admin:change_auditentry",
        "requires_mfa",
    } <= actions
    assert {column for _, _, column, _ in CASES} == set(PERSONAS)


def test_an_ended_membership_takes_the_workspace_and_member_management_away(world):
    sme = world.organisations["sme"]
    membership = Membership.objects.get(user=world.users["smeA"], organisation=sme)
    services.end_membership(membership, acting_user=world.users["mgr"])
    former_admin = User.objects.get(pk=world.users["smeA"].pk)
    assert not former_admin.has_perm("livinglab.open_organisation_workspace", sme)
    assert not former_admin.has_perm("livinglab.manage_members", sme)
    assert not former_admin.has_perm("livinglab.accept_ground_rules", sme)


@pytest.mark.parametrize("column", ["root", "mgr"])
def test_a_deactivated_account_keeps_no_staff_or_admin_permission(world, column):
    # Deactivating is how a platform removes someone at once; jobs and lists that ask the policy about
    # users outside a request must get the same answer as a sign-in would.
    user = User.objects.get(pk=world.users[column].pk)
    user.is_active = False
    assert not user.has_perm("wagtailadmin.access_admin")
    assert not user.has_perm("livinglab.view_consent", world.neighbour_consent)
    assert not user.has_perm("livinglab.manage_members", world.organisations["sme"])
    assert not requires_mfa(user)
