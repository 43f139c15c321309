"""The profile attributes a screener can ask about: fixed ones every participant has, and custom ones that
staff define per panel. Multi-valued answers are stored as ``|a|b|`` in one text column, so that "speaks
French" is the same ``LIKE '%|fr|%'`` on SQLite and PostgreSQL and the draw never
loads a panel into Python."""

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import HouseholdType


def pack(values) -> str:
    """``["fr", "en"]`` → ``"|en|fr|"`` (sorted, de-duplicated; empty for no value)."""
    cleaned = sorted({str(v).strip() for v in values or () if str(v).strip()})
    return f"|{'|'.join(cleaned)}|" if cleaned else ""


def unpack(stored: str) -> list[str]:
    return [v for v in (stored or "").split("|") if v]


class AgeBand(models.TextChoices):
    """Market-research bands: 12 and under are children, 13–17 young people (see DOMAIN.md)."""

    CHILD = "0-12", _("12 and under")
    YOUNG = "13-17", _("13 to 17")
    A18 = "18-24", _("18 to 24")
    A25 = "25-34", _("25 to 34")
    A35 = "35-44", _("35 to 44")
    A45 = "45-54", _("45 to 54")
    A55 = "55-64", _("55 to 64")
    A65 = "65-74", _("65 to 74")
    A75 = "75+", _("75 and over")


def age_band_limits(band: str) -> tuple[int, int | None]:
    low, _sep, high = band.partition("-")
    return int(low.rstrip("+")), (int(high) if high else None)


def age_band_of(year_of_birth: int | None, today: date | None = None) -> str:
    """The band of someone born in ``year_of_birth`` (their age this year: the profile holds no birthday)."""
    if year_of_birth is None:
        return ""
    age = (today or date.today()).year - year_of_birth
    for band in AgeBand:
        low, high = age_band_limits(band.value)
        if age >= low and (high is None or age <= high):
            return band.value
    return ""


class DigitalSkills(models.TextChoices):
    NONE = "none", _("Does not use digital services")
    BASIC = "basic", _("Basic: with help from others")
    EVERYDAY = "everyday", _("Everyday use on their own")
    ADVANCED = "advanced", _("Advanced")


class Device(models.TextChoices):
    SMARTPHONE = "smartphone", _("Smartphone")
    TABLET = "tablet", _("Tablet")
    COMPUTER = "computer", _("Computer")
    SMART_TV = "smart_tv", _("Smart TV")
    SPEAKER = "speaker", _("Smart speaker")
    WEARABLE = "wearable", _("Wearable (watch, tracker)")
    NONE = "none", _("None of these")


class AccessibilityNeed(models.TextChoices):
    VISION = "vision", _("Sight")
    HEARING = "hearing", _("Hearing")
    MOBILITY = "mobility", _("Mobility (wheelchair, walking aid)")
    DEXTERITY = "dexterity", _("Use of hands")
    COGNITIVE = "cognitive", _("Memory, attention or learning")
    SPEECH = "speech", _("Speech")
    OTHER = "other", _("Other")


class Language(models.TextChoices):
    BR = "br", _("Breton")
    DE = "de", _("German")
    EN = "en", _("English")
    ES = "es", _("Spanish")
    FI = "fi", _("Finnish")
    FR = "fr", _("French")
    IT = "it", _("Italian")
    NL = "nl", _("Dutch")
    SV = "sv", _("Swedish")
    AR = "ar", _("Arabic")


class Sector(models.TextChoices):
    """NACE Rev. 2 sections that lead users and public-service staff come from most."""

    MANUFACTURING = "C", _("Manufacturing")
    ENERGY = "D", _("Energy supply")
    CONSTRUCTION = "F", _("Construction")
    TRADE = "G", _("Wholesale and retail trade")
    TRANSPORT = "H", _("Transport and logistics")
    HOSPITALITY = "I", _("Hotels and catering")
    ICT = "J", _("Information and communication")
    FINANCE = "K", _("Finance and insurance")
    PROFESSIONAL = "M", _("Professional and technical services")
    PUBLIC = "O", _("Public administration")
    EDUCATION = "P", _("Education")
    HEALTH = "Q", _("Health and social care")
    CULTURE = "R", _("Arts and culture")
    OTHER = "S", _("Other services")


class AttributeKind(models.TextChoices):
    CHOICE = "choice", _("One choice")
    MULTI = "multi", _("Several choices")
    NUMBER = "number", _("Number")
    BOOLEAN = "boolean", _("Yes / no")
    TEXT = "text", _("Text")


@dataclass(frozen=True)
class FixedAttribute:
    """A profile attribute every participant has: its code in screeners, the profile column, its kind."""

    code: str
    label: str
    kind: str
    column: str
    choices: tuple = ()
    shareable: bool = True


FIXED_ATTRIBUTES: dict[str, FixedAttribute] = {
    a.code: a
    for a in (
        FixedAttribute(
            "age_band", _("Age band"), AttributeKind.CHOICE, "year_of_birth", tuple(AgeBand.choices)
        ),
        FixedAttribute("age", _("Age"), AttributeKind.NUMBER, "year_of_birth", shareable=False),
        FixedAttribute("region", _("Region"), AttributeKind.CHOICE, "region"),
        FixedAttribute("postcode_area", _("Postcode area"), AttributeKind.TEXT, "postcode_area"),
        FixedAttribute(
            "languages", _("Languages"), AttributeKind.MULTI, "languages", tuple(Language.choices)
        ),
        FixedAttribute(
            "household_type",
            _("Household"),
            AttributeKind.CHOICE,
            "household_type",
            tuple(HouseholdType.choices),
        ),
        FixedAttribute(
            "accessibility_needs",
            _("Accessibility needs"),
            AttributeKind.MULTI,
            "accessibility_needs",
            tuple(AccessibilityNeed.choices),
        ),
        FixedAttribute(
            "digital_skills",
            _("Digital skills"),
            AttributeKind.CHOICE,
            "digital_skills",
            tuple(DigitalSkills.choices),
        ),
        FixedAttribute("devices", _("Devices"), AttributeKind.MULTI, "devices", tuple(Device.choices)),
        FixedAttribute("occupation", _("Occupation"), AttributeKind.TEXT, "occupation"),
        FixedAttribute("sector", _("Sector"), AttributeKind.CHOICE, "sector", tuple(Sector.choices)),
    )
}

# What a participant may agree to show firms running a campaign (never names or contact details).
SHAREABLE_ATTRIBUTES = [(a.code, a.label) for a in FIXED_ATTRIBUTES.values() if a.shareable]
DEFAULT_SHARED = ("age_band", "region")
