"""Joining a panel: on one's own or for a ward, enrolled on someone's behalf by an interest group or by
staff (with the evidence of their consent), confirming through the e-mailed link; the answers members give
to a panel's own questions, and those questions themselves.

Every function that changes state composes the panel and consent services (``save_profile``,
``add_member``, ``change_membership_status``, ``give_consent``), each of which writes its own audit entry.
"""

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import Case, Count, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab import services as core
from livinglab.models import (
    ConsentDocumentVersion,
    ConsentPurpose,
    ConsentRecord,
    Organisation,
    Person,
    Role,
    User,
    VersionStatus,
)
from livinglab.policy import active_memberships

from ..errors import PanelError
from ..models import (
    AgeBand,
    AttributeKind,
    AttributeValue,
    Panel,
    PanelAttribute,
    PanelMembership,
    ParticipantProfile,
    age_band_limits,
    pack,
)
from ..tokens import CONFIRMATION_MAX_AGE, CONFIRMATION_SALT, LinkProblem, unsign
from .panels import add_member, change_membership_status, save_profile

__all__ = [
    "AnswerError",
    "ConsentRoute",
    "PanelFieldError",
    "confirm_membership",
    "current_consent_version",
    "decline_membership",
    "define_attribute",
    "enrol_participant",
    "join_panel",
    "may_be_minor",
    "membership_from_token",
    "record_paper_consent",
    "recorded_consent_evidence",
    "recruit_counts",
    "recruiting_groups_of",
    "remove_attribute",
    "save_answers",
    "update_profile",
]

MAX_SCAN_BYTES = 10 * 1024 * 1024
# What a scanned consent form may be, recognised from the file's first bytes, never from its name.
SCAN_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
SCAN_CONTENT_TYPES = {extension: mime for mime, extension in SCAN_TYPES.items()}
MAX_OPTIONS = 50
MAX_OPTION_LENGTH = 100
MAX_TEXT_ANSWER = 500
# Aggregate counts shown to interest groups: smaller cells are hidden so that nobody can be recognised.
SMALL_CELL = 5


class PanelFieldError(PanelError):
    """A refusal about one form field (``field``), so that the form can show it next to that field."""

    def __init__(self, message, field: str):
        super().__init__(message)
        self.field = field


class AnswerError(PanelError):
    """Answers to a panel's own questions that cannot be saved: ``problems`` maps question codes to why."""

    def __init__(self, problems: dict[str, str], panel_id: int | None = None):
        self.panel_id = panel_id
        super().__init__(
            _("Some answers need attention: %(details)s")
            % {"details": " ".join(f"{code}: {message}" for code, message in problems.items())}
        )
        self.problems = problems


class ConsentRoute(models.TextChoices):
    """How the consent of someone enrolled on their behalf is obtained."""

    PAPER = ConsentRecord.Method.PAPER, gettext_lazy("They signed the paper consent form: I attach the scan")
    WITNESSED = ConsentRecord.Method.WITNESSED, gettext_lazy("They agreed aloud, in front of a witness")
    EMAIL = "email", gettext_lazy("Ask them to read the form and confirm by e-mail")


# ------------------------------------------------------------------------------------------------ helpers


def current_consent_version(panel: Panel) -> ConsentDocumentVersion | None:
    """The published version of the panel's consent form, with its purposes; None while it is revised."""
    return (
        ConsentDocumentVersion.objects.filter(
            document_id=panel.consent_document_id, status=VersionStatus.PUBLISHED
        )
        .select_related("document")
        .prefetch_related("purposes")
        .first()
    )


def _version_or_refuse(panel: Panel) -> ConsentDocumentVersion:
    version = current_consent_version(panel)
    if version is None:
        raise PanelError(_("This panel's consent form is being revised: please try again in a few days."))
    return version


