"""Build a believable demo world: a media & networks cluster running a living lab in western France, its
member firms (two of them linked as one undertaking), a technical university, a regional funding agency, a
Finnish city's social services, a patients' association and a seniors' club, a panel of more than two
hundred participants (some of them children whose parents consent), published ground rules and consent
forms, and the public pages of the site.

Every state change goes through ``livinglab.services`` so that the audit trail tells the same story as the
data. Each part is looked up by its natural key first, so running the command again adds nothing.

Multi-factor authentication: the privileged demo logins (coordinator, manager, procurer, evaluator, funder,
admin) are deliberately left without an authenticator. On their first sign-in the platform asks them to set
one up before it opens their workspace or the admin, which is the journey a real staff member walks.
"""

import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from faker import Faker
from tqdm import tqdm

from cms.models import CampaignCallPage, HomePage, StandardPage
from livinglab import services
from livinglab.b2b.demo import login_rows as b2b_login_rows
from livinglab.b2b.demo import seed_b2b, seed_b2b_pages
from livinglab.factories import DEMO_PASSWORD, UserFactory
from livinglab.models import (
    Channel,
    ConsentDocument,
    ConsentDocumentVersion,
    ConsentPurpose,
    ConsentRecord,
    EnterpriseGroup,
    GroundRules,
    GroundRulesVersion,
    Guardianship,
    Membership,
    Organisation,
    Person,
    Role,
    ScopedDocument,
    User,
)
from pilots.demo import PANEL_STEPS, seed_panels
from pilots.demo_campaigns import seed_campaigns
from procurement.demo import seed_notice_pages, seed_procurement
from vouchers.demo import PROGRAMMES as VOUCHER_PROGRAMMES
from vouchers.demo import seed_voucher_programmes

SEED = 2009
DEMO_DOMAIN = "demo.livinglab.eu"
PANEL_DOMAIN = f"panel.{DEMO_DOMAIN}"
STAFF_DOMAIN = f"staff.{DEMO_DOMAIN}"
ADULT_PANELISTS = 210
EDITORS_GROUP = "Editors"  # created by Wagtail's migrations

Kind = Organisation.Kind
Size = Organisation.Size

# ------------------------------------------------------------------------------------------ reference data

ENTERPRISE_GROUP = "Groupe Kerveil"

# slug, name, kind, country, region, sector, size, linked to ENTERPRISE_GROUP, website
# fmt: off
ORGANISATIONS = [
    ("armor-medias-reseaux", "Armor Médias & Réseaux", Kind.CLUSTER, "FR", "Bretagne",
     "Digital media and networks", Size.SMALL, False, "https://armor-medias.example"),
    ("kerveil-capteurs", "Kerveil Capteurs", Kind.SME, "FR", "Bretagne",
     "Home-care sensors", Size.SMALL, True, "https://kerveil.example"),
    ("kerveil-mobile", "Kerveil Mobile", Kind.SME, "FR", "Bretagne",
     "Mobile services for carers", Size.MICRO, True, "https://mobile.kerveil.example"),
    ("loire-renov-energie", "Loire Rénov' Énergie", Kind.SME, "FR", "Pays de la Loire",
     "Energy-efficient renovation", Size.SMALL, False, "https://loire-renov.example"),
    ("atelier-lumen", "Atelier Lumen Design", Kind.SME, "AT", "Oberösterreich",
     "Service and interaction design", Size.MICRO, False, "https://lumen-design.example"),
    ("oresund-mobile-labs", "Öresund Mobile Labs AB", Kind.SME, "SE", "Skåne",
     "Mobile applications", Size.MEDIUM, False, "https://oresund-mobile.example"),
    ("oceane-telecom", "Océane Télécom", Kind.LARGE_ENTERPRISE, "FR", "Pays de la Loire",
     "Broadband and mobile networks", Size.LARGE, False, "https://oceane-telecom.example"),
    ("universite-technologie-atlantique", "Université de technologie Atlantique", Kind.RESEARCH, "FR",
     "Bretagne", "Engineering research and education", Size.LARGE, False, "https://uta.example"),
    ("agence-innovation-bretagne-loire", "Agence régionale d'innovation Bretagne-Loire", Kind.FUNDING_AGENCY,
     "FR", "Bretagne", "Regional innovation funding", Size.MEDIUM, False, "https://innovation-bl.example"),
    ("kuusiniemi-social-services", "City of Kuusiniemi Social and Health Services", Kind.PUBLIC_AUTHORITY,
     "FI", "Uusimaa", "Home care and welfare services", Size.LARGE, False, "https://kuusiniemi.example"),
    ("ouest-patients-aidants", "Ouest Patients & Aidants", Kind.INTEREST_GROUP, "FR", "Bretagne",
     "Patients with chronic conditions and their carers", Size.MICRO, False, "https://ouest-patients.example"),
    ("kuusiniemi-seniors-club", "Kuusiniemi Seniors' Club", Kind.INTEREST_GROUP, "FI", "Uusimaa",
     "Senior citizens", Size.MICRO, False, ""),
]
# fmt: on
CLUSTER, SME_ADMIN_FIRM = "armor-medias-reseaux", "kerveil-capteurs"
AUTHORITY, AGENCY = "kuusiniemi-social-services", "agence-innovation-bretagne-loire"
PATIENTS, SENIORS = "ouest-patients-aidants", "kuusiniemi-seniors-club"


