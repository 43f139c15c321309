"""Importing panel members from CSV and XLSX lists: upload, column mapping, a check of every row with a
per-line report, and one transaction that imports everyone or nobody. Imported people wait to confirm and
consent before any study can contact them."""

import csv
import io
import re
from datetime import datetime

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook
from playwright.sync_api import expect

from livinglab import audit
from livinglab.factories import DEMO_PASSWORD, MembershipFactory, PersonFactory, UserFactory
from livinglab.models import AuditEntry, Person, Role
from pilots.factories import PanelAttributeFactory
from pilots.models import AttributeKind, AttributeValue, PanelImport, PanelMembership, pack
from pilots.services import imports as services
from pilots.services.enrolment import confirm_membership, membership_from_token
from tests.browser import fresh_totp_code, sign_in
from tests.concurrency import run_together

GOOD_CSV = (
    b"Name,E-mail,Year of birth,Region,Postcode,Languages,Devices,Digital skills\n"
    b"Anne Le Goff,anne@example.org,1948,Bretagne,29,fr;br,smartphone,basic\n"
    b"Jean Martin,JEAN.MARTIN@example.org,1951,Bretagne,35,French,"
    b'"tablet, computer",Everyday use on their own\n'
    b"Maria Costa,maria@example.org,1960,Pays de la Loire,44,es,,advanced\n"
)

FRENCH_CSV = (
    "\ufeffNom;Prénom;Courriel;Année de naissance;Région;Code postal;Langues;Foyer;Téléphone\n"
    "Le Goff;Anne;anne@example.org;1948;Bretagne;29;français, breton;seule;02 98 00 00 01\n"
    "Martin;Jean;;1951;Bretagne;35;Français;couple;06 12 34 56 78\n"
).encode()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def upload(client, panel, content: bytes, name: str = "members.csv"):
    return client.post(
        reverse("pilots:import_new", args=[panel.slug]), {"file": SimpleUploadedFile(name, content)}
    )


def confirm_columns(client, panel_import, changes: dict | None = None):
    """Post the mapping page with the guessed targets, changed where ``changes`` says (column → target)."""
    targets = list(panel_import.mapping["targets"])
    for column, target in (changes or {}).items():
        targets[panel_import.mapping["columns"].index(column)] = target
    data = {f"column_{i}": target for i, target in enumerate(targets)}
    return client.post(
        reverse("pilots:import_mapping", args=[panel_import.panel.slug, panel_import.pk]), data
    )


def import_list(
    client, panel, content: bytes, capture, name: str = "members.csv", changes=None
) -> PanelImport:
    """Upload a list and confirm its guessed columns, running the background work as a worker would."""
    response = upload(client, panel, content, name)
    assert response.status_code == 302, response.content.decode()[:2000]
    panel_import = PanelImport.objects.filter(panel=panel).latest("created_at")
    with capture(execute=True):
        response = confirm_columns(client, panel_import, changes)
    assert response.status_code == 302, response.content.decode()[:2000]
    panel_import.refresh_from_db()
    return panel_import


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def imported(panel):
    return PanelMembership.objects.filter(panel=panel, source=PanelMembership.Source.IMPORT).select_related(
        "person__profile"
    )


# ------------------------------------------------------------------------------------- a good list


def test_a_valid_csv_imports_pending_members_with_profiles_and_mails_each_an_invitation(
    staff, panel, mailoutbox, django_capture_on_commit_callbacks
):
    panel_import = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)

    assert panel_import.status == PanelImport.Status.IMPORTED
    assert (panel_import.row_count, panel_import.created_count, panel_import.existing_count) == (3, 3, 0)
    members = {m.person.full_name: m for m in imported(panel)}
    assert set(members) == {"Anne Le Goff", "Jean Martin", "Maria Costa"}
    assert {m.status for m in members.values()} == {PanelMembership.Status.PENDING}
    assert {m.source_detail for m in members.values()} == {"members.csv"}
    jean = members["Jean Martin"].person.profile
    assert (jean.year_of_birth, jean.region, jean.postcode_area) == (1951, "Bretagne", "35")
    assert jean.contact_email == "jean.martin@example.org"
    assert jean.languages == pack(["fr"])
    assert jean.devices == pack(["tablet", "computer"])
    assert jean.digital_skills == "everyday"
    assert members["Anne Le Goff"].person.profile.languages == pack(["fr", "br"])
    assert members["Anne Le Goff"].person.user is None
    assert sorted(m.to[0] for m in mailoutbox) == [
        "anne@example.org",
        "jean.martin@example.org",
        "maria@example.org",
    ]
    page = staff.get(reverse("pilots:import_detail", args=[panel.slug, panel_import.pk])).content.decode()
    assert "New members" in page and "Imported" in page


