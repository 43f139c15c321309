"""The participant's own data rights: pausing and leaving panels, a copy of everything the platform holds
about them (GDPR Art. 15 and 20), and erasure (Art. 17) with a receipt that names nobody."""

import io
import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab.models import ConsentRecord, GroundRulesAcceptance, Guardianship, Person, User
from livinglab.services import withdraw_consent
from livinglab.spreadsheets import FORMULA_STARTS

from ..errors import PanelError
from ..models import (
    FIXED_ATTRIBUTES,
    AttributeKind,
    AttributeValue,
    ContactOverride,
    DataExport,
    ErasedContact,
    ErasureReceipt,
    Invitation,
    PanelMembership,
    ParticipantProfile,
    Participation,
    contact_digest,
)
from ..tasks.rights import build_data_export, delete_private_files, end_user_sessions
from .panels import change_membership_status

# A queued or running export older than this is taken for lost (a worker died) and no longer blocks a new one.
EXPORT_STALE_AFTER = timedelta(hours=1)
# A ready export can be downloaded for this long; then it is deleted (``delete_expired_data_exports``).
EXPORT_KEPT_FOR = timedelta(days=7)
# What an erased person is called from then on: no name, no birthday, no login.
ERASED_NAME = gettext_lazy("Erased person")


class RequestedBy:
    """Who asked for an erasure, as the receipt records it (never who they are)."""

    PERSON = "person"
    GUARDIAN = "guardian"
    STAFF = "staff"

    LABELS = {
        PERSON: gettext_lazy("The person themselves"),
        GUARDIAN: gettext_lazy("Their parent or guardian"),
        STAFF: gettext_lazy("Living-lab staff, on the person's request"),
    }


# The categories an erasure receipt counts, in the order the receipt lists them.
ERASURE_CATEGORIES = {
    "profile": gettext_lazy("Participant profile deleted"),
    "custom_answers": gettext_lazy("Answers to panel questions deleted"),
    "memberships_deleted": gettext_lazy("Panel memberships deleted"),
    "memberships_anonymised": gettext_lazy("Panel memberships kept without identity (draw history)"),
    "contact_overrides": gettext_lazy("Staff contact notes deleted"),
    "invitations": gettext_lazy("Invitations kept without identity"),
    "participations": gettext_lazy("Participations kept without identity"),
    "consents_withdrawn": gettext_lazy("Consents withdrawn"),
    "consent_records": gettext_lazy("Consent records kept without evidence (what was agreed and withdrawn)"),
    "data_exports": gettext_lazy("Data exports deleted"),
    "guardianships": gettext_lazy("Guardian links deleted"),
    "voucher_applications": gettext_lazy("Voucher applications anonymised"),
    "vouchers_cancelled": gettext_lazy("Unused vouchers cancelled"),
    "vouchers": gettext_lazy("Vouchers kept without identity (money ledger)"),
    "feedback": gettext_lazy("Voucher feedback comments cleared"),
    "ground_rules_acceptances": gettext_lazy("Ground rules acceptances deleted"),
    "email_addresses": gettext_lazy("E-mail addresses deleted"),
    "authenticators": gettext_lazy("Sign-in authenticators deleted"),
    "account": gettext_lazy("User account deleted"),
    "person": gettext_lazy("Name and date of birth erased"),
    "addresses_kept_out_of_imports": gettext_lazy(
        "E-mail addresses that member lists can no longer import (kept only as a keyed fingerprint)"
    ),
}


def person_ref(person: Person) -> str:
    """The pseudonymous reference receipts and the audit trail use for a person."""
    return f"person:{person.pk}"


def is_erased(person: Person) -> bool:
    return ErasureReceipt.objects.filter(person_ref=person_ref(person)).exists()


# ------------------------------------------------------------------------------------------ panels

S = PanelMembership.Status
# What a participant may do to their own membership: pause, resume, leave, come back. Confirming a pending
# membership goes through the consent form of the confirmation link; staff protections stay with staff.
PARTICIPANT_MOVES = {
    S.PENDING: {S.OPTED_OUT},
    S.ACTIVE: {S.PAUSED, S.OPTED_OUT},
    S.PAUSED: {S.ACTIVE, S.OPTED_OUT},
    S.OPTED_OUT: {S.ACTIVE},
}