@dataclass(frozen=True)
class Login:
    key: str  # the local part of the e-mail address, also how the rest of this command refers to the login
    first_name: str
    last_name: str
    label: str  # what the login is for, shown in the table
    organisation: str = ""
    role: str = ""
    editor: bool = False
    superuser: bool = False
    panelist: bool = False  # registered with the panel, birth date and all

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"


# One login per role: these are the ones printed at the end and documented in the README.
# fmt: off
LOGINS = [
    Login("admin", "Ada", "Admin", gettext_lazy("Platform administrator (superuser)"),
          superuser=True, editor=True),
    Login("coordinator", "Maëlle", "Le Goff", gettext_lazy("Living-lab coordinator, Armor Médias & Réseaux"),
          CLUSTER, Role.LAB_COORDINATOR, editor=True),
    Login("manager", "Yann", "Kerbrat", gettext_lazy("Cluster manager, Armor Médias & Réseaux"),
          CLUSTER, Role.CLUSTER_MANAGER, editor=True),
    Login("sme", "Soizic", "Tanguy", gettext_lazy("Firm administrator, Kerveil Capteurs (SME)"),
          SME_ADMIN_FIRM, Role.FIRM_ADMIN),
    Login("procurer", "Aino", "Virtanen", gettext_lazy("Procurer, City of Kuusiniemi"),
          AUTHORITY, Role.PROCURER),
    Login("evaluator", "Mikko", "Lehtonen", gettext_lazy("Evaluator, City of Kuusiniemi"),
          AUTHORITY, Role.EVALUATOR),
    Login("funder", "Hervé", "Guillou", gettext_lazy("Funding officer, regional innovation agency"),
          AGENCY, Role.FUNDING_OFFICER),
    Login("group", "Nathalie", "Morvan", gettext_lazy("Representative, Ouest Patients & Aidants"),
          PATIENTS, Role.GROUP_REPRESENTATIVE),
    Login("participant", "Gwenaëlle", "Le Floch",
          gettext_lazy("Panel participant and parent of a panel child"), panelist=True),
]

# Further staff so that every organisation has people in it; same password, not listed in the table.
STAFF = [
    ("Erwan", "Le Bihan", "kerveil-capteurs", Role.FIRM_MEMBER),
    ("Léa", "Caradec", "kerveil-mobile", Role.FIRM_ADMIN),
    ("Thomas", "Guérin", "loire-renov-energie", Role.FIRM_ADMIN),
    ("Katharina", "Huber", "atelier-lumen", Role.FIRM_ADMIN),
    ("Johan", "Lindqvist", "oresund-mobile-labs", Role.FIRM_ADMIN),
    ("Claire", "Besnard", "oceane-telecom", Role.FIRM_ADMIN),
    ("Pierre-Yves", "Quéré", "universite-technologie-atlantique", Role.RESEARCHER),
    ("Sanna", "Korhonen", AUTHORITY, Role.COMPLIANCE),
    ("Pirjo", "Mäkinen", SENIORS, Role.GROUP_REPRESENTATIVE),
]
# fmt: on
SENIORS_REPRESENTATIVE = f"pirjo.makinen@{STAFF_DOMAIN}"

# code, name, plain-language description, special category (GDPR Art. 9)
# fmt: off
PURPOSES = [
    ("participation", "Taking part in living-lab activities",
     "We keep your name and contact details so that we can invite you to workshops, tests and surveys you "
     "chose, and record that you took part.", False),
    ("profile-data", "Keeping a panel profile",
     "We keep the profile you fill in (age band, region, language, household, devices, accessibility "
     "needs) to invite you only to activities that fit you.", False),
    ("recording", "Audio and video recording",
     "Some sessions are recorded so that the firm can review what worked and what did not. Recordings "
     "stay on the platform and are deleted when the study ends.", False),
    ("health-data", "Information about your health",
     "Some home-care and welfare studies need to know about a condition or a care need. We only ask for "
     "it when a study needs it, and only with this separate, explicit permission.", True),
    ("future-contact", "Being contacted about future studies",
     "We may write to you about new studies that fit your profile, no more than the contact limits of the "
     "panel allow. You can stop this at any time.", False),
    ("publish-quotes", "Publishing what you said, without your name",
     "Firms may quote your words in reports and presentations. We never publish your name or anything "
     "that could identify you.", False),
]
# fmt: on
ADULT_PURPOSES = ("participation", "profile-data", "future-contact")
CHILD_PURPOSES = ("participation", "profile-data")


def unwrap(text: str) -> str:
    """Join the source's hard-wrapped lines back into paragraphs and list items (the texts are kept
    readable in this file; people read them on screens and in PDFs of any width)."""
    lines: list[str] = []
    for line in text.splitlines():
        if lines and lines[-1] and line and (line[0].isspace() or line[0].islower()):
            lines[-1] = f"{lines[-1]} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


