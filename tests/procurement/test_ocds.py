"""Open contracting data: every release type, the record and the bulk package validate against the vendored
OCDS 1.1.5 schemas and codelists; phases are linked; bidders stay unnamed until the bid deadline; no
personal data is ever published."""

import csv
import filecmp
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from livinglab.factories import OrganisationFactory, UserFactory
from livinglab.models import Organisation
from procurement import ocds
from procurement.factories import BidFactory, PhaseFactory, ProcurementFactory
from procurement.models import (
    Award,
    AwardDecision,
    CallDocument,
    Clarification,
    ConsultationEvent,
    ConsultationInput,
    Contract,
    Interaction,
    Milestone,
    Phase,
    Procurement,
    Registration,
)
from procurement.services.lifecycle import move_phase

SCHEMA = ocds.SCHEMA_DIR
REMOTE = "https://standard.open-contracting.org/schema/1__1__5/"
SHARED = Path(settings.BASE_DIR).parent / "shared" / "standards" / "ocds-1.1.5"


# --- validation against the vendored copy (never the network) -------------------------------------------


def _registry() -> Registry:
    """The remote schema addresses the package schemas refer to, resolved to the vendored files."""
    resources = []
    for name in ("release-schema.json", "versioned-release-validation-schema.json"):
        contents = json.loads((SCHEMA / name).read_text())
        resources.append((REMOTE + name, Resource.from_contents(contents, default_specification=DRAFT4)))

    def refuse(uri):
        raise AssertionError(f"the schema asked for {uri}: nothing may be fetched")

    return Registry(retrieve=refuse).with_resources(resources)


def assert_valid(instance: dict, schema_name: str) -> None:
    schema = json.loads((SCHEMA / schema_name).read_text())
    validator = jsonschema.Draft4Validator(schema, registry=_registry())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
    assert errors == [], "\n".join(errors[:20])
    assert_formats(instance)


DATE_KEYS = {
    "date",
    "startDate",
    "endDate",
    "dueDate",
    "dateMet",
    "dateSigned",
    "datePublished",
    "publishedDate",
}
URI_KEYS = {"url", "uri", "publicationPolicy", "license"}


