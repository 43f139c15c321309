"""The demo world: built once however often ``seed_demo`` runs, believable, usable with its logins."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from wagtail.models import Page

from cms.models import HomePage, StandardPage
from livinglab import audit
from livinglab.factories import DEMO_PASSWORD
from livinglab.management.commands.seed_demo import LOGINS, PANEL_FORM
from livinglab.models import (
    AuditEntry,
    ConsentRecord,
    EnterpriseGroup,
    GroundRulesAcceptance,
    GroundRulesVersion,
    Guardianship,
    Membership,
    Organisation,
    Person,
    User,
    VersionStatus,
)
from vouchers.models import (
    Application,
    Claim,
    ClaimLine,
    Feedback,
    LedgerEntry,
    PaymentBatch,
    Programme,
    Voucher,
    de_minimis_headroom,
)

PRIVILEGED_LOGINS = {"admin", "coordinator", "manager", "procurer", "evaluator", "funder"}


def world_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "people": Person.objects.count(),
        "organisations": Organisation.objects.count(),
        "groups": EnterpriseGroup.objects.count(),
        "memberships": Membership.objects.count(),
        "guardianships": Guardianship.objects.count(),
        "consents": ConsentRecord.objects.count(),
        "withdrawn": ConsentRecord.objects.filter(withdrawn_at__isnull=False).count(),
        "rules versions": GroundRulesVersion.objects.count(),
        "acceptances": GroundRulesAcceptance.objects.count(),
        "pages": Page.objects.count(),
        "audit entries": AuditEntry.objects.count(),
        "vouchers": Voucher.objects.count(),
        "ledger entries": LedgerEntry.objects.count(),
    }


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo world, built once for this module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield world_counts()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo_world, db):
    return demo_world


def test_seeding_again_adds_nothing_and_keeps_the_audit_chain_intact(seeded):
    call_command("seed_demo", verbosity=0)
    assert world_counts() == seeded
    assert seeded["withdrawn"] > 0
    checked, problems = audit.verify_chain()
    assert problems == []
    assert checked == seeded["audit entries"]


def test_the_demo_panel_has_over_two_hundred_participants_of_all_ages(seeded):
    participants = Person.objects.filter(consents__version__document__title=PANEL_FORM).distinct()
    assert participants.count() >= 200
    today = date.today()
    ages = [p.age_on(today) for p in participants]
    assert min(ages) <= 9 and max(ages) >= 88
    # Each consent is tied to the published text it was given under.
    version = ConsentRecord.objects.filter(version__document__title=PANEL_FORM).first().version
    assert version.status == VersionStatus.PUBLISHED
    assert not ConsentRecord.objects.exclude(text_sha256=F("version__text_sha256")).exists()
    assert ConsentRecord.objects.filter(version=version).count() >= 200


def test_children_on_the_panel_have_no_login_and_consent_only_through_their_guardian(seeded):
    children = Person.objects.filter(guardianships__isnull=False).distinct()
    assert 12 <= children.count() <= 20
    for child in children:
        assert child.user is None
        assert child.needs_guardian_consent()
        guardians = {g.guardian for g in child.guardianships.select_related("guardian__user")}
        assert all(g.user is not None and not g.needs_guardian_consent() for g in guardians)
        records = list(child.consents.all())
        assert any(r.purpose.code == "participation" and r.is_active for r in records)
        assert all(r.guardian in guardians and r.given_by == r.guardian.user for r in records)
    participant = Person.objects.get(user__email="participant@demo.livinglab.eu")
    assert participant.wards.exists()


def test_health_data_consent_is_always_explicit(seeded):
    health = ConsentRecord.objects.filter(purpose__code="health-data")
    assert health.exists()
    assert not health.filter(explicit=False).exists()


def test_the_linked_firms_share_one_enterprise_group(seeded):
    sensors = Organisation.objects.get(slug="kerveil-capteurs")
    mobile = Organisation.objects.get(slug="kerveil-mobile")
    assert sensors.group is not None and sensors.group == mobile.group
    assert set(sensors.single_undertaking()) == {sensors, mobile}
    assert Organisation.objects.filter(group__isnull=False).count() == 2


def test_a_new_platform_code_version_leaves_earlier_acceptances_to_be_renewed(seeded):
    versions = GroundRulesVersion.objects.filter(rules__title="Platform code of conduct").order_by("number")
    assert [(v.number, v.status) for v in versions] == [
        (1, VersionStatus.RETIRED),
        (2, VersionStatus.PUBLISHED),
    ]
    sme_admin = User.objects.get(email="sme@demo.livinglab.eu")
    assert GroundRulesAcceptance.objects.filter(user=sme_admin, version=versions[0]).exists()
    assert not GroundRulesAcceptance.objects.filter(user=sme_admin, version=versions[1]).exists()


def test_every_demo_login_signs_in_and_privileged_ones_are_asked_to_enrol_an_authenticator(seeded, client):
    cache.clear()  # allauth's login rate limit counts per address; start from zero
    for login in LOGINS:
        response = client.post(reverse("account_login"), {"login": login.email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, login.email
        assert int(client.session["_auth_user_id"]) == User.objects.get(email=login.email).pk
        workspace = client.get(reverse("workspace"), follow=True)
        landed = workspace.redirect_chain[-1][0]
        if login.key in PRIVILEGED_LOGINS:
            assert landed == reverse("mfa_required"), login.email
        else:
            assert workspace.status_code == 200 and "/workspace/" in landed, login.email
        client.logout()


def test_cluster_staff_can_edit_the_published_site_pages(seeded):
    editors = Group.objects.get(name="Editors")
    staff = {u.email for u in editors.user_set.all()}
    assert {"coordinator@demo.livinglab.eu", "manager@demo.livinglab.eu"} <= staff
    home = HomePage.objects.get()
    assert home.live and home.introduction
    assert [block.block_type for block in home.body][:2] == ["heading", "paragraph"]
    assert {"call_to_action", "quote"} <= {block.block_type for block in home.body}
    titles = set(StandardPage.objects.child_of(home).live().values_list("title", flat=True))
    assert titles == {"How our living lab works", "For firms", "Your data and your rights"}


def test_the_demo_voucher_programmes_have_vouchers_in_every_state_within_budget(seeded):
    from django.utils import timezone

    programmes = list(Programme.objects.order_by("slug"))
    assert {p.slug for p in programmes} == {"renovation-2026", "carers-digital-2026", "cargo-bikes-2026"}
    for programme in programmes:
        assert Decimal("0") < programme.committed_budget() <= programme.total_budget
    states = set(Voucher.objects.values_list("status", flat=True))
    assert {Voucher.Status.ISSUED, Voucher.Status.REDEEMED, Voucher.Status.CANCELLED} <= states
    assert Voucher.objects.count() >= 200
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSE).exists()
    assert all(v.balance() >= 0 for v in Voucher.objects.all()[:50])
    near = Organisation.objects.get(slug="loire-renov-energie")
    headroom = de_minimis_headroom(near, timezone.localdate(), programmes[0].de_minimis_ceiling)
    assert Decimal("0") <= headroom < Decimal("5000")


def test_the_demo_has_applications_a_drawn_lottery_feedback_claims_at_every_stage_and_a_paid_batch(seeded):
    statuses = set(Application.objects.values_list("status", flat=True))
    assert {"issued", "refused", "not_selected"} <= statuses
    lottery = Programme.objects.get(slug="cargo-bikes-2026")
    assert lottery.lottery_drawn_at is not None and lottery.lottery_seed
    assert Feedback.objects.count() > 20
    assert {"submitted", "decided"} <= set(Claim.objects.values_list("status", flat=True))
    assert {"approved", "rejected"} <= set(ClaimLine.objects.values_list("status", flat=True))
    # The firm near its ceiling was refused the excess, with the explanation kept on the line.
    assert ClaimLine.objects.filter(
        claim__firm__slug="loire-renov-energie", status="rejected", reason__contains="de minimis ceiling"
    ).exists()
    assert {"open", "paid"} <= set(PaymentBatch.objects.values_list("status", flat=True))