PANEL_FORM = "Living-lab panel participation"
PANEL_FORM_TEXT = """\
Armor Living Lab invites people of every age and background to help firms and public services design things
that work for them. Taking part is voluntary. Saying no, or stopping later, has no consequence for you.

Below you choose what you allow us to do. Each choice is separate: you may agree to some and not to others.
Health information is only collected with a separate, explicit permission.

You can see, download or withdraw each permission at any time from your consent page. Withdrawing is as easy
as giving: from that moment we stop using your data for that purpose, and the studies that relied on it are
told to stop too.

For children under the age of digital consent, a parent or legal guardian gives and withdraws permission.

Questions: write to the living-lab coordinator, or ask at any session.
"""

PLATFORM_CODE = "Platform code of conduct"
PLATFORM_CODE_V1 = """\
Everyone who uses the platform — firms, public bodies, funders, researchers, interest groups and the cluster
staff — agrees to these rules before contacting anyone through it.

1. No gifts or favours. Do not offer or accept gifts, hospitality or favours from anyone whose decision could
   affect you.
2. Equal information. Information about a call, a programme or a campaign is given to all interested parties
   at the same time; questions and their answers are published to everyone.
3. Quiet periods. While bids or applications are being evaluated, bidders and evaluators do not contact each
   other directly; all questions go through the cluster staff.
4. Conflicts of interest. Declare any personal or financial link with a party before taking part in a
   decision; whoever declares a conflict steps aside from that decision.
5. Interaction register. Every meeting between a firm and a public authority is recorded in the register:
   date, who was there, and what was discussed.
"""
PLATFORM_CODE_V2 = (
    PLATFORM_CODE_V1
    + """\
6. Respect for participants. Treat panel participants as partners, not test subjects: tell them honestly
   what they can and cannot expect from a study, and never contact them outside the platform's limits.
"""
)

B2G_RULES = "Business-to-public-services contact rules"
B2G_RULES_V1 = """\
These rules apply to every contact between firms and public authorities about a societal challenge,
a market consultation or a pre-commercial procurement call.

1. Open market consultation. Consultations are announced publicly; every firm may take part, and a summary
   of what was said is published.
2. Same answers for everyone. Questions about a call are answered in writing to all bidders at once.
3. Quiet period. From the publication of a call until the award of each phase, bidders do not contact the
   evaluators; the cluster organisation forwards questions and answers.
4. Declared interests. Evaluators declare conflicts of interest before reading any bid, and step aside from
   bids where they have one.
5. Fair sharing of risks and benefits. Suppliers keep the rights to what they develop; the authority gets
   free use and a licence on fair terms, and the price reflects that.
6. Every meeting is in the register.
"""


# ------------------------------------------------------------------------------------------------- the plan

LOCALES = ["fr_FR", "sv_SE", "fi_FI", "de_AT"]
LOCALE_WEIGHTS = [55, 15, 18, 12]
# (youngest, oldest, weight): young people, working age, retired, very old.
AGE_BANDS = [(16, 24, 14), (25, 44, 30), (45, 64, 28), (65, 79, 20), (80, 92, 8)]
MINORS = 15


@dataclass
class Panelist:
    number: int
    locale: str
    first_name: str
    last_name: str
    birth_date: date
    purposes: list[str]
    method: str = ConsentRecord.Method.ONLINE
    recorded_by: str = ""  # e-mail of the representative who recorded a paper form
    email: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        return Person(birth_date=self.birth_date).age_on(day)


@dataclass
class Minor:
    first_name: str
    last_name: str
    birth_date: date
    guardian: int  # panelist number
    relationship: str
    purposes: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Withdrawal:
    panelist: int
    purpose: str
    channel: str
    ward: bool = False  # the guardian withdraws for their child


@dataclass
class Plan:
    panelists: list[Panelist]
    minors: list[Minor]
    withdrawals: list[Withdrawal]


def born(today: date, age: int, days_since_birthday: int) -> date:
    """A birth date that makes somebody ``age`` today, their birthday ``days_since_birthday`` days ago."""
    try:
        birthday = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - age, day=28)
    return birthday - timedelta(days=days_since_birthday)


