"""Open contracting data: every published procurement as OCDS 1.1 releases, records and packages.

Contracting processes. ``procurement.ocid`` is the planning process (the challenge, its budget envelope and
the open market consultation); each phase is a contracting process of its own (``phase.ocid``) whose
``relatedProcesses`` point to the planning process (``planning``) and, from phase 2 on, to the previous
phase (``prior``). The relatedProcess codelist has no code for the opposite direction, so the planning
process does not list its phases: OCDS links a tender to its planning process, not the reverse.

Releases are derived from the current state of the database, one per step of a process, dated when that
step happened (the audit trail dates the steps the models do not). A release's id is built from its ocid,
its tag, what it is about and its date, so exporting twice gives the same ids and the same content.

Nothing about people is published: parties are organisations (id, name, country and region — no contact
point), the asker of a clarification, evaluators, scores, the interaction register and bid content are
never read here. Bidders are named only once the phase's bid deadline has passed (bids are sealed until
then): before it a tender release does not even say how many bids arrived.

The merge rules come from the release schema vendored in ``standards/ocds-1.1.5/``; nothing is fetched."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import mimetypes
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import ocdsmerge
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_countries import countries

from livinglab.models import AuditEntry, Organisation

from .models import (
    Award,
    AwardDecision,
    Bid,
    CallDocument,
    Clarification,
    ConsortiumMember,
    ConsultationEvent,
    ConsultationInput,
    Contract,
    Milestone,
    Phase,
    Procurement,
    Registration,
)

SCHEMA_DIR = Path(__file__).resolve().parent / "standards" / "ocds-1.1.5"
OCDS_VERSION = "1.1"
LANGUAGE = "en"
# Procurements loaded and written at a time by the bulk export: memory stays flat whatever the total.
CHUNK_SIZE = 100
OPENED_WITH_THE_CALL = timedelta(minutes=1)

TENDER_STATUS = {
    Phase.Status.PLANNED: "planned",
    Phase.Status.OPEN: "active",
    Phase.Status.EVALUATION: "active",
    Phase.Status.STANDSTILL: "active",
    Phase.Status.AWARDED: "complete",
    Phase.Status.COMPLETED: "complete",
    Phase.Status.CANCELLED: "cancelled",
}
PLANNING_STATUS = {
    Procurement.Status.CONSULTATION: "planning",
    Procurement.Status.CALL: "planned",
    Procurement.Status.COMPLETED: "complete",
    Procurement.Status.CANCELLED: "cancelled",
}
CONTRACT_STATUS = {
    Contract.Status.PENDING: "pending",
    Contract.Status.ACTIVE: "active",
    Contract.Status.COMPLETED: "terminated",
    Contract.Status.TERMINATED: "terminated",
}
# A delivered deliverable is met only once the authority accepts it.
MILESTONE_STATUS = {
    Milestone.Status.SCHEDULED: "scheduled",
    Milestone.Status.DELIVERED: "scheduled",
    Milestone.Status.ACCEPTED: "met",
    Milestone.Status.PAID: "met",
}
DOCUMENT_TYPE = {
    CallDocument.Kind.CALL: "biddingDocuments",
    CallDocument.Kind.CONSULTATION_NOTICE: "plannedProcurementNotice",
    CallDocument.Kind.CONSULTATION_SUMMARY: "marketStudies",
    CallDocument.Kind.ANNEX: "biddingDocuments",
}
PLANNING_DOCUMENTS = {CallDocument.Kind.CONSULTATION_NOTICE, CallDocument.Kind.CONSULTATION_SUMMARY}
# Status changes the models keep no date for, read from the audit trail.
PROCUREMENT_STEPS = ("consultation", "call", "completed", "cancelled")
PHASE_STEPS = ("evaluation", "completed", "cancelled")


# --- the schema and the merger ---------------------------------------------------------------------------


@functools.cache
def load_schema(name: str) -> dict:
    """A schema file of the vendored OCDS 1.1.5 copy, parsed (cached; never fetched over the network)."""
    with (SCHEMA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def merger() -> ocdsmerge.Merger:
    """One merger for the process, its merge rules read once from the vendored release schema."""
    return ocdsmerge.Merger(schema=load_schema("release-schema.json"))


@functools.lru_cache(maxsize=512)
def _translated(message: str) -> str:
    with translation.override(LANGUAGE):
        return gettext(message)


def _(message: str) -> str:
    """``gettext`` in the releases' language, remembered: an export asks for the same few phrases thousands
    of times."""
    return _translated(message)


@functools.lru_cache(maxsize=512)
def _country(code: str) -> str | None:
    with translation.override(LANGUAGE):
        return countries.name(code) or None


# --- small formatters ------------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """An aware datetime as an OCDS date-time in UTC, to the second (sortable as text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _compact(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local_day(day: date, tz, *, end: bool = False) -> str:
    """A calendar day in the authority's time zone, as the first (or last) second of it."""
    return datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=tz).isoformat()


def _number(amount: Decimal) -> int | float:
    # Amounts have at most 14 digits: a float keeps their exact decimal representation in JSON.
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _value(amount: Decimal | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": _number(amount), "currency": currency}


def _prune(data: dict) -> dict:
    """Drop the keys whose value is None, an empty list or an empty dict (OCDS: omit what is unknown)."""
    return {key: value for key, value in data.items() if value is not None and value != [] and value != {}}


def parse_ocid(ocid: str) -> tuple[int, int | None] | None:
    """``(procurement pk, phase number or None)`` for one of this publisher's ocids, else None."""
    match = re.fullmatch(re.escape(settings.OCDS_PREFIX) + r"-pcp-([1-9]\d{0,17})(?:-([1-9]))?", ocid)
    if match is None:
        return None
    return int(match[1]), int(match[2]) if match[2] else None


def published_procurements() -> QuerySet[Procurement]:
    """Procurements the public may see: every one but drafts."""
    return Procurement.objects.exclude(status=Procurement.Status.DRAFT)


def phases_published(procurement: Procurement) -> bool:
    """The phases are contracting processes of their own once the call is published."""
    return procurement.published_at is not None and procurement.status not in (
        Procurement.Status.DRAFT,
        Procurement.Status.CONSULTATION,
    )


class Links:
    """Absolute addresses of the public pages and files the releases point to. Each URL name is reversed
    once, with placeholders, then filled in: an export needs thousands of them."""

    PLACEHOLDER = "9876543210{}"

    def __init__(self, base_url: str | None = None):
        self.base = (base_url or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
        self._patterns: dict[tuple[str, int], str | None] = {}

    def absolute(self, path: str) -> str:
        return path if "://" in path else self.base + path

    def url(self, name: str, *args) -> str | None:
        """The absolute URL of ``procurement:<name>``; None while no part provides that name."""
        key = (name, len(args))
        if key not in self._patterns:
            placeholders = [self.PLACEHOLDER.format(n) for n in range(len(args))]
            try:
                self._patterns[key] = self.absolute(reverse(f"procurement:{name}", args=placeholders))
            except NoReverseMatch:
                self._patterns[key] = None
        found = self._patterns[key]
        if found is None:
            return None
        for n, arg in enumerate(args):
            found = found.replace(self.PLACEHOLDER.format(n), quote(str(arg), safe="-._~"))
        return found

    def document(self, document: CallDocument) -> str | None:
        return self.url("document", document.pk) or (
            self.absolute(document.file.url) if document.file else None
        )


# --- loading: everything the releases of some procurements need, in a fixed number of queries -------------


def with_related(queryset: QuerySet[Procurement]) -> QuerySet[Procurement]:
    """``queryset`` with the buyer and the phases with their criteria."""
    return queryset.select_related("buyer").prefetch_related(
        Prefetch("phases", queryset=Phase.objects.order_by("number")), "phases__criteria"
    )


@dataclass
class World:
    """The facts behind the releases of a few procurements, keyed by id."""

    organisations: dict[int, dict] = field(default_factory=dict)
    documents: dict[int, list[CallDocument]] = field(default_factory=lambda: defaultdict(list))
    consulted: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    bids: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    decisions: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    awards: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    contracts: dict[int, dict] = field(default_factory=dict)
    milestones: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    answered: dict[int, int] = field(default_factory=dict)
    # (model, pk) → {status: [dates]}
    steps: dict[tuple[str, int], dict[str, list[datetime]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )


def load_world(procurements: list[Procurement]) -> World:
    """Everything the releases of ``procurements`` (loaded with ``with_related``) need, in a fixed number of
    queries whatever their number. Bid content is never read: only which consortia submitted a bid."""
    world = World()
    ids = [p.pk for p in procurements]
    if not ids:
        return world
    organisation_ids = {p.buyer_id for p in procurements}

    latest: dict[tuple, CallDocument] = {}
    for document in CallDocument.objects.filter(procurement_id__in=ids).order_by("version", "pk"):
        latest[(document.procurement_id, document.phase_id, document.kind, document.title)] = document
    for document in latest.values():
        world.documents[document.procurement_id].append(document)

    for model, path in (
        (Registration.objects.filter(stage=Registration.Stage.CONSULTATION), "procurement_id"),
        (ConsultationInput.objects.all(), "procurement_id"),
        (ConsultationEvent.attendees.through.objects.all(), "consultationevent__procurement_id"),
    ):
        for procurement_id, organisation_id in model.filter(**{f"{path}__in": ids}).values_list(
            path, "organisation_id"
        ):
            world.consulted[procurement_id].add(organisation_id)
            organisation_ids.add(organisation_id)

    for row in (
        ConsortiumMember.objects.filter(
            consortium__procurement_id__in=ids, status=ConsortiumMember.Status.ACCEPTED
        )
        .order_by("consortium_id", "-role", "organisation_id")
        .values_list("consortium_id", "organisation_id")
    ):
        consortium_id, organisation_id = row
        world.members[consortium_id].append(organisation_id)
        organisation_ids.add(organisation_id)

    for row in (
        Bid.objects.filter(phase__procurement_id__in=ids, status=Bid.Status.SUBMITTED)
        .order_by("submitted_at", "pk")
        .values("pk", "phase_id", "consortium_id")
    ):
        world.bids[row["phase_id"]].append(row)

    for row in (
        AwardDecision.objects.filter(phase__procurement_id__in=ids)
        .order_by("decided_at", "pk")
        .values("pk", "phase_id", "status", "decided_at", "standstill_ends_at", "finalised_at")
    ):
        world.decisions[row["phase_id"]].append(row)

    for row in (
        Award.objects.filter(decision__phase__procurement_id__in=ids, successful=True)
        .order_by("rank", "pk")
        .values(
            "pk",
            "decision_id",
            "bid__consortium_id",
            "bid__consortium__name",
            "bid__consortium__lead_id",
            "value",
        )
    ):
        world.awards[row["decision_id"]].append(row)
        organisation_ids.add(row["bid__consortium__lead_id"])

    for row in Contract.objects.filter(phase__procurement_id__in=ids).values(
        "pk", "award_id", "title", "value", "status", "signed_at", "starts_on", "ends_on", "created_at"
    ):
        world.contracts[row["award_id"]] = row

    for row in (
        Milestone.objects.filter(contract__phase__procurement_id__in=ids)
        .order_by("due_on", "pk")
        .values(
            "pk",
            "contract_id",
            "title",
            "due_on",
            "amount",
            "status",
            "delivered_at",
            "accepted_at",
            "paid_at",
        )
    ):
        world.milestones[row["contract_id"]].append(row)

    world.answered = dict(
        Clarification.objects.filter(phase__procurement_id__in=ids, status=Clarification.Status.PUBLISHED)
        .values("phase_id")
        .annotate(count=Count("pk"))
        .values_list("phase_id", "count")
    )

    phase_ids = [phase.pk for p in procurements for phase in p.phases.all()]
    types = ContentType.objects.get_for_models(Procurement, Phase)
    actions = [f"procurement.procurement.{s}" for s in PROCUREMENT_STEPS] + [
        f"procurement.phase.{s}" for s in PHASE_STEPS
    ]
    for action, type_id, object_id, created_at in (
        AuditEntry.objects.filter(
            Q(content_type=types[Procurement], object_id__in=[str(pk) for pk in ids])
            | Q(content_type=types[Phase], object_id__in=[str(pk) for pk in phase_ids]),
            action__in=actions,
        )
        .order_by("seq")
        .values_list("action", "content_type_id", "object_id", "created_at")
    ):
        kind = "procurement" if type_id == types[Procurement].pk else "phase"
        world.steps[(kind, int(object_id))][action.rsplit(".", 1)[1]].append(created_at)

    with translation.override(LANGUAGE):
        for row in Organisation.objects.filter(pk__in=organisation_ids).values(
            "pk", "name", "country", "region"
        ):
            address = _prune({"countryName": _country(row["country"]), "region": row["region"] or None})
            world.organisations[row["pk"]] = _prune(
                {"id": f"org-{row['pk']}", "name": row["name"], "address": address}
            )
    return world


# --- release builders ------------------------------------------------------------------------------------


class Parties:
    """The parties of one contracting process: roles only grow from one release to the next, and each
    release lists the parties it mentions with every role they have had so far (the roles list is merged
    as a whole, so a later release must not forget an earlier role)."""

    def __init__(self, world: World):
        self.world = world
        self.roles: dict[int, list[str]] = {}

    def add(self, organisation_id: int, *roles: str) -> dict:
        known = self.roles.setdefault(organisation_id, [])
        known.extend(role for role in roles if role not in known)
        return self.reference(organisation_id)

    def reference(self, organisation_id: int) -> dict:
        party = self.world.organisations[organisation_id]
        return {"id": party["id"], "name": party["name"]}

    def listed(self, organisation_ids: Iterable[int]) -> list[dict]:
        organisations, roles = self.world.organisations, self.roles
        return [{**organisations[pk], "roles": list(roles[pk])} for pk in dict.fromkeys(organisation_ids)]


def _release(ocid: str, tag: str, moment: datetime, *keys, **sections) -> dict:
    release = {
        "ocid": ocid,
        "id": "-".join([ocid, tag, *map(str, keys), _compact(moment)]),
        "date": stamp(moment),
        "tag": [tag],
        "initiationType": "tender",
        "language": LANGUAGE,
    }
    release.update(_prune(sections))
    return release


def _first(*moments: datetime | None) -> datetime | None:
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def planning_releases(procurement: Procurement, world: World, links: Links) -> list[dict]:
    """The planning process: the challenge and budget, the consultation and who took part in it."""
    ocid = procurement.ocid
    steps = world.steps[("procurement", procurement.pk)]
    parties = Parties(world)
    buyer = parties.add(procurement.buyer_id, "buyer", "procuringEntity")
    consulted = _first(*steps.get("consultation", [])) or procurement.consultation_opens_at
    called = _first(*steps.get("call", [])) or procurement.published_at
    started = _first(consulted, called) or procurement.created_at
    documents = [d for d in world.documents[procurement.pk] if d.kind in PLANNING_DOCUMENTS]
    # Who took part in the consultation is published with its summary (or once it has closed).
    closed = procurement.consultation_closes_at
    reported = procurement.consultation_summary_published_at or (
        closed
        if closed is not None and closed <= timezone.now() and world.consulted[procurement.pk]
        else None
    )

    def document(d: CallDocument) -> dict:
        return _document(d, links)

    def planning(*, summaries: bool) -> dict:
        rationale = "\n\n".join(
            [
                _("Societal challenge: %(text)s") % {"text": procurement.challenge},
                _("Needs: %(text)s") % {"text": procurement.needs},
                _("Expected outcome: %(text)s") % {"text": procurement.expected_outcome},
            ]
        )
        return _prune(
            {
                "rationale": rationale,
                "budget": {
                    "id": f"{ocid}-budget",
                    "description": _("Budget envelope of the pre-commercial procurement, all phases."),
                    "amount": _value(procurement.budget, procurement.currency),
                },
                "documents": [
                    document(d)
                    for d in documents
                    if summaries or d.kind != CallDocument.Kind.CONSULTATION_SUMMARY
                ],
            }
        )

    def tender(status: str) -> dict:
        return _prune(
            {
                "id": ocid,
                "title": procurement.title,
                "description": procurement.specifications or procurement.needs,
                "status": status,
                "procuringEntity": buyer,
                "value": _value(procurement.budget, procurement.currency),
                "mainProcurementCategory": "services",
            }
        )

    first_status = (
        "planning" if consulted is not None and (called is None or consulted < called) else "planned"
    )
    releases = [
        _release(
            ocid,
            "planning",
            started,
            buyer=buyer,
            planning=planning(summaries=reported is None),
            tender=tender(first_status),
            parties=parties.listed([procurement.buyer_id]),
        )
    ]
    if reported is not None:
        takers = sorted(world.consulted[procurement.pk], key=lambda pk: world.organisations[pk]["name"])
        for pk in takers:
            parties.add(pk, "interestedParty")
        releases.append(
            _release(
                ocid,
                "planningUpdate",
                reported,
                "consultation",
                buyer=buyer,
                planning=planning(summaries=True),
                tender=tender("planning" if called is None or reported < called else "planned"),
                parties=parties.listed([procurement.buyer_id, *takers]),
            )
        )
    if called is not None and first_status == "planning":
        releases.append(
            _release(ocid, "planningUpdate", called, "call", tender={"id": ocid, "status": "planned"})
        )
    for step in ("completed", "cancelled"):
        if procurement.status == step and steps.get(step):
            releases.append(
                _release(
                    ocid,
                    "planningUpdate",
                    steps[step][-1],
                    step,
                    tender={"id": ocid, "status": PLANNING_STATUS[step]},
                )
            )
    return _settle(releases, ocid, PLANNING_STATUS[procurement.status])


def _phase_name(phase: Phase) -> str:
    return _("Phase %(number)s: %(title)s") % {"number": phase.number, "title": phase.title}


def _document(document: CallDocument, links: Links) -> dict:
    """A published document (built once per document and export: the releases share it, unchanged)."""
    if not hasattr(document, "ocds"):
        document.ocds = _document_data(document, links)
    return document.ocds


def _document_data(document: CallDocument, links: Links) -> dict:
    name = document.file.name if document.file else ""
    return _prune(
        {
            "id": f"doc-{document.pk}",
            "documentType": DOCUMENT_TYPE[document.kind],
            "title": document.title,
            "url": links.document(document),
            "datePublished": stamp(document.created_at),
            "format": mimetypes.guess_type(name)[0],
            "language": LANGUAGE,
        }
    )


def _criteria_details(phase: Phase) -> str:
    parts = []
    for criterion in phase.criteria.all():
        text = _("%(name)s: weight %(weight)s %%") % {
            "name": criterion.name,
            "weight": _number(criterion.weight),
        }
        if criterion.threshold:
            text += " " + _("(at least %(threshold)s of %(max)s)") % {
                "threshold": _number(criterion.threshold),
                "max": criterion.max_score,
            }
        parts.append(text)
    parts.append(_("Pass mark: %(mark)s out of 100.") % {"mark": _number(phase.pass_mark)})
    return "; ".join(parts[:-1]) + (". " if len(parts) > 1 else "") + parts[-1]


def _phase_tender(phase: Phase, procurement: Procurement, world: World, links: Links, status: str) -> dict:
    """The tender section of a phase, with ``status`` (built once per phase and export)."""
    if not hasattr(phase, "ocds_tender"):
        phase.ocds_tender = _phase_tender_data(phase, procurement, world, links)
    tender = dict(phase.ocds_tender)
    tender["status"] = status
    return tender


def _phase_tender_data(phase: Phase, procurement: Procurement, world: World, links: Links) -> dict:
    documents = []
    call_pdf = links.url("call_pdf", procurement.slug)
    if call_pdf:
        documents.append(
            {
                "id": f"call-{procurement.pk}",
                "documentType": "tenderNotice",
                "title": _("Call for tenders: %(title)s") % {"title": procurement.title},
                "url": call_pdf,
                "format": "application/pdf",
                "language": LANGUAGE,
            }
        )
    documents += [
        _document(d, links)
        for d in world.documents[procurement.pk]
        if d.kind not in PLANNING_DOCUMENTS and d.phase_id in (None, phase.pk)
    ]
    answered = world.answered.get(phase.pk, 0)
    clarifications = links.url("clarifications", procurement.slug) if answered else None
    if clarifications:
        documents.append(
            {
                "id": f"clarifications-{phase.pk}",
                "documentType": "clarifications",
                "title": _("Questions and answers"),
                "url": clarifications,
                "language": LANGUAGE,
            }
        )
    description = "\n\n".join(
        filter(
            None,
            [
                phase.description,
                _("Deliverables: %(text)s") % {"text": phase.deliverables},
                _("Duration: %(months)s months. At most %(count)s contractors.")
                % {"months": phase.duration_months, "count": phase.max_contractors},
            ],
        )
    )
    selective = phase.number > 1
    opened = phase.opened_at
    return _prune(
        {
            "id": phase.ocid,
            "title": f"{procurement.title} — {_phase_name(phase)}",
            "description": description,
            "status": None,
            "procuringEntity": {"id": f"org-{procurement.buyer_id}", "name": procurement.buyer.name},
            "value": _value(phase.budget, procurement.currency),
            "procurementMethod": "selective" if selective else "open",
            "procurementMethodDetails": _("Pre-commercial procurement, phase %(number)s")
            % {"number": phase.number},
            "procurementMethodRationale": _(
                "Research and development services, outside the public procurement directives "
                "(Directive 2014/24/EU, Article 14); suppliers keep the intellectual property rights."
            ),
            "eligibilityCriteria": (
                _("Only the contractors of phase %(number)s may bid.") % {"number": phase.number - 1}
                if selective
                else None
            ),
            "mainProcurementCategory": "services",
            "awardCriteria": "ratedCriteria",
            "awardCriteriaDetails": _criteria_details(phase),
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": _prune(
                {
                    "startDate": opened and stamp(opened),
                    "endDate": phase.bid_deadline and stamp(phase.bid_deadline),
                }
            ),
            "enquiryPeriod": _prune(
                {
                    "startDate": opened and stamp(opened),
                    "endDate": phase.question_deadline and stamp(phase.question_deadline),
                }
            ),
            "hasEnquiries": bool(answered) if opened else None,
            "documents": documents,
        }
    )


def phase_releases(
    phase: Phase, procurement: Procurement, world: World, links: Links, now: datetime
) -> list[dict]:
    """One phase's contracting process: planned, tendered, bids in, awards, contracts and payments."""
    ocid = phase.ocid
    steps = world.steps[("phase", phase.pk)]
    cancelled_at = (steps.get("cancelled") or [None])[-1]
    parties = Parties(world)
    buyer = parties.add(procurement.buyer_id, "buyer", "procuringEntity")
    related = [
        {
            "id": "planning",
            "relationship": ["planning"],
            "title": procurement.title,
            "scheme": "ocid",
            "identifier": procurement.ocid,
            "uri": links.url("ocds_record", procurement.ocid),
        }
    ]
    if phase.number > 1:
        prior = f"{settings.OCDS_PREFIX}-pcp-{procurement.pk}-{phase.number - 1}"
        related.append(
            {
                "id": "prior",
                "relationship": ["prior"],
                "title": _("Phase %(number)s") % {"number": phase.number - 1},
                "scheme": "ocid",
                "identifier": prior,
                "uri": links.url("ocds_record", prior),
            }
        )
    related = [_prune(r) for r in related]

    def release(tag, moment, *keys, organisations=(), **sections):
        return _release(
            ocid,
            tag,
            moment,
            *keys,
            buyer=buyer,
            parties=parties.listed([procurement.buyer_id, *organisations]),
            relatedProcesses=related,
            **sections,
        )

    releases = []
    published = procurement.published_at or procurement.created_at
    opened = phase.opened_at
    # A phase opened with the call has no planning step of its own.
    if opened is None or opened - published > OPENED_WITH_THE_CALL:
        releases.append(
            release("planning", published, tender=_phase_tender(phase, procurement, world, links, "planned"))
        )
    if opened is not None:
        releases.append(
            release("tender", opened, tender=_phase_tender(phase, procurement, world, links, "active"))
        )
        deadline = phase.bid_deadline
        if not phase.is_sealed(now) and (cancelled_at is None or deadline <= cancelled_at):
            tenderers = [pk for bid in world.bids[phase.pk] for pk in world.members[bid["consortium_id"]]]
            tenderers = list(dict.fromkeys(tenderers))
            references = [parties.add(pk, "tenderer") for pk in tenderers]
            releases.append(
                release(
                    "tenderUpdate",
                    deadline,
                    "bids",
                    organisations=tenderers,
                    tender=_prune(
                        {
                            "id": ocid,
                            "status": "active",
                            "numberOfTenderers": len(tenderers),
                            "tenderers": references,
                        }
                    ),
                )
            )
    revisions = steps.get("evaluation", [])
    for decision in world.decisions[phase.pk]:
        releases += _award_releases(phase, procurement, decision, world, parties, release, revisions)
    if cancelled_at is not None:
        releases.append(
            release("tenderCancellation", cancelled_at, tender={"id": ocid, "status": "cancelled"})
        )
    return _settle(releases, ocid, TENDER_STATUS[phase.status])


def _award_releases(phase, procurement, decision, world, parties, release, revisions) -> list[dict]:
    ocid, currency = phase.ocid, procurement.currency
    awards = world.awards[decision["pk"]]
    decided = decision["decided_at"]
    key = f"d{decision['pk']}"
    if not awards:
        if decision["status"] != AwardDecision.Status.FINAL:
            return []
        moment = decision["finalised_at"] or decided
        return [release("tenderUpdate", moment, key, tender={"id": ocid, "status": "unsuccessful"})]

    def suppliers(award):
        return world.members[award["bid__consortium_id"]] or [award["bid__consortium__lead_id"]]

    def award_data(award, status):
        contract = world.contracts.get(award["pk"])
        value = award["value"] if award["value"] is not None else (contract and contract["value"])
        return _prune(
            {
                "id": f"{ocid}-award-{award['pk']}",
                "title": _("%(phase)s: %(consortium)s")
                % {"phase": _phase_name(phase), "consortium": award["bid__consortium__name"]},
                "status": status,
                "date": stamp(decided),
                "value": _value(value, currency),
                "suppliers": [parties.add(pk, "tenderer", "supplier") for pk in suppliers(award)],
            }
        )

    organisations = [pk for award in awards for pk in suppliers(award)]
    tender = {
        "id": ocid,
        "status": "active",
        "awardPeriod": {"startDate": stamp(phase.bid_deadline or decided), "endDate": stamp(decided)},
    }
    releases = [
        release(
            "award",
            decided,
            key,
            organisations=organisations,
            tender=tender,
            awards=[award_data(a, "pending") for a in awards],
        )
    ]
    if decision["status"] == AwardDecision.Status.FINAL:
        final = decision["finalised_at"] or decision["standstill_ends_at"]
        releases.append(
            release(
                "awardUpdate",
                final,
                key,
                organisations=organisations,
                tender={"id": ocid, "status": "complete"},
                awards=[award_data(a, "active") for a in awards],
            )
        )
        for award in awards:
            contract = world.contracts.get(award["pk"])
            if contract is not None:
                releases += _contract_releases(phase, procurement, award, contract, world, parties, release)
    elif decision["status"] == AwardDecision.Status.REVOKED:
        moment = next((m for m in revisions if m >= decided), decided)
        releases.append(
            release(
                "awardCancellation",
                moment,
                key,
                organisations=organisations,
                awards=[award_data(a, "cancelled") for a in awards],
            )
        )
    return releases


def _contract_releases(phase, procurement, award, contract, world, parties, release) -> list[dict]:
    """The contract as drawn up (pending), as signed, and as carried out (milestones met, payments made)."""
    ocid, currency, tz = phase.ocid, procurement.currency, procurement.tz
    milestones = world.milestones[contract["pk"]]
    key = f"c{contract['pk']}"
    lead = award["bid__consortium__lead_id"]
    signed = contract["signed_at"]
    progress = [m[f] for m in milestones for f in ("delivered_at", "accepted_at", "paid_at") if m[f]]
    current_status = CONTRACT_STATUS[contract["status"]]

    def milestone(m, current: bool) -> dict:
        status = m["status"] if current else Milestone.Status.SCHEDULED
        return _prune(
            {
                "id": f"{ocid}-milestone-{m['pk']}",
                "title": m["title"],
                "type": "delivery",
                "dueDate": _local_day(m["due_on"], tz, end=True),
                "status": MILESTONE_STATUS[status],
                "dateMet": stamp(m["accepted_at"]) if current and m["accepted_at"] else None,
            }
        )

    def transaction(m) -> dict:
        return {
            "id": f"{ocid}-payment-{m['pk']}",
            "date": stamp(m["paid_at"]),
            "value": _value(m["amount"], currency),
            "payer": parties.add(procurement.buyer_id, "payer"),
            "payee": parties.add(lead, "payee"),
        }

    def contract_data(status: str, *, signed_too: bool, current: bool = False) -> dict:
        return _prune(
            {
                "id": f"{ocid}-contract-{contract['pk']}",
                "awardID": f"{ocid}-award-{award['pk']}",
                "title": contract["title"],
                "status": status,
                "value": _value(contract["value"], currency),
                "period": {
                    "startDate": _local_day(contract["starts_on"], tz),
                    "endDate": _local_day(contract["ends_on"], tz, end=True),
                },
                "dateSigned": stamp(signed) if signed_too and signed else None,
                "implementation": _prune(
                    {
                        "milestones": [milestone(m, current) for m in milestones],
                        "transactions": [transaction(m) for m in milestones if current and m["paid_at"]],
                    }
                ),
            }
        )

    members = world.members[award["bid__consortium_id"]] or [lead]
    drawn_up = min(contract["created_at"], signed or contract["created_at"])
    last = not signed and not progress
    releases = [
        release(
            "contract",
            drawn_up,
            key,
            organisations=members,
            contracts=[contract_data(current_status if last else "pending", signed_too=False)],
        )
    ]
    if signed:
        status = current_status if not progress else CONTRACT_STATUS[Contract.Status.ACTIVE]
        data = contract_data(status, signed_too=True)
        releases.append(release("contractUpdate", signed, key, organisations=members, contracts=[data]))
    if progress:
        moment = max(max(progress), signed or drawn_up)
        data = contract_data(current_status, signed_too=True, current=True)
        releases.append(release("implementation", moment, key, organisations=members, contracts=[data]))
    return releases


def _settle(releases: list[dict], ocid: str, status: str) -> list[dict]:
    """Sort by date and make sure the latest release carries the process's current status."""
    releases.sort(key=lambda r: r["date"])
    latest = releases[-1]
    tender = latest.setdefault("tender", {"id": ocid})
    tender["status"] = status
    return releases


def procurement_releases(
    procurement: Procurement, world: World, links: Links, now: datetime | None = None
) -> dict[str, list[dict]]:
    """Every release of a procurement's contracting processes, by ocid (planning first, then phases)."""
    now = now or timezone.now()
    with translation.override(LANGUAGE):
        found = {procurement.ocid: planning_releases(procurement, world, links)}
        if phases_published(procurement):
            for phase in procurement.phases.all():
                found[phase.ocid] = phase_releases(phase, procurement, world, links, now)
    return found


# --- packages and records --------------------------------------------------------------------------------


def _package_head(uri: str, links: Links) -> dict:
    head = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publisher": {"name": settings.OCDS_PUBLISHER_NAME},
        "publicationPolicy": links.url("ocds_index"),
    }
    license_url = settings.OCDS_LICENSE
    if license_url:
        head["license"] = license_url
    return _prune(head)


def releases_of(
    ocid: str, *, links: Links, now: datetime | None = None
) -> tuple[Procurement, list[dict]] | None:
    """The published procurement behind ``ocid`` and the releases of that one process, or None."""
    parsed = parse_ocid(ocid)
    if parsed is None:
        return None
    procurement = with_related(published_procurements().filter(pk=parsed[0])).first()
    if procurement is None:
        return None
    found = procurement_releases(procurement, load_world([procurement]), links, now)
    return (procurement, found[ocid]) if ocid in found else None


def release_package(releases: list[dict], *, uri: str, links: Links) -> dict:
    return {
        **_package_head(uri, links),
        "publishedDate": max((r["date"] for r in releases), default=stamp(timezone.now())),
        "releases": releases,
    }


def compile_record(ocid: str, releases: list[dict], *, versioned: bool = True) -> dict:
    """An OCDS record: the releases, the compiled release (and the versioned history)."""
    record = {
        "ocid": ocid,
        "releases": releases,
        "compiledRelease": merger().create_compiled_release(releases),
    }
    if versioned:
        record["versionedRelease"] = merger().create_versioned_release(releases)
    return record


def record_package(
    ocid: str, releases: list[dict], *, uri: str, links: Links, releases_uri: str | None = None
) -> dict:
    package = {
        **_package_head(uri, links),
        "publishedDate": max((r["date"] for r in releases), default=stamp(timezone.now())),
        "records": [compile_record(ocid, releases)],
    }
    if releases_uri:
        package["packages"] = [releases_uri]
    return package


def _batches(queryset: QuerySet[Procurement], size: int) -> Iterator[list[Procurement]]:
    """The procurements of ``queryset`` in primary-key order, ``size`` at a time (keyset pagination)."""
    last = 0
    while True:
        batch = list(with_related(queryset.filter(pk__gt=last).order_by("pk"))[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while one batch is built. The batch allocates hundreds of
    thousands of small objects without cycles (``_release_batch`` breaks the few there are), which
    reference counting frees; each allocation burst otherwise set off collections that traced the whole
    heap again and again — a third of the export's time. It runs again between batches."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _release_batch(batch: list[Procurement]) -> None:
    """Break the reference cycles prefetching makes (a phase and its procurement, a criterion and its
    phase), so that a written batch is freed at once rather than at the next full garbage collection."""
    for procurement in batch:
        for phase in procurement.phases.all():
            phase._prefetched_objects_cache = {}
        procurement._prefetched_objects_cache = {}


def stream_release_package(
    queryset: QuerySet[Procurement] | None = None,
    *,
    uri: str,
    links: Links,
    since: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[str]:
    """The release package of every procurement of ``queryset`` (all published ones by default) as JSON
    text, one piece per batch of procurements: memory does not grow with the number of procurements.
    ``since`` keeps the releases dated at or after it. ``publishedDate`` comes last, once known."""
    queryset = published_procurements() if queryset is None else queryset
    threshold = stamp(since) if since is not None else None
    head = json.dumps(_package_head(uri, links), ensure_ascii=False)
    yield head[:-1] + ', "releases": ['
    now = timezone.now()
    latest, separator = None, ""
    for batch in _batches(queryset, chunk_size):
        with _collector_paused():
            world = load_world(batch)
            written = [
                release
                for procurement in batch
                for releases in procurement_releases(procurement, world, links, now).values()
                for release in releases
                if threshold is None or release["date"] >= threshold
            ]
            _release_batch(batch)
            del world, batch
            piece = json.dumps(written, ensure_ascii=False, separators=(",", ":"))[1:-1] if written else ""
        if written:
            latest = max(latest or "", *(release["date"] for release in written))
            # One dump per batch, without its brackets: the releases joined by commas.
            yield separator + piece
            separator = ","
        del written, piece
    yield '], "publishedDate": ' + json.dumps(latest or stamp(now)) + "}"
