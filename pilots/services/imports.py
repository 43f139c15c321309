"""Member lists from CSV or XLSX files: upload, column mapping, a check of every row, then one transaction
that imports the whole list or nothing.

A list is read with the standard ``csv`` module or openpyxl's streaming reader rather than pandas, so that
every problem names the line as the file shows it (blank lines and multi-line cells included) and a large
sheet is never held twice in memory. Imported people become pending members: they are e-mailed an
invitation to confirm and consent, and no study can contact them before they do."""

import csv
import hashlib
import io
import logging
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import filetype
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import OperationalError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from livinglab import audit
from livinglab.errors import DomainError
from livinglab.models import HouseholdType, Person, User
from livinglab.services import enrol_person
from livinglab.spreadsheets import safe_text

from ..errors import PanelError
from ..models import (
    AccessibilityNeed,
    AttributeKind,
    AttributeValue,
    Device,
    DigitalSkills,
    ErasedContact,
    Language,
    Panel,
    PanelAttribute,
    PanelImport,
    PanelMembership,
    ParticipantProfile,
    Sector,
    contact_digest,
    pack,
)
from ..tasks import run_panel_import
from .enrolment import may_be_minor
from .panels import add_member, save_profile

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# One import is one transaction (about 65 rows a second on SQLite): past this many rows, split the list.
MAX_ROWS = 10_000
# The error report keeps this many problems; the rest are counted.
MAX_STORED_ERRORS = 1_000
# How often the progress bar moves (rows).
PROGRESS_EVERY = 50
PROGRESS_SECONDS = 6 * 3600
SQL_CHUNK = 500
ATTRIBUTE_PREFIX = "attr:"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV, XLSX = "csv", "xlsx"


# ------------------------------------------------------------------------------------------ targets


@dataclass(frozen=True)
class Target:
    """Where a column of the file goes: a profile field, a panel's custom attribute, or a contact detail."""

    code: str
    label: str
    kind: str  # text, email, phone, year, choice, multi, number, boolean
    max_length: int = 0
    choices: tuple = ()  # (value, label) pairs; empty for free text
    names: tuple = ()  # header names that map here, English and French, compared normalised
    attribute: PanelAttribute | None = None


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


# Extra names people write for the fixed choices (values and labels in every site language match anyway).
CHOICE_ALIASES = {
    "languages": {
        "fr": _names("francais|french"),
        "en": _names("anglais"),
        "br": _names("breton|brezhoneg"),
        "de": _names("allemand|deutsch"),
        "es": _names("espagnol|espanol"),
        "it": _names("italien|italiano"),
        "nl": _names("neerlandais|hollandais|nederlands"),
        "sv": _names("suedois|svenska"),
        "fi": _names("finnois|suomi"),
        "ar": _names("arabe"),
    },
    "devices": {
        "smartphone": _names("telephone mobile|mobile|portable"),
        "tablet": _names("tablette"),
        "computer": _names("ordinateur|pc|laptop|ordinateur portable"),
        "smart_tv": _names("tv connectee|television connectee|smart tv"),
        "speaker": _names("enceinte connectee"),
        "wearable": _names("montre connectee|montre|bracelet connecte"),
        "none": _names("aucun|aucune|rien"),
    },
    "household_type": {
        "single": _names("seul|seule|personne seule|alone"),
        "couple": _names("couple|couple sans enfant"),
        "family": _names("famille|couple avec enfants"),
        "single_parent": _names("famille monoparentale|parent isole|parent seul"),
        "shared": _names("colocation|ehpad|residence|maison de retraite|care home"),
    },
    "digital_skills": {
        "none": _names("aucune|aucun|jamais|non"),
        "basic": _names("basique|debutant|avec aide"),
        "everyday": _names("quotidien|quotidienne|autonome|courante"),
        "advanced": _names("avance|avancee|expert"),
    },
    "accessibility_needs": {
        "vision": _names("vue|vision|malvoyant|aveugle"),
        "hearing": _names("audition|ouie|malentendant|sourd"),
        "mobility": _names("mobilite|fauteuil|fauteuil roulant"),
        "dexterity": _names("mains|dexterite"),
        "cognitive": _names("memoire|cognitif|attention"),
        "speech": _names("parole"),
        "other": _names("autre"),
    },
}