def participant_moves(membership: PanelMembership) -> list[str]:
    """The statuses the participant can choose for ``membership`` now, in the order buttons show them."""
    allowed = PARTICIPANT_MOVES.get(membership.status, set())
    return [s for s in (S.ACTIVE, S.PAUSED, S.OPTED_OUT) if s in allowed]


@transaction.atomic
def change_own_membership(membership: PanelMembership, status: str, *, acting_user: User) -> PanelMembership:
    """Pause, resume, leave or rejoin a panel, as the participant (or their guardian)."""
    locked = PanelMembership.objects.select_for_update().get(pk=membership.pk)
    if locked.status == status:
        return locked
    if status not in PARTICIPANT_MOVES.get(locked.status, set()):
        if locked.status in (S.DO_NOT_CONTACT, S.BLOCKED, S.REMOVED):
            raise PanelError(
                _("The living lab has set this membership to “%(status)s”: please contact them to change it.")
                % {"status": locked.get_status_display()}
            )
        raise PanelError(
            _("A membership that is “%(old)s” cannot become “%(new)s”.")
            % {"old": locked.get_status_display(), "new": S(status).label}
        )
    return change_membership_status(locked, status, acting_user=acting_user)


def membership_message(panel, status: str) -> str:
    return {
        S.ACTIVE: _("You are active again in “%(panel)s”: you may be invited to studies."),
        S.PAUSED: _("“%(panel)s” is paused: nobody will invite you until you resume."),
        S.OPTED_OUT: _("You have left “%(panel)s”. You can come back at any time."),
    }[status] % {"panel": panel.name}


@transaction.atomic
def pause_memberships(person: Person, *, acting_user: User) -> int:
    """Pause every active panel membership of ``person`` at once; how many were paused."""
    memberships = PanelMembership.objects.filter(person=person, status=PanelMembership.Status.ACTIVE)
    paused = 0
    for membership in memberships.order_by("pk"):
        change_membership_status(membership, PanelMembership.Status.PAUSED, acting_user=acting_user)
        paused += 1
    return paused


# ------------------------------------------------------------------------------------- data export


@transaction.atomic
def request_data_export(person: Person, *, acting_user: User) -> DataExport:
    """Start preparing a copy of everything held about ``person``. While one is being prepared, asking
    again returns that one: a double click makes one export."""
    # The person's row serialises concurrent requests (and erasure) for the same person.
    Person.objects.select_for_update(no_key=True).get(pk=person.pk)
    in_progress = DataExport.objects.filter(
        person=person, status__in=[DataExport.Status.QUEUED, DataExport.Status.RUNNING]
    )
    now = timezone.now()
    current = in_progress.filter(created_at__gte=now - EXPORT_STALE_AFTER).order_by("-created_at").first()
    if current is not None:
        return current
    in_progress.update(status=DataExport.Status.FAILED, finished_at=now)
    export = DataExport.objects.create(person=person, requested_by=_account(acting_user))
    audit.record("pilots.export.request", actor=acting_user, obj=export, data={"person": person.pk})
    build_data_export.delay_on_commit(export.pk)
    return export


def start_data_export(export_id: int) -> bool:
    """Claim a queued export for preparation; False if it is taken, done, or gone."""
    claimed = DataExport.objects.filter(pk=export_id, status=DataExport.Status.QUEUED).update(
        status=DataExport.Status.RUNNING, progress=1
    )
    return claimed == 1


def write_data_export(export_id: int) -> DataExport | None:
    """Collect every section, reporting progress as each completes, and store the ZIP in private storage.
    None when the export was deleted meanwhile (the person was erased)."""
    export = DataExport.objects.select_related("person").filter(pk=export_id).first()
    if export is None:
        return None
    data = {"generated_at": timezone.now().isoformat(), "export": export.pk}
    tables: dict[str, pd.DataFrame] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for index, section in enumerate(SECTIONS, start=1):
            rows = section.rows(export.person)
            data[section.name] = (rows[0] if rows else None) if section.single else rows
            tables[section.name] = pd.DataFrame(rows, columns=list(section.columns))
            # The last few per cent are for writing the file.
            progress = max(1, min(95, round(95 * index / len(SECTIONS))))
            DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
                progress=progress
            )
        content = _zip(data, tables)
    name = f"data-export-{export.pk}-{secrets.token_hex(8)}.zip"
    return _finish_data_export(export.pk, name, content)


