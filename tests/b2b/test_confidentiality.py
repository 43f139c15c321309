"""Confidential fields are never visible before an accepted introduction — checked for every role, on every
page that can show a need or an offer, in the exports and in the mails.

``need`` (of the buyer) and ``offer`` (of the supplier) carry CONFIDENTIAL markers in every confidential
field. Who may read them: the listing's own firm always, cluster staff and platform admins always, the other
firm of the pair only once an introduction between them is accepted (not while it is requested or brokered,
not after it was declined), a rival firm never; nor does anybody without a firm (a participant, a procurer of
a public authority, an anonymous visitor)."""

import pytest
from django.urls import reverse

from livinglab.b2b.errors import B2BError
from livinglab.b2b.models import Introduction, Visibility
from livinglab.b2b.services import introductions
from livinglab.b2b.services.matching import refresh_matches
from livinglab.factories import UserFactory
from tests.b2b.conftest import CONFIDENTIAL_MARKERS
from tests.conftest import with_totp

NEED_MARKERS = {"CONFIDENTIAL-NEED", "CONFIDENTIAL-USERS", "CONFIDENTIAL-BUDGET"}
OFFER_MARKERS = {"CONFIDENTIAL-OFFER", "CONFIDENTIAL-REFERENCES"}
assert set(CONFIDENTIAL_MARKERS) == NEED_MARKERS | OFFER_MARKERS

ROLES = (
    "buyer",
    "supplier",
    "rival",
    "newcomer",
    "participant",
    "procurer",
    "anonymous",
    "staff",
    "admin",
)
STAGES = ("none", "requested", "brokered", "accepted", "declined")

# (URL name, what its argument is): every page and export that can show a need or an offer.
PAGES = (
    ("b2b:need_detail", "need"),
    ("b2b:offer_detail", "offer"),
    ("b2b:need_list", None),
    ("b2b:offer_list", None),
    ("b2b:need_matches", "need"),
    ("b2b:offer_matches", "offer"),
    ("b2b:match_list", None),
    ("b2b:introduction_detail", "introduction"),
    ("b2b:introduction_list", None),
    ("b2b:need_matches_export", "need"),
    ("b2b:offer_matches_export", "offer"),
    ("b2b:introduction_export", None),
)


@pytest.fixture
def admin(db):
    """A platform admin (superuser), with the authenticator every privileged user needs."""
    return with_totp(UserFactory(email="admin@example.org", is_superuser=True, is_staff=True))


@pytest.fixture
def people(buyer_user, supplier_user, rival_user, newcomer, participant, procurer, broker, admin):
    return {
        "buyer": buyer_user,
        "supplier": supplier_user,
        "rival": rival_user,
        "newcomer": newcomer,
        "participant": participant,
        "procurer": procurer,
        "anonymous": None,
        "staff": broker,
        "admin": admin,
    }


def allowed(role: str, stage: str) -> set[str]:
    """The markers ``role`` may read at ``stage``."""
    if role in ("staff", "admin"):
        return NEED_MARKERS | OFFER_MARKERS
    if role == "buyer":
        return NEED_MARKERS | (OFFER_MARKERS if stage == "accepted" else set())
    if role == "supplier":
        return OFFER_MARKERS | (NEED_MARKERS if stage == "accepted" else set())
    return set()


def bring_to(stage, *, need, offer, buyer, buyer_user, supplier, supplier_user, broker, commit):
    """Walk an introduction between ``need`` and ``offer`` to ``stage`` through the services."""
    if stage == "none":
        return None
    with commit(execute=True):
        introduction = introductions.request_introduction(
            need, offer, organisation=buyer, message="", acting_user=buyer_user, nda_requested=True
        )
    if stage == "requested":
        return introduction
    with commit(execute=True):
        introductions.broker_introduction(
            introduction, nda_required=True, nda_text="", note="", acting_user=broker
        )
    introduction.refresh_from_db()
    if stage == "brokered":
        return introduction
    with commit(execute=True):
        introductions.accept_introduction(
            introduction, organisation=buyer, nda_sha256=introduction.nda_sha256, acting_user=buyer_user
        )
        if stage == "declined":
            introductions.decline_introduction(
                introduction, organisation=supplier, reason="", acting_user=supplier_user
            )
        else:
            introductions.accept_introduction(
                introduction,
                organisation=supplier,
                nda_sha256=introduction.nda_sha256,
                acting_user=supplier_user,
            )
    introduction.refresh_from_db()
    assert introduction.status == {"declined": "declined", "accepted": "accepted"}[stage]
    return introduction


