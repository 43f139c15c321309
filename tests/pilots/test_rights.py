"""The participant's own page and data rights: seeing everything held about them, pausing and leaving
panels, a copy of their data (GDPR Art. 15/20) and erasure (Art. 17) that leaves no personal data in any
table of the database."""

import io
import json
import secrets
import zipfile
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from livinglab import services as core
from livinglab.factories import DEMO_PASSWORD, PersonFactory, UserFactory
from livinglab.models import AuditEntry, ConsentRecord, GroundRulesAcceptance, Guardianship, Person, User
from pilots.errors import PanelError
from pilots.factories import PanelAttributeFactory, PanelFactory, ParticipantProfileFactory
from pilots.models import (
    AttributeKind,
    AttributeValue,
    ContactOverride,
    DataExport,
    Draw,
    DrawSelection,
    ErasureReceipt,
    Invitation,
    PanelMembership,
    ParticipantProfile,
    Participation,
    pack,
)
from pilots.services import rights
from pilots.templatetags.rights_tags import my_panels
from vouchers.factories import ProgrammeFactory, VoucherFactory
from vouchers.models import Application, Feedback, LedgerEntry, Voucher

NAME = "Zephyrine Quattlebaum-Oyelaran"
EMAIL = "zephyrine.quattlebaum@example.net"
# Every way the person could be found: whole name, whole address, and the rarest parts of each.
NEEDLES = (NAME, EMAIL, "zephyrine", "quattlebaum", "oyelaran")
ERASE = {"phrase": "ERASE", "password": DEMO_PASSWORD}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Wrong-password counters live in the cache; ids are reused between tests on SQLite."""
    cache.clear()
    yield
    cache.clear()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def membership(panel, person, **kwargs) -> PanelMembership:
    kwargs.setdefault("status", PanelMembership.Status.ACTIVE)
    kwargs.setdefault("source", PanelMembership.Source.SELF)
    return PanelMembership.objects.create(
        panel=panel, person=person, confirmation_nonce=secrets.token_urlsafe(16), **kwargs
    )


def invite(member: PanelMembership, title: str, **kwargs) -> Invitation:
    draw = Draw.objects.create(
        panel=member.panel, title=title, involves="Two hours in the lab, with coffee.", size=5
    )
    selection = DrawSelection.objects.create(
        draw=draw, membership=member, rank=1, code="P-" + title[:5].upper()
    )
    return Invitation.objects.create(
        selection=selection,
        person=member.person,
        panel=member.panel,
        expires_at=timezone.now() + timedelta(days=10),
        nonce=secrets.token_urlsafe(16),
        **kwargs,
    )


@pytest.fixture
def zephyrine_user(db):
    return UserFactory(email=EMAIL, first_name="Zephyrine", last_name="Quattlebaum-Oyelaran")


@pytest.fixture
def zephyrine(zephyrine_user, panel, give, purposes, sme, programme, solution, platform_rules, staff_user):
    """A participant the platform knows a lot about, in every table that can hold personal data."""
    person = PersonFactory(user=zephyrine_user, full_name=NAME)
    ParticipantProfileFactory(
        person=person,
        year_of_birth=1952,
        contact_email=EMAIL,
        phone="+33 6 12 34 56 78",
        occupation="Retired baker",
        employer="Boulangerie Quattlebaum",
        accessibility_notes="Zephyrine reads large print best.",
        household_key="quattlebaum-oyelaran-household",
    )
    member = membership(
        panel, person, import_key=EMAIL, source_detail="Market stall run by Zephyrine's niece"
    )
    question = PanelAttributeFactory(
        panel=panel, code="carer", label="Whom do you care for?", kind=AttributeKind.TEXT
    )
    AttributeValue.objects.create(membership=member, attribute=question, value="My husband, Mr Quattlebaum")
    give(person, "participation", evidence={"typed_name": NAME, "email": EMAIL})
    give(person, "recording")
    ContactOverride.objects.create(
        membership=member, reason="Zephyrine Quattlebaum asked to take part again", granted_by=staff_user
    )
    invitation = invite(member, "Smart thermostat trial")
    Participation.objects.create(
        person=person,
        panel=panel,
        invitation=invitation,
        outcome=Participation.Outcome.TOOK_PART,
        occurred_at=timezone.now(),
    )
    core.accept_ground_rules(
        platform_rules, organisation=None, acting_user=zephyrine_user, user_agent="Zephyrine's tablet"
    )
    Application.objects.create(
        programme=programme,
        applicant=person,
        region="Bretagne",
        postcode="35000",
        household_type="single",
        status=Application.Status.REFUSED,
        refusal_reasons=[f"{NAME} lives outside the programme's region."],
    )
    voucher = VoucherFactory(programme=programme, holder=person)
    earlier = ProgrammeFactory(
        title="Heating help 2024", operator=programme.operator, funder=programme.funder
    )
    Feedback.objects.create(
        voucher=VoucherFactory(programme=earlier, holder=person, status=Voucher.Status.REDEEMED),
        firm=sme,
        solution=solution,
        satisfaction=5,
        recommend=9,
        solved_need=True,
        comment="Zephyrine Quattlebaum says: warm at last!",
    )
    person.voucher = voucher
    return person


@pytest.fixture
def neighbour(panel, give):
    """Someone else in the same panel, whose data must never show up in Zephyrine's export."""
    person = PersonFactory(
        user=UserFactory(email="ambroise.vandersteen@example.net"), full_name="Ambroise Vandersteen"
    )
    ParticipantProfileFactory(person=person, occupation="Lighthouse keeper")
    member = membership(panel, person)
    invite(member, "Neighbour-only study")
    give(person, "participation")
    return person