def test_reimporting_the_same_file_adds_nobody(staff, panel, mailoutbox, django_capture_on_commit_callbacks):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    people, mails = Person.objects.count(), len(mailoutbox)

    again = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)

    assert again.status == PanelImport.Status.IMPORTED
    assert (again.created_count, again.existing_count) == (0, 3)
    assert Person.objects.count() == people
    assert imported(panel).count() == 3
    assert len(mailoutbox) == mails


def test_the_mapping_page_says_when_the_very_same_file_was_imported_before(
    staff, panel, django_capture_on_commit_callbacks
):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    upload(staff, panel, GOOD_CSV)
    second = PanelImport.objects.filter(panel=panel).latest("created_at")

    page = staff.get(reverse("pilots:import_mapping", args=[panel.slug, second.pk])).content.decode()

    assert "This very file was already imported" in page


def test_a_list_that_grew_imports_only_the_new_people(staff, panel, django_capture_on_commit_callbacks):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    grown = GOOD_CSV + b"Yann Kervella,yann@example.org,1955,Bretagne,22,br,,\n"

    panel_import = import_list(staff, panel, grown, django_capture_on_commit_callbacks)

    assert (panel_import.created_count, panel_import.existing_count) == (1, 3)
    assert imported(panel).count() == 4


def test_an_xlsx_workbook_imports_like_a_csv(staff, panel, mailoutbox, django_capture_on_commit_callbacks):
    book = Workbook()
    sheet = book.active
    sheet.append(["Full name", "Email", "Date of birth", "Region", "Household", "Reference"])
    sheet.append(["Anne Le Goff", "anne@example.org", datetime(1948, 3, 2), "Bretagne", "One adult", 101])
    sheet.append([])  # a blank row in the middle of the sheet is skipped
    sheet.append(["Jean Martin", "jean@example.org", 1951, "Bretagne", "couple", 102])
    content = io.BytesIO()
    book.save(content)

    panel_import = import_list(
        staff, panel, content.getvalue(), django_capture_on_commit_callbacks, "list.xlsx"
    )

    assert panel_import.mapping["format"] == "xlsx"
    assert panel_import.status == PanelImport.Status.IMPORTED
    profiles = {m.person.full_name: m.person.profile for m in imported(panel)}
    assert profiles["Anne Le Goff"].year_of_birth == 1948  # only the year of the date of birth is kept
    assert profiles["Anne Le Goff"].household_type == "single"
    assert profiles["Jean Martin"].household_type == "couple"
    assert len(mailoutbox) == 2


def test_a_semicolon_csv_with_french_headers_is_mapped_automatically(
    staff, panel, mailoutbox, django_capture_on_commit_callbacks
):
    upload(staff, panel, FRENCH_CSV, "adhérents.csv")
    panel_import = PanelImport.objects.get(panel=panel)
    assert panel_import.mapping["delimiter"] == ";"
    assert dict(zip(panel_import.mapping["columns"], panel_import.mapping["targets"], strict=True)) == {
        "Nom": "full_name",
        "Prénom": "first_name",
        "Courriel": "email",
        "Année de naissance": "year_of_birth",
        "Région": "region",
        "Code postal": "postcode_area",
        "Langues": "languages",
        "Foyer": "household_type",
        "Téléphone": "phone",
    }

    with django_capture_on_commit_callbacks(execute=True):
        confirm_columns(staff, panel_import)

    panel_import.refresh_from_db()
    assert panel_import.status == PanelImport.Status.IMPORTED
    members = {m.person.full_name: m for m in imported(panel)}
    assert set(members) == {"Anne Le Goff", "Jean Martin"}
    anne = members["Anne Le Goff"].person.profile
    assert (anne.languages, anne.household_type) == (pack(["fr", "br"]), "single")
    jean = members["Jean Martin"].person.profile
    assert (jean.contact_email, jean.phone, jean.preferred_contact) == ("", "06 12 34 56 78", "phone")
    assert [m.to for m in mailoutbox] == [["anne@example.org"]]  # Jean has no e-mail: staff call him


