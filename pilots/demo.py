"""Demo user panels for ``manage.py seed_demo``: one panel per channel, built through the same services as
the screens.

- B2C "Living well at home": the demo's panelists (consumers and citizens, older people, couples sharing a
  household, a child joined by her mother), people the patients' association and the seniors' club
  enrolled on their behalf, a few enrolled by staff, a sign-up sheet imported from a digital café.
- B2B "Professional lead users": staff of buyer firms (sectors, employers, how many people they supervise).
- B2G "Public-service staff and service users": the Finnish city's social-services staff and the people they
  serve, some enrolled by the seniors' club, some imported from a home-care client list.

Each panel has its own consent form (channel-wide), custom questions, two saved screeners, members of every
source and status. The B2C panel has a past draw whose invitations were answered and whose participants are
now resting; the B2B panel has a draw waiting for its invitations; the B2G panel has a draw whose invitations
are out, some answered and some still open.

Nobody here is e-mailed: the demo's panelists already consented under the platform's panel form and join
without a new consent (no receipt), people enrolled on their behalf have no login, and the people invited
(aged 70 and over) prefer a telephone call or their group to e-mail. Everything comes from a fixed seed;
if the panels exist already, nothing is added.
"""

import csv
import io
import random
from dataclasses import dataclass
from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from faker import Faker
from weasyprint import HTML

from livinglab import services as core
from livinglab.models import (
    Channel,
    ConsentDocument,
    ConsentDocumentVersion,
    ConsentPurpose,
    ConsentRecord,
    Membership,
    Organisation,
    Person,
    Role,
    ScopedDocument,
    User,
    VersionStatus,
)

from .models import Invitation, Panel, PanelMembership, Screener
from .services import draws, enrolment, imports, invitations
from .services.panels import add_member, change_membership_status, save_panel, save_profile, save_screener

SEED = 3112
CLUSTER = "armor-medias-reseaux"
PATIENTS, SENIORS = "ouest-patients-aidants", "kuusiniemi-seniors-club"
AUTHORITY = "kuusiniemi-social-services"
SENSOR_FIRM, TELECOM = "kerveil-capteurs", "oceane-telecom"
B2C, B2B, B2G = "living-well-at-home", "professional-lead-users", "public-service-staff-and-users"
SLUGS = (B2C, B2B, B2G)
PANEL_STEPS = 13  # progress steps of seed_panels, for the command's progress bar
PURPOSES = ("participation", "profile-data", "future-contact")

# Where the demo's panelists live, by the locale their names come from: (region, postcode areas, weight).
REGIONS = {
    "fr_FR": [("Bretagne", ["22", "29", "35", "56"], 60), ("Pays de la Loire", ["44", "49", "53", "85"], 40)],
    "sv_SE": [("Skåne", ["21", "22", "25"], 1)],
    "fi_FI": [("Uusimaa", ["00", "01", "02"], 80), ("Pirkanmaa", ["33", "34"], 20)],
    "de_AT": [("Oberösterreich", ["40", "41", "44"], 1)],
}
LANGUAGES = {
    "fr_FR": [("fr", 1.0), ("en", 0.4), ("br", 0.1), ("es", 0.06)],
    "sv_SE": [("sv", 1.0), ("en", 0.7), ("fi", 0.05)],
    "fi_FI": [("fi", 1.0), ("sv", 0.2), ("en", 0.5)],
    "de_AT": [("de", 1.0), ("en", 0.5), ("it", 0.05)],
}
# Lead users: (occupation, sector, employer, company size).
# fmt: off
PROFESSIONS = [
    ("Head nurse", "Q", "CHU de Rennes", "250+"),
    ("Care-home director", "Q", "EHPAD Les Genêts", "50-249"),
    ("Facilities manager", "Q", "Clinique de l'Odet", "50-249"),
    ("Network engineer", "J", "Breizh Fibre", "50-249"),
    ("Field-service manager", "D", "Syndicat d'énergie du Morbihan", "50-249"),
    ("Purchasing manager", "G", "Coopérative Le Grenier", "50-249"),
    ("Fleet manager", "H", "Transports Morvan", "50-249"),
    ("Site manager", "F", "Bâti-Loire", "10-49"),
    ("Energy manager", "D", "Régie énergie de Vannes", "50-249"),
    ("IT manager", "K", "Mutuelle de l'Ouest", "250+"),
    ("Hotel manager", "I", "Hôtel des Îles", "10-49"),
    ("Head of occupational therapy", "Q", "Centre de rééducation Kerpape", "250+"),
    ("Production manager", "C", "Conserverie de Douarnenez", "50-249"),
    ("Pharmacist", "Q", "Pharmacie du Port", "1-9"),
    ("Teacher and ICT lead", "P", "Lycée Dupuy de Lôme", "50-249"),
]
# fmt: on
CITY_STAFF = [
    ("Home-care nurse", 8),
    ("Social worker", 3),
    ("Service manager", 2),
]