def assert_formats(data, path="") -> None:
    """What a format checker would check (none is installed): date-times with a zone, absolute URIs."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in DATE_KEYS and isinstance(value, str):
                assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo, f"{path}/{key}"
            elif key in URI_KEYS and isinstance(value, str):
                assert urlparse(value).scheme in {"http", "https"}, f"{path}/{key}: {value}"
            else:
                assert_formats(value, f"{path}/{key}")
    elif isinstance(data, list):
        for item in data:
            assert_formats(item, path)


def codelist(name: str) -> set[str]:
    with (SCHEMA / "codelists" / f"{name}.csv").open(encoding="utf-8") as handle:
        return {row["Code"] for row in csv.DictReader(handle)}


def codes_used(release: dict) -> dict[str, set]:
    """Every value of a codelist field in ``release``, by codelist."""
    used: dict[str, set] = {}

    def add(name, *values):
        used.setdefault(name, set()).update(v for v in values if v is not None)

    def documents(items):
        add("documentType", *(d.get("documentType") for d in items or []))

    def value(v):
        if isinstance(v, dict):
            add("currency", v.get("currency"))

    add("releaseTag", *release["tag"])
    add("initiationType", release["initiationType"])
    for party in release.get("parties", []):
        add("partyRole", *party.get("roles", []))
    for process in release.get("relatedProcesses", []):
        add("relatedProcess", *process.get("relationship", []))
        add("relatedProcessScheme", process.get("scheme"))
    planning = release.get("planning", {})
    value(planning.get("budget", {}).get("amount"))
    documents(planning.get("documents"))
    tender = release.get("tender", {})
    add("tenderStatus", tender.get("status"))
    add("method", tender.get("procurementMethod"))
    add("procurementCategory", tender.get("mainProcurementCategory"))
    add("awardCriteria", tender.get("awardCriteria"))
    add("submissionMethod", *tender.get("submissionMethod", []))
    value(tender.get("value"))
    documents(tender.get("documents"))
    for award in release.get("awards", []):
        add("awardStatus", award.get("status"))
        value(award.get("value"))
    for contract in release.get("contracts", []):
        add("contractStatus", contract.get("status"))
        value(contract.get("value"))
        implementation = contract.get("implementation", {})
        for milestone in implementation.get("milestones", []):
            add("milestoneStatus", milestone.get("status"))
            add("milestoneType", milestone.get("type"))
        for payment in implementation.get("transactions", []):
            value(payment.get("value"))
    return used


def assert_codelists(releases: list[dict]) -> set[str]:
    """Every codelist value is in the vendored CSV; returns the codelists that were used."""
    seen = set()
    for release in releases:
        for name, values in codes_used(release).items():
            if values:
                seen.add(name)
            assert values <= codelist(name), f"{release['id']}: {name} {values - codelist(name)}"
    return seen


# --- building the world ----------------------------------------------------------------------------------


def releases_by_ocid(procurement: Procurement, now=None) -> dict[str, list[dict]]:
    procurement = ocds.with_related(Procurement.objects.filter(pk=procurement.pk)).get()
    return ocds.procurement_releases(procurement, ocds.load_world([procurement]), ocds.Links(), now)


def tags(releases):
    return [r["tag"][0] for r in releases]


def compiled(releases):
    return ocds.compile_record(releases[0]["ocid"], releases, versioned=False)["compiledRelease"]


def document(procurement, kind, title, phase=None, name="file.pdf"):
    return CallDocument.objects.create(
        procurement=procurement,
        phase=phase,
        kind=kind,
        title=title,
        file=f"procurement-documents/2026/{name}",
        sha256="0" * 64,
    )


def build_history(call, consortium, rival_consortium, *, people=()):
    """``call`` played through: a consultation with a summary, phase 1 awarded with a contract whose first
    milestone is paid, phase 2 open with a sealed bid, phase 3 planned. ``people`` take part by name."""
    now = timezone.now()
    Procurement.objects.filter(pk=call.pk).update(
        consultation_opens_at=now - timedelta(days=120),
        consultation_closes_at=now - timedelta(days=100),
        consultation_summary="Firms asked for a longer phase 1.",
        consultation_summary_published_at=now - timedelta(days=95),
        published_at=now - timedelta(days=90),
    )
    call.refresh_from_db()
    document(call, CallDocument.Kind.CONSULTATION_NOTICE, "Market consultation notice")
    document(call, CallDocument.Kind.CONSULTATION_SUMMARY, "What the market told us")
    document(call, CallDocument.Kind.CALL, "Call for tenders", name="call.pdf")
    for organisation in (consortium.lead, rival_consortium.lead):
        Registration.objects.create(procurement=call, organisation=organisation, stage="consultation")
    event = ConsultationEvent.objects.create(
        procurement=call,
        title="Information day",
        starts_at=now - timedelta(days=110, hours=2),
        ends_at=now - timedelta(days=110),
    )
    research = Organisation.objects.get(name="Aalto Care Research")
    event.attendees.add(research)
    phase1, phase2, _phase3 = call.phases.order_by("number")
    Phase.objects.filter(pk=phase1.pk).update(
        status=Phase.Status.AWARDED,
        opened_at=now - timedelta(days=90),
        question_deadline=now - timedelta(days=70),
        bid_deadline=now - timedelta(days=60),
    )
    person = people[0] if people else None
    Clarification.objects.create(
        phase=phase1,
        asked_by=person,
        asking_organisation=consortium.lead,
        question="Can we use the city's alarm platform?",
        public_question="May bidders use the existing alarm platform?",
        answer="Yes.",
        answered_by=person,
        status=Clarification.Status.PUBLISHED,
        published_at=now - timedelta(days=75),
    )
    interaction = Interaction.objects.create(
        procurement=call,
        kind=Interaction.Kind.MEETING,
        occurred_at=now - timedelta(days=100),
        subject="Market consultation meeting",
        summary="Needs discussed.",
        participants=", ".join(f"{p.first_name} {p.last_name}" for p in people),
        recorded_by=person,
    )
    interaction.organisations.add(consortium.lead)
    won = BidFactory(phase=phase1, consortium=consortium, submitted_by=person, created_by=person)
    lost = BidFactory(phase=phase1, consortium=rival_consortium)
    decision = AwardDecision.objects.create(
        phase=phase1,
        reasons="HomeSense scored best.",
        status=AwardDecision.Status.FINAL,
        decided_by=person,
        decided_at=now - timedelta(days=40),
        standstill_ends_at=now - timedelta(days=30),
        finalised_at=now - timedelta(days=30),
    )
    award = Award.objects.create(
        decision=decision, bid=won, successful=True, rank=1, total=Decimal("81.5"), value=Decimal("120000")
    )
    Award.objects.create(decision=decision, bid=lost, successful=False, rank=2, total=Decimal("55"))
    contract = Contract.objects.create(
        award=award,
        phase=phase1,
        title="Solution design: HomeSense",
        value=Decimal("120000.00"),
        status=Contract.Status.ACTIVE,
        signed_at=now - timedelta(days=29),
        starts_on=(now - timedelta(days=28)).date(),
        ends_on=(now + timedelta(days=90)).date(),
    )
    Milestone.objects.create(
        contract=contract,
        title="Feasibility study",
        due_on=(now - timedelta(days=5)).date(),
        amount=Decimal("60000.00"),
        status=Milestone.Status.PAID,
        delivered_at=now - timedelta(days=8),
        accepted_at=now - timedelta(days=6),
        paid_at=now - timedelta(days=3),
    )
    Milestone.objects.create(
        contract=contract,
        title="Solution design",
        due_on=(now + timedelta(days=80)).date(),
        amount=Decimal("60000.00"),
    )
    Phase.objects.filter(pk=phase2.pk).update(
        status=Phase.Status.OPEN,
        opened_at=now - timedelta(days=2),
        question_deadline=now + timedelta(days=10),
        bid_deadline=now + timedelta(days=20),
    )
    BidFactory(phase=phase2, consortium=consortium)
    call.refresh_from_db()
    return call


def close_bidding(phase, pass_deadline):
    """The phase opened three days ago and its bid deadline has just passed."""
    Phase.objects.filter(pk=phase.pk).update(opened_at=timezone.now() - timedelta(days=3))
    return pass_deadline(phase)


@pytest.fixture
def history(call, consortium, rival_consortium):
    return build_history(call, consortium, rival_consortium)


# --- the planning process --------------------------------------------------------------------------------


def test_planning_process_publishes_the_challenge_budget_and_who_took_part_in_the_consultation(history):
    releases = releases_by_ocid(history)[history.ocid]

    assert tags(releases) == ["planning", "planningUpdate", "planningUpdate"]
    for release in releases:
        assert_valid(release, "release-schema.json")
    first = releases[0]
    assert first["tender"]["status"] == "planning"
    assert first["planning"]["budget"]["amount"] == {"amount": 1500000, "currency": "EUR"}
    assert "Older people want to live at home longer" in first["planning"]["rationale"]
    assert [d["documentType"] for d in first["planning"]["documents"]] == ["plannedProcurementNotice"]
    assert first["parties"] == [
        {
            "id": f"org-{history.buyer_id}",
            "name": "City of Espoo Social Services",
            "address": {"countryName": "Finland", "region": "Uusimaa"},
            "roles": ["buyer", "procuringEntity"],
        }
    ]
    record = compiled(releases)
    assert record["tender"]["status"] == "planned"
    assert {d["title"] for d in record["planning"]["documents"]} == {
        "Market consultation notice",
        "What the market told us",
    }
    interested = {p["name"] for p in record["parties"] if "interestedParty" in p["roles"]}
    assert interested == {"Breizh Sensors", "Loire Mobile", "Aalto Care Research"}


def test_planning_release_of_a_consultation_is_still_planning_and_names_nobody_yet(authority):
    procurement = ProcurementFactory(
        buyer=authority,
        status=Procurement.Status.CONSULTATION,
        published_at=None,
        consultation_opens_at=timezone.now() - timedelta(days=1),
        consultation_closes_at=timezone.now() + timedelta(days=20),
    )
    PhaseFactory(procurement=procurement, status=Phase.Status.PLANNED, opened_at=None)
    Registration.objects.create(
        procurement=procurement, organisation=OrganisationFactory(name="Early Bird Oy"), stage="consultation"
    )

    found = releases_by_ocid(procurement)

    assert list(found) == [procurement.ocid], "the phases are not processes before the call is published"
    (release,) = found[procurement.ocid]
    assert_valid(release, "release-schema.json")
    assert release["tag"] == ["planning"] and release["tender"]["status"] == "planning"
    assert "Early Bird Oy" not in json.dumps(release)


# --- the phases ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "tender_status", "first_tag"),
    [
        (Phase.Status.PLANNED, "planned", "planning"),
        (Phase.Status.OPEN, "active", "tender"),
        (Phase.Status.EVALUATION, "active", "tender"),
        (Phase.Status.STANDSTILL, "active", "tender"),
        (Phase.Status.AWARDED, "complete", "tender"),
        (Phase.Status.COMPLETED, "complete", "tender"),
        (Phase.Status.CANCELLED, "cancelled", "tender"),
    ],
)
def test_tender_release_validates_in_every_phase_status(phase1, status, tender_status, first_tag):
    changes = {"status": status}
    if status == Phase.Status.PLANNED:
        changes.update(opened_at=None)
    Phase.objects.filter(pk=phase1.pk).update(**changes)

    releases = releases_by_ocid(phase1.procurement)[phase1.ocid]

    for release in releases:
        assert_valid(release, "release-schema.json")
    assert_codelists(releases)
    assert tags(releases)[0] == first_tag
    tender = compiled(releases)["tender"]
    assert tender["status"] == tender_status
    assert tender["procurementMethod"] == "open"
    assert tender["mainProcurementCategory"] == "services"
    assert tender["awardCriteria"] == "ratedCriteria"
    assert tender["awardCriteriaDetails"] == (
        "Quality of the solution design: weight 60 %; Price: weight 40 %. Pass mark: 60 out of 100."
    )
    assert tender["value"] == {"amount": 150000, "currency": "EUR"}
    if status != Phase.Status.PLANNED:
        assert tender["tenderPeriod"]["endDate"] == ocds.stamp(phase1.bid_deadline)
        assert tender["enquiryPeriod"]["endDate"] == ocds.stamp(phase1.question_deadline)
        assert tender["hasEnquiries"] is False


def test_a_cancelled_phase_gets_a_cancellation_release_dated_when_it_was_cancelled(phase1, procurer):
    with transaction.atomic():
        move_phase(phase1, Phase.Status.CANCELLED, acting_user=procurer)

    releases = releases_by_ocid(phase1.procurement)[phase1.ocid]

    assert tags(releases) == ["tender", "tenderCancellation"]
    assert_valid(releases[-1], "release-schema.json")
    assert releases[-1]["tender"] == {"id": phase1.ocid, "status": "cancelled"}
    assert releases[-1]["date"] >= releases[0]["date"]


def test_later_phases_are_selective_and_linked_to_the_planning_process_and_the_previous_phase(call):
    found = releases_by_ocid(call)
    ocids = [f"{call.ocid}-{n}" for n in (1, 2, 3)]

    assert list(found) == [call.ocid, *ocids]
    for number, ocid in enumerate(ocids, start=1):
        (release,) = found[ocid][-1:]
        assert_valid(release, "release-schema.json")
        links = {tuple(p["relationship"]): p for p in release["relatedProcesses"]}
        assert links[("planning",)]["identifier"] == call.ocid
        assert links[("planning",)]["scheme"] == "ocid"
        assert links[("planning",)]["uri"] == f"http://testserver/procurement/ocds/{call.ocid}/record.json"
        if number == 1:
            assert ("prior",) not in links
            assert release["tender"]["procurementMethod"] == "open"
        else:
            assert links[("prior",)]["identifier"] == ocids[number - 2]
            assert release["tender"]["procurementMethod"] == "selective"
            assert release["tender"]["status"] == "planned"
            assert release["tender"]["eligibilityCriteria"] == (
                f"Only the contractors of phase {number - 1} may bid."
            )


def _everything_about_the_bidders(text: str) -> list[str]:
    names = ["Breizh Sensors", "Aalto Care Research", "Loire Mobile", "HomeSense", "Loire Care"]
    return [name for name in names if name in text] + [
        w for w in ("tenderer", "numberOfTenderers") if w in text
    ]


def test_tender_release_names_no_bidder_before_the_bid_deadline(phase1, sealed_bid, rival_consortium):
    BidFactory(phase=phase1, consortium=rival_consortium)

    releases = releases_by_ocid(phase1.procurement)[phase1.ocid]

    assert tags(releases) == ["tender"]
    assert _everything_about_the_bidders(json.dumps(releases)) == []


def test_bidders_are_named_from_the_deadline_second_on(phase1, sealed_bid, rival_consortium):
    BidFactory(phase=phase1, consortium=rival_consortium)
    deadline = phase1.bid_deadline

    before = releases_by_ocid(phase1.procurement, now=deadline - timedelta(microseconds=1))[phase1.ocid]
    at = releases_by_ocid(phase1.procurement, now=deadline)[phase1.ocid]

    assert _everything_about_the_bidders(json.dumps(before)) == []
    assert tags(at) == ["tender", "tenderUpdate"]
    update = at[-1]
    assert_valid(update, "release-schema.json")
    assert update["date"] == ocds.stamp(deadline)
    assert update["tender"]["numberOfTenderers"] == 3
    assert {t["name"] for t in update["tender"]["tenderers"]} == {
        "Breizh Sensors",
        "Aalto Care Research",
        "Loire Mobile",
    }
    assert {
        p["name"]: p["roles"] for p in update["parties"] if p["name"] != "City of Espoo Social Services"
    } == {
        "Breizh Sensors": ["tenderer"],
        "Aalto Care Research": ["tenderer"],
        "Loire Mobile": ["tenderer"],
    }


def test_withdrawn_and_draft_bids_do_not_make_tenderers(phase1, consortium, rival_consortium, pass_deadline):
    BidFactory(phase=phase1, consortium=consortium, status="withdrawn")
    BidFactory(phase=phase1, consortium=rival_consortium, status="draft")
    close_bidding(phase1, pass_deadline)

    update = releases_by_ocid(phase1.procurement)[phase1.ocid][-1]

    assert update["tender"]["numberOfTenderers"] == 0
    assert "tenderers" not in update["tender"]


# --- awards and contracts --------------------------------------------------------------------------------


def test_award_is_pending_during_the_standstill_and_active_once_final(phase1, sealed_bid, pass_deadline):
    close_bidding(phase1, pass_deadline)
    now = timezone.now()
    Phase.objects.filter(pk=phase1.pk).update(status=Phase.Status.STANDSTILL)
    decision = AwardDecision.objects.create(
        phase=phase1, reasons="Best", decided_at=now, standstill_ends_at=now + timedelta(days=10)
    )
    Award.objects.create(
        decision=decision, bid=sealed_bid, successful=True, rank=1, value=Decimal("99000.50")
    )

    standstill = releases_by_ocid(phase1.procurement)[phase1.ocid]

    assert tags(standstill) == ["tender", "tenderUpdate", "award"]
    award_release = standstill[-1]
    assert_valid(award_release, "release-schema.json")
    (award,) = award_release["awards"]
    assert award["status"] == "pending"
    assert award["value"] == {"amount": 99000.5, "currency": "EUR"}
    assert award["date"] == ocds.stamp(now)
    assert {s["name"] for s in award["suppliers"]} == {"Breizh Sensors", "Aalto Care Research"}
    assert award_release["tender"]["status"] == "active"

    AwardDecision.objects.filter(pk=decision.pk).update(status="final", finalised_at=now + timedelta(days=10))
    Phase.objects.filter(pk=phase1.pk).update(status=Phase.Status.AWARDED)
    final = releases_by_ocid(phase1.procurement)[phase1.ocid]

    assert tags(final) == ["tender", "tenderUpdate", "award", "awardUpdate"]
    assert_valid(final[-1], "release-schema.json")
    state = compiled(final)
    assert [a["status"] for a in state["awards"]] == ["active"]
    assert state["tender"]["status"] == "complete"
    roles = {p["name"]: p["roles"] for p in state["parties"]}
    assert roles["Breizh Sensors"] == ["tenderer", "supplier"]


def test_a_revoked_award_is_cancelled(phase1, sealed_bid, pass_deadline):
    close_bidding(phase1, pass_deadline)
    now = timezone.now()
    decision = AwardDecision.objects.create(
        phase=phase1, reasons="Best", decided_at=now, standstill_ends_at=now, status="revoked"
    )
    Award.objects.create(decision=decision, bid=sealed_bid, successful=True, rank=1)
    Phase.objects.filter(pk=phase1.pk).update(status=Phase.Status.EVALUATION)

    releases = releases_by_ocid(phase1.procurement)[phase1.ocid]

    assert tags(releases)[-2:] == ["award", "awardCancellation"]
    assert_valid(releases[-1], "release-schema.json")
    assert [a["status"] for a in compiled(releases)["awards"]] == ["cancelled"]


def test_contract_and_implementation_releases_show_milestones_and_payments(history):
    phase1 = history.phases.get(number=1)
    releases = releases_by_ocid(history)[phase1.ocid]

    assert tags(releases) == [
        "tender",
        "tenderUpdate",
        "award",
        "awardUpdate",
        "contract",
        "contractUpdate",
        "implementation",
    ]
    for release in releases:
        assert_valid(release, "release-schema.json")
    contract_release, signature_release, implementation_release = releases[-3:]
    (drawn_up,) = contract_release["contracts"]
    assert drawn_up["status"] == "pending" and "dateSigned" not in drawn_up
    (signed,) = signature_release["contracts"]
    assert signed["status"] == "active"
    assert signed["dateSigned"] == signature_release["date"]
    assert signed["value"] == {"amount": 120000, "currency": "EUR"}
    assert signed["awardID"] == compiled(releases)["awards"][0]["id"]
    assert signed["period"]["startDate"].endswith("T00:00:00+02:00") or signed["period"][
        "startDate"
    ].endswith("T00:00:00+03:00"), "contract days are days in the authority's time zone"
    assert [m["status"] for m in signed["implementation"]["milestones"]] == ["scheduled", "scheduled"]
    (running,) = implementation_release["contracts"]
    assert [m["status"] for m in running["implementation"]["milestones"]] == ["met", "scheduled"]
    (payment,) = running["implementation"]["transactions"]
    assert payment["value"] == {"amount": 60000, "currency": "EUR"}
    assert payment["payer"]["name"] == "City of Espoo Social Services"
    assert payment["payee"]["name"] == "Breizh Sensors"
    roles = {p["name"]: p["roles"] for p in implementation_release["parties"]}
    assert roles["City of Espoo Social Services"] == ["buyer", "procuringEntity", "payer"]
    assert roles["Breizh Sensors"] == ["tenderer", "supplier", "payee"]
    assert "Loire Mobile" not in json.dumps(implementation_release)


# --- codelists, records, packages ------------------------------------------------------------------------


def test_every_codelist_value_used_is_in_the_vendored_codelists(history):
    releases = [r for found in releases_by_ocid(history).values() for r in found]

    used = assert_codelists(releases)

    assert used >= {
        "releaseTag",
        "tenderStatus",
        "awardStatus",
        "contractStatus",
        "relatedProcess",
        "partyRole",
        "method",
        "procurementCategory",
        "awardCriteria",
        "documentType",
        "milestoneStatus",
        "currency",
    }
    assert {t for r in releases for t in r["tag"]} == {
        "planning",
        "planningUpdate",
        "tender",
        "tenderUpdate",
        "award",
        "awardUpdate",
        "contract",
        "contractUpdate",
        "implementation",
    }


def test_record_package_validates_with_its_compiled_and_versioned_release(history):
    phase1 = history.phases.get(number=1)
    releases = releases_by_ocid(history)[phase1.ocid]
    uri = f"http://testserver/procurement/ocds/{phase1.ocid}/record.json"

    package = ocds.record_package(phase1.ocid, releases, uri=uri, links=ocds.Links())

    assert_valid(package, "record-package-schema.json")
    (record,) = package["records"]
    assert record["ocid"] == phase1.ocid
    assert [r["id"] for r in record["releases"]] == [r["id"] for r in releases]
    state = record["compiledRelease"]
    assert state["tag"] == ["compiled"]
    assert state["tender"]["status"] == "complete"
    assert state["contracts"][0]["implementation"]["transactions"][0]["value"]["amount"] == 60000
    jsonschema.Draft4Validator(ocds.load_schema("versioned-release-validation-schema.json")).validate(
        record["versionedRelease"]
    )
    history_of_status = record["versionedRelease"]["tender"]["status"]
    assert [v["value"] for v in history_of_status] == ["active", "complete"]
    assert package["publishedDate"] == releases[-1]["date"]


def test_records_are_compiled_with_the_vendored_schema_without_the_network(history, monkeypatch):
    import ocdsmerge.util

    def offline(*args, **kwargs):
        raise AssertionError("ocdsmerge tried to fetch a schema")

    monkeypatch.setattr(ocdsmerge.util.requests, "get", offline)
    ocds.merger.cache_clear()
    releases = releases_by_ocid(history)[history.ocid]

    record = ocds.compile_record(history.ocid, releases)

    assert record["compiledRelease"]["tender"]["status"] == "planned"


def _stream(chunk_size=ocds.CHUNK_SIZE, since=None) -> tuple[dict, list[str]]:
    pieces = list(
        ocds.stream_release_package(
            uri="http://testserver/procurement/ocds/releases.json",
            links=ocds.Links(),
            since=since,
            chunk_size=chunk_size,
        )
    )
    return json.loads("".join(pieces)), pieces


def test_bulk_package_streams_every_published_procurement_in_chunks_and_validates(history, authority):
    ProcurementFactory(
        buyer=authority, status=Procurement.Status.DRAFT, published_at=None, title="Secret draft"
    )
    other = ProcurementFactory(buyer=authority, title="Smart snow clearing")
    PhaseFactory(procurement=other)

    package, pieces = _stream(chunk_size=1)

    assert_valid(package, "release-package-schema.json")
    assert len(pieces) == 4, "the head, one piece per published procurement, the tail"
    ocids = {r["ocid"] for r in package["releases"]}
    assert ocids == {history.ocid, *(p.ocid for p in history.phases.all()), other.ocid, f"{other.ocid}-1"}
    assert "Secret draft" not in "".join(pieces)
    ids = [r["id"] for r in package["releases"]]
    assert len(ids) == len(set(ids))
    assert package["publishedDate"] == max(r["date"] for r in package["releases"])
    assert_codelists(package["releases"])


def test_repeated_exports_are_identical(history):
    first, _ = _stream()
    second, _ = _stream(chunk_size=2)

    assert first == second


def test_since_keeps_the_releases_dated_from_that_moment(history):
    since = timezone.now() - timedelta(days=10)

    package, _ = _stream(since=since)

    assert package["releases"], "the payment three days ago and phase 2 opening two days ago"
    assert all(r["date"] >= ocds.stamp(since) for r in package["releases"])
    assert {r["tag"][0] for r in package["releases"]} == {"implementation", "tender"}


def test_no_personal_data_appears_in_any_export(call, consortium, rival_consortium, procurer, bidder):
    people = [
        UserFactory(email="aino.virtanen@espoo.example", first_name="Aino", last_name="Virtanen"),
        UserFactory(email="yann.le-goff@breizh.example", first_name="Yann", last_name="Le Goff"),
        procurer,
        bidder,
    ]
    history = build_history(call, consortium, rival_consortium, people=people)
    Interaction.objects.filter(procurement=history).update(participants="Aino Virtanen, Yann Le Goff")
    ConsultationInput.objects.create(
        procurement=history,
        organisation=consortium.lead,
        submitted_by=people[1],
        subject="Yann Le Goff's input",
        text="Call me on +33 6 00 00 00 00",
    )
    found = releases_by_ocid(history)

    exports = [json.dumps(_stream()[0])]
    for ocid, releases in found.items():
        exports.append(
            json.dumps(ocds.record_package(ocid, releases, uri="http://testserver/x", links=ocds.Links()))
        )
    text = "\n".join(exports)

    for person in people:
        assert person.email not in text
        assert f"{person.first_name} {person.last_name}" not in text
    for leak in ("Virtanen", "Le Goff", "+33", "@", "contactPoint", "Can we use the city's alarm platform"):
        assert leak not in text
    assert "Breizh Sensors" in text, "organisations are named"


def test_the_vendored_schema_is_the_shared_copy():
    if not SHARED.exists():
        pytest.skip(f"no shared copy of the standard at {SHARED}")
    names = sorted(p.relative_to(SHARED).as_posix() for p in SHARED.rglob("*") if p.is_file())
    ours = sorted(
        p.relative_to(SCHEMA).as_posix() for p in SCHEMA.rglob("*") if p.is_file() and p.name != "README.md"
    )
    assert ours == [n for n in names if n != "README.md"]
    _match, mismatch, errors = filecmp.cmpfiles(SHARED, SCHEMA, ours, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_parse_ocid_accepts_only_this_publishers_ids(call):
    assert ocds.parse_ocid(call.ocid) == (call.pk, None)
    assert ocds.parse_ocid(f"{call.ocid}-2") == (call.pk, 2)
    for wrong in (
        f"ocds-zzzzzz-pcp-{call.pk}",
        f"{call.ocid}-0",
        f"{call.ocid}-12",
        "releases.json",
        f"{call.ocid}x",
    ):
        assert ocds.parse_ocid(wrong) is None
    assert ocds.parse_ocid(f"{settings.OCDS_PREFIX}-pcp-0{call.pk}") is None