def test_custom_attributes_of_the_panel_are_imported_as_answers(
    staff, panel, django_capture_on_commit_callbacks
):
    cares = PanelAttributeFactory(
        panel=panel, code="carer", label="Cares for a relative", kind=AttributeKind.BOOLEAN
    )
    pets = PanelAttributeFactory(
        panel=panel, code="pets", label="Pets", kind=AttributeKind.MULTI, options=["Dog", "Cat", "Bird"]
    )
    rooms = PanelAttributeFactory(
        panel=panel, code="rooms", label="Rooms", kind=AttributeKind.NUMBER, options=[]
    )
    content = (
        b"Name,Email,Year of birth,Region,Cares for a relative,pets,Rooms\n"
        b'Anne Le Goff,anne@example.org,1948,Bretagne,oui,dog; cat,"3,5"\n'
    )

    import_list(staff, panel, content, django_capture_on_commit_callbacks)

    answers = {a.attribute_id: a for a in AttributeValue.objects.filter(membership__panel=panel)}
    assert answers[cares.pk].value == "true"
    assert answers[pets.pk].value == pack(["Dog", "Cat"])
    assert str(answers[rooms.pk].number) == "3.50"


def test_an_account_holder_on_the_list_is_added_without_a_second_person(
    staff, panel, participant, django_capture_on_commit_callbacks
):
    content = GOOD_CSV + b"Pat Doe,Participant@Example.org,1970,Bretagne,35,,,\n"
    people = Person.objects.count()

    import_list(staff, panel, content, django_capture_on_commit_callbacks)

    assert Person.objects.count() == people + 3
    membership = imported(panel).get(person=participant.person)
    assert membership.status == PanelMembership.Status.PENDING


# --------------------------------------------------------------------------------------- bad rows