def _finish_data_export(export_id: int, name: str, content: bytes) -> DataExport | None:
    storage = DataExport._meta.get_field("file").storage
    stored = storage.save(f"data-exports/{name}", ContentFile(content))
    with transaction.atomic():
        export = DataExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status != DataExport.Status.RUNNING:
            transaction.on_commit(lambda: storage.delete(stored))
            return None
        export.file.name = stored
        export.status = DataExport.Status.READY
        export.progress = 100
        export.finished_at = timezone.now()
        export.save(update_fields=["file", "status", "progress", "finished_at"])
        # One copy at a time: earlier exports of the same person go.
        older = DataExport.objects.filter(person_id=export.person_id).exclude(pk=export.pk)
        files = [f for f in older.values_list("file", flat=True) if f]
        older.delete()
        if files:
            delete_private_files.delay_on_commit(files)
    return export


def fail_data_export(export_id: int) -> None:
    DataExport.objects.filter(
        pk=export_id, status__in=[DataExport.Status.QUEUED, DataExport.Status.RUNNING]
    ).update(status=DataExport.Status.FAILED, finished_at=timezone.now())


@transaction.atomic
def delete_expired_data_exports(now=None) -> int:
    """Delete exports older than ``EXPORT_KEPT_FOR`` (ready, failed or lost) and their files; how many."""
    now = now or timezone.now()
    expired = DataExport.objects.filter(created_at__lt=now - EXPORT_KEPT_FOR)
    files = [f for f in expired.values_list("file", flat=True) if f]
    deleted, _detail = expired.delete()
    if files:
        delete_private_files.delay_on_commit(files)
    return deleted


def _zip(data: dict, tables: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme())
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, frame in tables.items():
            archive.writestr(f"csv/{name}.csv", _safe_cells(frame).to_csv(index=False))
    return buffer.getvalue()


def _readme() -> str:
    lines = [
        _("Everything livinglab holds about you, as of the date in data.json (“generated_at”)."),
        _("data.json has it all in one file; the csv folder has one table per kind of record."),
        "",
    ]
    lines += [f"csv/{s.name}.csv — {s.label}" for s in SECTIONS]
    return "\n".join(str(line) for line in lines) + "\n"