# Header names (English and French, compared without case or accents) are the first guess of the mapping.
PROFILE_TARGETS = (
    Target(
        "full_name",
        gettext_lazy("Full name (or family name)"),
        "text",
        200,
        names=_names(
            "name|full name|fullname|surname|last name|family name|participant|"
            "nom|nom complet|nom prenom|prenom nom|nom et prenom|nom de famille"
        ),
    ),
    Target(
        "first_name",
        gettext_lazy("First name (joined to the name)"),
        "text",
        100,
        names=_names("first name|firstname|given name|forename|prenom"),
    ),
    Target(
        "email",
        gettext_lazy("E-mail address"),
        "email",
        254,
        names=_names(
            "email|e mail|mail|email address|e mail address|"
            "courriel|adresse mail|adresse e mail|adresse email|adresse electronique|mel"
        ),
    ),
    Target(
        "phone",
        gettext_lazy("Telephone"),
        "phone",
        40,
        names=_names(
            "phone|telephone|tel|mobile|phone number|telephone number|"
            "portable|numero de telephone|tel portable|gsm"
        ),
    ),
    Target(
        "year_of_birth",
        gettext_lazy("Year of birth"),
        "year",
        names=_names(
            "year of birth|birth year|yob|born|date of birth|birth date|dob|"
            "annee de naissance|annee naissance|date de naissance|ne en|nee en|naissance"
        ),
    ),
    Target("region", gettext_lazy("Region"), "text", 100, names=_names("region|province|county")),
    Target(
        "postcode_area",
        gettext_lazy("Postcode area"),
        "text",
        10,
        names=_names("postcode|postcode area|postal code|post code|zip|zip code|code postal|cp|departement"),
    ),
    Target(
        "languages",
        gettext_lazy("Languages"),
        "multi",
        choices=tuple(Language.choices),
        names=_names("languages|language|spoken languages|langues|langue|langues parlees"),
    ),
    Target(
        "household_type",
        gettext_lazy("Household"),
        "choice",
        choices=tuple(HouseholdType.choices),
        names=_names("household|household type|foyer|type de foyer|menage|composition du foyer"),
    ),
    Target(
        "household_key",
        gettext_lazy("Household reference"),
        "text",
        64,
        names=_names(
            "household reference|household id|household key|"
            "reference foyer|id foyer|foyer id|ref foyer|numero de foyer"
        ),
    ),
    Target(
        "digital_skills",
        gettext_lazy("Digital skills"),
        "choice",
        choices=tuple(DigitalSkills.choices),
        names=_names(
            "digital skills|digital skill|"
            "competences numeriques|aisance numerique|niveau numerique|usage du numerique"
        ),
    ),
    Target(
        "devices",
        gettext_lazy("Devices"),
        "multi",
        choices=tuple(Device.choices),
        names=_names("devices|device|equipements|equipement|appareils"),
    ),
    Target(
        "accessibility_needs",
        gettext_lazy("Accessibility needs"),
        "multi",
        choices=tuple(AccessibilityNeed.choices),
        names=_names(
            "accessibility|accessibility needs|accessibilite|besoins d accessibilite|besoins accessibilite|"
            "handicap"
        ),
    ),
    Target(
        "occupation",
        gettext_lazy("Occupation"),
        "text",
        120,
        names=_names("occupation|job|job title|profession|metier|poste|fonction"),
    ),
    Target(
        "sector",
        gettext_lazy("Sector"),
        "choice",
        choices=tuple(Sector.choices),
        names=_names("sector|industry|secteur|secteur d activite|nace"),
    ),
    Target(
        "employer",
        gettext_lazy("Employer"),
        "text",
        200,
        names=_names("employer|company|organisation|organization|employeur|entreprise|societe"),
    ),
    Target(
        "external_reference",
        gettext_lazy("Reference in your list"),
        "text",
        200,
        names=_names(
            "reference|ref|id|external id|external reference|member id|member number|"
            "identifiant|numero|numero adherent|n adherent|no adherent|ref externe|matricule"
        ),
    ),
)

REQUIRED_TARGETS = ("full_name", "year_of_birth", "region")
CONTACT_TARGETS = ("email", "phone")
# Profile columns filled straight from a target of the same name.
PROFILE_COLUMNS = (
    "year_of_birth",
    "region",
    "postcode_area",
    "languages",
    "household_type",
    "household_key",
    "digital_skills",
    "devices",
    "accessibility_needs",
    "occupation",
    "sector",
    "employer",
    "phone",
)
CUSTOM_KINDS = {
    AttributeKind.CHOICE: "choice",
    AttributeKind.MULTI: "multi",
    AttributeKind.NUMBER: "number",
    AttributeKind.BOOLEAN: "boolean",
    AttributeKind.TEXT: "text",
}


def import_targets(panel: Panel) -> list[Target]:
    """Every target a column of a list for ``panel`` can go to: profile fields, then custom attributes."""
    custom = [
        Target(
            ATTRIBUTE_PREFIX + attribute.code,
            attribute.label,
            CUSTOM_KINDS[attribute.kind],
            500 if attribute.kind == AttributeKind.TEXT else 0,
            choices=tuple((o, o) for o in attribute.option_values()),
            names=(attribute.code, attribute.label),
            attribute=attribute,
        )
        for attribute in panel.attributes.all()
    ]
    return [*PROFILE_TARGETS, *custom]