def may_be_minor(person: Person | None, year_of_birth: int | None, today: date | None = None) -> bool:
    """Whether a guardian must consent: from the date of birth when known, else (only the year being known)
    whenever the person could still be under the age of digital consent on some day of this year."""
    today = today or timezone.localdate()
    if person is not None and person.birth_date is not None:
        return person.needs_guardian_consent(today)
    if year_of_birth is None:
        return False
    return today.year - year_of_birth <= settings.AGE_OF_DIGITAL_CONSENT


def recruiting_groups_of(user: User, panel: Panel) -> list[Organisation]:
    """The interest groups that ``user`` represents and that recruit for ``panel``."""
    mine = {m.organisation_id for m in active_memberships(user) if m.role == Role.GROUP_REPRESENTATIVE}
    if not mine:
        return []
    return list(panel.recruiting_groups.filter(pk__in=mine).order_by("name"))


def _private_storage():
    return storages["private"]


def check_scan(scan: UploadedFile | None) -> str:
    """Refuse a scan that is missing, empty, too large, or not a PDF, PNG or JPEG by its content; return
    the extension that matches the content."""
    if scan is None:
        raise PanelFieldError(_("Attach the scan of the signed consent form (PDF, PNG or JPEG)."), "scan")
    if not scan.size:
        raise PanelFieldError(_("The scan is an empty file."), "scan")
    if scan.size > MAX_SCAN_BYTES:
        raise PanelFieldError(
            _("The scan is too large: at most %(mb)s MB.") % {"mb": MAX_SCAN_BYTES // (1024 * 1024)}, "scan"
        )
    scan.seek(0)
    kind = filetype.guess(scan.read(8192))
    scan.seek(0)
    if kind is None or kind.mime not in SCAN_TYPES:
        raise PanelFieldError(
            _("The scan must be a PDF, PNG or JPEG file; this file is not one, whatever its name says."),
            "scan",
        )
    return SCAN_TYPES[kind.mime]


def _store_scan(scan: UploadedFile) -> str:
    """Keep a checked scan in private storage under a random name (the uploaded name may hold a name)."""
    extension = check_scan(scan)
    name = f"consent-scans/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{extension}"
    return _private_storage().save(name, scan)


def scan_content_type(name: str) -> str:
    return SCAN_CONTENT_TYPES.get(os.path.splitext(name)[1].lstrip(".").lower(), "application/octet-stream")


def open_scan(name: str):
    return _private_storage().open(name, "rb")


def recorded_consent_evidence(
    *, route: str, acting_user: User, scan_name: str = "", witness_name: str = "", group: Organisation | None
) -> dict:
    """What a consent record keeps about how consent given on paper or aloud was obtained."""
    evidence = {"enrolled_by": acting_user.pk, "recruited_by": group.pk if group else None}
    if route == ConsentRoute.PAPER:
        evidence["scan"] = scan_name
    else:
        evidence["witness"] = witness_name
    return evidence


def _check_recorded_consent(route: str, *, scan, witness_name: str, purposes) -> str:
    """The witness's name, cleaned, once the evidence for consent given on paper or aloud is complete."""
    witness_name = " ".join((witness_name or "").split())
    if route == ConsentRoute.PAPER:
        check_scan(scan)
    elif route == ConsentRoute.WITNESSED:
        if not witness_name:
            raise PanelFieldError(_("Give the name of the person who witnessed the consent."), "witness_name")
        if len(witness_name) > 200:
            raise PanelFieldError(_("The witness's name has at most 200 characters."), "witness_name")
    else:
        raise PanelFieldError(_("Choose how the person gave their consent."), "consent_route")
    if not list(purposes):
        raise PanelFieldError(_("Tick the purposes the person agreed to."), "purposes")
    return witness_name


def _with_scan(route: str, scan, work):
    """Run ``work(scan_name)``; a scan is stored first and removed again if the work fails."""
    scan_name = _store_scan(scan) if route == ConsentRoute.PAPER else ""
    try:
        return work(scan_name)
    except BaseException:
        if scan_name:
            _private_storage().delete(scan_name)
        raise


# ------------------------------------------------------------------------------------ custom answers


def clean_answer(attribute: PanelAttribute, raw) -> tuple[str, Decimal | None] | None:
    """The stored form of one answer as (value, number), None for no answer; ValueError with the reason."""
    kind = attribute.kind
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == AttributeKind.MULTI:
        values = raw.split("|") if isinstance(raw, str) else list(raw)
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            return None
        unknown = sorted(set(values) - set(attribute.option_values()))
        if unknown:
            raise ValueError(_("Not among the answers offered: %(values)s.") % {"values": ", ".join(unknown)})
        return pack(values), None
    if kind == AttributeKind.CHOICE:
        value = str(raw).strip()
        if value not in attribute.option_values():
            raise ValueError(_("Choose one of the answers offered."))
        return value, None
    if kind == AttributeKind.NUMBER:
        try:
            number = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter a number, such as 3 or 2.5.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e10"):
            raise ValueError(_("Enter a number below ten billion."))
        return "", number.quantize(Decimal("0.01"))
    if kind == AttributeKind.BOOLEAN:
        if isinstance(raw, bool):
            return ("true" if raw else "false"), None
        text = str(raw).strip().lower()
        if text in {"true", "yes", "1"}:
            return "true", None
        if text in {"false", "no", "0"}:
            return "false", None
        raise ValueError(_("Answer yes or no."))
    value = str(raw).strip()
    if len(value) > MAX_TEXT_ANSWER:
        raise ValueError(_("At most %(n)s characters.") % {"n": MAX_TEXT_ANSWER})
    return value, None


@transaction.atomic
def save_answers(membership: PanelMembership, answers: dict, *, acting_user: User | None) -> dict:
    """Save a member's answers to their panel's own questions, keyed by question code (a multi-choice answer
    is a list, an empty answer removes the stored one); AnswerError lists every answer refused."""
    attributes = {a.code: a for a in PanelAttribute.objects.filter(panel_id=membership.panel_id)}
    membership = (
        PanelMembership.objects.select_for_update(no_key=True, of=("self",))
        .select_related("panel__owner", "person")
        .get(pk=membership.pk)
    )
    stored = {v.attribute_id: v for v in AttributeValue.objects.filter(membership=membership)}
    problems: dict[str, str] = {}
    cleaned: dict[str, tuple[str, Decimal | None] | None] = {}
    for code, raw in answers.items():
        attribute = attributes.get(code)
        if attribute is None:
            problems[code] = _("This panel asks no such question.")
            continue
        try:
            cleaned[code] = clean_answer(attribute, raw)
        except ValueError as error:
            problems[code] = str(error)
    for code, attribute in attributes.items():
        unanswered = cleaned.get(code) is None if code in answers else attribute.pk not in stored
        if attribute.required and unanswered and code not in problems:
            problems[code] = _("This question needs an answer.")
    if problems:
        raise AnswerError(problems, membership.panel_id)
    changed, result = [], {}
    for code, answer in cleaned.items():
        attribute = attributes[code]
        current = stored.get(attribute.pk)
        if answer is None:
            if current is not None:
                current.delete()
                changed.append(code)
            continue
        value, number = answer
        if current is not None and (current.value, current.number) == (value, number):
            result[code] = current
            continue
        if current is None:
            current = AttributeValue(membership=membership, attribute=attribute)
        current.value, current.number = value, number
        current.save()
        result[code] = current
        changed.append(code)
    if changed:
        audit.record(
            "pilots.answers.save",
            actor=acting_user,
            obj=membership,
            organisation=membership.panel.owner,
            data={"attributes": sorted(changed)},
        )
    return result


@transaction.atomic
def update_profile(person: Person, profile: dict, *, answers: dict | None = None, acting_user: User) -> None:
    """Save what a person (or their guardian) changed on their profile page: the profile shared by all
    panels and, per membership, the answers to that panel's own questions."""
    if not acting_user.has_perm("pilots.manage_own_data", person):
        raise PanelError(_("You can change only your own profile or that of a person in your care."))
    save_profile(person, profile, acting_user=acting_user)
    for membership, panel_answers in (answers or {}).items():
        if membership.person_id != person.pk:
            raise PanelError(_("These answers belong to someone else."))
        save_answers(membership, panel_answers, acting_user=acting_user)


# ------------------------------------------------------------------------------------------ joining


def _evidence(extra: dict | None, **base) -> dict:
    return {**base, **(extra or {})}


@transaction.atomic
def join_panel(
    panel: Panel,
    person: Person,
    *,
    profile: dict,
    answers: dict,
    purposes: Iterable[ConsentPurpose],
    explicit_purposes: Iterable[ConsentPurpose] = (),
    guardian: Person | None = None,
    evidence: dict | None = None,
    acting_user: User,
) -> tuple[PanelMembership, bool]:
    """Join ``panel`` on one's own (or, as ``guardian``, for a ward): profile, answers and online consent
    to the panel's form; (membership, joined). An existing member is returned unchanged with False."""
    if not acting_user.has_perm("pilots.manage_own_data", person):
        raise PanelError(_("You can join a panel only for yourself or for a person in your care."))
    if guardian is not None and guardian.user_id != acting_user.pk:
        raise PanelError(_("Only the guardian themselves can consent for a person in their care."))
    # One join at a time per person: a double submit finds the membership its twin created.
    person = Person.objects.select_for_update(no_key=True).get(pk=person.pk)
    existing = (
        PanelMembership.objects.select_for_update(no_key=True).filter(panel=panel, person=person).first()
    )
    Status = PanelMembership.Status
    if existing is not None and existing.status in {Status.ACTIVE, Status.PAUSED}:
        return existing, False
    if existing is not None and existing.status not in {Status.PENDING, Status.OPTED_OUT}:
        raise PanelError(
            _("You cannot join this panel again at the moment; please contact the living lab that runs it.")
        )
    if existing is None and not panel.open_for_sign_up:
        raise PanelError(_("This panel does not take sign-ups at the moment."))
    if guardian is None and may_be_minor(person, profile.get("year_of_birth")):
        raise PanelError(
            _(
                "%(name)s may be under the age of digital consent (%(age)s): a parent or guardian joins the "
                "panel for them, from their own account."
            )
            % {"name": person.full_name, "age": settings.AGE_OF_DIGITAL_CONSENT}
        )
    version = _version_or_refuse(panel)
    save_profile(person, profile, acting_user=acting_user)
    core.give_consent(
        person,
        version,
        purposes,
        method=ConsentRecord.Method.ONLINE,
        acting_user=acting_user,
        explicit_purposes=explicit_purposes,
        guardian=guardian,
        evidence=_evidence(evidence, form="panel sign-up", panel=panel.pk),
    )
    if existing is None:
        membership, _created = add_member(
            panel, person, source=PanelMembership.Source.SELF, acting_user=acting_user, confirmed=True
        )
    else:
        membership = change_membership_status(existing, Status.ACTIVE, acting_user=acting_user)
    save_answers(membership, answers, acting_user=acting_user)
    return membership, True


# ------------------------------------------------------------------------------- assisted enrolment


def _check_contact(profile: dict, *, route: str, group: Organisation | None) -> dict:
    """The profile's contact details checked for someone enrolled on their behalf."""
    profile = dict(profile)
    Contact = ParticipantProfile.Contact
    preferred = profile.get("preferred_contact") or Contact.EMAIL
    email = (profile.get("contact_email") or "").strip()
    phone = (profile.get("phone") or "").strip()
    if preferred == Contact.GROUP:
        if group is None:
            raise PanelFieldError(
                _("Only an interest group can be the way to reach someone."), "preferred_contact"
            )
        profile["contact_via"] = group
    else:
        profile["contact_via"] = None
    if preferred == Contact.EMAIL and not email:
        raise PanelFieldError(
            _("Give an e-mail address, or choose another way to reach them."), "contact_email"
        )
    if preferred == Contact.PHONE and not phone:
        raise PanelFieldError(_("Give a telephone number, or choose another way to reach them."), "phone")
    if route == ConsentRoute.EMAIL and not email:
        raise PanelFieldError(
            _("To ask for confirmation by e-mail we need their e-mail address."), "contact_email"
        )
    return profile


def enrol_participant(
    panel: Panel,
    *,
    full_name: str,
    profile: dict,
    answers: dict,
    consent_route: str,
    purposes: Iterable[ConsentPurpose] = (),
    explicit_purposes: Iterable[ConsentPurpose] = (),
    scan: UploadedFile | None = None,
    witness_name: str = "",
    recruited_by: Organisation | None,
    submission_key: str = "",
    at_event: str = "",
    acting_user: User,
) -> tuple[PanelMembership, bool]:
    """Enrol someone on their behalf (an interest group's representative or staff): consent recorded now
    from a signed paper form or a witness (active member), or asked for by e-mail (pending member, who gets
    the confirmation mail); (membership, created). The same ``submission_key`` enrols only once. Staff
    signing someone up at an event name it in ``at_event`` (the membership's source is then the event)."""
    purposes, explicit_purposes = list(purposes), list(explicit_purposes)
    if not acting_user.has_perm("pilots.enrol_into_panel", panel):
        raise PanelError(_("You cannot enrol people into this panel."))
    if recruited_by is not None:
        if recruited_by not in recruiting_groups_of(acting_user, panel):
            raise PanelError(_("%(group)s does not recruit for this panel.") % {"group": recruited_by})
    elif not acting_user.has_perm("pilots.manage_panel", panel):
        raise PanelError(_("Choose the interest group you enrol this person for."))
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise PanelFieldError(_("Give the person's full name."), "full_name")
    if len(full_name) > 200:
        raise PanelFieldError(_("A name has at most 200 characters."), "full_name")
    year = profile.get("year_of_birth")
    if may_be_minor(None, year):
        raise PanelFieldError(
            _(
                "Someone born in %(year)s may be under the age of digital consent: a parent or guardian "
                "joins the panel for them, from their own account."
            )
            % {"year": year},
            "year_of_birth",
        )
    profile = _check_contact(profile, route=consent_route, group=recruited_by)
    recorded = consent_route != ConsentRoute.EMAIL
    if recorded:
        witness_name = _check_recorded_consent(
            consent_route, scan=scan, witness_name=witness_name, purposes=purposes
        )
    return _with_scan(
        consent_route if recorded else "",
        scan,
        lambda scan_name: _enrol(
            panel,
            full_name=full_name,
            profile=profile,
            answers=answers,
            route=consent_route,
            purposes=purposes,
            explicit_purposes=explicit_purposes,
            evidence=recorded_consent_evidence(
                route=consent_route,
                acting_user=acting_user,
                scan_name=scan_name,
                witness_name=witness_name,
                group=recruited_by,
            )
            if recorded
            else None,
            recruited_by=recruited_by,
            submission_key=submission_key,
            at_event=at_event,
            acting_user=acting_user,
        ),
    )


@transaction.atomic
def _enrol(
    panel,
    *,
    full_name,
    profile,
    answers,
    route,
    purposes,
    explicit_purposes,
    evidence,
    recruited_by,
    submission_key,
    at_event,
    acting_user,
) -> tuple[PanelMembership, bool]:
    import_key = f"enrol:{submission_key}"[:64] if submission_key else ""
    if import_key:
        # Enrolments into one panel are serialised, so that a form sent twice enrols one person.
        Panel.objects.select_for_update(no_key=True).filter(pk=panel.pk).first()
        twin = PanelMembership.objects.filter(panel=panel, import_key=import_key).first()
        if twin is not None:
            return twin, False
    version = _version_or_refuse(panel)
    person = core.enrol_person(full_name=full_name, birth_date=None, acting_user=acting_user)
    save_profile(person, profile, acting_user=acting_user)
    recorded = evidence is not None
    if recorded:
        core.give_consent(
            person,
            version,
            purposes,
            method=route,
            acting_user=acting_user,
            explicit_purposes=explicit_purposes,
            evidence=evidence,
        )
    Source = PanelMembership.Source
    membership, _created = add_member(
        panel,
        person,
        source=Source.INTEREST_GROUP if recruited_by else Source.EVENT if at_event else Source.STAFF,
        source_detail=at_event[:200],
        acting_user=acting_user,
        confirmed=recorded,
        recruited_by=recruited_by,
        import_key=import_key,
    )
    save_answers(membership, answers, acting_user=acting_user)
    return membership, True


def record_paper_consent(
    membership: PanelMembership,
    *,
    route: str,
    purposes: Iterable[ConsentPurpose],
    explicit_purposes: Iterable[ConsentPurpose] = (),
    scan: UploadedFile | None = None,
    witness_name: str = "",
    acting_user: User,
) -> PanelMembership:
    """Staff record the consent a pending member gave on paper or in front of a witness; the member becomes
    active."""
    purposes, explicit_purposes = list(purposes), list(explicit_purposes)
    if not acting_user.has_perm("pilots.manage_member", membership):
        raise PanelError(_("Only the living lab that runs this panel can record consent for its members."))
    witness_name = _check_recorded_consent(route, scan=scan, witness_name=witness_name, purposes=purposes)
    return _with_scan(
        route,
        scan,
        lambda scan_name: _record_paper_consent(
            membership,
            route=route,
            purposes=purposes,
            explicit_purposes=explicit_purposes,
            evidence=recorded_consent_evidence(
                route=route,
                acting_user=acting_user,
                scan_name=scan_name,
                witness_name=witness_name,
                group=None,
            ),
            acting_user=acting_user,
        ),
    )


@transaction.atomic
def _record_paper_consent(membership, *, route, purposes, explicit_purposes, evidence, acting_user):
    membership = (
        PanelMembership.objects.select_for_update(no_key=True, of=("self",))
        .select_related("panel__owner", "person")
        .get(pk=membership.pk)
    )
    if membership.status != PanelMembership.Status.PENDING:
        raise PanelError(
            _("Only a member waiting for confirmation can be confirmed; this one is “%(status)s”.")
            % {"status": membership.get_status_display()}
        )
    evidence["recruited_by"] = membership.recruited_by_id
    core.give_consent(
        membership.person,
        _version_or_refuse(membership.panel),
        purposes,
        method=route,
        acting_user=acting_user,
        explicit_purposes=explicit_purposes,
        evidence=evidence,
    )
    return change_membership_status(membership, PanelMembership.Status.ACTIVE, acting_user=acting_user)


# ------------------------------------------------------------------------------------- confirmation


def membership_from_token(token: str) -> PanelMembership:
    """The membership a confirmation link is for; LinkProblem("invalid" or "expired") otherwise. An altered
    link and a link to a membership that no longer exists are told apart by nothing."""
    pk, nonce = unsign(token, CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    membership = (
        PanelMembership.objects.select_related("panel__owner", "recruited_by", "person").filter(pk=pk).first()
    )
    if membership is None or not secrets.compare_digest(membership.confirmation_nonce, nonce):
        raise LinkProblem("invalid")
    return membership


@transaction.atomic
def confirm_membership(
    membership: PanelMembership,
    purposes: Iterable[ConsentPurpose],
    *,
    explicit_purposes: Iterable[ConsentPurpose] = (),
    evidence: dict | None = None,
    acting_user: User | None,
) -> PanelMembership:
    """The person confirms, through the e-mailed link, a membership someone else started: they consent
    online to the panel's form and become an active member."""
    locked = PanelMembership.objects.select_for_update(no_key=True).get(pk=membership.pk)
    if locked.status != PanelMembership.Status.PENDING:
        raise PanelError(_("This membership is not waiting for confirmation any more."))
    core.give_consent(
        membership.person,
        _version_or_refuse(membership.panel),
        purposes,
        method=ConsentRecord.Method.ONLINE,
        acting_user=acting_user,
        explicit_purposes=explicit_purposes,
        evidence=_evidence(evidence, via="confirmation link"),
    )
    return change_membership_status(locked, PanelMembership.Status.ACTIVE, acting_user=acting_user)


@transaction.atomic
def decline_membership(membership: PanelMembership, *, acting_user: User | None) -> PanelMembership:
    """The person says, through the e-mailed link, that they do not want to be in the panel."""
    locked = PanelMembership.objects.select_for_update(no_key=True).get(pk=membership.pk)
    if locked.status != PanelMembership.Status.PENDING:
        raise PanelError(_("This membership is not waiting for confirmation any more."))
    return change_membership_status(locked, PanelMembership.Status.OPTED_OUT, acting_user=acting_user)


# ------------------------------------------------------------------------------- custom attributes


def clean_options(options) -> list[str]:
    """Answers offered, one per item (or per line), trimmed, without duplicates, in the order given."""
    if isinstance(options, str):
        options = options.splitlines()
    cleaned: list[str] = []
    for option in options or ():
        option = " ".join(str(option).split())
        if option and option not in cleaned:
            cleaned.append(option)
    return cleaned


def _option_in_use(attribute: PanelAttribute, option: str) -> bool:
    answers = AttributeValue.objects.filter(attribute=attribute)
    if attribute.kind == AttributeKind.MULTI:
        return answers.filter(value__contains=f"|{option}|").exists()
    return answers.filter(value=option).exists()


@transaction.atomic
def define_attribute(
    panel: Panel,
    *,
    code: str,
    label: str,
    kind: str,
    options=(),
    help_text: str = "",
    required: bool = False,
    order: int = 0,
    attribute: PanelAttribute | None = None,
    acting_user: User,
) -> PanelAttribute:
    """Add a question to a panel, or change one (its code stays: screeners refer to it). A question with
    answers keeps its answer type and every answer someone chose."""
    if not acting_user.has_perm("pilots.manage_panel", panel):
        raise PanelError(_("Only the living lab that runs this panel can change its questions."))
    if kind not in AttributeKind.values:
        raise PanelFieldError(_("Choose an answer type."), "kind")
    options = clean_options(options) if kind in {AttributeKind.CHOICE, AttributeKind.MULTI} else []
    if kind in {AttributeKind.CHOICE, AttributeKind.MULTI}:
        if len(options) < 2:
            raise PanelFieldError(_("Give at least two answers to choose from, one per line."), "options")
        if len(options) > MAX_OPTIONS:
            raise PanelFieldError(_("At most %(n)s answers to choose from.") % {"n": MAX_OPTIONS}, "options")
        if any("|" in o for o in options):
            raise PanelFieldError(_("An answer cannot contain the character “|”."), "options")
        if any(len(o) > MAX_OPTION_LENGTH for o in options):
            raise PanelFieldError(
                _("Each answer has at most %(n)s characters.") % {"n": MAX_OPTION_LENGTH}, "options"
            )
    created = attribute is None
    if created:
        code = (code or "").strip().lower()
        if PanelAttribute.objects.filter(panel=panel, code=code).exists():
            raise PanelFieldError(_("This panel already has a question with this code."), "code")
        attribute = PanelAttribute(panel=panel, code=code)
    else:
        attribute = PanelAttribute.objects.select_for_update().get(pk=attribute.pk, panel=panel)
        if attribute.answers.exists():
            if kind != attribute.kind:
                raise PanelFieldError(
                    _("Members have answered this question: its answer type cannot change any more."), "kind"
                )
            dropped = [
                o for o in attribute.option_values() if o not in options and _option_in_use(attribute, o)
            ]
            if dropped:
                raise PanelFieldError(
                    _("Members chose these answers, so they must stay: %(options)s.")
                    % {"options": ", ".join(dropped)},
                    "options",
                )
    attribute.label = " ".join((label or "").split())
    attribute.kind = kind
    attribute.options = options
    attribute.help_text = (help_text or "").strip()
    attribute.required = bool(required)
    attribute.order = order or 0
    try:
        attribute.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise PanelFieldError(" ".join(messages), field) from None
    try:
        with transaction.atomic():
            attribute.save()
    except IntegrityError:
        raise PanelFieldError(_("This panel already has a question with this code."), "code") from None
    audit.record(
        "pilots.attribute." + ("create" if created else "update"),
        actor=acting_user,
        obj=attribute,
        organisation=panel.owner,
        data={"panel": panel.pk, "code": attribute.code, "kind": kind},
    )
    return attribute


@transaction.atomic
def remove_attribute(attribute: PanelAttribute, *, acting_user: User) -> None:
    """Delete a question nobody has answered yet (answers are kept: they may have been used in draws)."""
    # FOR UPDATE (not NO KEY): it also holds back an answer being added meanwhile.
    attribute = (
        PanelAttribute.objects.select_for_update(of=("self",))
        .select_related("panel__owner")
        .get(pk=attribute.pk)
    )
    panel = attribute.panel
    if not acting_user.has_perm("pilots.manage_panel", panel):
        raise PanelError(_("Only the living lab that runs this panel can change its questions."))
    answered = attribute.answers.count()
    if answered:
        raise PanelError(
            _(
                "%(count)s members have answered “%(question)s”, so it cannot be deleted. You can make it "
                "optional instead."
            )
            % {"count": answered, "question": attribute.label}
        )
    code = attribute.code
    attribute.delete()
    audit.record(
        "pilots.attribute.delete",
        actor=acting_user,
        obj=panel,
        organisation=panel.owner,
        data={"code": code},
    )


# --------------------------------------------------------------------------------- recruit counts


@dataclass(frozen=True)
class Cell:
    label: str
    count: int
    shown: bool  # False: fewer than SMALL_CELL, or hidden so that such a cell cannot be worked out


def suppress(rows: list[tuple[str, int]], *, total_shown: bool) -> list[Cell]:
    """Hide cells under SMALL_CELL; when the total is shown and exactly one cell is hidden, hide the next
    smallest too, so that the hidden one cannot be worked out by subtraction."""
    cells = [Cell(label, count, count >= SMALL_CELL) for label, count in rows if count > 0]
    hidden = [c for c in cells if not c.shown]
    if total_shown and len(hidden) == 1 and len(cells) > 1:
        smallest = min((c for c in cells if c.shown), key=lambda c: c.count)
        cells = [Cell(c.label, c.count, False) if c is smallest else c for c in cells]
    if not total_shown:
        cells = [Cell(c.label, c.count, False) for c in cells]
    return cells


def age_band_case(today: date | None = None) -> Case:
    """The age band of a membership's person, in SQL, from the profile's year of birth."""
    year = (today or timezone.localdate()).year
    whens = []
    for band in AgeBand:
        low, high = age_band_limits(band.value)
        condition = {"person__profile__year_of_birth__lte": year - low}
        if high is not None:
            condition["person__profile__year_of_birth__gte"] = year - high
        whens.append(When(**condition, then=Value(band.value)))
    return Case(*whens, default=Value(""), output_field=models.CharField())


@dataclass(frozen=True)
class RecruitCounts:
    total: int
    total_shown: bool
    by_status: list[Cell]
    by_age_band: list[Cell]


def recruit_counts(panel: Panel, group: Organisation) -> RecruitCounts:
    """How many people ``group`` brought into ``panel``, by status and by age band: counts only, never who."""
    recruits = PanelMembership.objects.filter(panel=panel, recruited_by=group)
    statuses = dict(recruits.values_list("status").annotate(n=Count("pk")).order_by())
    bands = dict(
        recruits.annotate(band=age_band_case()).values_list("band").annotate(n=Count("pk")).order_by()
    )
    total = sum(statuses.values())
    total_shown = total >= SMALL_CELL
    by_status = [(s.label, statuses.get(s.value, 0)) for s in PanelMembership.Status]
    by_band = [(b.label, bands.get(b.value, 0)) for b in AgeBand] + [(_("Not known"), bands.get("", 0))]
    return RecruitCounts(
        total=total,
        total_shown=total_shown,
        by_status=suppress(by_status, total_shown=total_shown),
        by_age_band=suppress(by_band, total_shown=total_shown),
    )