def form_text(panel_name: str, who: str) -> str:
    return (
        f"{panel_name} is a standing panel of Armor Living Lab for {who}. Taking part is voluntary, and "
        "saying no, or stopping later, has no consequence for you.\n\n"
        "Each permission below is separate: you may give some and not others. Health information is asked "
        "for only with a separate, explicit permission.\n\n"
        "You can see, download or withdraw each permission at any time from your consent page, or by asking "
        "the group or the staff member who enrolled you."
    )


@dataclass(frozen=True)
class PanelPlan:
    slug: str
    name: str
    channel: str
    description: str
    form_title: str
    who: str
    purposes: tuple
    rules: dict


PLANS = {
    B2C: PanelPlan(
        B2C,
        "Living well at home",
        Channel.B2C,
        "Consumers and citizens of every age who try new products and services for daily life at home: "
        "older people, carers, families and people living alone.",
        "Living well at home: panel consent",
        "consumers and citizens",
        ("participation", "profile-data", "future-contact", "recording"),
        {"period_days": 365, "max_invitations": 6, "max_participations": 3, "cooldown_days": 30},
    ),
    B2B: PanelPlan(
        B2B,
        "Professional lead users",
        Channel.B2B,
        "Staff of buyer firms and institutions who try professional tools early and say what their "
        "organisation would need before buying.",
        "Professional lead users: panel consent",
        "professionals who use and buy new tools at work",
        ("participation", "profile-data", "future-contact", "recording", "publish-quotes"),
        {"period_days": 365, "max_invitations": 4, "max_participations": 2, "cooldown_days": 60},
    ),
    B2G: PanelPlan(
        B2G,
        "Public-service staff and service users",
        Channel.B2G,
        "Staff of the City of Kuusiniemi's social and health services and the people they serve at home, "
        "who help the city choose welfare technology that works for both.",
        "Public services: panel consent",
        "public-service staff and the people they serve",
        ("participation", "profile-data", "future-contact", "health-data"),
        {"period_days": 365, "max_invitations": 3, "max_participations": 2, "cooldown_days": 45},
    ),
}

# (panel, code, question, kind, options)
ATTRIBUTES = [
    (B2C, "cares_for_relative", "Do you care for a relative who needs help at home?", "boolean", []),
    (B2C, "walking_aid", "Do you use a walking aid?", "boolean", []),
    (B2C, "home", "Where do you live?", "choice", ["Flat", "House", "Sheltered housing", "Care home"]),
    (
        B2C,
        "help_at_home",
        "Which help do you get at home?",
        "multi",
        ["Home care", "Meals delivered", "Cleaning", "Alarm service"],
    ),
    (B2B, "employees_supervised", "Number of employees you supervise", "number", []),
    (B2B, "buying_role", "Your part in buying decisions", "choice", ["Decide", "Recommend", "Use only"]),
    (B2B, "company_size", "Staff in your organisation", "choice", ["1-9", "10-49", "50-249", "250+"]),
    (
        B2G,
        "role",
        "How do you take part?",
        "choice",
        ["Home-care nurse", "Social worker", "Service manager", "Service user", "Relative of a service user"],
    ),
    (B2G, "receives_home_care", "Do you receive home care?", "boolean", []),
    (B2G, "walking_aid", "Do you use a walking aid?", "boolean", []),
    (B2G, "employees_supervised", "Number of employees you supervise", "number", []),
]