def make_plan(today: date) -> Plan:
    """The demo population, drawn from a fixed seed: the same people every time."""
    rng = random.Random(SEED)
    fakers = {}
    for locale in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(SEED)

    panelists = []
    for number in range(1, ADULT_PANELISTS + 1):
        locale = rng.choices(LOCALES, LOCALE_WEIGHTS)[0]
        fake = fakers[locale]
        female = rng.random() < 0.52
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        youngest, oldest, _weight = rng.choices(AGE_BANDS, [b[2] for b in AGE_BANDS])[0]
        age = rng.randint(youngest, oldest)
        purposes = list(ADULT_PURPOSES)
        if rng.random() < 0.6:
            purposes.append("recording")
        if (age >= 55 and rng.random() < 0.45) or rng.random() < 0.1:
            purposes.append("health-data")
        if rng.random() < 0.35:
            purposes.append("publish-quotes")
        panelist = Panelist(number, locale, first, last, born(today, age, rng.randint(0, 364)), purposes)
        # Older people are often recruited through their association, on a signed paper form.
        if age >= 65 and rng.random() < 0.35:
            panelist.method = ConsentRecord.Method.PAPER
            panelist.recorded_by = SENIORS_REPRESENTATIVE if locale == "fi_FI" else f"group@{DEMO_DOMAIN}"
        panelist.email = f"{slugify(first)}.{slugify(last)}.{number:03d}@{PANEL_DOMAIN}"
        panelists.append(panelist)

    # Panelist 1 is the documented participant login: a parent in Lannion with one child on the panel.
    participant = next(login for login in LOGINS if login.key == "participant")
    first = panelists[0]
    first.locale, first.first_name, first.last_name = "fr_FR", participant.first_name, participant.last_name
    first.birth_date = born(today, 41, 120)
    first.purposes = [*ADULT_PURPOSES, "recording", "publish-quotes"]
    first.method, first.recorded_by, first.email = ConsentRecord.Method.ONLINE, "", participant.email

    parents = [p for p in panelists[1:] if 28 <= p.age_on(today) <= 55 and p.method == "online"]
    guardians = [panelists[0], *rng.sample(parents, MINORS - 2)]
    guardians.append(guardians[-1])  # one family has two children on the panel
    minors = []
    for index, guardian in enumerate(guardians):
        fake = fakers[guardian.locale]
        first_name = fake.first_name_female() if rng.random() < 0.5 else fake.first_name_male()
        # Below the age of digital consent, whatever the member state sets it to (13 to 16).
        age = min(10 if index == 0 else rng.randint(8, 15), settings.AGE_OF_DIGITAL_CONSENT - 1)
        relationship = (
            Guardianship.Relationship.LEGAL_GUARDIAN if index == 7 else Guardianship.Relationship.PARENT
        )
        purposes = list(CHILD_PURPOSES)
        if index == 0 or rng.random() < 0.5:
            purposes.append("recording")
        # Birthdays 30 to 330 days ago: no child turns a year older in the month after the demo is built.
        minors.append(
            Minor(
                first_name,
                guardian.last_name,
                born(today, age, rng.randint(30, 330)),
                guardian.number,
                relationship,
                purposes,
            )
        )

    online_recorders = [p for p in panelists[1:] if "recording" in p.purposes and p.method == "online"]
    quoters = [p for p in panelists[1:] if "publish-quotes" in p.purposes]
    withdrawals = [
        *(
            Withdrawal(p.number, "recording", ConsentRecord.WithdrawalChannel.ONLINE)
            for p in rng.sample(online_recorders, 3)
        ),
        Withdrawal(
            rng.choice(panelists[1:]).number, "future-contact", ConsentRecord.WithdrawalChannel.ONLINE
        ),
        Withdrawal(rng.choice(quoters).number, "publish-quotes", ConsentRecord.WithdrawalChannel.STAFF),
        Withdrawal(panelists[0].number, "recording", ConsentRecord.WithdrawalChannel.GUARDIAN, ward=True),
    ]
    return Plan(panelists, minors, withdrawals)


# ------------------------------------------------------------------------------------------------ CMS pages


def rich(*paragraphs: str) -> dict:
    return {"type": "paragraph", "value": "".join(f"<p>{p}</p>" for p in paragraphs)}


def heading(text: str, level: str = "h2") -> dict:
    return {"type": "heading", "value": {"text": text, "level": level}}


def quote(text: str, attribution: str) -> dict:
    return {"type": "quote", "value": {"quote": text, "attribution": attribution}}


def call_to_action(title: str, text: str, link_text: str, *, page=None, url: str = "") -> dict:
    return {
        "type": "call_to_action",
        "value": {
            "heading": title,
            "text": text,
            "page": page.pk if page else None,
            "url": url,
            "link_text": link_text,
        },
    }