def test_one_bad_row_gives_a_per_line_report_and_imports_nothing(
    staff, panel, mailoutbox, django_capture_on_commit_callbacks
):
    content = (
        b"Name,E-mail,Year of birth,Region,Languages\n"
        b"Anne Le Goff,anne@example.org,1948,Bretagne,fr\n"
        b"\n"  # a blank line: the next row is line 4 of the file
        b"Jean Martin,jean-at-example.org,1951,Bretagne,klingon\n"
        b"Maria Costa,maria@example.org,1960,Pays de la Loire,es\n"
    )
    people = Person.objects.count()

    panel_import = import_list(staff, panel, content, django_capture_on_commit_callbacks)

    assert panel_import.status == PanelImport.Status.INVALID
    assert Person.objects.count() == people
    assert not PanelMembership.objects.filter(panel=panel).exists()
    assert mailoutbox == []
    assert [(e["line"], e["column"], e["value"]) for e in panel_import.errors] == [
        (4, "E-mail", "jean-at-example.org"),
        (4, "Languages", "klingon"),
    ]
    report = staff.get(reverse("pilots:import_errors", args=[panel.slug, panel_import.pk])).content.decode()
    assert re.search(r"<th scope=\"row\" class=\"num\">4</th>\s*<td>E-mail</td>", report)
    assert "Not a valid e-mail address." in report
    assert "Not one of the choices: br (Breton)" in report
    detail = staff.get(reverse("pilots:import_detail", args=[panel.slug, panel_import.pk])).content.decode()
    assert "Nothing was imported" in detail and "1 row of the list has a problem" in detail

    response = staff.get(reverse("pilots:import_errors_csv", args=[panel.slug, panel_import.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="members-problems.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Line", "Column", "Value", "Problem"]
    assert rows[1] == ["4", "E-mail", "jean-at-example.org", "Not a valid e-mail address."]
    assert AuditEntry.objects.filter(action="pilots.import.download_errors").count() == 1


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("Anne,,1948,Bretagne", "E-mail", "No e-mail address and no telephone number"),
        (",anne@example.org,1948,Bretagne", "Name", "This column needs a value"),
        ("Anne,anne@example.org,1848,Bretagne", "Year of birth", "Not a year of birth"),
        ("Anne,anne@example.org,born 1948,Bretagne", "Year of birth", "Not a year of birth"),
        ("Lou,lou@example.org,%(minor)s,Bretagne", "Year of birth", "may be under 16"),
        ("Anne,anne@example.org,1948,Bretagne,extra", "", "more values than the file has columns"),
    ],
)
def test_each_kind_of_bad_value_is_named_in_the_report(
    staff, panel, row, column, message, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    row = row % {"minor": timezone.localdate().year - 16}
    content = f"Name,E-mail,Year of birth,Region\n{row}\n".encode()

    panel_import = import_list(staff, panel, content, django_capture_on_commit_callbacks)

    assert panel_import.status == PanelImport.Status.INVALID
    [error] = panel_import.errors
    assert (error["line"], error["column"]) == (2, column)
    assert message in services.describe_error(error)


def test_the_same_person_twice_in_one_file_is_a_problem_naming_both_lines(
    staff, panel, django_capture_on_commit_callbacks
):
    content = GOOD_CSV + b"Anne Le Goff (again),ANNE@example.org,1948,Bretagne,29,,,\n"

    panel_import = import_list(staff, panel, content, django_capture_on_commit_callbacks)

    [error] = panel_import.errors
    assert error["line"] == 5
    assert services.describe_error(error) == "The same person as on line 2."
    assert not PanelMembership.objects.filter(panel=panel).exists()


def test_a_failure_half_way_leaves_nobody_imported(
    staff, panel, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    real_add_member, calls = services.add_member, []

    def add_member_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_add_member(*args, **kwargs)

    monkeypatch.setattr(services, "add_member", add_member_then_fail)
    people = Person.objects.count()

    panel_import = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)

    assert len(calls) == 3
    assert panel_import.status == PanelImport.Status.INVALID
    assert "nothing was imported" in services.describe_error(panel_import.errors[0])
    assert Person.objects.count() == people
    assert not PanelMembership.objects.filter(panel=panel).exists()
    assert mailoutbox == []


def test_running_the_import_again_after_it_finished_changes_nothing(
    staff, panel, mailoutbox, django_capture_on_commit_callbacks
):
    panel_import = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    mails = len(mailoutbox)

    with django_capture_on_commit_callbacks(execute=True):
        again = services.run_import(panel_import.pk)

    assert again.status == PanelImport.Status.IMPORTED and again.created_count == 3
    assert imported(panel).count() == 3
    assert len(mailoutbox) == mails


# -------------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\n\n  \n", "The file is empty."),
        (b"Name,E-mail,Year of birth,Region\n", "no rows of people"),
        (b"Anne Le Goff,anne@example.org,1948,Bretagne\n", "The first line holds data"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "it looks like a PDF file"),
        ("Nom;Année;Région\nLe Goff;1948;Bretagne\n".encode("latin-1"), "not UTF-8"),
        (b"Name\tE-mail\nAnne\tanne@example.org\n", "Only one column was found"),
        (b"Name,,Region\nAnne,x,Bretagne\n", "Column 2 has no name"),
        (b"Name,Region,name\nAnne,Bretagne,x\n", "Two columns are called"),
    ],
)
def test_an_unusable_file_is_refused_with_the_reason(staff, panel, content, message):
    response = upload(staff, panel, content)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PanelImport.objects.exists()


def test_an_empty_upload_is_refused(staff, panel):
    response = upload(staff, panel, b"")

    assert response.status_code == 400
    assert "The submitted file is empty." in response.content.decode()


def test_a_file_over_the_size_limit_is_refused(staff, panel, monkeypatch):
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 100)

    response = upload(staff, panel, GOOD_CSV)

    assert response.status_code == 400
    assert "The file is too large" in response.content.decode()


def test_an_upload_is_kept_privately_with_its_fingerprint_and_audited(staff, panel, staff_user):
    import hashlib

    upload(staff, panel, GOOD_CSV)

    panel_import = PanelImport.objects.get(panel=panel)
    assert panel_import.file_sha256 == hashlib.sha256(GOOD_CSV).hexdigest()
    private = str(settings.STORAGES["private"]["OPTIONS"]["location"])
    assert panel_import.file.path.startswith(private) and panel_import.file.name.startswith("panel-imports/")
    with panel_import.file.open("rb") as stored:
        assert stored.read() == GOOD_CSV
    assert panel_import.uploaded_by == staff_user
    entry = AuditEntry.objects.get(action="pilots.import.upload")
    assert entry.data["rows"] == 3 and entry.data["sha256"] == panel_import.file_sha256


# ---------------------------------------------------------------------------------------- mapping