def normalise(text) -> str:
    """``"Année de naissance"`` → ``"annee de naissance"``: lower case, no accents, words only."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def guess_mapping(columns: list[str], targets: list[Target]) -> list[str]:
    """The target of each column recognised by its header (English or French); "" for the others.
    Each target is used once, by the first column that names it."""
    by_name: dict[str, str] = {}
    for target in targets:
        for name in target.names:
            by_name.setdefault(normalise(name), target.code)
    guessed, used = [], set()
    for column in columns:
        code = by_name.get(normalise(column), "")
        if code and code not in used:
            used.add(code)
            guessed.append(code)
        else:
            guessed.append("")
    return guessed


def mapping_problems(targets: list[str], panel: Panel) -> list[str]:
    """What is wrong with a mapping (one target per column, "" to ignore a column), in words."""
    known = {t.code: t for t in import_targets(panel)}
    problems = []
    unknown = sorted({t for t in targets if t and t not in known})
    if unknown:
        problems.append(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    chosen = [t for t in targets if t]
    twice = sorted({t for t in chosen if chosen.count(t) > 1 and t in known})
    for code in twice:
        problems.append(_("“%(field)s” is chosen for more than one column.") % {"field": known[code].label})
    for code in REQUIRED_TARGETS:
        if code not in chosen:
            problems.append(_("Choose the column that holds “%(field)s”.") % {"field": known[code].label})
    if not any(code in chosen for code in CONTACT_TARGETS):
        problems.append(_("Choose the column of e-mail addresses or the column of telephone numbers."))
    return problems


# ------------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Table:
    """What the first read of a file found: its format, its columns and how many rows follow them."""

    format: str
    delimiter: str
    columns: list[str]
    row_count: int


def _refuse(message) -> PanelError:
    return PanelError(message)


def file_format(data: bytes) -> str:
    """CSV or XLSX, recognised from the content, never from the file's name."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _refuse(_("The file is empty."))
    kind = filetype.guess(data[:8192])
    if kind is not None and kind.mime == XLSX_MIME:
        return XLSX
    if data.startswith(b"PK\x03\x04") and (kind is None or kind.extension == "zip"):
        return XLSX  # a workbook whose archive is laid out differently: openpyxl decides
    if kind is not None or b"\x00" in data[:8192]:
        name = kind.extension.upper() if kind is not None else _("binary")
        raise _refuse(
            _(
                "This file is not a list (it looks like a %(kind)s file): upload a CSV file (UTF-8) or an "
                "Excel workbook (XLSX)."
            )
            % {"kind": name}
        )
    return CSV


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(
            _(
                "The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8 (comma delimited)”, "
                "or upload the XLSX workbook."
            )
        ) from None


def _delimiter(text: str) -> str:
    """``;`` or ``,``: whichever splits the first line into more columns (quotes respected)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in (",", ";")}
    return ";" if counts[";"] > counts[","] else ","


def _cell(value) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _csv_lines(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, [cell.strip() for cell in row]
            start = reader.line_num + 1
    except csv.Error as error:
        raise _refuse(
            _("Line %(line)s cannot be read as CSV (%(problem)s).") % {"line": start, "problem": error}
        ) from None


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _refuse(
            _("This file cannot be opened as an Excel workbook (XLSX): upload a CSV or XLSX file.")
        ) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values]
    finally:
        book.close()


def lines(data: bytes, fmt: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Every non-blank row of the file with its line number as the file shows it (1 = first line)."""
    rows = _xlsx_lines(data) if fmt == XLSX else _csv_lines(_text(data), delimiter)
    for number, cells in rows:
        if any(cells):
            yield number, cells


EMAIL_LIKE = re.compile(r"\S+@\S+\.\w+")


def _columns(header: list[str]) -> list[str]:
    while header and not header[-1]:
        header = header[:-1]
    if len(header) < 2:
        raise _refuse(
            _(
                "Only one column was found. Separate the columns with commas or semicolons, with the "
                "column names on the first line."
            )
        )
    if any(EMAIL_LIKE.fullmatch(c) or c.replace(".", "").isdigit() for c in header if c):
        raise _refuse(
            _(
                "The first line holds data, not column names. Add a first line with a name for each "
                "column (for example Name, E-mail, Year of birth, Region)."
            )
        )
    for position, name in enumerate(header, start=1):
        if not name:
            raise _refuse(
                _("Column %(n)s has no name on the first line: give every column a name.") % {"n": position}
            )
    seen = set()
    for name in header:
        if normalise(name) in seen:
            raise _refuse(
                _("Two columns are called “%(name)s”: give each column its own name.") % {"name": name}
            )
        seen.add(normalise(name))
    return header


def inspect_file(data: bytes) -> Table:
    """Read a whole list once: its format, columns and row count; PanelError says what is wrong."""
    fmt = file_format(data)
    delimiter = _delimiter(_text(data)) if fmt == CSV else ""
    rows = lines(data, fmt, delimiter or ",")
    first = next(rows, None)
    if first is None:
        raise _refuse(_("The file is empty."))
    columns = _columns(first[1])
    count = 0
    for _line in rows:
        count += 1
        if count > MAX_ROWS:
            raise _refuse(
                _("The list has more than %(max)s rows: split it into several files.") % {"max": MAX_ROWS}
            )
    if count == 0:
        raise _refuse(_("The file has column names but no rows of people under them."))
    return Table(fmt, delimiter, columns, count)