def _safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Text that a spreadsheet would run as a formula is shown as text (CSV injection)."""

    def guard(value):
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            return "'" + value
        return value

    return frame.map(guard) if not frame.empty else frame


# What an export contains: one section per kind of record, one CSV each.


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    columns: tuple[str, ...]
    rows: Callable[[Person], list[dict]]
    single: bool = False


def _when(value):
    return value.isoformat() if value else None


def _person_rows(person: Person) -> list[dict]:
    user = person.user
    return [
        {
            "id": person.pk,
            "full_name": person.full_name,
            "birth_date": _when(person.birth_date),
            "recorded_at": _when(person.created_at),
            "login_email": user.email if user else None,
            "first_name": user.first_name if user else None,
            "last_name": user.last_name if user else None,
            "account_created_at": _when(user.date_joined) if user else None,
            "last_sign_in_at": _when(user.last_login) if user else None,
        }
    ]


def _email_rows(person: Person) -> list[dict]:
    if person.user_id is None:
        return []
    from allauth.account.models import EmailAddress

    return [
        {"email": e.email, "verified": e.verified, "primary": e.primary}
        for e in EmailAddress.objects.filter(user_id=person.user_id).order_by("pk")
    ]


def _authenticator_rows(person: Person) -> list[dict]:
    if person.user_id is None:
        return []
    from allauth.mfa.models import Authenticator

    # The kind and dates only: the secrets stay secret, even from their owner's export.
    return [
        {"type": a.type, "created_at": _when(a.created_at), "last_used_at": _when(a.last_used_at)}
        for a in Authenticator.objects.filter(user_id=person.user_id).order_by("pk")
    ]


PROFILE_COLUMNS = (
    "year_of_birth",
    "age_band",
    "region",
    "postcode_area",
    "languages",
    "household_type",
    "household_key",
    "accessibility_needs",
    "accessibility_notes",
    "digital_skills",
    "devices",
    "occupation",
    "sector",
    "employer",
    "contact_email",
    "phone",
    "preferred_contact",
    "contact_via",
    "shared_attributes",
    "created_at",
    "updated_at",
)


def _profile_rows(person: Person) -> list[dict]:
    profile = ParticipantProfile.objects.select_related("contact_via").filter(person=person).first()
    if profile is None:
        return []
    row = {}
    for column in PROFILE_COLUMNS:
        if column == "age_band":
            row[column] = profile.age_band
        elif column == "contact_via":
            row[column] = profile.contact_via.name if profile.contact_via else None
        elif column == "shared_attributes":
            row[column] = ", ".join(
                str(FIXED_ATTRIBUTES[c].label) if c in FIXED_ATTRIBUTES else c for c in profile.shared
            )
        elif column in ("created_at", "updated_at"):
            row[column] = _when(getattr(profile, column))
        elif column in ("languages", "accessibility_needs", "devices"):
            row[column] = ", ".join(profile.values_of(column))
        else:
            row[column] = getattr(profile, column)
    return [row]


def _membership_rows(person: Person) -> list[dict]:
    memberships = PanelMembership.objects.filter(person=person).select_related("panel__owner", "recruited_by")
    return [
        {
            "panel": m.panel.name,
            "living_lab": m.panel.owner.name,
            "status": str(m.get_status_display()),
            "status_reason": m.status_reason,
            "status_changed_at": _when(m.status_changed_at),
            "recruited": str(m.get_source_display()),
            "recruited_by": m.recruited_by.name if m.recruited_by else None,
            "where": m.source_detail,
            "joined_at": _when(m.joined_at),
            "confirmed_at": _when(m.confirmed_at),
        }
        for m in memberships.order_by("joined_at", "pk")
    ]


def _answer_rows(person: Person) -> list[dict]:
    answers = AttributeValue.objects.filter(membership__person=person).select_related(
        "attribute__panel", "membership"
    )
    return [
        {
            "panel": a.attribute.panel.name,
            "question": a.attribute.label,
            "answer": a.display(),
            "kind": str(AttributeKind(a.attribute.kind).label),
        }
        for a in answers.order_by("attribute__panel__name", "attribute__order", "pk")
    ]


def _invitation_rows(person: Person) -> list[dict]:
    invitations = Invitation.objects.filter(person=person).select_related(
        "panel", "selection__draw__requested_by"
    )
    return [
        {
            "study": i.selection.draw.title,
            "what_taking_part_involves": i.selection.draw.involves,
            "panel": i.panel.name,
            "for_organisation": i.selection.draw.requested_by.name if i.selection.draw.requested_by else None,
            "your_code": i.selection.code,
            "status": str(i.get_status_display()),
            "sent_at": _when(i.created_at),
            "expires_at": _when(i.expires_at),
            "opened_at": _when(i.opened_at),
            "answered_at": _when(i.responded_at),
            "share_identity": i.share_identity,
        }
        for i in invitations.order_by("created_at", "pk")
    ]


def _participation_rows(person: Person) -> list[dict]:
    participations = Participation.objects.filter(person=person).select_related(
        "panel", "invitation__selection__draw"
    )
    return [
        {
            "panel": p.panel.name,
            "study": p.invitation.selection.draw.title if p.invitation else None,
            "outcome": str(p.get_outcome_display()),
            "occurred_at": _when(p.occurred_at),
        }
        for p in participations.order_by("occurred_at", "pk")
    ]


def _consent_row(record: ConsentRecord) -> dict:
    return {
        "for_person": record.person.full_name,
        "purpose": record.purpose.name,
        "purpose_code": record.purpose.code,
        "consent_form": record.version.document.title,
        "version": record.version.number,
        "text_sha256": record.text_sha256,
        "method": str(record.get_method_display()),
        "explicit": record.explicit,
        "given_at": _when(record.given_at),
        "given_by_guardian": record.guardian.full_name if record.guardian else None,
        "evidence": record.evidence,
        "withdrawn_at": _when(record.withdrawn_at),
        "withdrawal_channel": str(record.get_withdrawal_channel_display())
        if record.withdrawal_channel
        else "",
    }


CONSENT_COLUMNS = (
    "for_person",
    "purpose",
    "purpose_code",
    "consent_form",
    "version",
    "text_sha256",
    "method",
    "explicit",
    "given_at",
    "given_by_guardian",
    "evidence",
    "withdrawn_at",
    "withdrawal_channel",
)


def _consents(queryset) -> list[dict]:
    records = queryset.select_related("person", "purpose", "version__document", "guardian")
    return [_consent_row(r) for r in records.order_by("given_at", "pk")]


def _consent_rows(person: Person) -> list[dict]:
    return _consents(ConsentRecord.objects.filter(person=person))


def _consent_as_guardian_rows(person: Person) -> list[dict]:
    return _consents(ConsentRecord.objects.filter(guardian=person))


def _guardianship_rows(person: Person) -> list[dict]:
    links = Guardianship.objects.filter(guardian=person) | Guardianship.objects.filter(ward=person)
    return [
        {
            "guardian": g.guardian.full_name,
            "ward": g.ward.full_name,
            "relationship": str(g.get_relationship_display()),
            "since": _when(g.created_at),
        }
        for g in links.select_related("guardian", "ward").order_by("pk")
    ]


def _ground_rules_rows(person: Person) -> list[dict]:
    if person.user_id is None:
        return []
    acceptances = GroundRulesAcceptance.objects.filter(user_id=person.user_id).select_related(
        "version__rules", "organisation"
    )
    return [
        {
            "ground_rules": str(a.version),
            "on_behalf_of": a.organisation.name if a.organisation else None,
            "accepted_at": _when(a.accepted_at),
            "text_sha256": a.text_sha256,
            "ip_address": a.ip_address,
            "browser": a.user_agent,
        }
        for a in acceptances.order_by("accepted_at", "pk")
    ]


def _voucher_application_rows(person: Person) -> list[dict]:
    if not apps.is_installed("vouchers"):
        return []
    from vouchers.models import Application

    applications = Application.objects.filter(applicant=person).select_related("programme", "nominated_by")
    return [
        {
            "programme": a.programme.title,
            "region": a.region,
            "postcode": a.postcode,
            "household_type": str(a.get_household_type_display()),
            "status": str(a.get_status_display()),
            "why_not_eligible": a.refusal_reasons,
            "nominated_by": a.nominated_by.name if a.nominated_by else None,
            "submitted_at": _when(a.submitted_at),
            "decided_at": _when(a.decided_at),
        }
        for a in applications.order_by("submitted_at", "pk")
    ]


def _voucher_rows(person: Person) -> list[dict]:
    if not apps.is_installed("vouchers"):
        return []
    from vouchers.models import Voucher

    vouchers = Voucher.objects.filter(holder=person).with_balance().select_related("programme")
    return [
        {
            "programme": v.programme.title,
            # The whole code is a bearer secret: a file lying in a downloads folder shows its end only.
            "code_ends_with": v.formatted_code[-6:],
            "face_value_eur": str(v.face_value),
            "balance_eur": str(v.balance_sum or 0),
            "status": str(v.get_status_display()),
            "issued_at": _when(v.issued_at),
            "expires_at": _when(v.expires_at),
        }
        for v in vouchers.order_by("issued_at", "pk")
    ]


def _voucher_use_rows(person: Person) -> list[dict]:
    if not apps.is_installed("vouchers"):
        return []
    from vouchers.models import LedgerEntry

    entries = LedgerEntry.objects.filter(voucher__holder=person).select_related(
        "voucher__programme", "firm", "solution"
    )
    return [
        {
            "programme": e.voucher.programme.title,
            "what": str(e.get_kind_display()),
            "amount_eur": str(e.amount),
            "firm": e.firm.name if e.firm else None,
            "solution": e.solution.name if e.solution else None,
            "at": _when(e.created_at),
        }
        for e in entries.order_by("created_at", "pk")
    ]


def _feedback_rows(person: Person) -> list[dict]:
    if not apps.is_installed("vouchers"):
        return []
    from vouchers.models import Feedback

    feedback = Feedback.objects.filter(voucher__holder=person).select_related("firm", "solution")
    return [
        {
            "firm": f.firm.name,
            "solution": f.solution.name if f.solution else None,
            "satisfaction": f.satisfaction,
            "recommend": f.recommend,
            "solved_need": f.solved_need,
            "comment": f.comment,
            "submitted_at": _when(f.submitted_at),
        }
        for f in feedback.order_by("submitted_at", "pk")
    ]


SECTIONS: list[Section] = [
    Section(
        "person",
        gettext_lazy("You: name, date of birth, login"),
        (
            "id",
            "full_name",
            "birth_date",
            "recorded_at",
            "login_email",
            "first_name",
            "last_name",
            "account_created_at",
            "last_sign_in_at",
        ),
        _person_rows,
        single=True,
    ),
    Section(
        "email_addresses",
        gettext_lazy("Your e-mail addresses"),
        ("email", "verified", "primary"),
        _email_rows,
    ),
    Section(
        "authenticators",
        gettext_lazy("Your sign-in authenticators (no secrets)"),
        ("type", "created_at", "last_used_at"),
        _authenticator_rows,
    ),
    Section("profile", gettext_lazy("Your participant profile"), PROFILE_COLUMNS, _profile_rows, single=True),
    Section(
        "panel_memberships",
        gettext_lazy("Your panels"),
        (
            "panel",
            "living_lab",
            "status",
            "status_reason",
            "status_changed_at",
            "recruited",
            "recruited_by",
            "where",
            "joined_at",
            "confirmed_at",
        ),
        _membership_rows,
    ),
    Section(
        "custom_answers",
        gettext_lazy("Your answers to panel questions"),
        ("panel", "question", "answer", "kind"),
        _answer_rows,
    ),
    Section(
        "invitations",
        gettext_lazy("Invitations to studies"),
        (
            "study",
            "what_taking_part_involves",
            "panel",
            "for_organisation",
            "your_code",
            "status",
            "sent_at",
            "expires_at",
            "opened_at",
            "answered_at",
            "share_identity",
        ),
        _invitation_rows,
    ),
    Section(
        "participations",
        gettext_lazy("Studies you took part in"),
        ("panel", "study", "outcome", "occurred_at"),
        _participation_rows,
    ),
    Section("consents", gettext_lazy("Your consents"), CONSENT_COLUMNS, _consent_rows),
    Section(
        "consents_given_as_guardian",
        gettext_lazy("Consents you gave as a guardian"),
        CONSENT_COLUMNS,
        _consent_as_guardian_rows,
    ),
    Section(
        "guardianships",
        gettext_lazy("Guardians and wards"),
        ("guardian", "ward", "relationship", "since"),
        _guardianship_rows,
    ),
    Section(
        "ground_rules_acceptances",
        gettext_lazy("Ground rules you accepted"),
        ("ground_rules", "on_behalf_of", "accepted_at", "text_sha256", "ip_address", "browser"),
        _ground_rules_rows,
    ),
    Section(
        "voucher_applications",
        gettext_lazy("Your voucher applications"),
        (
            "programme",
            "region",
            "postcode",
            "household_type",
            "status",
            "why_not_eligible",
            "nominated_by",
            "submitted_at",
            "decided_at",
        ),
        _voucher_application_rows,
    ),
    Section(
        "vouchers",
        gettext_lazy("Your vouchers"),
        ("programme", "code_ends_with", "face_value_eur", "balance_eur", "status", "issued_at", "expires_at"),
        _voucher_rows,
    ),
    Section(
        "voucher_uses",
        gettext_lazy("How your vouchers were used"),
        ("programme", "what", "amount_eur", "firm", "solution", "at"),
        _voucher_use_rows,
    ),
    Section(
        "voucher_feedback",
        gettext_lazy("Your feedback on solutions"),
        ("firm", "solution", "satisfaction", "recommend", "solved_need", "comment", "submitted_at"),
        _feedback_rows,
    ),
]


# ---------------------------------------------------------------------------------------- erasure


@transaction.atomic
def erase_person(person: Person, *, acting_user: User, requested_by: str) -> ErasureReceipt:
    """Erase ``person``'s personal data everywhere (GDPR Art. 17): withdraw every consent, delete their
    profile, answers, exports and login, strip what identifies them from the records that must stay (draw
    history, consent records, the voucher ledger), and return a receipt that names nobody."""
    if requested_by not in RequestedBy.LABELS:
        raise PanelError(_("Unknown origin of the erasure request."))
    # Serialises with a concurrent erasure, export or membership change of the same person.
    person = Person.objects.select_for_update(of=("self",)).select_related("user").get(pk=person.pk)
    if is_erased(person):
        raise PanelError(
            _(
                "This person's data has already been erased: there is nothing left to delete. "
                "The receipt was given at the time."
            )
        )
    counts: dict[str, int] = {}
    # Remember the addresses, as keyed hashes only, so that an old member list cannot import them again.
    addresses = set(
        ParticipantProfile.objects.filter(person=person)
        .exclude(contact_email="")
        .values_list("contact_email", flat=True)
    )
    if person.user is not None and person.user.email:
        addresses.add(person.user.email)
    for address in addresses:
        ErasedContact.objects.get_or_create(digest=contact_digest(address))
    counts["addresses_kept_out_of_imports"] = len(addresses)
    channel = {
        RequestedBy.PERSON: ConsentRecord.WithdrawalChannel.ONLINE,
        RequestedBy.GUARDIAN: ConsentRecord.WithdrawalChannel.GUARDIAN,
        RequestedBy.STAFF: ConsentRecord.WithdrawalChannel.STAFF,
    }[requested_by]

    # Consent first, through the core service, so that every feature that relied on it stops processing.
    active = ConsentRecord.objects.active().filter(person=person).select_related("purpose").order_by("pk")
    counts["consents_withdrawn"] = sum(
        withdraw_consent(record, channel=channel, acting_user=acting_user) for record in active
    )
    records = ConsentRecord.objects.filter(person=person)
    files = _evidence_files(records.values_list("evidence", flat=True))
    counts["consent_records"] = records.update(evidence={})

    counts.update(_erase_vouchers(person, acting_user=acting_user))
    counts.update(_erase_panels(person))

    exports = DataExport.objects.filter(person=person)
    files += [f for f in exports.values_list("file", flat=True) if f]
    counts["data_exports"] = exports.delete()[0]
    counts["guardianships"] = Guardianship.objects.filter(ward=person).delete()[0]
    counts["guardianships"] += Guardianship.objects.filter(guardian=person).delete()[0]

    user = person.user
    with translation.override(settings.LANGUAGE_CODE):
        erased_name = str(ERASED_NAME)
    Person.objects.filter(pk=person.pk).update(full_name=erased_name, birth_date=None, user=None)
    counts["person"] = 1
    counts.update(_account_counts(user))

    receipt = ErasureReceipt.objects.create(
        person_ref=person_ref(person), requested_by=requested_by, summary=counts
    )
    audit.record("pilots.person.erase", actor=acting_user, obj=person, data=counts)
    if user is not None:
        # The login goes last, after the audit entry that names its id: e-mail addresses,
        # authenticators, roles and ground rules acceptances go with it; sessions are ended after commit.
        user_id = user.pk
        user.delete()
        end_user_sessions.delay_on_commit(user_id)
    if files:
        delete_private_files.delay_on_commit(files)
    return receipt


def erasure_preview(person: Person) -> dict[str, int]:
    """What an erasure of ``person`` would reach, for the confirmation page."""
    counts = {
        "panels": PanelMembership.objects.filter(person=person).count(),
        "invitations": Invitation.objects.filter(person=person).count(),
        "consents": ConsentRecord.objects.active().filter(person=person).count(),
        "exports": DataExport.objects.filter(person=person).count(),
    }
    if apps.is_installed("vouchers"):
        from vouchers.models import Voucher

        counts["vouchers"] = Voucher.objects.filter(holder=person, status=Voucher.Status.ISSUED).count()
    return counts


def _erase_panels(person: Person) -> dict[str, int]:
    counts = {"profile": ParticipantProfile.objects.filter(person=person).delete()[0]}
    memberships = PanelMembership.objects.filter(person=person)
    counts["custom_answers"] = AttributeValue.objects.filter(membership__in=memberships).delete()[0]
    counts["contact_overrides"] = ContactOverride.objects.filter(membership__in=memberships).delete()[0]
    # A member some draw chose stays, without identity, so that the draw can still be shown and replayed.
    drawn = memberships.filter(selections__isnull=False).distinct()
    counts["memberships_anonymised"] = PanelMembership.objects.filter(pk__in=drawn.values("pk")).update(
        status=PanelMembership.Status.OPTED_OUT,
        status_reason="",
        status_changed_at=timezone.now(),
        source_detail="",
        import_key="",
        confirmation_nonce=secrets.token_urlsafe(24),  # signed confirmation links stop working
    )
    undrawn = PanelMembership.objects.filter(person=person).exclude(pk__in=drawn.values("pk"))
    counts["memberships_deleted"] = undrawn.delete()[1].get(PanelMembership._meta.label, 0)
    invitations = Invitation.objects.filter(person=person)
    # Open invitations end now, and a new nonce makes every link already sent useless.
    invitations.filter(status__in=Invitation.OPEN).update(
        status=Invitation.Status.WITHDRAWN, responded_at=timezone.now()
    )
    counts["invitations"] = invitations.update(share_identity=False, nonce=secrets.token_urlsafe(24))
    counts["participations"] = Participation.objects.filter(person=person).count()
    return counts


def _erase_vouchers(person: Person, *, acting_user: User) -> dict[str, int]:
    if not apps.is_installed("vouchers"):
        return {}
    from vouchers import services as voucher_services
    from vouchers.errors import VoucherError
    from vouchers.models import Application, Feedback, Voucher

    applications = Application.objects.filter(applicant=person)
    for application in applications.filter(status=Application.Status.WAITING).order_by("pk"):
        voucher_services.withdraw_application(application, acting_user=acting_user)
    cancelled = 0
    for voucher in Voucher.objects.filter(holder=person, status=Voucher.Status.ISSUED).order_by("pk"):
        try:
            voucher_services.cancel_voucher(voucher, acting_user=acting_user, reason="erasure")
        except VoucherError:  # it changed meanwhile (redeemed, expired): the ledger keeps it as it is
            continue
        cancelled += 1
    return {
        # The facts declared stay as far as the programme's figures need them (region, household type);
        # the postcode and the reasons shown to the person go.
        "voucher_applications": applications.update(postcode="", refusal_reasons=[]),
        "vouchers_cancelled": cancelled,
        "vouchers": Voucher.objects.filter(holder=person).count(),
        "feedback": Feedback.objects.filter(voucher__holder=person).update(comment=""),
    }


def _account_counts(user: User | None) -> dict[str, int]:
    if user is None:
        return {"account": 0}
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    return {
        "account": 1,
        "email_addresses": EmailAddress.objects.filter(user=user).count(),
        "authenticators": Authenticator.objects.filter(user=user).count(),
        "ground_rules_acceptances": GroundRulesAcceptance.objects.filter(user=user).count(),
    }


def _evidence_files(evidences) -> list[str]:
    """Scans of paper forms that consent evidence points to in private storage (``{"file": "…"}`` or any
    key ending in ``file`` or ``scan``)."""
    storage = DataExport._meta.get_field("file").storage
    found = []
    for evidence in evidences:
        for key, value in (evidence or {}).items():
            is_path = isinstance(value, str) and value and str(key).endswith(("file", "scan"))
            if is_path and storage.exists(value):
                found.append(value)
    return found


def _account(user) -> User | None:
    return user if user is not None and user.is_authenticated else None


def erasure_summary(receipt: ErasureReceipt) -> list[tuple[str, int]]:
    """The receipt's counts as (label, count), in a fixed order, skipping what there was none of."""
    return [
        (str(label), receipt.summary[key])
        for key, label in ERASURE_CATEGORIES.items()
        if receipt.summary.get(key)
    ]