def test_the_mapping_must_name_the_required_fields(staff, panel):
    upload(staff, panel, GOOD_CSV)
    panel_import = PanelImport.objects.get(panel=panel)

    response = confirm_columns(staff, panel_import, {"Region": "", "E-mail": ""})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the column that holds “Region”." in page
    assert "Choose the column of e-mail addresses or the column of telephone numbers." in page
    panel_import.refresh_from_db()
    assert panel_import.status == PanelImport.Status.UPLOADED


def test_a_field_cannot_take_two_columns(staff, panel):
    upload(staff, panel, GOOD_CSV)
    panel_import = PanelImport.objects.get(panel=panel)

    response = confirm_columns(staff, panel_import, {"Postcode": "region"})

    assert response.status_code == 400
    assert "“Region” is chosen for more than one column." in response.content.decode()


def test_a_new_upload_with_the_same_columns_starts_from_the_last_mapping(
    staff, panel, django_capture_on_commit_callbacks
):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks, changes={"Postcode": ""})

    upload(staff, panel, GOOD_CSV)

    latest = PanelImport.objects.filter(panel=panel).latest("created_at")
    assert latest.mapping["targets"][latest.mapping["columns"].index("Postcode")] == ""


# ------------------------------------------------------------------------------ contact and privacy


def test_imported_people_cannot_be_contacted_until_they_confirm(
    staff, panel, purposes, mailoutbox, django_capture_on_commit_callbacks
):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    assert not PanelMembership.objects.filter(panel=panel).contactable().exists()

    mail = next(m for m in mailoutbox if m.to == ["anne@example.org"])
    token = re.search(r"https?://\S+/([^/\s]+)/?\s", mail.body + " ").group(1)
    membership = membership_from_token(token)
    confirm_membership(membership, [purposes["participation"]], acting_user=None)

    contactable = PanelMembership.objects.filter(panel=panel).contactable()
    assert [m.person.full_name for m in contactable] == ["Anne Le Goff"]


def test_the_import_key_and_the_audit_trail_hold_no_personal_data(
    staff, panel, django_capture_on_commit_callbacks
):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)

    keys = list(imported(panel).values_list("import_key", flat=True))
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)
    trail = " ".join(
        f"{e.object_repr} {e.data}" for e in AuditEntry.objects.filter(action__startswith="pilots.")
    ).lower()
    for personal in ("anne", "le goff", "jean", "martin", "maria", "example.org", "1948"):
        assert personal not in trail
    run = AuditEntry.objects.get(action="pilots.import.run")
    assert run.data == {"rows": 3, "created": 3, "existing": 0, "without_email": 0}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; the harness runs this on PostgreSQL"
)
def test_the_same_list_imported_twice_at_once_adds_each_person_once(
    transactional_db, panel, staff_user, monkeypatch
):
    monkeypatch.setattr(services.run_panel_import, "delay_on_commit", lambda *args: None)
    ids = []
    for _n in range(2):
        panel_import = services.upload_import(
            panel, SimpleUploadedFile("members.csv", GOOD_CSV), acting_user=staff_user
        )
        services.map_import(panel_import, panel_import.mapping["targets"], acting_user=staff_user)
        ids.append(panel_import.pk)
    people = Person.objects.count()

    results = run_together(lambda i: services.run_import(ids[i % 2]), 4)

    assert not [r for r in results if isinstance(r, Exception)], results
    finished = PanelImport.objects.filter(pk__in=ids)
    assert {i.status for i in finished} == {PanelImport.Status.IMPORTED}
    assert sorted((i.created_count, i.existing_count) for i in finished) == [(0, 3), (3, 0)]
    assert Person.objects.count() == people + 3  # nobody half-added by the list that lost the race
    assert imported(panel).count() == 3
    assert audit.verify_chain()[1] == []