def read_upload(upload) -> bytes:
    if upload is None:
        raise _refuse(_("Choose the file to upload."))
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise _refuse(
            _("The file is too large: at most %(mb)s MB. Split the list into several files.")
            % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    data = b"".join(upload.chunks())
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(
            _("The file is too large: at most %(mb)s MB. Split the list into several files.")
            % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    return data


def _display_name(name: str, fmt: str) -> str:
    stem = (name or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0][:150]
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:
        stem = "list"
    return f"{stem}.{fmt}"


# --------------------------------------------------------------------------------------- services


def _require_manager(panel: Panel, acting_user: User) -> None:
    if acting_user is None or not acting_user.has_perm("pilots.manage_panel", panel):
        raise PanelError(_("Only the staff who run this panel can import members into it."))


def upload_import(panel: Panel, upload, *, acting_user: User) -> PanelImport:
    """Keep an uploaded list in private storage with its columns and a first guess of their mapping."""
    _require_manager(panel, acting_user)
    data = read_upload(upload)
    table = inspect_file(data)
    targets = guess_mapping(table.columns, import_targets(panel))
    previous = (
        panel.imports.exclude(status=PanelImport.Status.UPLOADED)
        .only("mapping")
        .order_by("-created_at")
        .first()
    )
    if previous and previous.mapping.get("columns") == table.columns:
        # The same layout as last time: start from the mapping staff chose then.
        known = {t.code for t in import_targets(panel)}
        targets = [t if t in known else "" for t in previous.mapping["targets"]]
    panel_import = PanelImport(
        panel=panel,
        original_name=_display_name(getattr(upload, "name", ""), table.format),
        file_sha256=hashlib.sha256(data).hexdigest(),
        row_count=table.row_count,
        uploaded_by=acting_user,
        mapping={
            "format": table.format,
            "delimiter": table.delimiter,
            "columns": table.columns,
            "targets": targets,
        },
    )
    panel_import.file.save(f"{uuid.uuid4().hex}.{table.format}", ContentFile(data), save=False)
    try:
        return _save_upload(panel_import, acting_user=acting_user)
    except BaseException:
        panel_import.file.storage.delete(panel_import.file.name)
        raise


@transaction.atomic
def _save_upload(panel_import: PanelImport, *, acting_user: User) -> PanelImport:
    panel_import.save()
    audit.record(
        "pilots.import.upload",
        actor=acting_user,
        obj=panel_import,
        organisation=panel_import.panel.owner,
        data={
            "panel": panel_import.panel_id,
            "format": panel_import.mapping["format"],
            "rows": panel_import.row_count,
            "columns": len(panel_import.mapping["columns"]),
            "sha256": panel_import.file_sha256,
        },
    )
    return panel_import


MAPPABLE = {PanelImport.Status.UPLOADED, PanelImport.Status.INVALID}


@transaction.atomic
def map_import(panel_import: PanelImport, targets: list[str], *, acting_user: User) -> PanelImport:
    """Confirm where each column goes (one target per column, "" to ignore it) and start the check and
    import in the background."""
    panel_import = (
        PanelImport.objects.select_for_update(of=("self",))
        .select_related("panel__owner")
        .get(pk=panel_import.pk)
    )
    panel = panel_import.panel
    _require_manager(panel, acting_user)
    if panel_import.status not in MAPPABLE:
        raise PanelError(_("This list is already being imported, or was imported."))
    if not panel_import.file:
        raise PanelError(
            _("This list was deleted after %(days)s days: upload it again.") % {"days": LIST_RETENTION.days}
        )
    columns = panel_import.mapping.get("columns", [])
    targets = [t or "" for t in targets]
    if len(targets) != len(columns):
        raise PanelError(_("Choose a field, or “ignore”, for every column of the file."))
    problems = mapping_problems(targets, panel)
    if problems:
        raise PanelError(" ".join(problems))
    panel_import.mapping = {**panel_import.mapping, "targets": targets}
    panel_import.status = PanelImport.Status.RUNNING
    panel_import.processed_count = panel_import.created_count = panel_import.existing_count = 0
    panel_import.errors = []
    panel_import.finished_at = None
    panel_import.save(
        update_fields=[
            "mapping",
            "status",
            "processed_count",
            "created_count",
            "existing_count",
            "errors",
            "finished_at",
        ]
    )
    cache.delete(progress_key(panel_import.pk))
    audit.record(
        "pilots.import.map",
        actor=acting_user,
        obj=panel_import,
        organisation=panel.owner,
        data={"fields": sorted({t for t in targets if t})},
    )
    run_panel_import.delay_on_commit(panel_import.pk)
    return panel_import


# --------------------------------------------------------------------------------------- checking


@dataclass
class Row:
    """One person of the list, checked and ready to import."""

    line: int
    key: str = ""
    full_name: str = ""
    email: str = ""
    reference: str = ""
    profile: dict = field(default_factory=dict)
    answers: list[tuple[PanelAttribute, str, Decimal | None]] = field(default_factory=list)


class CellError(Exception):
    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


ERROR_MESSAGES = {
    "required": gettext_lazy("This column needs a value on every row."),
    "too_long": gettext_lazy("Too long: at most %(max)s characters."),
    "year": gettext_lazy("Not a year of birth: write a year between %(min)s and %(max)s, such as 1956."),
    "minor": gettext_lazy(
        "Born in %(year)s: the person may be under %(age)s. Minors are enrolled with their guardian, "
        "not imported."
    ),
    "email": gettext_lazy("Not a valid e-mail address."),
    "phone": gettext_lazy(
        "Not a telephone number: digits, spaces, dots, dashes and + only, at least 6 digits."
    ),
    "contact": gettext_lazy("No e-mail address and no telephone number: give at least one."),
    "choice": gettext_lazy("Not one of the choices: %(choices)s."),
    "number": gettext_lazy("Not a number."),
    "boolean": gettext_lazy("Answer yes or no."),
    "duplicate": gettext_lazy("The same person as on line %(line)s."),
    "duplicate_reference": gettext_lazy("The same reference as on line %(line)s."),
    "extra_cells": gettext_lazy("This line has more values than the file has columns."),
    "too_many": gettext_lazy(
        "%(count)s more problems are not listed: correct these first, then upload again."
    ),
    "refused": gettext_lazy("Refused when saving: %(message)s"),
    "failed": gettext_lazy(
        "The import stopped on an unexpected problem and nothing was imported. Try again; if it happens "
        "again, tell the platform's administrators."
    ),
}


def describe_error(error: dict) -> str:
    """The message of one stored problem, in the reader's language."""
    params = dict(error.get("params") or {})
    if error.get("code") == "choice":
        params["choices"] = ", ".join(str(label) for label in _choice_labels(params))
    template = ERROR_MESSAGES.get(error.get("code"), ERROR_MESSAGES["failed"])
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def _choice_labels(params: dict) -> list:
    fixed = {t.code: t for t in PROFILE_TARGETS}
    target = fixed.get(params.get("target", ""))
    if target is not None:
        return [f"{value} ({label})" if value != str(label) else value for value, label in target.choices]
    return params.get("options", [])


def _choice_lookup(target: Target) -> dict[str, str]:
    """Every way of writing a choice (value, label in any site language, usual aliases) → its value."""
    lookup: dict[str, str] = {}
    for value, label in target.choices:
        lookup.setdefault(normalise(value), value)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                lookup.setdefault(normalise(label), value)
    for value, aliases in CHOICE_ALIASES.get(target.code, {}).items():
        for alias in aliases:
            lookup.setdefault(normalise(alias), value)
    return lookup


YEAR = re.compile(r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-])?(\d{4})(?:[/.\-]\d{1,2}[/.\-]\d{1,2})?(?:\.0)?")
PHONE = re.compile(r"\+?[\d\s().\-/]+")
TRUE_WORDS = {"yes", "y", "true", "1", "oui", "o", "vrai", "x", "ja", "kylla"}
FALSE_WORDS = {"no", "n", "false", "0", "non", "faux", "nein", "ei", "nej"}


class Checker:
    """Turns the cells of one row into a ``Row``, collecting a problem per bad cell."""

    def __init__(self, panel: Panel, columns: list[str], targets: list[str]):
        by_code = {t.code: t for t in import_targets(panel)}
        self.panel = panel
        self.columns = columns
        self.mapped = [(i, by_code[code]) for i, code in enumerate(targets) if code]
        self.lookups = {t.code: _choice_lookup(t) for _i, t in self.mapped if t.choices}
        self.this_year = timezone.localdate().year
        self.keys: dict[str, int] = {}
        self.references: dict[str, int] = {}

    def check(self, line: int, cells: list[str]) -> tuple[Row, list[dict]]:
        row, errors, values = Row(line=line), [], {}
        if len(cells) > len(self.columns) and any(cells[len(self.columns) :]):
            errors.append(self._error(line, "", "", CellError("extra_cells")))
        for index, target in self.mapped:
            raw = cells[index] if index < len(cells) else ""
            try:
                values[target.code] = self._clean(target, raw)
            except CellError as problem:
                errors.append(self._error(line, self.columns[index], raw, problem))
        column_of = {t.code: self.columns[i] for i, t in self.mapped}
        for code in REQUIRED_TARGETS:
            if code in values and values[code] in ("", None):
                errors.append(self._error(line, column_of[code], "", CellError("required")))
        if (
            not values.get("email")
            and not values.get("phone")
            and not any(code in column_of and code not in values for code in CONTACT_TARGETS)
        ):
            contact_column = column_of.get("email") or column_of.get("phone", "")
            errors.append(self._error(line, contact_column, "", CellError("contact")))
        if errors:
            return row, errors
        self._fill(row, values)
        first = self.keys.setdefault(row.key, line)
        if first != line:
            column = column_of.get("email") or column_of.get("external_reference") or column_of["full_name"]
            errors.append(self._error(line, column, "", CellError("duplicate", line=first)))
        if row.reference:
            first = self.references.setdefault(row.reference.casefold(), line)
            if first != line:
                errors.append(
                    self._error(
                        line,
                        column_of["external_reference"],
                        row.reference,
                        CellError("duplicate_reference", line=first),
                    )
                )
        return row, errors

    @staticmethod
    def _error(line: int, column: str, value: str, problem: CellError) -> dict:
        return {
            "line": line,
            "column": column,
            "value": value[:200],
            "code": problem.code,
            "params": problem.params,
        }

    def _clean(self, target: Target, raw: str):
        text = " ".join(raw.split())
        if not text:
            if target.attribute is not None and target.attribute.required:
                raise CellError("required")
            return [] if target.kind == "multi" else ""
        if target.max_length and len(text) > target.max_length:
            raise CellError("too_long", max=target.max_length)
        return getattr(self, f"_clean_{target.kind}")(target, text)

    def _clean_text(self, target, text):
        return text

    def _clean_email(self, target, text):
        email = text.lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CellError("email") from None
        return email

    def _clean_phone(self, target, text):
        if not PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 6:
            raise CellError("phone")
        return text

    def _clean_year(self, target, text):
        match = YEAR.fullmatch(text)
        year = int(match.group(1)) if match else None
        if year is None or not 1900 <= year <= self.this_year:
            raise CellError("year", min=1900, max=self.this_year)
        if may_be_minor(None, year):
            raise CellError("minor", year=year, age=settings.AGE_OF_DIGITAL_CONSENT)
        return year

    def _choice_error(self, target: Target) -> CellError:
        if target.attribute is None:
            return CellError("choice", target=target.code)
        return CellError("choice", options=target.attribute.option_values())

    def _clean_choice(self, target, text):
        value = self.lookups[target.code].get(normalise(text))
        if value is None:
            raise self._choice_error(target)
        return value

    def _clean_multi(self, target, text):
        values = []
        for part in re.split(r"[;,]", text):
            if part.strip():
                values.append(self._clean_choice(target, part.strip()))
        return values

    def _clean_number(self, target, text):
        try:
            number = Decimal(text.replace(" ", "").replace("\u202f", "").replace(",", "."))
        except InvalidOperation:
            raise CellError("number") from None
        if not number.is_finite() or abs(number) >= Decimal("1e10"):
            raise CellError("number")
        return number.quantize(Decimal("0.01"))

    def _clean_boolean(self, target, text):
        word = normalise(text)
        if word in TRUE_WORDS:
            return "true"
        if word in FALSE_WORDS:
            return "false"
        raise CellError("boolean")

    def _fill(self, row: Row, values: dict) -> None:
        given = values.get("first_name", "")
        row.full_name = f"{given} {values['full_name']}".strip() if given else values["full_name"]
        row.email = values.get("email", "")
        row.reference = values.get("external_reference", "")
        row.profile = {c: values[c] for c in PROFILE_COLUMNS if values.get(c) not in (None, "", [])}
        if row.email:
            row.profile["contact_email"] = row.email
        else:
            row.profile["preferred_contact"] = ParticipantProfile.Contact.PHONE
        for code, value in values.items():
            if code.startswith(ATTRIBUTE_PREFIX) and value not in ("", []):
                attribute = next(t.attribute for _i, t in self.mapped if t.code == code)
                if attribute.kind == AttributeKind.NUMBER:
                    row.answers.append((attribute, "", value))
                elif attribute.kind == AttributeKind.MULTI:
                    row.answers.append((attribute, pack(value), None))
                else:
                    row.answers.append((attribute, value, None))
        row.key = import_key(self.panel, row, values.get("phone", ""))


def import_key(panel: Panel, row: Row, phone: str = "") -> str:
    """An opaque, stable key for the person on this row: the e-mail address, else the list's reference,
    else name, year of birth and telephone, hashed so that it holds no personal data."""
    if row.email:
        basis = "email:" + row.email
    elif row.reference:
        basis = "ref:" + row.reference.casefold()
    else:
        digits = "".join(c for c in phone if c.isdigit())
        basis = f"person:{normalise(row.full_name)}|{row.profile.get('year_of_birth')}|{digits}"
    return hashlib.sha256(f"panel-import:{panel.pk}:{basis}".encode()).hexdigest()


def _erased_rows(rows: list[Row]) -> list[dict]:
    """Rows of people who had their data erased: importing them again would undo it."""
    digests = {contact_digest(row.email): row for row in rows if row.email}
    erased = set()
    for chunk in _chunks(list(digests)):
        erased.update(ErasedContact.objects.filter(digest__in=chunk).values_list("digest", flat=True))
    message = _("This person asked for their data to be erased: they cannot be added from a list again.")
    return [_refusal(digests[d], message) for d in sorted(erased, key=lambda d: digests[d].line)]


def check_rows(panel_import: PanelImport, *, on_progress=None) -> tuple[list[Row], list[dict]]:
    """Check every row of a mapped list; (rows, problems). Rows are only meaningful without problems."""
    mapping = panel_import.mapping
    with panel_import.file.open("rb") as handle:
        data = handle.read()
    checker = Checker(panel_import.panel, mapping["columns"], mapping["targets"])
    rows, errors = [], []
    source = lines(data, mapping["format"], mapping.get("delimiter") or ",")
    next(source, None)  # the column names
    for count, (line, cells) in enumerate(source, start=1):
        row, problems = checker.check(line, cells)
        rows.append(row)
        errors.extend(problems)
        if on_progress is not None and count % PROGRESS_EVERY == 0:
            on_progress(count)
    errors.extend(_erased_rows(rows))
    errors.sort(key=lambda e: e["line"] or 0)
    if len(errors) > MAX_STORED_ERRORS:
        more = len(errors) - MAX_STORED_ERRORS
        errors = [
            *errors[:MAX_STORED_ERRORS],
            {"line": None, "column": "", "value": "", "code": "too_many", "params": {"count": more}},
        ]
    return rows, errors


# ---------------------------------------------------------------------------------------- running


def progress_key(import_id: int) -> str:
    return f"pilots:import-progress:{import_id}"


@dataclass(frozen=True)
class Progress:
    """Where a running import is: checking rows, then importing them (one transaction, so the count of
    imported rows comes from the cache until it commits)."""

    phase: str  # "checking", "importing" or "done"
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


def import_progress(panel_import: PanelImport) -> Progress:
    total = panel_import.row_count
    if panel_import.status != PanelImport.Status.RUNNING:
        return Progress("done", total, total)
    if panel_import.processed_count < total:
        return Progress("checking", panel_import.processed_count, total)
    return Progress("importing", min(total, int(cache.get(progress_key(panel_import.pk)) or 0)), total)


class RowRefused(Exception):
    def __init__(self, error: dict):
        super().__init__(error["code"])
        self.error = error


def run_import(import_id: int) -> PanelImport:
    """Check every row of a mapped list, then import all of its people in one transaction, or none of them.
    Safe to run twice: only a running import is worked on, and the import itself is claimed under a lock."""
    panel_import = PanelImport.objects.select_related("panel__owner", "uploaded_by").get(pk=import_id)
    if panel_import.status != PanelImport.Status.RUNNING:
        return panel_import

    def checked(count: int) -> None:
        PanelImport.objects.filter(pk=import_id).update(processed_count=count)

    try:
        rows, errors = check_rows(panel_import, on_progress=checked)
        checked(len(rows))
        if errors:
            return _finish_invalid(panel_import, errors)
        return _import_rows(panel_import, rows)
    except RowRefused as refused:
        return _finish_invalid(panel_import, [refused.error])
    except DomainError as error:
        # The file can no longer be read (replaced or damaged in storage).
        return _finish_invalid(
            panel_import,
            [
                {
                    "line": None,
                    "column": "",
                    "value": "",
                    "code": "refused",
                    "params": {"message": str(error.message)},
                }
            ],
        )
    except OperationalError:
        raise  # the database is unreachable or busy: the task retries; the import stays "running"
    except Exception:
        logger.exception("Panel import %s failed", import_id)
        return _finish_invalid(
            panel_import, [{"line": None, "column": "", "value": "", "code": "failed", "params": {}}]
        )


@transaction.atomic
def _finish_invalid(panel_import: PanelImport, errors: list[dict]) -> PanelImport:
    finished = timezone.now()
    updated = PanelImport.objects.filter(pk=panel_import.pk, status=PanelImport.Status.RUNNING).update(
        status=PanelImport.Status.INVALID,
        errors=errors,
        finished_at=finished,
        created_count=0,
        existing_count=0,
    )
    panel_import.refresh_from_db()
    if updated:
        audit.record(
            "pilots.import.reject",
            actor=panel_import.uploaded_by,
            obj=panel_import,
            organisation=panel_import.panel.owner,
            data={"rows": panel_import.row_count, "problems": len(errors)},
        )
    return panel_import


def _chunks(values: list, size: int = SQL_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class Known:
    """Who on the list the platform already knows: members of the panel, and account holders."""

    member_keys: set = field(default_factory=set)
    member_emails: set = field(default_factory=set)
    account_people: dict = field(default_factory=dict)  # e-mail → person id


def _known(panel: Panel, rows: list[Row]) -> Known:
    known = Known()
    keys = [r.key for r in rows]
    emails = sorted({r.email for r in rows if r.email})
    members = PanelMembership.objects.filter(panel=panel)
    for chunk in _chunks(keys):
        known.member_keys.update(members.filter(import_key__in=chunk).values_list("import_key", flat=True))
    for chunk in _chunks(emails):
        for login, contact in (
            members.annotate(
                login=Lower("person__user__email"), contact=Lower("person__profile__contact_email")
            )
            .filter(Q(login__in=chunk) | Q(contact__in=chunk))
            .values_list("login", "contact")
        ):
            known.member_emails.update(e for e in (login, contact) if e)
        known.account_people.update(
            User.objects.annotate(address=Lower("email"))
            .filter(address__in=chunk, person__isnull=False)
            .values_list("address", "person__id")
        )
    return known


def _import_rows(panel_import: PanelImport, rows: list[Row]) -> PanelImport:
    with transaction.atomic():
        panel_import = (
            PanelImport.objects.select_for_update(of=("self",))
            .select_related("panel__owner", "uploaded_by")
            .get(pk=panel_import.pk)
        )
        if panel_import.status != PanelImport.Status.RUNNING:
            return panel_import  # another run of the task finished it
        panel, actor = panel_import.panel, panel_import.uploaded_by
        # One import at a time per panel, so that two lists naming the same people cannot both add them.
        Panel.objects.select_for_update(no_key=True).filter(pk=panel.pk).first()
        known = _known(panel, rows)
        created = existing = without_email = 0
        for count, row in enumerate(rows, start=1):
            if _import_row(panel_import, row, known, actor):
                created += 1
                without_email += not row.email
            else:
                existing += 1
            if count % PROGRESS_EVERY == 0:
                cache.set(progress_key(panel_import.pk), count, PROGRESS_SECONDS)
        panel_import.status = PanelImport.Status.IMPORTED
        panel_import.processed_count = len(rows)
        panel_import.created_count = created
        panel_import.existing_count = existing
        panel_import.errors = []
        panel_import.finished_at = timezone.now()
        panel_import.save(
            update_fields=[
                "status",
                "processed_count",
                "created_count",
                "existing_count",
                "errors",
                "finished_at",
            ]
        )
        audit.record(
            "pilots.import.run",
            actor=actor,
            obj=panel_import,
            organisation=panel.owner,
            data={
                "rows": len(rows),
                "created": created,
                "existing": existing,
                "without_email": without_email,
            },
        )
    cache.delete(progress_key(panel_import.pk))
    return panel_import


def _import_row(panel_import: PanelImport, row: Row, known: Known, actor: User | None) -> bool:
    """Add the person on ``row`` to the panel as a pending member; False if they already are a member."""
    if row.key in known.member_keys or (row.email and row.email in known.member_emails):
        return False
    try:
        person_id = known.account_people.get(row.email) if row.email else None
        if person_id is not None:
            person = Person.objects.get(pk=person_id)
            if not ParticipantProfile.objects.filter(person=person).exists():
                save_profile(person, row.profile, acting_user=actor)
        else:
            person = enrol_person(full_name=row.full_name, birth_date=None, acting_user=actor)
            save_profile(person, row.profile, acting_user=actor)
        membership, created = add_member(
            panel_import.panel,
            person,
            source=PanelMembership.Source.IMPORT,
            acting_user=actor,
            confirmed=False,
            import_key=row.key,
            source_detail=panel_import.original_name[:200],
        )
    except ValidationError as error:
        raise RowRefused(_refusal(row, "; ".join(error.messages))) from None
    except DomainError as error:
        raise RowRefused(_refusal(row, str(error.message))) from None
    if not created:
        return False
    known.member_keys.add(row.key)
    AttributeValue.objects.bulk_create(
        AttributeValue(membership=membership, attribute=attribute, value=value, number=number)
        for attribute, value, number in row.answers
    )
    return True


def _refusal(row: Row, message: str) -> dict:
    return {"line": row.line, "column": "", "value": "", "code": "refused", "params": {"message": message}}


# ------------------------------------------------------------------------------------------ reports


def error_report_csv(panel_import: PanelImport) -> str:
    """The problems of an invalid list as CSV (line, column, value, problem), values made safe for
    spreadsheets (no formula is ever run from a cell)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Line"), _("Column"), _("Value"), _("Problem")])
    for error in panel_import.errors:
        writer.writerow(
            [
                error.get("line") or "",
                safe_text(error.get("column", "")),
                safe_text(error.get("value", "")),
                describe_error(error),
            ]
        )
    return "\ufeff" + out.getvalue()


@transaction.atomic
def record_error_report_download(panel_import: PanelImport, *, acting_user: User) -> None:
    """Note in the audit trail that someone downloaded a list's error report (it quotes the list's cells)."""
    audit.record(
        "pilots.import.download_errors",
        actor=acting_user,
        obj=panel_import,
        organisation=panel_import.panel.owner,
        data={"problems": len(panel_import.errors)},
    )


# Uploaded lists hold names and addresses that the members' own records keep once imported; a list with
# problems is kept a while so that staff can correct it, then forgotten too.
LIST_RETENTION = timedelta(days=30)


def forget_old_lists(now=None) -> int:
    """Delete the file of every imported list, and of any list older than LIST_RETENTION with the cell
    values its problem report quotes; counts and line numbers stay. Returns how many were forgotten."""
    now = now or timezone.now()
    due = PanelImport.objects.exclude(file="").filter(
        Q(status=PanelImport.Status.IMPORTED) | Q(created_at__lt=now - LIST_RETENTION)
    )
    forgotten = 0
    for panel_import in due.select_related("panel__owner").iterator():
        if _forget_list(panel_import):
            forgotten += 1
    return forgotten


@transaction.atomic
def _forget_list(panel_import: PanelImport) -> bool:
    locked = PanelImport.objects.select_for_update().filter(pk=panel_import.pk).exclude(file="").first()
    if locked is None or locked.status == PanelImport.Status.RUNNING:
        return False
    name, storage = locked.file.name, locked.file.storage
    locked.errors = [{**error, "value": ""} for error in locked.errors]
    locked.file = ""
    locked.save(update_fields=["file", "errors"])
    audit.record("pilots.import.forget", obj=locked, organisation=locked.panel.owner)
    transaction.on_commit(lambda: storage.delete(name))
    return True