STANDARD_PAGES = [
    {
        "slug": "how-it-works",
        "title": "How our living lab works",
        "introduction": "Firms and public services bring an idea; people who will live with the result help "
        "shape it and test it where it will be used — at home, at work, on the move.",
        "body": lambda pages: [
            heading("From an idea to a test in real life"),
            rich(
                "Armor Living Lab is run by Armor Médias & Réseaux, the cluster organisation of digital "
                "media and network firms in Brittany and Pays de la Loire. We act as a neutral broker: "
                "we do not sell the products we help test, and we apply the same rules to every firm.",
                "A study usually goes through four steps: <b>co-creation</b> (people and designers sketch "
                "ideas together), <b>exploration</b> (we learn how people live and work today), "
                "<b>experimentation</b> (a prototype is used in real settings) and <b>evaluation</b> "
                "(we measure what changed and report it back).",
            ),
            heading("Our panel"),
            rich(
                "The panel brings together people from city centres, small towns, the countryside and the "
                "islands, from schoolchildren to people in their nineties. When a firm asks for testers we "
                "draw them at random among those who fit, so that no voice dominates.",
                "We protect the panel from over-use: nobody is contacted more often than the agreed limit, "
                "and anybody can pause or leave at any time.",
            ),
            heading("What you can expect"),
            rich(
                "Every study tells you in advance what it is for, how long it takes, what is recorded and "
                "what you get in return. A study involving health, children or vulnerable people is reviewed "
                "by the living-lab team before anyone is invited."
            ),
            quote(
                "They did not just ask us what we thought of the screen — they came to my kitchen to see "
                "how I actually use it.",
                "A panel member, 78, Morlaix",
            ),
            call_to_action(
                "Your data, your choice",
                "Read how we handle what you share with us.",
                "Your data and your rights",
                page=pages.get("your-data"),
            ),
        ],
    },
    {
        "slug": "for-firms",
        "title": "For firms",
        "introduction": "Test your product or service with the people who will use it, with methods and "
        "rules that keep the results trustworthy and your know-how yours.",
        "body": lambda pages: [
            heading("What we offer member firms"),
            rich(
                "Recruitment of test users from a standing panel, co-creation workshops, usability tests, "
                "field trials, surveys and diary studies — organised by the living-lab team, often for "
                "several firms at once so that costs are shared.",
                "We also point you to design, intellectual-property and financing specialists in the "
                "cluster network, and help you find lead users among buyer firms.",
            ),
            heading("Working with public services"),
            rich(
                "Public authorities publish societal challenges and pre-commercial procurement calls here. "
                "We help firms form consortia and make sure every contact follows the published ground "
                "rules: equal information, quiet periods during evaluation and a register of every meeting."
            ),
            heading("Vouchers for end-users"),
            rich(
                "Regional funders can give end-users vouchers to try innovative solutions of member firms. "
                "The firm is reimbursed by the funder; we keep track of the State-aid ceiling for you, "
                "counting linked companies together."
            ),
            call_to_action(
                "Start a test campaign",
                "Sign in to your firm's workspace to describe your study.",
                "Sign in",
                url="/accounts/login/",
            ),
        ],
    },
    {
        "slug": "your-data",
        "title": "Your data and your rights",
        "introduction": "Taking part is your free choice. You decide what we may do with your information, "
        "and you can change your mind at any time.",
        "body": lambda pages: [
            heading("One permission per purpose"),
            rich(
                "We ask separately for each use of your data: taking part, keeping a profile, recording "
                "sessions, health information, contacting you later, and quoting your words without your "
                "name. Saying no to one does not stop you from taking part in the others."
            ),
            heading("Withdrawing is as easy as agreeing"),
            rich(
                "Your consent page lists every permission you gave, with the exact text you agreed to and a "
                "receipt you can download. One click withdraws a permission: from that moment we stop using "
                "your data for that purpose, in every study that relied on it."
            ),
            heading("Children and young people"),
            rich(
                "Below the age of digital consent, a parent or legal guardian gives and withdraws permission "
                "for the child, and sees the child's data in their own workspace. Studies with children are "
                "always reviewed by the living-lab team first."
            ),
            heading("Seeing, taking away and erasing your data"),
            rich(
                "You can see everything we hold about you, download it in a common format, or ask us to "
                "erase it. Write to the living-lab coordinator if you need help."
            ),
        ],
    },
]

HOME_INTRODUCTION = (
    "Armor Living Lab connects people, firms, researchers and public services in Brittany and Pays de la "
    "Loire to design and test new digital services together, in real life."
)


def home_body(pages: dict) -> list[dict]:
    return [
        heading("Innovation with the people who will use it"),
        rich(
            "Our panel of volunteers — pupils and students, working people, carers, people in their "
            "nineties, in town and in the countryside — helps member firms and public services try out "
            "new products before they reach the market.",
            "Firms get honest feedback early; public services find solutions that fit the people they serve; "
            "participants see their everyday needs taken seriously.",
        ),
        heading("Fair rules for everyone"),
        rich(
            "All parties accept a published code of conduct before they contact each other: no gifts or "
            "favours, the same information for everyone, quiet periods during evaluations and a register of "
            "every meeting between firms and public authorities."
        ),
        call_to_action(
            "Join the panel",
            "Create an account, choose what you agree to, and leave whenever you like.",
            "How our living lab works",
            page=pages.get("how-it-works"),
        ),
        call_to_action(
            "Are you a firm?",
            "Find out how to run a test campaign with real users.",
            "For firms",
            page=pages.get("for-firms"),
        ),
        quote(
            "Testing the sensor at my mother's flat for three weeks taught us more than a year of lab work.",
            "Product manager at a home-care start-up",
        ),
    ]


# -------------------------------------------------------------------------------------------------- command