def fetch(client, user, name: str, arg) -> str:
    """The page (or export) as ``user`` gets it, whatever the status code."""
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(reverse(name, args=[arg] if arg is not None else []))
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8-sig", errors="replace")
    return response.content.decode(errors="replace")


def shown(text: str) -> set[str]:
    return {marker for marker in CONFIDENTIAL_MARKERS if marker in text}


@pytest.fixture
def world(
    need, offer, buyer, buyer_user, supplier, supplier_user, broker, django_capture_on_commit_callbacks
):
    refresh_matches()
    return {
        "need": need,
        "offer": offer,
        "buyer": buyer,
        "buyer_user": buyer_user,
        "supplier": supplier,
        "supplier_user": supplier_user,
        "broker": broker,
        "commit": django_capture_on_commit_callbacks,
    }


@pytest.mark.parametrize("stage", STAGES)
def test_confidential_fields_are_never_visible_before_an_accepted_introduction(
    stage, client, world, people, mailoutbox
):
    introduction = bring_to(stage, **world)
    args = {"need": world["need"].pk, "offer": world["offer"].pk}
    if introduction is not None:
        args["introduction"] = introduction.pk
    leaks = []
    for role in ROLES:
        for name, arg_kind in PAGES:
            if arg_kind == "introduction" and introduction is None:
                continue
            text = fetch(client, people[role], name, args.get(arg_kind))
            extra = shown(text) - allowed(role, stage)
            if extra:
                leaks.append(f"{role} reads {sorted(extra)} on {name}")
    assert leaks == [], "\n".join(leaks)

    # The mails of every step: never a confidential field, and nothing to anyone outside the pair and the
    # cluster staff.
    for mail in mailoutbox:
        assert shown(mail.subject + mail.body) == set(), mail.body
        assert set(mail.to) <= {"buyer@example.org", "supplier@example.org", "staff@example.org"}


def test_the_other_firm_does_read_the_details_once_the_introduction_is_accepted(client, world, people):
    """The positive control of the test above: the check can fail."""
    introduction = bring_to("accepted", **world)
    assert shown(fetch(client, people["buyer"], "b2b:introduction_detail", introduction.pk)) == (
        NEED_MARKERS | OFFER_MARKERS
    )
    assert shown(fetch(client, people["supplier"], "b2b:introduction_detail", introduction.pk)) == (
        NEED_MARKERS | OFFER_MARKERS
    )
    assert shown(fetch(client, people["buyer"], "b2b:offer_detail", world["offer"].pk)) >= OFFER_MARKERS
    assert shown(fetch(client, people["staff"], "b2b:introduction_export", None)) >= OFFER_MARKERS
    # The pages answer: own listings in full, suggested counterparts by their teaser.
    assert shown(fetch(client, people["staff"], "b2b:need_detail", world["need"].pk)) == NEED_MARKERS
    assert world["offer"].title in fetch(client, people["buyer"], "b2b:need_matches", world["need"].pk)


def test_a_staff_only_listing_is_invisible_to_other_firms_everywhere(client, world, people):
    offer = world["offer"]
    offer.visibility = Visibility.STAFF
    offer.save()
    refresh_matches()
    args = {"need": world["need"].pk, "offer": offer.pk}
    seen = []
    for role in ROLES:
        for name, arg_kind in PAGES:
            if arg_kind == "introduction":
                continue
            text = fetch(client, people[role], name, args.get(arg_kind))
            if offer.title in text or offer.summary in text:
                seen.append(f"{role} sees the offer on {name}")
    expected = {f"{role} sees the offer on b2b:offer_detail" for role in ("supplier", "staff", "admin")}
    assert expected <= set(seen)
    assert {line.split(" ")[0] for line in seen} <= {"supplier", "staff", "admin"}, "\n".join(seen)
    with pytest.raises(B2BError, match="cannot see the other listing"):
        introductions.request_introduction(
            world["need"], offer, organisation=world["buyer"], message="", acting_user=people["buyer"]
        )
    assert not Introduction.objects.exists()


def test_a_listing_public_to_members_shows_its_details_to_every_firm(client, world, people):
    offer = world["offer"]
    offer.visibility = Visibility.MEMBERS
    offer.save()
    for role in ("buyer", "rival", "newcomer", "supplier", "staff", "admin"):
        text = fetch(client, people[role], "b2b:offer_detail", offer.pk)
        assert shown(text) >= OFFER_MARKERS, role
        assert "Breizh Sensors" in text, role
    for role in ("participant", "procurer", "anonymous"):
        assert shown(fetch(client, people[role], "b2b:offer_detail", offer.pk)) == set(), role
    # The need next to it stays confidential.
    assert shown(fetch(client, people["rival"], "b2b:need_detail", world["need"].pk)) == set()