SCREENERS = {
    B2C: [
        (
            "Aged 70 and over, living at home",
            {
                "all": [
                    {"attribute": "age", "operator": "gte", "value": 70},
                    {"attribute": "custom:home", "operator": "not_in", "value": ["Care home"]},
                ]
            },
        ),
        (
            "Carers who use a smartphone or tablet",
            {
                "all": [
                    {"attribute": "custom:cares_for_relative", "operator": "is", "value": True},
                    {"attribute": "devices", "operator": "any_of", "value": ["smartphone", "tablet"]},
                    {
                        "any": [
                            {
                                "attribute": "digital_skills",
                                "operator": "in",
                                "value": ["everyday", "advanced"],
                            },
                            {"attribute": "age", "operator": "lte", "value": 60},
                        ]
                    },
                ]
            },
        ),
    ],
    B2B: [
        (
            "Managers in health and social care",
            {
                "all": [
                    {"attribute": "sector", "operator": "in", "value": ["Q"]},
                    {"attribute": "custom:employees_supervised", "operator": "gte", "value": 3},
                ]
            },
        ),
        (
            "Buying decision makers in organisations of 50 or more",
            {
                "all": [
                    {"attribute": "custom:buying_role", "operator": "in", "value": ["Decide", "Recommend"]},
                    {"attribute": "custom:company_size", "operator": "in", "value": ["50-249", "250+"]},
                ]
            },
        ),
    ],
    B2G: [
        (
            "Service users receiving home care",
            {
                "all": [
                    {"attribute": "custom:role", "operator": "in", "value": ["Service user"]},
                    {"attribute": "custom:receives_home_care", "operator": "is", "value": True},
                ]
            },
        ),
        (
            "Home-care staff",
            {
                "all": [
                    {
                        "attribute": "custom:role",
                        "operator": "in",
                        "value": ["Home-care nurse", "Social worker", "Service manager"],
                    },
                    {"attribute": "languages", "operator": "any_of", "value": ["fi", "sv"]},
                ]
            },
        ),
    ],
}


def seed_panels(
    *, orgs: dict[str, Organisation], coordinator: User, panelists: list[tuple[Person, str]], step
) -> None:
    """The three demo panels with their members, screeners and draws; ``panelists`` are the demo's adult
    panelists with the locale their names come from. Does nothing if the panels exist already."""
    if Panel.objects.filter(slug__in=SLUGS).exists():
        for _n in range(PANEL_STEPS):
            step("Panels")
        return
    DemoPanels(orgs, coordinator, panelists, step).build()