# ------------------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("who", ["other_cluster_staff", "participant", "group_rep"])
def test_only_the_staff_running_the_panel_reach_its_imports(client, panel, staff_user, who, request):
    panel_import = services.upload_import(
        panel, SimpleUploadedFile("members.csv", GOOD_CSV), acting_user=staff_user
    )
    client.force_login(request.getfixturevalue(who))
    args = [panel.slug, panel_import.pk]

    pages = [
        reverse("pilots:import_list", args=[panel.slug]),
        reverse("pilots:import_new", args=[panel.slug]),
        reverse("pilots:import_mapping", args=args),
        reverse("pilots:import_detail", args=args),
        reverse("pilots:import_progress", args=args),
        reverse("pilots:import_errors", args=args),
        reverse("pilots:import_errors_csv", args=args),
    ]
    assert [client.get(url).status_code for url in pages] == [403] * len(pages)
    assert upload(client, panel, GOOD_CSV).status_code == 403
    assert confirm_columns(client, panel_import).status_code == 403
    panel_import.refresh_from_db()
    assert panel_import.status == PanelImport.Status.UPLOADED
    assert PanelImport.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, panel):
    response = client.get(reverse("pilots:import_new", args=[panel.slug]))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ------------------------------------------------------------------------------------ pages, progress


def test_the_imports_list_shows_each_import_with_constant_queries(
    staff, panel, staff_user, django_capture_on_commit_callbacks
):
    import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    url = reverse("pilots:import_list", args=[panel.slug])
    with CaptureQueriesContext(connection) as few:
        staff.get(url)
    for _n in range(4):
        services.upload_import(panel, SimpleUploadedFile("more.csv", GOOD_CSV), acting_user=staff_user)

    with CaptureQueriesContext(connection) as many:
        page = staff.get(url).content.decode()

    assert len(many) == len(few)
    assert page.count("more.csv") == 4
    assert "Uploaded: map the columns" in page and "Imported" in page


def test_a_running_import_shows_an_accessible_progress_bar(staff, panel, staff_user):
    panel_import = services.upload_import(
        panel, SimpleUploadedFile("members.csv", GOOD_CSV), acting_user=staff_user
    )
    PanelImport.objects.filter(pk=panel_import.pk).update(
        status=PanelImport.Status.RUNNING, processed_count=2
    )
    url = reverse("pilots:import_detail", args=[panel.slug, panel_import.pk])

    page = staff.get(url).content.decode()

    assert 'role="progressbar"' in page and 'aria-valuenow="2"' in page and 'aria-valuemax="3"' in page
    assert "Checking the rows: 2 of 3 rows" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page

    PanelImport.objects.filter(pk=panel_import.pk).update(processed_count=3)
    cache.set(services.progress_key(panel_import.pk), 1)
    progress = staff.get(reverse("pilots:import_progress", args=[panel.slug, panel_import.pk])).json()
    assert progress == {
        "status": "running",
        "phase": "importing",
        "done": 1,
        "total": 3,
        "percent": 33,
        "text": "Importing: 1 of 3 rows",
    }


# ----------------------------------------------------------------------------------------- browser


@pytest.fixture
def coordinator(cluster):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = MembershipFactory(
        organisation=cluster, role=Role.LAB_COORDINATOR, user=UserFactory(email="coord@example.org")
    ).user
    PersonFactory(user=user)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