class Command(BaseCommand):
    help = _(
        "Create the demo organisations, logins, panel, ground rules, consent forms and pages "
        "(safe to run again: existing parts are kept)."
    )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        self.today = timezone.localdate()
        self.plan = make_plan(self.today)
        total = (
            len(ORGANISATIONS)
            + len(LOGINS)
            + len(STAFF)
            + 3
            + len(self.plan.panelists)
            + len(self.plan.minors)
            + len(self.plan.withdrawals)
            + len(STANDARD_PAGES)
            + 1
            + sum(2 + programme[-1] for programme in VOUCHER_PROGRAMMES)
            + 2  # + claims, lottery, feedback
            + PANEL_STEPS
            + 1  # campaigns
            + 1  # procurements
            + 1  # B2B channel
        )
        self.bar = tqdm(
            total=total,
            desc=_("Demo world"),
            unit=_("step"),
            file=sys.stderr,
            disable=self.verbosity < 1,
            dynamic_ncols=True,
        )
        # One password hash for every demo login: hashing is deliberately slow, and the password is public.
        self.password_hash = make_password(DEMO_PASSWORD)
        try:
            # One transaction: an interrupted run leaves nothing half-built. Demo people have invented
            # addresses, so their consents are recorded with send_receipt=False (receipts stay downloadable).
            with transaction.atomic():
                self.seed_organisations()
                self.seed_logins()
                self.seed_documents()
                self.seed_panel()
                self.seed_minors()
                self.seed_withdrawals()
                seed_voucher_programmes(
                    orgs=self.orgs,
                    operator_user=self.coordinator,
                    funder_user=self.logins["funder"],
                    firm_users=self.firm_users,
                    step=self.step,
                )
                seed_panels(
                    orgs=self.orgs,
                    coordinator=self.coordinator,
                    panelists=[(self.panel_people[p.number], p.locale) for p in self.plan.panelists],
                    step=self.step,
                )
                self.step(_("Test campaigns"))
                seed_campaigns(stdout=self.stdout if self.verbosity >= 1 else None)
                self.step(_("Procurements"))
                seed_procurement(stdout=self.stdout if self.verbosity >= 1 else None)
                self.step(_("B2B channel"))
                seed_b2b(stdout=self.stdout if self.verbosity >= 1 else None)
                self.seed_pages()
        finally:
            self.bar.close()
        self.print_logins()

    def step(self, description: str):
        self.bar.set_description(description, refresh=False)
        self.bar.update()

    # -------------------------------------------------------------------------------- organisations

    def seed_organisations(self):
        self.admin = self.ensure_login(LOGINS[0])
        group = EnterpriseGroup.objects.filter(name=ENTERPRISE_GROUP).first()
        if group is None:
            group = services.save_reference_data(
                EnterpriseGroup(name=ENTERPRISE_GROUP), acting_user=self.admin
            )
        self.orgs = {
            o.slug: o for o in Organisation.objects.filter(slug__in=[row[0] for row in ORGANISATIONS])
        }
        for slug, name, kind, country, region, sector, size, linked, website in ORGANISATIONS:
            self.step(_("Organisations"))
            if slug in self.orgs:
                continue
            organisation = Organisation(
                slug=slug,
                name=name,
                kind=kind,
                country=country,
                region=region,
                sector=sector,
                size=size,
                group=group if linked else None,
                website=website,
            )
            self.orgs[slug] = services.save_reference_data(organisation, acting_user=self.admin)

    # --------------------------------------------------------------------------------------- logins

    def ensure_user(self, email: str, first_name: str, last_name: str, **extra) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = UserFactory(
                email=email,
                first_name=first_name,
                last_name=last_name,
                password=factory.Transformer.Force(self.password_hash),
                **extra,
            )
        return user

    def ensure_login(self, login: Login) -> User:
        extra = {"is_superuser": True, "is_staff": True} if login.superuser else {}
        user = self.ensure_user(login.email, login.first_name, login.last_name, **extra)
        if not login.panelist and not Person.objects.filter(user=user).exists():
            services.register_person(user, full_name=f"{login.first_name} {login.last_name}")
        return user

    def ensure_membership(self, user: User, slug: str, role: str):
        organisation = self.orgs[slug]
        if not Membership.objects.active().filter(user=user, organisation=organisation, role=role).exists():
            services.add_membership(user, organisation, role, acting_user=self.admin)

    def seed_logins(self):
        editors = Group.objects.filter(name=EDITORS_GROUP).first()
        if editors is None:
            raise CommandError(_("Wagtail's “Editors” group is missing: run “manage.py migrate” first."))
        self.logins = {}
        for login in LOGINS:
            self.step(_("Logins"))
            user = self.ensure_login(login)
            self.logins[login.key] = user
            if login.organisation:
                self.ensure_membership(user, login.organisation, login.role)
            if login.editor:
                user.groups.add(editors)
        self.firm_users = {}  # one member per firm, who sells to voucher holders in the demo programmes
        for first_name, last_name, slug, role in STAFF:
            self.step(_("Staff"))
            email = f"{slugify(first_name)}.{slugify(last_name)}@{STAFF_DOMAIN}"
            user = self.ensure_user(email, first_name, last_name)
            if not Person.objects.filter(user=user).exists():
                services.register_person(user, full_name=f"{first_name} {last_name}")
            self.ensure_membership(user, slug, role)
            if role in (Role.FIRM_ADMIN, Role.FIRM_MEMBER):
                self.firm_users.setdefault(slug, user)

    # ------------------------------------------------------------------- consent and ground rules

    def ensure_document(self, model, title: str, **scope) -> ScopedDocument:
        document = model.objects.filter(title=title).first()
        if document is None:
            document = services.save_reference_data(model(title=title, **scope), acting_user=self.coordinator)
        return document

    def publish(self, version, purposes=()):
        draft = services.save_draft_version(version, acting_user=self.coordinator)
        if purposes:
            draft.purposes.set(purposes)
        return services.publish_version(draft, acting_user=self.coordinator)

    def seed_documents(self):
        self.coordinator = self.logins["coordinator"]
        platform = {"scope_kind": ScopedDocument.ScopeKind.PLATFORM}

        self.step(_("Consent forms"))
        purposes = {p.code: p for p in ConsentPurpose.objects.filter(code__in=[row[0] for row in PURPOSES])}
        for code, name, description, special in PURPOSES:
            if code not in purposes:
                purposes[code] = services.save_reference_data(
                    ConsentPurpose(code=code, name=name, description=description, special_category=special),
                    acting_user=self.coordinator,
                )
        self.purposes = purposes
        self.panel_form = self.ensure_document(ConsentDocument, PANEL_FORM, **platform)
        if not self.panel_form.versions.exists():
            self.publish(
                ConsentDocumentVersion(document=self.panel_form, text=unwrap(PANEL_FORM_TEXT)),
                purposes=list(purposes.values()),
            )
        self.panel_version = self.panel_form.versions.get(status="published")

        self.step(_("Ground rules"))
        code = self.ensure_document(GroundRules, PLATFORM_CODE, **platform)
        if not code.versions.exists():
            first = self.publish(GroundRulesVersion(rules=code, text=unwrap(PLATFORM_CODE_V1)))
            # Accepted under version 1, then superseded: these people are asked to accept version 2.
            self.accept(
                first,
                [
                    ("sme", SME_ADMIN_FIRM),
                    ("funder", AGENCY),
                    ("evaluator", AUTHORITY),
                    ("coordinator", CLUSTER),
                    ("procurer", AUTHORITY),
                    ("participant", None),
                ],
            )
            second = self.publish(
                GroundRulesVersion(
                    rules=code,
                    text=unwrap(PLATFORM_CODE_V2),
                    summary_of_changes="Adds rule 6: respect for participants and honest expectations.",
                )
            )
            self.accept(
                second,
                [
                    ("coordinator", CLUSTER),
                    ("manager", CLUSTER),
                    ("procurer", AUTHORITY),
                    ("group", PATIENTS),
                    ("participant", None),
                ],
            )

        self.step(_("Ground rules"))
        b2g = self.ensure_document(
            GroundRules, B2G_RULES, scope_kind=ScopedDocument.ScopeKind.CHANNEL, channel=Channel.B2G
        )
        if not b2g.versions.exists():
            version = self.publish(GroundRulesVersion(rules=b2g, text=unwrap(B2G_RULES_V1)))
            self.accept(
                version,
                [
                    ("procurer", AUTHORITY),
                    ("evaluator", AUTHORITY),
                    ("manager", CLUSTER),
                    ("sme", SME_ADMIN_FIRM),
                ],
            )

    def accept(self, version: GroundRulesVersion, who: list[tuple[str, str | None]]):
        for key, slug in who:
            # A fresh user object: permission checks cache memberships per instance.
            user = User.objects.get(pk=self.logins[key].pk)
            services.accept_ground_rules(
                version,
                organisation=self.orgs[slug] if slug else None,
                acting_user=user,
                user_agent="seed_demo",
            )

    # ------------------------------------------------------------------------------------- the panel

    def seed_panel(self):
        existing = {u.email: u for u in User.objects.filter(email__endswith=f"@{PANEL_DOMAIN}")}
        existing[self.logins["participant"].email] = self.logins["participant"]
        consented = set(
            ConsentRecord.objects.filter(version__document=self.panel_form).values_list(
                "person_id", flat=True
            )
        )
        representatives = {}
        self.panel_people = {}
        for panelist in self.plan.panelists:
            self.step(_("Panel"))
            user = existing.get(panelist.email) or self.ensure_user(
                panelist.email, panelist.first_name, panelist.last_name
            )
            person = Person.objects.filter(user=user).first() or services.register_person(
                user, full_name=panelist.full_name, birth_date=panelist.birth_date
            )
            self.panel_people[panelist.number] = person
            if person.pk in consented:
                continue
            purposes = [self.purposes[code] for code in panelist.purposes]
            if panelist.recorded_by:
                acting = representatives.get(panelist.recorded_by)
                if acting is None:
                    acting = representatives[panelist.recorded_by] = User.objects.get(
                        email=panelist.recorded_by
                    )
                evidence = {"form": "signed paper form", "recorded_by": panelist.recorded_by}
            else:
                acting, evidence = user, {"user_agent": "seed_demo"}
            services.give_consent(
                person,
                self.panel_version,
                purposes,
                method=panelist.method,
                acting_user=acting,
                explicit_purposes=[p for p in purposes if p.special_category],
                evidence=evidence,
                send_receipt=False,
            )

    def seed_minors(self):
        for guardian_number in sorted({m.guardian for m in self.plan.minors}):
            guardian = self.panel_people[guardian_number]
            children = [m for m in self.plan.minors if m.guardian == guardian_number]
            # A family's children are recognised by their order of enrolment.
            enrolled = list(Person.objects.filter(guardianships__guardian=guardian).order_by("pk"))
            for index, minor in enumerate(children):
                self.step(_("Children"))
                if index < len(enrolled):
                    continue
                parent = guardian.user
                child = services.enrol_person(
                    full_name=minor.full_name, birth_date=minor.birth_date, acting_user=parent
                )
                services.add_guardian(
                    child, guardian=guardian, relationship=minor.relationship, acting_user=parent
                )
                services.give_consent(
                    child,
                    self.panel_version,
                    [self.purposes[c] for c in minor.purposes],
                    method=ConsentRecord.Method.ONLINE,
                    acting_user=parent,
                    guardian=guardian,
                    evidence={"user_agent": "seed_demo"},
                    send_receipt=False,
                )

    def seed_withdrawals(self):
        for withdrawal in self.plan.withdrawals:
            self.step(_("Withdrawals"))
            person = self.panel_people[withdrawal.panelist]
            subject = (
                Person.objects.filter(guardianships__guardian=person).order_by("pk").first()
                if withdrawal.ward
                else person
            )
            record = (
                ConsentRecord.objects.filter(
                    person=subject, purpose__code=withdrawal.purpose, version__document=self.panel_form
                )
                .select_related("purpose")
                .order_by("pk")
                .first()
            )
            if record is None or not record.is_active:
                continue
            acting = (
                self.coordinator
                if withdrawal.channel == ConsentRecord.WithdrawalChannel.STAFF
                else person.user
            )
            services.withdraw_consent(record, channel=withdrawal.channel, acting_user=acting)

    # ----------------------------------------------------------------------------------------- pages

    def seed_pages(self):
        home = HomePage.objects.first()
        if home is None:
            raise CommandError(_("The home page is missing: run “manage.py migrate” first."))
        # Drafted by the coordinator (an editor); published by the administrator, as editors cannot publish.
        editor = self.coordinator
        pages = {p.slug: p for p in StandardPage.objects.child_of(home)}
        # Pages that others link to come first, so that their links can point at them.
        for spec in sorted(STANDARD_PAGES, key=lambda s: s["slug"] != "your-data"):
            self.step(_("Pages"))
            if spec["slug"] in pages:
                continue
            page = StandardPage(
                title=spec["title"],
                slug=spec["slug"],
                introduction=spec["introduction"],
                body=spec["body"](pages),
                live=False,
                owner=editor,
            )
            home.add_child(instance=page)
            page.save_revision(user=editor).publish(user=self.admin)
            pages[page.slug] = page
        self.seed_call_pages(home, editor)
        seed_notice_pages(home, editor=editor, publisher=self.admin)
        seed_b2b_pages(home, editor=editor, publisher=self.admin)
        self.step(_("Pages"))
        if not home.introduction and not home.body:
            home.title = home.draft_title = "Armor Living Lab"
            home.seo_title = "Armor Living Lab — user-driven innovation in Brittany and Pays de la Loire"
            home.introduction = HOME_INTRODUCTION
            home.body = home_body(pages)
            home.save_revision(user=editor).publish(user=self.admin)

    def seed_call_pages(self, home, editor):
        """A public call for participants for each campaign that is recruiting."""
        from pilots.models import Campaign

        recruiting = Campaign.objects.filter(status=Campaign.Status.RECRUITING, call_pages__isnull=True)
        for campaign in recruiting.select_related("panel"):
            page = CampaignCallPage(
                title=_("Call for participants: %(title)s") % {"title": campaign.title},
                slug=f"call-{campaign.slug}"[:80],
                campaign=campaign,
                introduction=campaign.objectives,
                who_can_join=format_html(
                    "<p>{}</p>", _("Members of the panel “%(panel)s”.") % {"panel": campaign.panel.name}
                ),
                how_to_sign_up=format_html(
                    "<p>{}</p>", _("Join the panel, then watch for our invitation in your mailbox.")
                ),
                live=False,
                owner=editor,
            )
            home.add_child(instance=page)
            page.save_revision(user=editor).publish(user=self.admin)

    # ---------------------------------------------------------------------------------------- output

    def print_logins(self):
        if self.verbosity < 1:
            return
        rows = [(login.email, str(login.label), DEMO_PASSWORD) for login in LOGINS] + b2b_login_rows()
        headers = (_("E-mail"), _("Role"), _("Password"))
        widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
        line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        self.stdout.write(line)
        self.stdout.write("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
        self.stdout.write(line.replace("-", "="))
        for row in rows:
            self.stdout.write("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        self.stdout.write(line)
        self.stdout.write(
            _(
                "Staff logins (@%(staff)s) and panel logins (@%(panel)s) use the same password. Privileged "
                "roles (coordinator, manager, procurer, evaluator, funder, admin) are asked to set up an "
                "authenticator app on their first sign-in."
            )
            % {"staff": STAFF_DOMAIN, "panel": PANEL_DOMAIN}
        )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Demo world ready: %(orgs)s organisations, %(people)s panel participants, "
                    "%(consents)s consent records."
                )
                % {
                    "orgs": Organisation.objects.count(),
                    "people": Person.objects.filter(consents__version__document__title=PANEL_FORM)
                    .distinct()
                    .count(),
                    "consents": ConsentRecord.objects.count(),
                }
            )
        )