def scan(needles=NEEDLES) -> dict[str, set[str]]:
    """Every table of the database whose any column, read as text, contains one of ``needles``
    (case-insensitive): {table: {column, ...}}."""
    found: dict[str, set[str]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for column in columns:
                where = " OR ".join(f"LOWER(CAST({quote(column)} AS TEXT)) LIKE %s" for _ in needles)
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quote(table)} WHERE {where}",  # noqa: S608 -- names from introspection
                    [f"%{n.lower()}%" for n in needles],
                )
                if cursor.fetchone()[0]:
                    found.setdefault(table, set()).add(column)
    return found


def model_tables() -> set[str]:
    return {
        m._meta.db_table
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }


def build_export(client, person_id=None):
    url = (
        reverse("pilots:request_export_for", args=[person_id])
        if person_id
        else reverse("pilots:request_my_export")
    )
    return client.post(url)


def zip_of(export: DataExport) -> zipfile.ZipFile:
    export.refresh_from_db()
    with export.file.open("rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


# ------------------------------------------------------------------------------------- the page


def test_my_page_shows_profile_panels_answers_invitations_history_and_consents(zephyrine, zephyrine_user):
    response = signed_in(zephyrine_user).get(reverse("pilots:my_data"))
    html = response.content.decode()
    assert response.status_code == 200
    for shown in (
        NAME,
        EMAIL,
        "Retired baker",
        "Boulangerie Quattlebaum",
        "Living well at home",
        "Whom do you care for?",
        "My husband, Mr Quattlebaum",
        "Smart thermostat trial",
        "Took part",
        "Taking part in studies",
        "Audio and video recording",
        reverse("consent_overview"),
        reverse("consent_withdraw", args=[zephyrine.consents.first().pk]),
        reverse("pilots:edit_profile"),
    ):
        assert shown in html, shown


def test_my_page_reads_a_fixed_number_of_queries_however_many_panels_and_invitations(
    zephyrine_user, zephyrine, give, cluster, consent_form, django_assert_max_num_queries
):
    client = signed_in(zephyrine_user)
    client.get(reverse("pilots:my_data"))
    # session, user, person, profile, memberships (count, page, answers), invitations, history, consents
    # (count and page each), latest export, wards, any active panel, the header's organisations
    with django_assert_max_num_queries(18) as few:
        client.get(reverse("pilots:my_data"))
    for n in range(6):
        other = PanelFactory(owner=cluster, name=f"Panel {n}", consent_document=consent_form.document)
        member = membership(other, zephyrine)
        invite(member, f"Study {n}")
        question = PanelAttributeFactory(panel=other, kind=AttributeKind.TEXT)
        AttributeValue.objects.create(membership=member, attribute=question, value=f"answer {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("pilots:my_data"))
    assert all(f"answer {n}" in response.content.decode() for n in range(6))


def test_a_stranger_cannot_open_someone_elses_page(zephyrine, neighbour):
    response = signed_in(neighbour.user).get(reverse("pilots:my_data_for", args=[zephyrine.pk]))
    assert response.status_code == 403
    assert NAME not in response.content.decode()


def test_a_participant_pauses_resumes_and_leaves_a_panel(zephyrine, zephyrine_user, panel):
    client = signed_in(zephyrine_user)
    member = PanelMembership.objects.get(person=zephyrine, panel=panel)
    url = reverse("pilots:change_my_membership", args=[member.pk])
    for status in ("paused", "active", "opted_out"):
        response = client.post(url, {"status": status}, follow=True)
        member.refresh_from_db()
        assert member.status == status
    assert "You have left “Living well at home”" in response.content.decode()
    assert AuditEntry.objects.filter(action="pilots.membership.status").count() == 3


def test_pause_all_pauses_every_active_panel(zephyrine, zephyrine_user, cluster, consent_form):
    other = membership(PanelFactory(owner=cluster, consent_document=consent_form.document), zephyrine)
    signed_in(zephyrine_user).post(reverse("pilots:pause_my_panels"))
    assert set(PanelMembership.objects.filter(person=zephyrine).values_list("status", flat=True)) == {
        "paused"
    }
    other.refresh_from_db()
    assert other.status_changed_at is not None


def test_a_participant_cannot_lift_a_block_the_living_lab_set(zephyrine, zephyrine_user, panel):
    PanelMembership.objects.filter(person=zephyrine).update(status=PanelMembership.Status.BLOCKED)
    member = PanelMembership.objects.get(person=zephyrine)
    response = signed_in(zephyrine_user).post(
        reverse("pilots:change_my_membership", args=[member.pk]), {"status": "active"}, follow=True
    )
    member.refresh_from_db()
    assert member.status == PanelMembership.Status.BLOCKED
    assert "please contact them" in response.content.decode()


def test_someone_else_cannot_change_a_membership(zephyrine, neighbour):
    member = PanelMembership.objects.get(person=zephyrine)
    response = signed_in(neighbour.user).post(
        reverse("pilots:change_my_membership", args=[member.pk]), {"status": "opted_out"}
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.status == PanelMembership.Status.ACTIVE


def test_contact_preferences_choose_the_channel_and_what_firms_may_see(zephyrine, zephyrine_user):
    signed_in(zephyrine_user).post(
        reverse("pilots:my_contact_preferences"),
        {"contact-preferred_contact": "phone", "contact-shared_attributes": ["age_band", "languages"]},
    )
    profile = ParticipantProfile.objects.get(person=zephyrine)
    assert profile.preferred_contact == "phone"
    assert profile.shared_attributes == pack(["age_band", "languages"])


def test_the_workspace_card_counts_panels_invitations_and_studies(
    zephyrine, cluster, consent_form, django_assert_num_queries
):
    membership(
        PanelFactory(owner=cluster, consent_document=consent_form.document), zephyrine, status="paused"
    )
    with django_assert_num_queries(4):
        card = my_panels(zephyrine)
    assert card["panels"] == {"active": 1, "paused": 1, "pending": 0}
    assert card["open_invitations"] == 1
    assert card["studies"] == 1


# ------------------------------------------------------------------------------------- export


def test_the_export_holds_the_persons_data_and_nobody_elses(
    zephyrine, zephyrine_user, neighbour, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = build_export(signed_in(zephyrine_user))
    export = DataExport.objects.get(person=zephyrine)
    assert response.url == reverse("pilots:my_export", args=[export.pk])
    archive = zip_of(export)
    names = set(archive.namelist())
    assert {"README.txt", "data.json", "csv/person.csv", "csv/profile.csv", "csv/consents.csv"} <= names
    assert {f"csv/{section.name}.csv" for section in rights.SECTIONS} <= names

    data = json.loads(archive.read("data.json"))
    assert data["person"]["full_name"] == NAME
    assert data["person"]["login_email"] == EMAIL
    assert data["profile"]["employer"] == "Boulangerie Quattlebaum"
    assert data["custom_answers"] == [
        {
            "panel": "Living well at home",
            "question": "Whom do you care for?",
            "answer": "My husband, Mr Quattlebaum",
            "kind": "Text",
        }
    ]
    assert [i["study"] for i in data["invitations"]] == ["Smart thermostat trial"]
    assert [p["study"] for p in data["participations"]] == ["Smart thermostat trial"]
    assert {c["purpose_code"] for c in data["consents"]} == {"participation", "recording"}
    assert data["voucher_applications"][0]["postcode"] == "35000"
    assert data["voucher_feedback"][0]["comment"] == "Zephyrine Quattlebaum says: warm at last!"
    assert len(data["vouchers"]) == 2
    assert data["ground_rules_acceptances"][0]["browser"] == "Zephyrine's tablet"
    assert data["email_addresses"] == [{"email": EMAIL, "verified": True, "primary": True}]
    # The bearer code of a voucher never leaves whole.
    assert zephyrine.voucher.code not in archive.read("data.json").decode()

    consents_csv = archive.read("csv/consents.csv").decode()
    assert consents_csv.splitlines()[0].startswith("for_person,purpose,purpose_code")
    assert "Taking part in studies" in consents_csv

    everything = b"".join(archive.read(name) for name in names).decode().lower()
    for other in ("ambroise", "vandersteen", "lighthouse keeper", "neighbour-only study"):
        assert other not in everything


def test_a_double_click_makes_one_export(zephyrine, zephyrine_user):
    client = signed_in(zephyrine_user)
    first, second = build_export(client), build_export(client)
    assert first.url == second.url
    assert DataExport.objects.filter(person=zephyrine).count() == 1


def test_a_lost_export_does_not_block_a_new_one(zephyrine, zephyrine_user):
    stuck = DataExport.objects.create(person=zephyrine, status=DataExport.Status.RUNNING, progress=40)
    DataExport.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=2))
    fresh = rights.request_data_export(zephyrine, acting_user=zephyrine_user)
    stuck.refresh_from_db()
    assert fresh.pk != stuck.pk
    assert stuck.status == DataExport.Status.FAILED


def test_export_progress_rises_section_by_section_to_100(
    zephyrine, zephyrine_user, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []

    def watching(section):
        def rows(person):
            seen.append(DataExport.objects.get(person=person).progress)
            return section.rows(person)

        return rights.Section(section.name, section.label, section.columns, rows, section.single)

    monkeypatch.setattr(rights, "SECTIONS", [watching(s) for s in rights.SECTIONS])
    client = signed_in(zephyrine_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = build_export(client)
    page = client.get(response.url).content.decode()
    assert 'role="progressbar"' in page and 'aria-valuenow="0"' in page
    assert 'http-equiv="refresh"' in page  # refreshes itself until ready

    for callback in callbacks:
        callback()
    assert seen == sorted(seen) and seen[0] >= 1 and len(set(seen)) > 5
    page = client.get(response.url).content.decode()
    assert 'aria-valuenow="100"' in page
    assert 'http-equiv="refresh"' not in page
    assert reverse("pilots:download_my_export", args=[DataExport.objects.get().pk]) in page


def test_only_the_person_downloads_their_export(
    zephyrine, zephyrine_user, neighbour, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        build_export(signed_in(zephyrine_user))
    export = DataExport.objects.get(person=zephyrine)
    url = reverse("pilots:download_my_export", args=[export.pk])

    own = signed_in(zephyrine_user).get(url)
    assert own.status_code == 200
    assert own["Content-Type"] == "application/zip"
    assert NAME in zipfile.ZipFile(io.BytesIO(b"".join(own.streaming_content))).read("data.json").decode()

    for outsider in (neighbour.user, staff_user):
        assert signed_in(outsider).get(url).status_code == 404
        assert signed_in(outsider).get(reverse("pilots:my_export", args=[export.pk])).status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page
    assert export.file.path.startswith(str(storages["private"].location))


def test_a_new_export_replaces_the_previous_one_and_its_file(
    zephyrine, zephyrine_user, django_capture_on_commit_callbacks
):
    client = signed_in(zephyrine_user)
    with django_capture_on_commit_callbacks(execute=True):
        build_export(client)
    first = DataExport.objects.get(person=zephyrine)
    first_file = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        build_export(client)
    assert DataExport.objects.filter(person=zephyrine).count() == 1
    assert not storages["private"].exists(first_file)


# ------------------------------------------------------------------------------------- erasure


def test_erasure_leaves_no_personal_data_in_any_table(
    zephyrine, zephyrine_user, neighbour, django_capture_on_commit_callbacks
):
    client = signed_in(zephyrine_user)
    with django_capture_on_commit_callbacks(execute=True):
        build_export(client)
    export_file = DataExport.objects.get(person=zephyrine).file.name
    before = scan()
    # The scan can fail: before erasure it finds the person all over the database.
    for table in (
        "livinglab_person",
        "livinglab_user",
        "account_emailaddress",
        "pilots_participantprofile",
        "pilots_panelmembership",
        "pilots_attributevalue",
        "pilots_contactoverride",
        "livinglab_consentrecord",
        "livinglab_groundrulesacceptance",
        "vouchers_application",
        "vouchers_feedback",
    ):
        assert table in before, table
    assert model_tables() <= set(connection.introspection.table_names())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pilots:erase_me"), ERASE)

    receipt = ErasureReceipt.objects.get()
    assert response.url == reverse("pilots:erasure_receipt", args=[receipt.reference])
    assert scan() == {}
    assert not storages["private"].exists(export_file)
    assert not User.objects.filter(pk=zephyrine_user.pk).exists()
    assert all(s.get_decoded().get("_auth_user_id") != str(zephyrine_user.pk) for s in Session.objects.all())
    # The neighbour is untouched.
    assert "livinglab_person" in scan(("Ambroise Vandersteen",))


def test_erasure_withdraws_consents_first_and_keeps_what_was_agreed_without_evidence(
    zephyrine, zephyrine_user
):
    rights.erase_person(zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON)
    records = ConsentRecord.objects.filter(person=zephyrine)
    assert {r.purpose.code for r in records} == {"participation", "recording"}
    assert all(r.withdrawn_at is not None and r.evidence == {} for r in records)
    assert all(r.withdrawal_channel == ConsentRecord.WithdrawalChannel.ONLINE for r in records)
    assert AuditEntry.objects.filter(action="livinglab.consent.withdraw").count() == 2


def test_erasure_keeps_the_draw_history_and_the_money_ledger_without_identity(
    zephyrine, zephyrine_user, panel
):
    ledger_before = LedgerEntry.objects.filter(voucher__holder=zephyrine).count()
    receipt = rights.erase_person(
        zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON
    )
    person = Person.objects.get(pk=zephyrine.pk)
    assert (person.full_name, person.birth_date, person.user_id) == ("Erased person", None, None)
    assert not ParticipantProfile.objects.filter(person=person).exists()
    assert not AttributeValue.objects.exists()
    member = PanelMembership.objects.get(person=person)  # drawn once: kept for the draw's record
    assert (member.status, member.import_key, member.source_detail) == ("opted_out", "", "")
    assert DrawSelection.objects.filter(membership=member).exists()
    assert Invitation.objects.get(person=person).status == Invitation.Status.WITHDRAWN
    assert Participation.objects.filter(person=person).count() == 1
    # The unused voucher is cancelled through the ledger, which keeps every entry.
    assert Voucher.objects.get(pk=zephyrine.voucher.pk).status == Voucher.Status.CANCELLED
    assert LedgerEntry.objects.filter(voucher__holder=person).count() == ledger_before + 1
    assert Application.objects.get(applicant=person).postcode == ""
    assert receipt.summary["vouchers_cancelled"] == 1
    assert receipt.summary["memberships_anonymised"] == 1
    assert not EmailAddress.objects.filter(email=EMAIL).exists()
    assert not GroundRulesAcceptance.objects.exists()


def test_erasure_deletes_a_membership_no_draw_ever_chose(zephyrine, zephyrine_user, cluster, consent_form):
    membership(PanelFactory(owner=cluster, consent_document=consent_form.document), zephyrine)
    receipt = rights.erase_person(
        zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON
    )
    assert receipt.summary["memberships_deleted"] == 1
    assert PanelMembership.objects.filter(person=zephyrine).count() == 1


def test_erasure_deletes_the_accounts_authenticators(zephyrine, zephyrine_user):
    from tests.conftest import with_totp

    with_totp(zephyrine_user)
    receipt = rights.erase_person(
        zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON
    )
    assert receipt.summary["authenticators"] == 1
    assert not Authenticator.objects.filter(user_id=zephyrine_user.pk).exists()


def test_the_audit_trail_records_one_erasure_with_counts_only(zephyrine, zephyrine_user):
    receipt = rights.erase_person(
        zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON
    )
    entry = AuditEntry.objects.get(action="pilots.person.erase")
    assert entry.data == receipt.summary
    assert all(isinstance(v, int) for v in entry.data.values())
    assert entry.object_repr == f"person #{zephyrine.pk}"
    assert entry.actor_id is None and entry.actor_ref == f"user:{zephyrine_user.pk}"


def test_the_receipt_is_open_without_signing_in_and_names_nobody(zephyrine, zephyrine_user):
    receipt = rights.erase_person(
        zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON
    )
    page = Client().get(reverse("pilots:erasure_receipt", args=[receipt.reference]))
    html = page.content.decode()
    assert page.status_code == 200
    assert str(receipt.reference) in html
    assert "Consents withdrawn" in html and "User account deleted" in html
    assert "zephyrine" not in html.lower()

    pdf = Client().get(reverse("pilots:erasure_receipt_pdf", args=[receipt.reference]))
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert str(receipt.reference) in text
    assert "Consents withdrawn" in text
    assert "zephyrine" not in text.lower()


def test_a_wrong_phrase_or_password_erases_nothing(zephyrine, zephyrine_user):
    client = signed_in(zephyrine_user)
    for data in ({"phrase": "erase", "password": DEMO_PASSWORD}, {"phrase": "ERASE", "password": "guess"}):
        response = client.post(reverse("pilots:erase_me"), data)
        assert response.status_code == 200
    assert (
        "Type ERASE, in capital letters"
        in client.post(reverse("pilots:erase_me"), {"phrase": "x"}).content.decode()
    )
    assert not ErasureReceipt.objects.exists()
    assert Person.objects.get(pk=zephyrine.pk).full_name == NAME


def test_erasure_rests_after_five_wrong_passwords(zephyrine, zephyrine_user):
    client = signed_in(zephyrine_user)
    for _attempt in range(5):
        client.post(reverse("pilots:erase_me"), {"phrase": "ERASE", "password": "guess"})
    response = client.post(reverse("pilots:erase_me"), ERASE)
    assert "Too many wrong passwords" in response.content.decode()
    assert not ErasureReceipt.objects.exists()


def test_erasure_deletes_the_scan_of_a_paper_consent_form(
    zephyrine, zephyrine_user, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile

    scan_name = storages["private"].save("consent-scans/form.pdf", ContentFile(b"%PDF- signed by Zephyrine"))
    ConsentRecord.objects.filter(person=zephyrine).update(
        evidence={"scan": scan_name, "witness": "A. Witness"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        rights.erase_person(zephyrine, acting_user=zephyrine_user, requested_by=rights.RequestedBy.PERSON)
    assert not storages["private"].exists(scan_name)
    evidence = ConsentRecord.objects.filter(person=zephyrine).values_list("evidence", flat=True)
    assert list(evidence) == [{}, {}]


def test_a_second_erasure_explains_itself(zephyrine, zephyrine_user):
    client = signed_in(zephyrine_user)
    first = client.post(reverse("pilots:erase_me"), ERASE)
    # The same browser, signed out by the erasure, sends the form again (double click, back button).
    again = client.post(reverse("pilots:erase_me"), ERASE)
    assert again.status_code == 410
    assert "already been erased" in again.content.decode()
    assert first.url in again.content.decode()
    with pytest.raises(PanelError, match="already been erased"):
        rights.erase_person(zephyrine, acting_user=None, requested_by=rights.RequestedBy.STAFF)
    assert ErasureReceipt.objects.count() == 1


@pytest.fixture
def guardian(db):
    user = UserFactory(email="guardian.parent@example.org")
    return PersonFactory(user=user, full_name="Gwenaëlle Parent")


@pytest.fixture
def ward(guardian, panel, give):
    """A twelve-year-old without a login, whose guardian consented for them."""
    child = PersonFactory(
        user=None,
        full_name="Barnabé Quillfeather-Underhay",
        birth_date=timezone.localdate() - timedelta(days=12 * 366),
    )
    core.add_guardian(child, guardian=guardian, relationship="parent", acting_user=guardian.user)
    ParticipantProfileFactory(
        person=child, year_of_birth=child.birth_date.year, occupation="Pupil at Quillfeather school"
    )
    member = membership(panel, child)
    invite(member, "Homework app test")
    give(
        child,
        "participation",
        guardian=guardian,
        acting_user=guardian.user,
        evidence={"child": child.full_name},
    )
    return child


def test_a_guardian_sees_and_erases_their_wards_data(guardian, ward, django_capture_on_commit_callbacks):
    client = signed_in(guardian.user)
    page = client.get(reverse("pilots:my_data_for", args=[ward.pk]))
    assert "Barnabé Quillfeather-Underhay" in page.content.decode()
    assert (
        reverse("pilots:my_data_for", args=[ward.pk])
        in client.get(reverse("pilots:my_data")).content.decode()
    )
    assert "livinglab_person" in scan(("quillfeather",))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pilots:erase_for", args=[ward.pk]), ERASE)

    receipt = ErasureReceipt.objects.get()
    assert response.url == reverse("pilots:erasure_receipt", args=[receipt.reference])
    assert receipt.requested_by == rights.RequestedBy.GUARDIAN
    assert scan(("quillfeather", "barnabé", "barnab")) == {}
    # The guardian keeps their account; the ward's consent records say a guardian withdrew them.
    assert User.objects.filter(pk=guardian.user.pk).exists()
    assert Person.objects.get(pk=guardian.pk).full_name == "Gwenaëlle Parent"
    assert not Guardianship.objects.exists()
    assert (
        ConsentRecord.objects.get(person=ward).withdrawal_channel == ConsentRecord.WithdrawalChannel.GUARDIAN
    )

    again = client.post(reverse("pilots:erase_for", args=[ward.pk]), ERASE)
    assert again.status_code == 410
    assert str(receipt.reference) in again.content.decode()


def test_a_stranger_cannot_erase_someone_else(zephyrine, neighbour):
    response = signed_in(neighbour.user).post(reverse("pilots:erase_for", args=[zephyrine.pk]), ERASE)
    assert response.status_code == 403
    assert not ErasureReceipt.objects.exists()


def test_erasing_a_guardian_leaves_the_ward_and_says_so_first(guardian, ward):
    client = signed_in(guardian.user)
    confirm = client.get(reverse("pilots:erase_me")).content.decode()
    assert reverse("pilots:erase_for", args=[ward.pk]) in confirm
    client.post(reverse("pilots:erase_me"), ERASE)
    assert Person.objects.get(pk=ward.pk).full_name == "Barnabé Quillfeather-Underhay"
    assert ConsentRecord.objects.get(person=ward).withdrawn_at is None


def test_expired_exports_are_deleted_with_their_files(
    zephyrine, zephyrine_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        build_export(signed_in(zephyrine_user))
    export = DataExport.objects.get()
    name = export.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert rights.delete_expired_data_exports(now=timezone.now() + timedelta(days=8)) == 1
    assert not DataExport.objects.exists()
    assert not storages["private"].exists(name)


# ------------------------------------------------------------------------------------- in a browser


@pytest.mark.browser
def test_a_participant_reads_their_page_takes_a_copy_and_erases_their_account(page, shoot, zephyrine):
    from playwright.sync_api import expect

    from tests.browser import sign_in

    sign_in(page, EMAIL, DEMO_PASSWORD)
    page.goto(reverse("pilots:my_data"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My panels and data")
    expect(page.get_by_role("cell", name="My husband, Mr Quattlebaum")).to_be_visible()
    shoot("1-my-panels-and-data")

    running = DataExport.objects.create(person=zephyrine, status=DataExport.Status.RUNNING, progress=45)
    page.goto(reverse("pilots:my_export", args=[running.pk]))
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "45")
    shoot("2-export-in-progress")
    DataExport.objects.filter(pk=running.pk).update(status=DataExport.Status.FAILED)

    page.goto(reverse("pilots:my_data"))
    page.get_by_role("button", name="Prepare a copy of the data").click()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the ZIP file").click()
    archive = zipfile.ZipFile(download.value.path())
    assert json.loads(archive.read("data.json"))["person"]["full_name"] == NAME
    shoot("3-export-ready")

    page.goto(reverse("pilots:my_data"))
    page.get_by_role("link", name="Erase my account and data…").click()
    shoot("4-erase-confirmation")
    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_label("Your password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Erase my account and data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erasure receipt")
    shoot("5-erasure-receipt")
    assert not User.objects.filter(email=EMAIL).exists()
    assert scan() == {}