@pytest.mark.browser
def test_staff_map_a_list_read_its_problems_and_import_the_corrected_list(
    page, shoot, panel, coordinator, mailoutbox
):
    user, secret = coordinator
    sign_in(page, user.email, DEMO_PASSWORD)
    page.locator("input[name=code]").fill(fresh_totp_code(secret, set()))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)
    bad = FRENCH_CSV.replace(b"1951", b"19S1").replace(b"couple", b"en couple")

    page.goto(f"/panels/{panel.slug}/imports/new/")
    page.get_by_label("List of members").set_input_files(
        files=[{"name": "adherents.csv", "mimeType": "text/csv", "buffer": b"%PDF-1.7\n%%EOF\n"}]
    )
    page.get_by_role("button", name="Upload and choose the columns").click()
    expect(page.get_by_role("alert")).to_contain_text("it looks like a PDF file")
    shoot("0-upload-refused")
    page.get_by_label("List of members").set_input_files(
        files=[{"name": "adherents.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.get_by_role("button", name="Upload and choose the columns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Which column holds what?")
    expect(page.get_by_label("Column “Courriel” goes to")).to_have_value("email")
    shoot("1-mapping")

    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("heading", name="Nothing was imported")).to_be_visible()
    page.get_by_role("link", name="See the problems, line by line").click()
    table = page.get_by_role("table", name="Each problem found in the list")
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("Année de naissance")
    expect(table).to_contain_text("19S1")
    shoot("2-problems")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the problems (CSV)").click()
    assert "19S1" in download.value.path().read_text(encoding="utf-8-sig")
    assert not PanelMembership.objects.filter(panel=panel).exists()

    page.get_by_role("link", name="Upload a corrected file").click()
    page.get_by_label("List of members").set_input_files(
        files=[{"name": "adherents.csv", "mimeType": "text/csv", "buffer": FRENCH_CSV}]
    )
    page.get_by_role("button", name="Upload and choose the columns").click()
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    shoot("3-imported")
    assert PanelMembership.objects.filter(panel=panel, status=PanelMembership.Status.PENDING).count() == 2
    page.get_by_role("link", name="All imports of this panel").click()
    expect(
        page.get_by_role("table", name="Member lists of this panel, newest first").get_by_role("row")
    ).to_have_count(3)
    shoot("4-list")

    # A large list runs in the background: its page shows the progress and reloads when it is done.
    running = PanelImport.objects.filter(panel=panel).latest("created_at")
    PanelImport.objects.filter(pk=running.pk).update(status=PanelImport.Status.RUNNING, processed_count=1)
    page.goto(f"/panels/{panel.slug}/imports/{running.pk}/")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_text("Checking the rows: 1 of 2 rows")).to_be_visible()
    shoot("5-progress")
    PanelImport.objects.filter(pk=running.pk).update(processed_count=2)
    cache.set(services.progress_key(running.pk), 1)
    expect(bar).to_have_attribute("aria-valuetext", "Importing: 1 of 2 rows")
    PanelImport.objects.filter(pk=running.pk).update(status=PanelImport.Status.IMPORTED)
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()


def test_lists_are_forgotten_once_imported_and_problem_reports_after_a_month(
    staff, panel, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core.files.storage import storages
    from django.utils import timezone

    from pilots.services.imports import forget_old_lists

    done = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)
    bad = import_list(
        staff,
        panel,
        b"Name,E-mail,Year of birth,Region\nJean Martin,jean-at-example.org,1951,Bretagne\n",
        django_capture_on_commit_callbacks,
        name="bad.csv",
    )
    names = {done.pk: done.file.name, bad.pk: bad.file.name}
    with django_capture_on_commit_callbacks(execute=True):
        assert forget_old_lists() == 1
    done.refresh_from_db()
    bad.refresh_from_db()
    assert not done.file and not storages["private"].exists(names[done.pk])
    assert bad.file and bad.errors[0]["value"] == "jean-at-example.org"  # kept to be corrected, for now

    with django_capture_on_commit_callbacks(execute=True):
        assert forget_old_lists(now=timezone.now() + timedelta(days=31)) == 1
    bad.refresh_from_db()
    assert not bad.file and not storages["private"].exists(names[bad.pk])
    assert [e["value"] for e in bad.errors] == [""] and bad.errors[0]["line"] == 2
    assert done.created_count > 0 and bad.row_count == 1
    for panel_import in (done, bad):
        for name in (
            "import_detail",
            "import_mapping",
            "import_errors",
            "import_errors_csv",
            "import_progress",
        ):
            response = staff.get(reverse(f"pilots:{name}", args=[panel.slug, panel_import.pk]))
            assert response.status_code < 500, (name, response.status_code)
    response = confirm_columns(staff, bad)
    assert "This list was deleted after 30 days: upload it again." in response.content.decode()
    bad.refresh_from_db()
    assert bad.status == PanelImport.Status.INVALID


def test_someone_who_erased_their_data_is_not_imported_again_from_an_old_list(
    staff, panel, staff_user, django_capture_on_commit_callbacks
):
    from livinglab.factories import PersonFactory, UserFactory
    from pilots.models import ErasedContact
    from pilots.services.rights import erase_person

    jean = PersonFactory(full_name="Jean Martin", user=UserFactory(email="jean.martin@example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        erase_person(jean, acting_user=jean.user, requested_by="person")
    assert ErasedContact.objects.count() == 1
    assert not ErasedContact.objects.filter(digest__icontains="jean").exists()

    panel_import = import_list(staff, panel, GOOD_CSV, django_capture_on_commit_callbacks)

    assert panel_import.status == PanelImport.Status.INVALID
    assert [(e["line"], e["params"].get("message", "")) for e in panel_import.errors] == [
        (3, "This person asked for their data to be erased: they cannot be added from a list again.")
    ]
    assert not imported(panel).exists()