class DemoPanels:
    def __init__(self, orgs, coordinator, panelists, step):
        self.orgs = orgs
        # Fresh user objects: permission checks remember memberships per object.
        self.coordinator = User.objects.get(pk=coordinator.pk)
        self.panelists = panelists
        self.step = step
        self.rng = random.Random(SEED)
        self.fakers = {}
        for locale in REGIONS:
            self.fakers[locale] = Faker(locale)
            self.fakers[locale].seed_instance(SEED)
        self.today = timezone.localdate()
        self.purposes = {p.code: p for p in ConsentPurpose.objects.all()}
        self.profiles: dict[int, dict] = {}  # the demo panelists' profiles, by person
        self.saved: set[int] = set()  # ... and those saved already
        self.panels: dict[str, Panel] = {}
        self.scan = None

    def representative(self, slug: str) -> User:
        membership = (
            Membership.objects.active()
            .filter(organisation=self.orgs[slug], role=Role.GROUP_REPRESENTATIVE)
            .order_by("pk")
            .first()
        )
        return User.objects.get(pk=membership.user_id)

    def build(self):
        for slug in SLUGS:
            self.open_panel(PLANS[slug])
        self.step("Panels")
        self.seed_b2c()
        self.seed_b2b()
        self.seed_b2g()

    # ------------------------------------------------------------------------------- panels and forms

    def open_panel(self, plan: PanelPlan) -> Panel:
        document = ConsentDocument.objects.filter(title=plan.form_title).first()
        if document is None:
            document = core.save_reference_data(
                ConsentDocument(
                    title=plan.form_title, scope_kind=ScopedDocument.ScopeKind.CHANNEL, channel=plan.channel
                ),
                acting_user=self.coordinator,
            )
        if not document.versions.filter(status=VersionStatus.PUBLISHED).exists():
            draft = core.save_draft_version(
                ConsentDocumentVersion(document=document, text=form_text(plan.name, plan.who)),
                acting_user=self.coordinator,
            )
            draft.purposes.set([self.purposes[code] for code in plan.purposes])
            core.publish_version(draft, acting_user=self.coordinator)
        groups = {B2C: [self.orgs[SENIORS], self.orgs[PATIENTS]], B2G: [self.orgs[SENIORS]]}.get(
            plan.slug, []
        )
        panel = save_panel(
            Panel(
                owner=self.orgs[CLUSTER],
                channel=plan.channel,
                name=plan.name,
                slug=plan.slug,
                description=plan.description,
                consent_document=document,
                open_for_sign_up=plan.slug != B2G,
                **plan.rules,
            ),
            acting_user=self.coordinator,
            recruiting_groups=groups,
        )
        for slug, code, label, kind, options in ATTRIBUTES:
            if slug == plan.slug:
                enrolment.define_attribute(
                    panel, code=code, label=label, kind=kind, options=options, acting_user=self.coordinator
                )
        self.panels[plan.slug] = panel
        return panel

    def save_screeners(self, slug: str) -> list[Screener]:
        panel = self.panels[slug]
        return [
            save_screener(
                Screener(panel=panel, name=name, conditions=conditions), acting_user=self.coordinator
            )
            for name, conditions in SCREENERS[slug]
        ]

    # -------------------------------------------------------------------------------------- profiles

    def pick(self, table):
        values, weights = zip(*[(row[:-1], row[-1]) for row in table], strict=True)
        return self.rng.choices(values, weights)[0]

    def phone(self, locale: str) -> str:
        """A mobile number in the country's international format (invented)."""
        rng = self.rng
        if locale == "fr_FR":
            return "+33 6 " + " ".join(f"{rng.randint(0, 99):02d}" for _n in range(4))
        code = {"fi_FI": "358 40", "sv_SE": "46 70", "de_AT": "43 664"}[locale]
        return f"+{code} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"

    def profile_for(self, locale: str, age: int, **extra) -> dict:
        """A believable profile for someone of ``age`` whose name comes from ``locale``."""
        rng = self.rng
        region, postcodes = self.pick(REGIONS[locale])
        old = max(age - 55, 0) / 35  # 0 at 55, 1 at 90
        skills = rng.choices(
            ["none", "basic", "everyday", "advanced"],
            [2 + 30 * old, 10 + 25 * old, 55 - 35 * old, 30 - 20 * old],
        )[0]
        devices = [
            device
            for device, chance in (
                ("smartphone", 0.92 - 0.5 * old),
                ("tablet", 0.3),
                ("computer", 0.65 - 0.35 * old),
                ("smart_tv", 0.25),
                ("speaker", 0.12),
                ("wearable", 0.15 - 0.1 * old),
            )
            if rng.random() < chance
        ] or ["none"]
        needs = [
            need
            for need, chance in (
                ("vision", 0.03 + 0.2 * old),
                ("hearing", 0.03 + 0.25 * old),
                ("mobility", 0.02 + 0.3 * old),
                ("dexterity", 0.01 + 0.1 * old),
                ("cognitive", 0.01 + 0.08 * old),
            )
            if rng.random() < chance
        ]
        household = (
            "shared" if age >= 85 and rng.random() < 0.4 else rng.choice(["single", "family", "couple"])
        )
        if age >= 70 and household != "shared":
            household = rng.choice(["single", "single", "couple"])
        profile = {
            "year_of_birth": self.today.year - age,
            "region": region,
            "postcode_area": rng.choice(postcodes),
            "languages": [code for code, chance in LANGUAGES[locale] if rng.random() < chance],
            "household_type": household,
            "accessibility_needs": needs,
            "accessibility_notes": "Large print, please; I hear better in a quiet room."
            if "vision" in needs and "hearing" in needs
            else "",
            "digital_skills": skills,
            "devices": devices,
            "shared_attributes": ["age_band", "region", "languages"] if rng.random() < 0.5 else [],
        }
        if age >= 70:  # older people prefer a call to an e-mail
            profile["preferred_contact"] = "phone"
            profile["phone"] = self.phone(locale)
        profile.update(extra)
        return profile

    def panelist_profile(self, person: Person, locale: str) -> dict:
        if person.pk not in self.profiles:
            self.profiles[person.pk] = self.profile_for(locale, person.age_on(self.today))
        return self.profiles[person.pk]

    def pair_households(self):
        """Couples: neighbours in the list, from the same country, both adults living as a couple."""
        number = 0
        previous = None
        for person, locale in self.panelists:
            profile = self.panelist_profile(person, locale)
            if (
                previous is not None
                and previous[1] == locale
                and profile["household_type"] == "couple"
                and previous[2]["household_type"] == "couple"
                and not previous[2].get("household_key")
                and self.rng.random() < 0.6
            ):
                number += 1
                key = f"demo-household-{number}"
                previous[2]["household_key"] = profile["household_key"] = key
                for copied in ("region", "postcode_area"):
                    profile[copied] = previous[2][copied]
                previous = None
                continue
            previous = (person, locale, profile)

    def save_panelist_profile(self, person: Person, locale: str):
        profile = self.panelist_profile(person, locale)
        if person.pk not in self.saved:
            save_profile(person, profile, acting_user=person.user)
            self.saved.add(person.pk)

    def join(self, slug: str, person: Person, locale: str, answers: dict, *, source=None, detail="", by=None):
        """A demo panelist, who consented under the platform's panel form, joins a panel."""
        self.save_panelist_profile(person, locale)
        membership, _created = add_member(
            self.panels[slug],
            person,
            source=source or PanelMembership.Source.SELF,
            acting_user=by or person.user,
            confirmed=True,
            source_detail=detail,
        )
        enrolment.save_answers(membership, answers, acting_user=by or person.user)
        return membership

    def scan_file(self) -> SimpleUploadedFile:
        if self.scan is None:
            self.scan = HTML(
                string="<h1>Living-lab panel participation</h1><p>Signed on paper, scanned by the lab.</p>"
            ).write_pdf()
        return SimpleUploadedFile("consent-form.pdf", self.scan, content_type="application/pdf")

    def enrol(
        self, slug, locale, age, answers, *, by, group=None, route="witnessed", purposes=PURPOSES, **extra
    ):
        """Someone without a login, enrolled on their behalf by an interest group or by staff."""
        fake = self.fakers[locale]
        name = f"{fake.first_name()} {fake.last_name()}"
        contact = {"preferred_contact": "group"} if group else {}
        profile = self.profile_for(locale, age, **contact, **extra)
        if not group and profile.get("preferred_contact") != "phone":
            profile["preferred_contact"] = "phone"
            profile["phone"] = self.phone(locale)
        explicit = [self.purposes[c] for c in purposes if self.purposes[c].special_category]
        membership, _created = enrolment.enrol_participant(
            self.panels[slug],
            full_name=name,
            profile=profile,
            answers=answers,
            consent_route=route,
            purposes=[self.purposes[c] for c in purposes],
            explicit_purposes=explicit,
            scan=self.scan_file() if route == "paper" else None,
            witness_name="" if route == "paper" else f"{fake.first_name()} {fake.last_name()}",
            recruited_by=self.orgs[group] if group else None,
            submission_key=f"demo-{slug}-{name}",
            acting_user=by,
        )
        return membership

    def import_list(self, slug: str, name: str, rows: list[list[str]]) -> list[PanelMembership]:
        """A member list uploaded as CSV, mapped and imported as staff do it; the people stay pending."""
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["Name", "First name", "Year of birth", "Region", "Phone", "Languages", "Reference"])
        writer.writerows(rows)
        upload = SimpleUploadedFile(name, text.getvalue().encode(), content_type="text/csv")
        panel = self.panels[slug]
        uploaded = imports.upload_import(panel, upload, acting_user=self.coordinator)
        mapped = imports.map_import(uploaded, uploaded.mapping["targets"], acting_user=self.coordinator)
        imports.run_import(mapped.pk)  # what the background task runs (it finds the work done)
        return list(panel.memberships.filter(source=PanelMembership.Source.IMPORT).order_by("pk"))

    def import_rows(
        self, locale: str, count: int, youngest: int, oldest: int, prefix: str
    ) -> list[list[str]]:
        fake = self.fakers[locale]
        rows = []
        for number in range(1, count + 1):
            region, _postcodes = self.pick(REGIONS[locale])
            languages = ";".join(code for code, chance in LANGUAGES[locale][:2] if self.rng.random() < chance)
            rows.append(
                [
                    fake.last_name(),
                    fake.first_name(),
                    str(self.today.year - self.rng.randint(youngest, oldest)),
                    region,
                    self.phone(locale),
                    languages,
                    f"{prefix}-{number:03d}",
                ]
            )
        return rows

    def change(self, membership, status, *, by, reason=""):
        return change_membership_status(membership, status, acting_user=by, reason=reason)

    # ------------------------------------------------------------------------------------------ B2C

    def b2c_answers(self, age: int, household: str) -> dict:
        rng = self.rng
        answers = {
            "cares_for_relative": rng.random() < (0.35 if 40 <= age <= 75 else 0.1),
            "walking_aid": rng.random() < max(0.02, (age - 60) / 40),
            "home": "Care home" if household == "shared" else rng.choice(["Flat", "House", "House"]),
        }
        if age >= 70:
            help_at_home = [
                h
                for h, chance in (("Home care", 0.4), ("Meals delivered", 0.25), ("Alarm service", 0.3))
                if rng.random() < chance
            ]
            if help_at_home:
                answers["help_at_home"] = help_at_home
        if age < 50 and rng.random() < 0.5:
            answers.pop("cares_for_relative")  # an unanswered question
        return answers

    def seed_b2c(self):
        # The participant login lives in Lannion with her child, who is on the panel too.
        first, _locale = self.panelists[0]
        family = {"household_type": "family", "household_key": "demo-household-lannion"}
        self.panelist_profile(first, "fr_FR").update(family)
        self.pair_households()
        members = []
        for index, (person, locale) in enumerate(self.panelists):
            profile = self.panelist_profile(person, locale)
            age = person.age_on(self.today)
            source, detail, by = PanelMembership.Source.SELF, "", None
            if index % 9 == 4:  # signed up at a stand; staff recorded it
                source, by = PanelMembership.Source.EVENT, self.coordinator
                detail = self.rng.choice(
                    ["Fête de la science, Lannion", "Senior fair, Rennes", "Open day at the living lab"]
                )
            answers = self.b2c_answers(age, profile["household_type"])
            membership = self.join(B2C, person, locale, answers, source=source, detail=detail, by=by)
            members.append(membership)
        # The participant login's child, joined by her: she consented for the child already.
        for child in Person.objects.filter(guardianships__guardian=first).order_by("pk"):
            save_profile(
                child,
                {
                    "year_of_birth": child.birth_date.year,
                    "region": self.profiles[first.pk]["region"],
                    "postcode_area": self.profiles[first.pk]["postcode_area"],
                    "languages": ["fr", "br"],
                    **family,
                    "digital_skills": "everyday",
                    "devices": ["tablet"],
                    "shared_attributes": ["age_band"],
                },
                acting_user=first.user,
            )
            add_member(
                self.panels[B2C],
                child,
                source=PanelMembership.Source.SELF,
                acting_user=first.user,
                confirmed=True,
            )
        self.step("Panels")

        # Enrolled on their behalf: by the patients' association and the seniors' club, and by staff.
        patients, seniors = self.representative(PATIENTS), self.representative(SENIORS)
        for _n in range(8):
            age = self.rng.randint(58, 88)
            self.enrol(
                B2C,
                "fr_FR",
                age,
                self.b2c_answers(age, "single") | {"cares_for_relative": True},
                by=patients,
                group=PATIENTS,
            )
        for _n in range(6):
            age = self.rng.randint(70, 92)
            self.enrol(B2C, "fi_FI", age, self.b2c_answers(age, "single"), by=seniors, group=SENIORS)
        for n in range(4):
            age = self.rng.randint(66, 86)
            self.enrol(
                B2C,
                "fr_FR",
                age,
                self.b2c_answers(age, "single"),
                by=self.coordinator,
                route="paper" if n < 2 else "witnessed",
            )
        # A sign-up sheet from a digital café, typed in and imported: pending until they confirm.
        imported = self.import_list(
            B2C, "digital-cafe-lannion.csv", self.import_rows("fr_FR", 6, 62, 84, "CAFE")
        )
        for membership in imported[:2]:
            enrolment.record_paper_consent(
                membership,
                route="witnessed",
                purposes=[self.purposes[c] for c in PURPOSES],
                witness_name="Anne Le Roux, living-lab assistant",
                acting_user=self.coordinator,
            )
        self.step("Panels")

        # Statuses: paused and left by the participants themselves, protected by staff.
        for membership in members[10:14]:
            self.change(membership, PanelMembership.Status.PAUSED, by=membership.person.user)
        for membership in members[20:22]:
            self.change(membership, PanelMembership.Status.OPTED_OUT, by=membership.person.user)
        self.change(
            members[30],
            PanelMembership.Status.DO_NOT_CONTACT,
            by=self.coordinator,
            reason="Asked on the phone not to be contacted this year (family reasons).",
        )
        self.change(
            members[40],
            PanelMembership.Status.BLOCKED,
            by=self.coordinator,
            reason="Shared confidential prototype photos on social media after a session.",
        )
        screeners = self.save_screeners(B2C)
        self.step("Panels")

        # A past study: drawn, invited, answered, taken part in; the participants now rest (cooldown).
        spec = draws.Spec(
            conditions=screeners[0].conditions,
            strata=["age_band"],
            quotas=[
                {"cell": {"age_band": "65-74"}, "min": 1, "max": 4},
                {"cell": {"age_band": "75+"}, "min": 2, "max": 5},
            ],
            size=7,
            purposes=[self.purposes["participation"]],
            one_per_household=True,
        )
        draw = draws.draw_sample(
            self.panels[B2C],
            spec,
            title="Fall-detection sensor: two weeks at home",
            involves="A small sensor on the living-room wall for two weeks, a visit to install it, and a "
            "one-hour conversation at home at the end. You receive a 30 EUR voucher.",
            requested_by=self.orgs[SENSOR_FIRM],
            screener=screeners[0],
            seed=SEED,
            acting_user=self.coordinator,
        )
        sent = invitations.send_invitations(draw, acting_user=self.coordinator)
        answers = [True, True, True, True, False, True, None]
        for invitation, answer in zip(sent, answers, strict=False):
            if answer is None:
                continue
            invitations.answer_invitation(
                invitation, answer, share_identity=answer and self.rng.random() < 0.5, acting_user=None
            )
        accepted = [i for i in sent if Invitation.objects.get(pk=i.pk).status == Invitation.Status.ACCEPTED]
        for number, invitation in enumerate(accepted):
            invitations.record_participation(
                invitation,
                "no_show" if number == len(accepted) - 1 else "took_part",
                occurred_at=timezone.now() - timezone.timedelta(hours=2),
                acting_user=self.coordinator,
            )
        # Staff let the next draw consider one of them again: the only participant with a stairlift.
        draws.grant_override(
            accepted[0].selection.membership,
            reason="Only panel member with a stairlift, which the next study is about.",
            acting_user=self.coordinator,
        )
        self.step("Panels")

    # ------------------------------------------------------------------------------------------ B2B

    def b2b_answers(self, size: str, occupation: str) -> dict:
        manager = any(w in occupation.lower() for w in ("manager", "director", "head"))
        return {
            "employees_supervised": self.rng.randint(3, 40) if manager else self.rng.randint(0, 2),
            "buying_role": "Decide"
            if "director" in occupation.lower()
            else self.rng.choice(["Recommend", "Recommend", "Use only"]),
            "company_size": size,
        }

    def seed_b2b(self):
        working = [(p, loc) for p, loc in self.panelists[1:] if 28 <= p.age_on(self.today) <= 62]
        members = []
        for index, (person, locale) in enumerate(working[:40]):
            occupation, sector, employer, size = PROFESSIONS[index % len(PROFESSIONS)]
            profile = self.panelist_profile(person, locale)
            profile.update(occupation=occupation, sector=sector, employer=employer)
            if person.pk in self.saved:
                save_profile(
                    person,
                    {"occupation": occupation, "sector": sector, "employer": employer},
                    acting_user=person.user,
                )
            members.append(self.join(B2B, person, locale, self.b2b_answers(size, occupation)))
        self.step("Panels")
        # Met at a trade fair, enrolled there by staff (signed forms), and a few more by telephone.
        for index in range(10):
            occupation, sector, employer, size = PROFESSIONS[(index * 7 + 3) % len(PROFESSIONS)]
            self.enrol(
                B2B,
                "fr_FR",
                self.rng.randint(30, 60),
                self.b2b_answers(size, occupation),
                by=self.coordinator,
                route="paper" if index < 2 else "witnessed",
                occupation=occupation,
                sector=sector,
                employer=employer,
                purposes=(*PURPOSES, "recording"),
            )
        self.event_members(B2B, "Silver Economy Expo, Rennes", 6)
        self.step("Panels")
        for membership in members[5:7]:
            self.change(membership, PanelMembership.Status.PAUSED, by=membership.person.user)
        self.change(members[12], PanelMembership.Status.OPTED_OUT, by=members[12].person.user)
        screeners = self.save_screeners(B2B)
        self.step("Panels")
        spec = draws.Spec(
            conditions=screeners[1].conditions,
            strata=[],
            quotas=[],
            size=5,
            purposes=[self.purposes["participation"]],
        )
        draws.draw_sample(
            self.panels[B2B],
            spec,
            title="Remote-maintenance dashboard: interviews",
            involves="A 45-minute video interview about how your organisation follows up its equipment, and "
            "a look at a dashboard prototype. No preparation needed.",
            requested_by=self.orgs[TELECOM],
            screener=screeners[1],
            seed=SEED + 1,
            acting_user=self.coordinator,
        )
        self.step("Panels")

    def event_members(self, slug: str, event: str, count: int):
        """People who signed the paper form at a stand: recorded by staff, source "event"."""
        fake = self.fakers["fr_FR"]
        version = enrolment.current_consent_version(self.panels[slug])
        for index in range(count):
            age = self.rng.randint(30, 60)
            occupation, sector, employer, size = PROFESSIONS[(index * 5 + 1) % len(PROFESSIONS)]
            born = date(self.today.year - age, self.rng.randint(1, 12), self.rng.randint(1, 28))
            person = core.enrol_person(
                full_name=f"{fake.first_name()} {fake.last_name()}",
                birth_date=born,
                acting_user=self.coordinator,
            )
            save_profile(
                person,
                self.profile_for(
                    "fr_FR",
                    age,
                    occupation=occupation,
                    sector=sector,
                    employer=employer,
                    contact_email=f"{fake.user_name()}.{index}@lead-users.example",
                    preferred_contact="email",
                ),
                acting_user=self.coordinator,
            )
            core.give_consent(
                person,
                version,
                [self.purposes[c] for c in PURPOSES],
                method=ConsentRecord.Method.PAPER,
                acting_user=self.coordinator,
                evidence={"form": "signed paper form", "event": event},
                send_receipt=False,
            )
            membership, _created = add_member(
                self.panels[slug],
                person,
                source=PanelMembership.Source.EVENT,
                acting_user=self.coordinator,
                confirmed=True,
                source_detail=event,
            )
            enrolment.save_answers(
                membership, self.b2b_answers(size, occupation), acting_user=self.coordinator
            )

    # ------------------------------------------------------------------------------------------ B2G

    def seed_b2g(self):
        employer = self.orgs[AUTHORITY].name
        staff = []
        for occupation, count in CITY_STAFF:
            for _n in range(count):
                staff.append(
                    self.enrol(
                        B2G,
                        "fi_FI",
                        self.rng.randint(26, 62),
                        {
                            "role": occupation,
                            "receives_home_care": False,
                            "employees_supervised": self.rng.randint(4, 25)
                            if occupation == "Service manager"
                            else 0,
                        },
                        by=self.coordinator,
                        occupation=occupation,
                        sector="Q",
                        employer=employer,
                        region="Uusimaa",
                    )
                )
        # Finnish panelists: residents, relatives of service users, some service users themselves.
        for person, locale in self.panelists:
            if locale != "fi_FI":
                continue
            age = person.age_on(self.today)
            role = "Service user" if age >= 70 else "Relative of a service user"
            self.join(
                B2G,
                person,
                locale,
                {
                    "role": role,
                    "receives_home_care": role == "Service user" and self.rng.random() < 0.6,
                    "walking_aid": age >= 75 and self.rng.random() < 0.5,
                },
            )
        self.step("Panels")
        seniors = self.representative(SENIORS)
        purposes = ("participation", "profile-data", "health-data")
        for _n in range(10):
            age = self.rng.randint(72, 94)
            self.enrol(
                B2G,
                "fi_FI",
                age,
                {"role": "Service user", "receives_home_care": True, "walking_aid": self.rng.random() < 0.6},
                by=seniors,
                group=SENIORS,
                purposes=purposes,
                region="Uusimaa",
            )
        # The home-care client list: pending until a nurse records their consent at the next visit.
        imported = self.import_list(
            B2G, "kotihoito-asiakkaat.csv", self.import_rows("fi_FI", 10, 70, 93, "KH")
        )
        for membership in imported[:5]:
            enrolment.save_answers(
                membership, {"role": "Service user", "receives_home_care": True}, acting_user=self.coordinator
            )
            enrolment.record_paper_consent(
                membership,
                route="witnessed",
                purposes=[self.purposes[c] for c in purposes],
                explicit_purposes=[self.purposes["health-data"]],
                witness_name="Laura Nieminen, home-care nurse",
                acting_user=self.coordinator,
            )
        self.step("Panels")
        self.change(staff[2], PanelMembership.Status.PAUSED, by=self.coordinator, reason="On parental leave.")
        self.change(
            staff[5],
            PanelMembership.Status.DO_NOT_CONTACT,
            by=self.coordinator,
            reason="Moved to another municipality's services.",
        )
        screeners = self.save_screeners(B2G)
        self.step("Panels")

        # A study whose invitations are out: some answered, some opened, the rest still to answer.
        spec = draws.Spec(
            conditions=screeners[0].conditions,
            strata=[],
            quotas=[],
            size=8,
            purposes=[self.purposes["participation"], self.purposes["health-data"]],
            one_per_household=True,
        )
        draw = draws.draw_sample(
            self.panels[B2G],
            spec,
            title="Medication reminder robot: a month at home",
            involves="A small robot on the kitchen table reminds you of your medicines for a month; your "
            "home-care nurse sets it up. Two short interviews at home. Nothing to pay.",
            requested_by=self.orgs[AUTHORITY],
            screener=screeners[0],
            seed=SEED + 2,
            acting_user=self.coordinator,
        )
        sent = invitations.send_invitations(draw, acting_user=self.coordinator)
        for invitation, answer in zip(
            sent, ["accept", "decline", "open", "accept", "accept", "decline"], strict=False
        ):
            if answer == "open":
                invitations.open_invitation(invitation, acting_user=None)
            else:
                invitations.answer_invitation(invitation, answer == "accept", acting_user=None)
        self.step("Panels")
