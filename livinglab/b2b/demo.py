"""The demo's B2B channel for ``manage.py seed_demo``, built through the same services as the screens, on the
demo's cluster (Armor Médias & Réseaux, its coordinator and manager) and its technical university, with
buyer firms and supplier SMEs added here, each with a documented login (``LOGINS``).

- Buyers: a fish cannery in Douarnenez, an island ferry operator in Brest, a hospital group in Nantes and a
  retail cooperative in Rennes. Suppliers: wireless IoT sensors, maritime connectivity, e-health, AR/VR and
  logistics software; the demo's home-care sensor firm and telecom operator post too, and so does the
  university's vision lab. The cluster publishes the B2B ground rules; every firm that acts accepts them.
- Marketplace: sector and technology tags, eleven published needs and fourteen published offers of every
  visibility (public to members, staff only, revealed after an introduction), a draft and a closed one of
  each, and the suggested matches the matcher computes from them.
- Introductions in every state: requested, brokered (one under an NDA that one side has accepted, one
  proposed by the cluster), accepted (a meeting held; co-development started; no fit), declined, refused
  and withdrawn.
- A running co-development project from an accepted introduction (the cannery, the sensor firm and the
  university) with its IP arrangement, milestones (one done), its kick-off minutes as a PDF and a B2B test
  campaign launched, submitted and approved.
- Events: a trade fair with registrations, check-ins, lead users signed up on the spot into the B2B panel
  (consent recorded before a witness) and the follow-up sent; a workshop whose follow-up is still to
  write; a breakfast meeting nearly full and a cluster visit, both ahead, with registrations.
- A directory of service providers: design studios in Upper Austria, IPR attorneys, a regional innovation
  fund, an export agency, living labs and design centres in Sweden, Finland, Spain and elsewhere; two
  proposals waiting for curation, one provider hidden, and contact requests from firms.
- Market intelligence: topics, three market reports and two user-insight briefs (their figures aggregated
  from the demo's campaigns), a draft, the firms' subscriptions and one digest sent.

The story spans five months. The services read the time from ``django.utils.timezone.now``; the demo sets
that clock to each step's moment (``procurement.demo.DemoClock``, here in Paris time) and runs the steps in
time order, so that deadlines, dates and the audit trail read as they would in real use. The mails and
tickets of the services go out when the seed's transaction commits (the console, by default). If the B2B
demo exists already, or the demo world is missing, nothing is added.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Case, IntegerField, Value, When
from django.utils.html import escape
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from weasyprint import HTML

from livinglab import services as core
from livinglab.factories import DEMO_PASSWORD, UserFactory
from livinglab.models import (
    Channel,
    ConsentDocument,
    ConsentDocumentVersion,
    ConsentPurpose,
    GroundRules,
    GroundRulesVersion,
    Membership,
    Organisation,
    Person,
    Role,
    ScopedDocument,
    User,
    VersionStatus,
)
from pilots.models import Campaign, Panel, PanelAttribute
from pilots.services import campaigns as lifecycle
from pilots.services.enrolment import ConsentRoute
from pilots.services.panels import save_panel
from procurement.demo import DemoClock

from .models import (
    Event,
    EventRegistration,
    Introduction,
    IntroductionOutcome,
    Need,
    Offer,
    Project,
    ProjectPartner,
    Report,
    Service,
    ServiceProvider,
    Tag,
    Topic,
    Visibility,
)
from .services import events, intelligence, introductions, marketplace, matching, projects, providers
from .tasks.intelligence import send_topic_digest

SEED = 2027
ZONE = "Europe/Paris"
DEMO_DOMAIN = "demo.livinglab.eu"
CLUSTER, UNIVERSITY = "armor-medias-reseaux", "universite-technologie-atlantique"
SENSORS, TELECOM, DESIGN = "kerveil-capteurs", "oceane-telecom", "atelier-lumen"
CANNERY, FERRIES, HOSPITALS, RETAIL = (
    "conserverie-penn-sardin",
    "iroise-ferries",
    "hopitaux-loire-ocean",
    "grenier-armor",
)
IOT, MARITIME, EHEALTH, XR, LOGISTICS = (
    "capteo",
    "mor-connect",
    "sante-lien",
    "studio-immersif-laval",
    "fretlog-atlantique",
)
BUYERS = (CANNERY, FERRIES, HOSPITALS, RETAIL)
SUPPLIERS = (IOT, MARITIME, EHEALTH, XR, LOGISTICS)
# The demo world this part builds on (``seed_demo``): looked up, never created here.
WORLD = (CLUSTER, UNIVERSITY, SENSORS, TELECOM, DESIGN)
LEAD_USER_PANEL = "professional-lead-users"  # the B2B panel of ``pilots.demo``
LEAD_USER_PURPOSES = ("participation", "profile-data", "future-contact")
# The demo's existing firms act through a firm member before an administrator: the documented "sme" login
# (Kerveil Capteurs' administrator) keeps the new platform code to accept, a journey the demo keeps for it.
EXISTING_FIRM_ROLES = (Role.FIRM_MEMBER, Role.FIRM_ADMIN)
B2B_RULES = "Business-to-business introduction rules"

Kind, Size = Organisation.Kind, Organisation.Size

# slug, name, kind, country, region, sector, size, website
# fmt: off
ORGANISATIONS = [
    (CANNERY, "Conserverie Penn Sardin", Kind.SME, "FR", "Bretagne",
     "Fish canning and seafood processing", Size.MEDIUM, "https://penn-sardin.example"),
    (FERRIES, "Iroise Ferries", Kind.LARGE_ENTERPRISE, "FR", "Bretagne",
     "Passenger and freight ferries to the islands", Size.LARGE, "https://iroise-ferries.example"),
    (HOSPITALS, "Groupe hospitalier Loire-Océan", Kind.LARGE_ENTERPRISE, "FR", "Pays de la Loire",
     "Private non-profit hospitals and clinics", Size.LARGE, "https://loire-ocean-sante.example"),
    (RETAIL, "Coopérative Le Grenier d'Armor", Kind.LARGE_ENTERPRISE, "FR", "Bretagne",
     "Food retail: supermarkets and village shops", Size.LARGE, "https://grenier-armor.example"),
    (IOT, "Capteo", Kind.SME, "FR", "Bretagne",
     "Wireless IoT sensors", Size.SMALL, "https://capteo.example"),
    (MARITIME, "Mor Connect", Kind.SME, "FR", "Bretagne",
     "Maritime connectivity", Size.SMALL, "https://mor-connect.example"),
    (EHEALTH, "Santé Lien", Kind.SME, "FR", "Pays de la Loire",
     "E-health and remote patient monitoring", Size.SMALL, "https://sante-lien.example"),
    (XR, "Studio Immersif Laval", Kind.SME, "FR", "Pays de la Loire",
     "Augmented and virtual reality", Size.MICRO, "https://immersif-laval.example"),
    (LOGISTICS, "Fretlog Atlantique", Kind.SME, "FR", "Pays de la Loire",
     "Logistics and transport software", Size.SMALL, "https://fretlog.example"),
]
# fmt: on


@dataclass(frozen=True)
class Login:
    key: str  # the local part of the e-mail address
    first_name: str
    last_name: str
    label: str
    organisation: str
    role: str = Role.FIRM_ADMIN

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"


# The firms' documented logins: printed by ``seed_demo`` with the others, same password.
# fmt: off
LOGINS = [
    Login("food", "Anne", "Le Berre", gettext_lazy("Head of quality, Conserverie Penn Sardin (B2B buyer)"),
          CANNERY),
    Login("ferry", "Loïc", "Cariou", gettext_lazy("Technical director, Iroise Ferries (B2B buyer)"), FERRIES),
    Login("hospital", "Isabelle", "Rousseau",
          gettext_lazy("Head of biomedical engineering, Groupe hospitalier Loire-Océan (B2B buyer)"),
          HOSPITALS),
    Login("retail", "Marc", "Jaouen", gettext_lazy("Supply-chain manager, Le Grenier d'Armor (B2B buyer)"),
          RETAIL),
    Login("iot", "Gaëlle", "Nicolas", gettext_lazy("Founder, Capteo: IoT sensors (B2B supplier)"), IOT),
    Login("maritime", "Ronan", "Le Du", gettext_lazy("Managing director, Mor Connect: maritime connectivity "
          "(B2B supplier)"), MARITIME),
    Login("ehealth", "Camille", "Bertin", gettext_lazy("Product lead, Santé Lien: e-health (B2B supplier)"),
          EHEALTH),
    Login("xr", "Hugo", "Marchand", gettext_lazy("Co-founder, Studio Immersif Laval: AR/VR (B2B supplier)"),
          XR),
    Login("logistics", "Sophie", "Guillet",
          gettext_lazy("Sales director, Fretlog Atlantique: logistics software (B2B supplier)"), LOGISTICS),
    Login("research", "Nolwenn", "Le Corre",
          gettext_lazy("Researcher, Université de technologie Atlantique (B2B research partner)"), UNIVERSITY,
          Role.RESEARCHER),
]
# fmt: on


def login_rows() -> list[tuple[str, str, str]]:
    """(e-mail, what the login is for, password) of the B2B demo logins: ``seed_demo`` prints them."""
    return [(login.email, str(login.label), DEMO_PASSWORD) for login in LOGINS]


B2B_RULES_TEXT = """\
These rules apply to every need, offer, introduction, co-development project and event of the cluster's
business-to-business channel. Every firm accepts them before it posts, asks for an introduction or answers
one.

1. A neutral broker. Armor Médias & Réseaux introduces firms on the merits of their needs and offers. It takes
no fee or commission from either side and favours no member.
2. Teasers first. Until both firms accept an introduction, each sees only what the other chose to show every
member: the title, the summary and the tags. Who posted a listing that is not public stays unknown.
3. Confidentiality. What a firm learns through an introduction is used only to assess and pursue a
cooperation with the other firm. A non-disclosure agreement applies when either firm asks for one.
4. Honest listings. Post only needs and offers you can act on, and close them when they are no longer
current.
5. Lead users volunteer. Professionals who test a supplier's prototype take part of their own free will;
taking part is never a condition of their job or of a purchase.
6. Outcomes are recorded. Both firms tell the cluster what came of an introduction; the cluster reports only
aggregated figures, never one firm's details.
"""

# ------------------------------------------------------------------------------------------- marketplace

# fmt: off
SECTORS = {
    "food": "Food processing", "maritime": "Maritime transport", "health": "Health care",
    "retail": "Retail", "logistics": "Logistics", "telecom": "Telecommunications",
}
TECHNOLOGIES = {
    "iot": "Internet of things", "connectivity": "Maritime and satellite connectivity",
    "ml": "Machine learning", "vision": "Computer vision", "xr": "Augmented and virtual reality",
    "telemedicine": "Telemedicine", "positioning": "Indoor positioning", "mobile": "Mobile apps",
    "routing": "Route optimisation", "5g": "5G and private networks",
}
# fmt: on

Timeframe = Need.Timeframe
MEMBERS, STAFF, INTRODUCTION = Visibility.MEMBERS, Visibility.STAFF, Visibility.INTRODUCTION


@dataclass(frozen=True)
class Listing:
    key: str
    firm: str
    day: int  # days ago it was written and published
    title: str
    summary: str
    description: str
    sectors: tuple[str, ...]
    technologies: tuple[str, ...]
    visibility: str
    fields: dict  # users_affected, timeframe, budget (needs); kind, maturity, references (offers)
    status: str = "published"  # published, draft or closed (closed: published first)


# fmt: off
NEEDS = [
    Listing("cold-chain", CANNERY, 140, "Cold-chain monitoring from the quay to the lorry",
            "We want to know, pallet by pallet, that fresh fish stayed below 2 °C from the boat to our "
            "cannery and on to the customer.",
            "Today temperatures are written by hand four times a shift. Two customer claims last year "
            "cost us €85,000 and we could not prove where the cold chain broke. We need wireless tags that "
            "survive brine and washing, readings we can show an inspector, and alerts to the shift "
            "leader's phone.",
            ("food", "logistics"), ("iot",), INTRODUCTION,
            {"users_affected": "Quay staff, forklift drivers, three shift leaders and the quality team (6).",
             "timeframe": Timeframe.NOW, "budget": "€60,000 to €90,000 for a first site"}),
    Listing("can-defects", CANNERY, 138, "Spot defects on the canning line by camera",
            "Seams, dents and labels checked on 400 cans a minute, without slowing the line.",
            "Our operators sample one can in 500. A camera system should flag defective seams and crooked "
            "labels and learn new formats in a day.",
            ("food",), ("vision", "ml"), MEMBERS,
            {"users_affected": "Line operators and quality technicians.", "timeframe": Timeframe.YEAR,
             "budget": "About €120,000"}),
    Listing("operator-training", CANNERY, 130, "Training new line operators without stopping the line",
            "Seasonal staff must learn to run and clean the lines safely in days, not weeks.",
            "Every spring we hire 40 seasonal operators. Training happens on the running line, which is slow "
            "and risky. We would like to try simulated training on a headset or a tablet.",
            ("food",), ("xr",), STAFF,
            {"users_affected": "Seasonal operators and their trainers.", "timeframe": Timeframe.LATER,
             "budget": ""}),
    Listing("island-connectivity", FERRIES, 136, "Connectivity for passengers and crew between the islands",
            "Stable internet on board between Brest, Molène and Ouessant, for passengers, crew and "
            "ticketing.",
            "Coverage drops for 25 minutes of every crossing. Card payments fail, crews cannot reach the "
            "harbour office and passengers complain. We run five ships, two of them less than 30 m long.",
            ("maritime", "telecom"), ("connectivity", "5g"), INTRODUCTION,
            {"users_affected": "Crews of five ships, ticket staff and about 400,000 passengers a year.",
             "timeframe": Timeframe.NOW, "budget": "€150,000 for the fleet"}),
    Listing("engine-maintenance", FERRIES, 128, "Predict engine maintenance from on-board data",
            "Warnings days before an engine or a pump fails, from sensors we can retrofit.",
            "An engine failure in winter cancels the only link to an island. We log temperatures by hand and "
            "would like vibration and oil data analysed automatically.",
            ("maritime",), ("iot", "ml"), MEMBERS,
            {"users_affected": "Chief engineers and the technical office.", "timeframe": Timeframe.YEAR,
             "budget": ""}),
    Listing("island-booking", FERRIES, 126, "One app for islanders' tickets and freight",
            "Islanders book seats, cars and freight in one place, from their phone.",
            "Freight is booked by telephone and seats online, in two systems that do not talk to each other.",
            ("maritime", "logistics"), ("mobile",), MEMBERS,
            {"users_affected": "About 1,400 island residents and 60 regular freight customers.",
             "timeframe": Timeframe.YEAR, "budget": ""},
            status="closed"),
    Listing("heart-failure", HOSPITALS, 134, "Remote follow-up of heart-failure patients after discharge",
            "Fewer readmissions in the first 90 days, with patients followed at home by our nurses.",
            "One patient in four comes back within 90 days. We want daily weight, blood pressure and "
            "symptoms sent from home, triaged by nurses, and integrated with our patient record system.",
            ("health",), ("telemedicine", "iot"), INTRODUCTION,
            {"users_affected": "Cardiology nurses (12), cardiologists and about 900 patients a year.",
             "timeframe": Timeframe.NOW, "budget": "Per-patient pricing expected"}),
    Listing("equipment-location", HOSPITALS, 124, "Find wheelchairs and infusion pumps in the building",
            "Nurses lose 20 minutes a shift looking for equipment.",
            "Three buildings, seven floors, 1,800 mobile devices. We need a location system that works "
            "through walls and does not interfere with medical devices.",
            ("health",), ("positioning", "iot"), MEMBERS,
            {"users_affected": "Nurses, porters and biomedical technicians.", "timeframe": Timeframe.YEAR,
             "budget": ""}),
    Listing("calming-vr", HOSPITALS, 120, "Calming virtual reality for children before surgery",
            "Less anxiety and less premedication for children waiting for an operation.",
            "Our paediatric day-surgery unit would like to test relaxing VR content with children aged 6 to "
            "14 and their parents, under the anaesthetists' supervision.",
            ("health",), ("xr",), STAFF,
            {"users_affected": "Children in day surgery, their parents, nurses and anaesthetists.",
             "timeframe": Timeframe.EXPLORING, "budget": ""}),
    Listing("shelf-life", RETAIL, 132, "Shelf-life tracking of fresh produce across 42 shops",
            "Less fresh food thrown away, by knowing which crates will spoil first.",
            "We throw away 4 % of fresh produce. We would like sensors or cameras that estimate remaining "
            "shelf life and suggest markdowns to shop managers.",
            ("retail", "food"), ("iot", "ml"), MEMBERS,
            {"users_affected": "Shop managers and fresh-produce staff in 42 shops.",
             "timeframe": Timeframe.YEAR, "budget": ""}),
    Listing("rural-deliveries", RETAIL, 122, "Route planning for home deliveries in rural areas",
            "Deliver groceries to villages and islands at a cost we can sustain.",
            "Our village shops deliver to older customers twice a week. Routes are planned on paper; vans "
            "run half empty. We need planning that copes with ferries and narrow roads.",
            ("retail", "logistics"), ("routing", "mobile"), INTRODUCTION,
            {"users_affected": "Drivers, shop managers and about 2,000 customers who cannot drive.",
             "timeframe": Timeframe.NOW, "budget": "Subscription under €1,500 a month"}),
    Listing("fibre-ar", TELECOM, 118, "AR guidance for fibre technicians in the field",
            "New technicians connect homes right first time, with an expert seeing what they see.",
            "A third of fibre connections need a second visit. We would like smart glasses or a phone app "
            "that overlays the steps and lets a remote expert guide the technician.",
            ("telecom",), ("xr", "mobile"), MEMBERS,
            {"users_affected": "About 300 field technicians and 20 remote experts.",
             "timeframe": Timeframe.YEAR, "budget": ""}),
    Listing("shelf-labels", RETAIL, 20, "Electronic shelf labels with a customer app",
            "Prices and allergens on the shelf and in the customer's phone, updated centrally.",
            "Still a draft: the shop managers are collecting their wishes.",
            ("retail",), ("iot", "mobile"), MEMBERS,
            {"users_affected": "Shop staff and customers.", "timeframe": Timeframe.EXPLORING, "budget": ""},
            status="draft"),
]

OfferKind, Maturity = Offer.Kind, Offer.Maturity
OFFERS = [
    Listing("temperature-tags", IOT, 137, "Wireless temperature tags for fresh-food cold chains",
            "Washable tags that log temperature every minute and send it over LoRaWAN, with alerts.",
            "IP68 tags with a five-year battery, food-contact safe, read by gateways on the quay and in "
            "lorries. Readings are signed so that they can be shown to an inspector.",
            ("food", "logistics"), ("iot",), INTRODUCTION,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PILOT,
             "references": "Piloted with an oyster farmer in Cancale and a dairy in Vitré."}),
    Listing("vibration-sensors", IOT, 135, "Vibration sensors for engines and pumps",
            "Retrofit sensors and a model that warns days ahead of a bearing or pump failure.",
            "Magnet-mounted accelerometers, an edge gateway and a failure model trained on industrial "
            "compressors.",
            ("food",), ("iot", "ml"), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.MARKET,
             "references": "Three dairies, one brewery."}),
    Listing("asset-tags", IOT, 129, "Indoor asset-tracking tags",
            "Bluetooth tags and ceiling anchors that locate equipment to the room.",
            "Locates tagged equipment within two metres. Certified for use near medical devices.",
            ("health", "logistics"), ("positioning", "iot"), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.MARKET,
             "references": "A logistics warehouse in Rennes."}),
    Listing("ship-router", MARITIME, 133, "Hybrid 4G/5G and satellite router for ships",
            "Switches between coastal 4G/5G and low-orbit satellite without dropping calls or payments.",
            "Marine-grade router with two cellular modems and a satellite terminal, managed from shore. "
            "Bonding keeps payment terminals and crew calls up during handovers.",
            ("maritime", "telecom"), ("connectivity", "5g"), INTRODUCTION,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PILOT,
             "references": "On two fishing vessels in Lorient since last winter."}),
    Listing("crew-wifi", MARITIME, 127, "Crew welfare Wi-Fi portal",
            "Fair-use Wi-Fi for crews on long rotations, separated from ship systems.",
            "A captive portal with quotas per crew member and a separate network from navigation systems.",
            ("maritime",), ("connectivity",), STAFF,
            {"kind": OfferKind.SERVICE, "maturity": Maturity.MARKET, "references": ""}),
    Listing("remote-monitoring", EHEALTH, 131, "Remote monitoring platform for chronic patients",
            "Connected scales and blood-pressure cuffs, symptom questions, and a nurse dashboard that ranks "
            "patients by risk.",
            "CE-marked medical device software (class IIa), hosted by a certified health-data host in "
            "France, with an HL7 FHIR interface to patient records.",
            ("health",), ("telemedicine", "iot"), INTRODUCTION,
            {"kind": OfferKind.SERVICE, "maturity": Maturity.MARKET,
             "references": "Two cardiology departments and a home-hospitalisation service."}),
    Listing("teleconsultation-kiosk", EHEALTH, 125, "Teleconsultation kiosk for pharmacies and islands",
            "A booth with connected instruments where a patient sees a doctor remotely.",
            "Stethoscope, otoscope, thermometer and blood-pressure cuff in a booth installed in a pharmacy "
            "or a town hall.",
            ("health",), ("telemedicine",), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PILOT, "references": ""}),
    Listing("vr-training", XR, 123, "VR training modules for production lines",
            "Operators rehearse start-up, cleaning and safety procedures on a headset before the real line.",
            "Modules built from the plant's own drawings and videos in six weeks; trainers follow progress.",
            ("food",), ("xr",), MEMBERS,
            {"kind": OfferKind.SERVICE, "maturity": Maturity.PILOT,
             "references": "A biscuit factory in Nantes."}),
    Listing("ar-assistance", XR, 121, "AR remote assistance on smart glasses and phones",
            "A remote expert sees what the technician sees and draws on it.",
            "Works on smart glasses and ordinary phones, with offline step-by-step procedures.",
            ("telecom",), ("xr", "mobile"), INTRODUCTION,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.MARKET,
             "references": "A lift maintenance company."}),
    Listing("calming-vr-content", XR, 119, "Relaxing VR content for patients",
            "Calm underwater and forest scenes, with breathing exercises, for waiting patients.",
            "Content designed with a child psychologist; no motion sickness in tests with 30 children.",
            ("health",), ("xr",), STAFF,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PROTOTYPE, "references": ""}),
    Listing("route-optimisation", LOGISTICS, 117, "Delivery route optimisation for rural rounds",
            "Plans rounds for vans around ferries, narrow roads and customers' time windows.",
            "Optimisation engine with a driver app that works offline; knows ferry timetables and vehicle "
            "restrictions.",
            ("logistics", "retail"), ("routing", "mobile", "ml"), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.MARKET,
             "references": "A regional parcel carrier and a home-meal service."}),
    Listing("freight-booking", LOGISTICS, 127, "Port and ferry freight booking platform",
            "Shippers book space on ferries and barges online; the operator sees the load plan.",
            "Web and mobile booking with load planning per deck, payment and customs documents.",
            ("maritime", "logistics"), ("mobile",), INTRODUCTION,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PILOT,
             "references": "A barge operator on the Loire."}),
    Listing("fall-radar", SENSORS, 116, "Radar fall detection without cameras",
            "A wall-mounted radar that detects falls at night without filming anyone.",
            "Detects falls and long immobility in a room; alerts a nurse or a relative.",
            ("health",), ("iot",), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PILOT,
             "references": "A home-care service in Finland."}),
    Listing("vision-lab", UNIVERSITY, 115, "Computer-vision lab: defect detection on production lines",
            "Our lab trains inspection models on a firm's own images and measures their accuracy.",
            "Six researchers, a line-scan camera bench and GPU servers; joint PhD or short contract "
            "research.",
            ("food",), ("vision", "ml"), MEMBERS,
            {"kind": OfferKind.CAPABILITY, "maturity": Maturity.MARKET,
             "references": "Joint work with a sawmill and a cheese maker."}),
    Listing("buoy-iot", MARITIME, 15, "Satellite IoT for buoys and aquaculture cages",
            "Water temperature and oxygen from offshore cages, over satellite.",
            "Still a draft: the antenna is being certified.",
            ("maritime",), ("iot", "connectivity"), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.PROTOTYPE, "references": ""},
            status="draft"),
    Listing("picking-app", LOGISTICS, 139, "Warehouse picking app",
            "Voice- and scan-guided picking for small warehouses.",
            "Replaced by our new route product; no longer offered on its own.",
            ("logistics",), ("mobile",), MEMBERS,
            {"kind": OfferKind.PRODUCT, "maturity": Maturity.MARKET, "references": ""},
            status="closed"),
]
# fmt: on

# ------------------------------------------------------------------------------------------------ events

# Professionals from outside the platform who register at the fair (registered by staff): name, e-mail,
# organisation, job title, and — for those who sign up as lead users — (sector, year of birth, region,
# employees supervised, buying role, company size).
# fmt: off
FAIR_VISITORS = [
    ("Yannick Kerhervé", "yannick.kerherve@penn-sardin.example", CANNERY, "Production manager",
     ("C", 1976, "Bretagne", 35, "Recommend", "50-249")),
    ("Morgane Le Roux", "morgane.leroux@iroise-ferries.example", FERRIES, "Deck officer",
     ("H", 1988, "Bretagne", 6, "Use only", "250+")),
    ("Delphine Moreau", "delphine.moreau@loire-ocean-sante.example", HOSPITALS, "Cardiology nurse manager",
     ("Q", 1981, "Pays de la Loire", 14, "Recommend", "250+")),
    ("Julien Perrot", "julien.perrot@grenier-armor.example", RETAIL, "Fresh-produce manager, Lannion shop",
     None),
    ("Erwan Goasduff", "erwan.goasduff@transports-goasduff.example", "Transports Goasduff", "Fleet manager",
     ("H", 1972, "Bretagne", 22, "Decide", "50-249")),
    ("Claire Abgrall", "claire.abgrall@criee-brest.example", "Criée de Brest", "Fish auction manager", None),
    ("Thomas Riou", "thomas.riou@ehpad-goelands.example", "EHPAD Les Goélands", "Care-home director", None),
    ("Aurélie Tanguy", "aurelie.tanguy@breizh-fibre.example", "Breizh Fibre", "Network engineer", None),
    ("Bastien Le Meur", "bastien.lemeur@port-lorient.example", "Port de Lorient", "Harbour master's deputy",
     None),
    ("Nadia Benali", "nadia.benali@biscuiterie-nantes.example", "Biscuiterie nantaise", "Training manager",
     None),
    ("Pierre Jégou", "pierre.jegou@pharmacie-ouessant.example", "Pharmacie d'Ouessant", "Pharmacist", None),
    ("Hélène Cosquer", "helene.cosquer@mutuelle-ouest.example", "Mutuelle de l'Ouest", "Innovation officer",
     None),
    ("Sébastien Caroff", "sebastien.caroff@cooperl-mer.example", "Marée Bretonne", "Logistics manager", None),
]
# A professional who came to the stand without registering and signed up as a lead user.
WALK_IN = ("Gwendal Prigent", "gwendal.prigent@vedettes-iroise.example", "Vedettes de l'Iroise",
           "Fleet technical manager", ("H", 1979, "Bretagne", 9, "Decide", "10-49"))
WORKSHOP_GUESTS = [
    ("Françoise Le Bras", "francoise.lebras@conserverie-kerbriant.example", "Conserverie Kerbriant",
     "Managing director"),
    ("Olivier Madec", "olivier.madec@breizh-agro.example", "Breizh Agro", "Head of purchasing"),
    ("Lucie Quéméner", "lucie.quemener@clinique-odet.example", "Clinique de l'Odet", "IT manager"),
    ("Romain Baudry", "romain.baudry@loire-logistique.example", "Loire Logistique", "Operations director"),
]
BREAKFAST_GUESTS = [
    ("Katell Morvan", "katell.morvan@penn-ar-bed-peche.example", "Penn ar Bed Pêche", "Fleet manager"),
    ("Jean-Marc Salaün", "jm.salaun@port-brest.example", "Port de Brest", "Head of digital services"),
    ("Sylvie Le Gall", "sylvie.legall@vedettes-iroise.example", "Vedettes de l'Iroise", "Managing director"),
    ("Mathieu Kervella", "mathieu.kervella@sauveteurs-finistere.example", "Sauveteurs du Finistère",
     "Radio officer"),
    ("Anaïs Corre", "anais.corre@criee-brest.example", "Criée de Brest", "IT officer"),
    ("Benoît Le Gac", "benoit.legac@cap-sizun-peche.example", "Cap Sizun Pêche", "Skipper and co-owner"),
    ("Laurence Guivarc'h", "laurence.guivarch@region-iles.example", "Association des îles du Ponant",
     "Project officer"),
    ("Fabrice Nédélec", "fabrice.nedelec@marine-services.example", "Marine Services Brest",
     "Electronics engineer"),
    ("Élodie Kerdoncuff", "elodie.kerdoncuff@ocean-lab.example", "Océan Lab", "Research engineer"),
    ("Yves Calvez", "yves.calvez@penn-sardin.example", CANNERY, "Fleet liaison officer"),
    ("Marine Jaffrès", "marine.jaffres@iroise-ferries.example", FERRIES, "Ticketing manager"),
    ("Stéphane Abiven", "stephane.abiven@molene-cooperative.example", "Coopérative de Molène", "Chair"),
    ("Agnès Le Hir", "agnes.lehir@sein-commune.example", "Mairie de l'Île-de-Sein", "Town clerk"),
]
VISIT_GUESTS = [
    ("Cyril Boulanger", "cyril.boulanger@clinique-odet.example", "Clinique de l'Odet", "Head of training"),
    ("Inès Ferrand", "ines.ferrand@biscuiterie-nantes.example", "Biscuiterie nantaise", "HR director"),
    ("Paul Le Goff", "paul.legoff@breizh-fibre.example", "Breizh Fibre", "Field operations manager"),
]
# fmt: on

# --------------------------------------------------------------------------------------------- providers

D, IPR, FIN, INTL, TEST, LAB, CENTRE = (
    Service.DESIGN,
    Service.IPR,
    Service.FINANCING,
    Service.INTERNATIONALISATION,
    Service.TESTING,
    Service.LIVING_LAB,
    Service.DESIGN_CENTRE,
)
# name, country, region, services, languages, website, what they offer
# fmt: off
PROVIDERS = [
    ("Studio Formwerk", "AT", "Oberösterreich", (D,), "German, English", "https://formwerk.example",
     "Industrial design for devices and sensors: enclosures that survive washing, salt and clumsy hands, "
     "from sketch to injection-moulded series."),
    ("Traunviertel Interaction Design", "AT", "Oberösterreich", (D,), "German, English",
     "https://traun-ixd.example",
     "User-interface and service design for professional tools, with usability tests in the firm's own "
     "workplace."),
    ("Atelier Lumen Design", "AT", "Oberösterreich", (D, CENTRE), "German, English, French",
     "https://lumen-design.example",
     "Service and interaction design studio; member of the cluster's design network, runs co-creation "
     "workshops with lead users."),
    ("Linz Creative Region", "AT", "Oberösterreich", (CENTRE, INTL), "German, English",
     "https://creative-region-linz.example",
     "Design centre of Upper Austria's design and media network: points firms to designers and hosts "
     "market tests for firms entering Austria."),
    ("Cabinet Le Gall Propriété Industrielle", "FR", "Bretagne", (IPR,), "French, English",
     "https://legall-pi.example",
     "Patent and trademark attorneys: searches, filings in Europe and abroad, co-development and licence "
     "agreements."),
    ("Loire Brevets & Marques", "FR", "Pays de la Loire", (IPR,), "French, English, Spanish",
     "https://loire-brevets.example",
     "Patent attorneys for medical devices and software; freedom-to-operate opinions before a launch."),
    ("Patentkanzlei Donau", "AT", "Wien", (IPR,), "German, English", "https://patent-donau.example",
     "Patent attorneys for mechanical and electronic inventions, European and Austrian filings."),
    ("Fonds d'innovation Bretagne-Loire", "FR", "Bretagne", (FIN,), "French",
     "https://innovation-bl.example",
     "The regional innovation agency's fund: repayable advances and grants for prototypes, market tests "
     "and co-development projects between firms."),
    ("Breizh Amorçage", "FR", "Bretagne", (FIN,), "French, English", "https://breizh-amorcage.example",
     "Seed fund for young technology firms of Brittany: tickets of €200,000 to €1.5 million."),
    ("Business Angels de l'Atlantique", "FR", "Pays de la Loire", (FIN,), "French",
     "https://angels-atlantique.example",
     "A network of 120 business angels; pitch sessions every month in Nantes and Angers."),
    ("Export Bretagne-Loire", "FR", "Bretagne", (INTL,), "French, English, German, Spanish",
     "https://export-bretagne-loire.example",
     "The regional export agency: market studies, trade missions and stands at fairs abroad."),
    ("Nordic Market Bridge", "SE", "Skåne", (INTL, LAB), "Swedish, English", "https://nordic-bridge.example",
     "Helps firms enter the Nordic markets: partner search, pilot customers and short market tests."),
    ("Öresund Living Lab", "SE", "Skåne", (LAB, TEST), "Swedish, Danish, English",
     "https://oresund-livinglab.example",
     "Market tests with households, care homes and firms in Malmö and Lund; founded by industry, a "
     "technical university and the region."),
    ("Skåne Design Centre", "SE", "Skåne", (CENTRE, D), "Swedish, English", "https://skane-design.example",
     "Design centre with a prototyping workshop; matches firms with Swedish designers."),
    ("Pohjoinen Living Lab", "FI", "Pohjois-Pohjanmaa", (LAB, TEST), "Finnish, Swedish, English",
     "https://pohjoinen-lab.example",
     "Field tests of mobile and network services in northern conditions: cold, darkness and long distances."),
    ("Uusimaa Care Living Lab", "FI", "Uusimaa", (LAB,), "Finnish, Swedish, English",
     "https://uusimaa-care.example",
     "Tests welfare technology with older people living at home and home-care nurses around Helsinki."),
    ("Helsinki Design Centre", "FI", "Uusimaa", (CENTRE,), "Finnish, English",
     "https://helsinki-design.example",
     "Design centre: design audits, service design training and a network of Finnish studios."),
    ("Bizkaia Living Lab", "ES", "País Vasco", (LAB,), "Spanish, Basque, English",
     "https://bizkaia-livinglab.example",
     "Living lab of the Basque coast: ports, fishing and food industry users for market tests."),
    ("Barcelona Design Centre", "ES", "Cataluña", (CENTRE, D), "Spanish, Catalan, English",
     "https://bcn-design.example",
     "Design centre promoting design in industry; product and packaging design reviews."),
    ("Levante Test Lab", "ES", "Comunitat Valenciana", (TEST,), "Spanish, English",
     "https://levante-test.example",
     "Accredited laboratory for food-contact, packaging and electrical safety tests."),
    ("Laboratoire CEM Ouest", "FR", "Bretagne", (TEST,), "French, English", "https://cem-ouest.example",
     "Electromagnetic compatibility and radio tests (CE and RED) for connected devices, in Lannion."),
    ("Bassin d'essais Penfeld", "FR", "Bretagne", (TEST,), "French, English", "https://bassin-penfeld.example",
     "Sea-keeping and salt-spray tests for marine equipment; antenna tests on a moving platform."),
    ("Zeeland Delta Living Lab", "NL", "Zeeland", (LAB,), "Dutch, English", "https://delta-livinglab.example",
     "Market tests with ports, ferries and aquaculture along the Dutch delta."),
    ("Cork Maritime Innovation Hub", "IE", "Munster", (LAB, INTL), "English, Irish",
     "https://cork-maritime.example",
     "Soft-landing programme and test berths for maritime technology firms entering Ireland."),
    ("Atlantic Design & Export Desk", "PT", "Norte", (INTL, D), "Portuguese, Spanish, English",
     "https://atlantic-desk.example",
     "Packaging adaptation and distributor search for food and consumer products in Portugal and Spain."),
]
# Proposed by firms, waiting for the cluster's review: the proposing firm, the provider.
PROPOSALS = [
    (IOT, ("Quimper Prototypes", "FR", "Bretagne", (D, TEST), "French",
             "https://quimper-prototypes.example",
             "Electronics prototyping and small series: boards, enclosures and test benches.")),
    (UNIVERSITY, ("Tallinn Smart City Living Lab", "EE", "Harjumaa", (LAB,), "Estonian, English, Russian",
                  "https://tallinn-livinglab.example",
                  "Tests of city and mobility services with residents of Tallinn.")),
]
HIDDEN = ("Brevets Express en ligne", "FR", "Île-de-France", (IPR,), "French", "https://brevets-express.example",
          "Online patent filing at a fixed price.")
# fmt: on

# ------------------------------------------------------------------------------------------ intelligence

# fmt: off
TOPICS = [
    ("blue-economy", "Blue economy and maritime",
     "Ports, ferries, fishing and aquaculture: their markets and how they buy technology."),
    ("food-industry", "Food industry", "Seafood, dairy and food processing in western France."),
    ("health-and-care", "Health and care", "Hospitals, care homes and care at home."),
    ("retail-and-logistics", "Retail and logistics",
     "Shops, warehouses and deliveries, in town and country."),
    ("immersive-technologies", "Immersive technologies", "Augmented and virtual reality at work."),
    ("connectivity-and-iot", "Connectivity and IoT", "Networks, sensors and the data they carry."),
]
# fmt: on

Market, Insight = Report.Kind.MARKET, Report.Kind.INSIGHT
# key, published (days ago; None: a draft), kind, title, topics, summary, findings, campaigns drawn on
# fmt: off
REPORTS = [
    ("connectivity-at-sea", 70, Market,
     "Connectivity at sea: what island ferries and ports will buy by 2028",
     ("blue-economy", "connectivity-and-iot"),
     "Ferries and ports in western France plan to renew on-board connectivity within three years; hybrid "
     "4G/5G and low-orbit satellite routers are what they ask about.",
     "We spoke with eleven operators between Saint-Malo and La Rochelle. Nine lose coverage on part of every "
     "crossing; seven had card payments fail last summer. Budgets are small per ship but the fleets are "
     "many: the cluster counts 140 passenger vessels in its two regions.\n\n"
     "What buyers ask for: one contract for all links, support in French, and routers that fit on ships "
     "under 30 m. Satellite costs worry them less than a year ago.", None),
    ("seafood-cold-chain", 48, Market,
     "Cold chain in Breton seafood: sensors, rules and buyers",
     ("food-industry", "connectivity-and-iot"),
     "Seafood processors will have to prove their cold chain pallet by pallet; most still log temperatures "
     "by hand.",
     "Of the 23 seafood processors in the cluster's regions, 19 log temperatures on paper at least once in "
     "the chain. Large retailers now ask for pallet-level records in their contracts.\n\n"
     "Buyers want tags that survive washing and brine, readings an inspector accepts, and alerts that reach "
     "a shift leader. Prices quoted range from €9 to €35 per tag.", None),
    ("immersive-training", 26, Market,
     "Immersive training in industry: who pays for virtual reality?",
     ("immersive-technologies", "food-industry"),
     "Food and telecom firms test VR and AR for training and field work; the budget comes from training, "
     "not from IT.",
     "Six of the fourteen firms we interviewed have tried VR or AR at work, mostly for safety training and "
     "remote assistance. Those that continued paid from the training budget and measured fewer accidents or "
     "fewer second visits.\n\n"
     "Headsets are no longer the obstacle: content made from the firm's own procedures is.", None),
    ("carers-and-apps", 33, Insight,
     "Carers and mobile apps: what the usability test taught us",
     ("health-and-care",),
     "Carers of every age used the app; older carers found it harder, and told us why.",
     "The figures are aggregated across everyone who answered the questionnaire; no person can be recognised "
     "from them. Usability falls with age, mostly because of small buttons and notifications that disappear "
     "too fast.\n\n"
     "What firms can take from it: test with carers over 65 before launch, and let them choose how long a "
     "notification stays on screen.", "carers"),
    ("sensors-at-home", 16, Insight,
     "What older people expect from sensors at home",
     ("health-and-care", "connectivity-and-iot"),
     "Older people accept sensors that see nothing and ask nothing of them, and want their nurse, not a call "
     "centre, to react.",
     "Drawn from the home-care field trial and the tablet video-call pilot. Participants valued being left "
     "alone by the device and being called by someone they know. The figures are aggregated; groups of fewer "
     "than five people are not shown.", "sensors"),
    ("rural-delivery", None, Market,
     "Groceries for villages and islands: the economics of rural delivery",
     ("retail-and-logistics",),
     "What rural home delivery costs, and who pays for it.",
     "Draft: the figures of the two village shops are still to be checked.", None),
]
# fmt: on


def pdf_minutes(project: Project, partners: list[str], milestones: list[tuple[str, date]]) -> bytes:
    """The project's kick-off minutes as a small PDF."""
    items = "".join(f"<li>{escape(title)} — {due:%d/%m/%Y}</li>" for title, due in milestones)
    html = (
        "<html><head><meta charset='utf-8'><style>body{font-family:'DejaVu Sans',sans-serif;font-size:10pt}"
        "h1{font-size:15pt}</style></head><body>"
        f"<h1>{escape(project.title)}: kick-off minutes</h1>"
        f"<p><b>Partners:</b> {escape(', '.join(partners))}.</p>"
        f"<p><b>Goals:</b> {escape(project.goals)}</p>"
        f"<p><b>Results:</b> {escape(project.get_ip_ownership_display())}. "
        f"{escape(project.licence_terms)}</p>"
        f"<p><b>Confidentiality:</b> {escape(project.confidentiality)}</p>"
        f"<p><b>Milestones agreed:</b></p><ol>{items}</ol>"
        "<p>Next meeting: after the quay trial, at the cannery.</p></body></html>"
    )
    return HTML(string=html).write_pdf()


# ------------------------------------------------------------------------------------------------- entry


def seed_b2b(stdout=None) -> None:
    """The demo's B2B channel; does nothing if it exists already or if the demo world is not there."""
    if Need.objects.filter(organisation__slug__in=BUYERS).exists():
        return
    if Organisation.objects.filter(slug__in=WORLD).count() != len(WORLD):
        return
    DemoB2B(stdout).build()


def seed_b2b_pages(home, *, editor: User, publisher: User) -> None:
    """The public list of cluster events and the service-provider directory under ``home``, each drafted by
    ``editor`` and published by ``publisher``, unless the site has one already."""
    from cms.models import B2BEventIndexPage, ProviderDirectoryPage

    pages = [
        (
            B2BEventIndexPage,
            "Cluster events",
            "events",
            "Fairs, cluster visits, breakfast meetings and workshops where buyers and suppliers of the "
            "cluster meet. Register from the event's page; your ticket comes by e-mail with a QR code for "
            "the door.",
        ),
        (
            ProviderDirectoryPage,
            "Service providers",
            "service-providers",
            "Design studios, intellectual-property attorneys, funders, export agencies, testing "
            "laboratories, and living labs and design centres abroad for market tests, chosen by the "
            "cluster's staff. Member firms ask for contact through the platform.",
        ),
    ]
    for model, title, slug, introduction in pages:
        if model.objects.exists():
            continue
        if home.get_children().filter(slug=slug).exists():
            slug = f"{slug}-b2b"
        page = model(title=title, slug=slug, introduction=introduction, live=False, owner=editor)
        home.add_child(instance=page)
        page.save_revision(user=editor).publish(user=publisher)


class Clock(DemoClock):
    """The demo clock (``procurement.demo``) in the cluster's time zone."""

    def __init__(self):
        super().__init__()
        self.today = self.real_now.astimezone(ZoneInfo(ZONE)).date()

    def at(self, days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
        day = self.today - timedelta(days=days_ago)
        return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(ZONE))

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)


@dataclass(order=True)
class Step:
    moment: datetime
    number: int
    days_ago: int = field(compare=False)
    hour: int = field(compare=False)
    minute: int = field(compare=False)
    action: Callable = field(compare=False)


class DemoB2B:
    """Each part plans its steps at their moment in the story; ``build`` runs them all in time order, so
    that the audit trail reads in the order things happened."""

    def __init__(self, stdout=None):
        self.stdout = stdout
        self.clock = Clock()
        self.rng = random.Random(SEED)
        self.steps: list[Step] = []
        self.admin = User.objects.filter(is_superuser=True).order_by("pk").first()
        self.orgs = {o.slug: o for o in Organisation.objects.filter(slug__in=WORLD)}
        self.cluster = self.orgs[CLUSTER]
        self.coordinator = self.member_of(CLUSTER, Role.LAB_COORDINATOR, Role.CLUSTER_MANAGER)
        self.manager = self.member_of(CLUSTER, Role.CLUSTER_MANAGER, Role.LAB_COORDINATOR)
        self.users: dict[str, int] = {}  # firm slug → id of the user who acts for it
        self.tags: dict[str, Tag] = {}
        self.topics: dict[str, Topic] = {}
        self.listings: dict[str, Need | Offer] = {}
        self.introductions: dict[str, Introduction] = {}
        self.events: dict[str, Event] = {}
        self.tickets: dict[tuple[str, str], EventRegistration] = {}  # (event, e-mail) → registration
        self.providers: dict[str, ServiceProvider] = {}
        self.project: Project | None = None
        self.campaign: Campaign | None = None
        self.reports: dict[str, Report] = {}

    def say(self, message: str):
        if self.stdout is not None:
            self.stdout.write(message)

    def member_of(self, slug: str, *roles) -> User | None:
        """The longest-standing member of ``slug`` in the first of ``roles`` that has one."""
        preference = Case(
            *(When(role=role, then=Value(rank)) for rank, role in enumerate(roles)),
            output_field=IntegerField(),
        )
        membership = (
            Membership.objects.active()
            .filter(organisation=self.orgs[slug], role__in=roles)
            .order_by(preference, "pk")
            .first()
        )
        return User.objects.get(pk=membership.user_id) if membership else None

    def user(self, firm: str) -> User:
        """A fresh user object acting for ``firm``: permission checks remember what they read per object."""
        return User.objects.get(pk=self.users[firm])

    def email_of(self, firm: str) -> str:
        """The e-mail address of the user who acts for ``firm`` (known before the logins exist)."""
        login = next((login for login in LOGINS if login.organisation == firm), None)
        return login.email if login else self.member_of(firm, *EXISTING_FIRM_ROLES).email

    def fresh(self, user: User) -> User:
        return User.objects.get(pk=user.pk)

    def at(self, days_ago: int, hour: int, minute: int, action: Callable, *args, **kwargs) -> None:
        """Plan ``action(*args, **kwargs)`` for ``hour``:``minute`` (Paris time), ``days_ago`` days ago."""
        moment = self.clock.at(days_ago, hour, minute)
        self.steps.append(
            Step(moment, len(self.steps), days_ago, hour, minute, partial(action, *args, **kwargs))
        )

    # ------------------------------------------------------------------------------------------ build

    def build(self):
        if None in (self.admin, self.coordinator, self.manager):
            return
        self.plan_onboarding()
        self.plan_tags_and_topics()
        self.plan_providers()
        self.plan_listings()
        self.at(112, 2, 0, matching.refresh_matches)  # the nightly refresh of the whole table
        self.plan_introductions()
        self.plan_project()
        self.plan_events()
        self.plan_reports()
        self.at(0, 2, 0, matching.refresh_matches)
        with self.clock.running():
            for step in sorted(self.steps):
                self.clock.go(step.days_ago, step.hour, step.minute)
                step.action()
        self.say(
            _(
                "Demo B2B channel: %(needs)s needs, %(offers)s offers, %(introductions)s introductions, "
                "%(events)s events, %(providers)s service providers, %(reports)s reports."
            )
            % {
                "needs": Need.objects.count(),
                "offers": Offer.objects.count(),
                "introductions": Introduction.objects.count(),
                "events": Event.objects.count(),
                "providers": ServiceProvider.objects.count(),
                "reports": Report.objects.count(),
            }
        )

    # -------------------------------------------------------------------------- firms, logins, rules

    def plan_onboarding(self):
        """The buyer and supplier firms and their logins; the B2B ground rules, which every actor accepts."""
        self.at(150, 9, 0, self.create_firms)
        self.at(148, 11, 0, self.publish_rules)
        self.at(147, 9, 0, self.accept_rules, None, CLUSTER)
        firms = [login.organisation for login in LOGINS] + [SENSORS, TELECOM]
        for index, firm in enumerate(firms):
            self.at(146 - index // 4, 9 + index % 4 * 2, 15, self.accept_rules, firm, firm)

    def create_firms(self):
        for slug, name, kind, country, region, sector, size, website in ORGANISATIONS:
            organisation = Organisation.objects.filter(slug=slug).first()
            if organisation is None:
                organisation = core.save_reference_data(
                    Organisation(
                        slug=slug,
                        name=name,
                        kind=kind,
                        country=country,
                        region=region,
                        sector=sector,
                        size=size,
                        website=website,
                    ),
                    acting_user=self.admin,
                )
            self.orgs[slug] = organisation
        password = make_password(DEMO_PASSWORD)
        for login in LOGINS:
            user = User.objects.filter(email=login.email).first() or UserFactory(
                email=login.email,
                first_name=login.first_name,
                last_name=login.last_name,
                password=factory.Transformer.Force(password),
            )
            if not Person.objects.filter(user=user).exists():
                core.register_person(user, full_name=f"{login.first_name} {login.last_name}")
            organisation = self.orgs[login.organisation]
            if not Membership.objects.active().filter(user=user, organisation=organisation).exists():
                core.add_membership(user, organisation, login.role, acting_user=self.admin)
            self.users[login.organisation] = user.pk
        for slug in (SENSORS, TELECOM):
            self.users[slug] = self.member_of(slug, *EXISTING_FIRM_ROLES).pk

    def publish_rules(self):
        rules = GroundRules.objects.filter(title=B2B_RULES).first()
        if rules is None:
            rules = core.save_reference_data(
                GroundRules(
                    title=B2B_RULES, scope_kind=ScopedDocument.ScopeKind.CHANNEL, channel=Channel.B2B
                ),
                acting_user=self.coordinator,
            )
        if not rules.versions.filter(status=VersionStatus.PUBLISHED).exists():
            draft = core.save_draft_version(
                GroundRulesVersion(rules=rules, text=B2B_RULES_TEXT), acting_user=self.coordinator
            )
            core.publish_version(draft, acting_user=self.coordinator)

    def accept_rules(self, firm: str | None, slug: str):
        """``firm``'s user (the cluster's coordinator and manager when None) accepts every ground rules
        version of the B2B channel for ``slug``."""
        people = [self.user(firm)] if firm else [self.fresh(self.coordinator), self.fresh(self.manager)]
        organisation = self.orgs[slug]
        for user in people:
            for version in core.pending_ground_rules(user, Channel.B2B, organisation=organisation):
                core.accept_ground_rules(
                    version,
                    organisation=organisation,
                    acting_user=user,
                    user_agent="seed_demo",
                    shown_sha256=version.text_sha256,
                )

    # -------------------------------------------------------------------------- tags and topics

    def plan_tags_and_topics(self):
        self.at(145, 14, 0, self.save_tags)
        self.at(111, 10, 0, self.save_topics)
        subscriptions = {
            CANNERY: ("food-industry", "connectivity-and-iot"),
            FERRIES: ("blue-economy", "connectivity-and-iot"),
            HOSPITALS: ("health-and-care", "immersive-technologies"),
            RETAIL: ("retail-and-logistics", "food-industry"),
            IOT: ("connectivity-and-iot", "food-industry", "health-and-care"),
            MARITIME: ("blue-economy", "connectivity-and-iot"),
            EHEALTH: ("health-and-care",),
            XR: ("immersive-technologies", "health-and-care"),
            LOGISTICS: ("retail-and-logistics", "blue-economy"),
            UNIVERSITY: ("food-industry", "blue-economy", "connectivity-and-iot"),
        }
        for index, (firm, slugs) in enumerate(subscriptions.items()):
            self.at(110 - index, 9 + index % 8, 40, self.subscribe, firm, slugs)

    def save_tags(self):
        existing = {(t.kind, t.slug): t for t in Tag.objects.all()}
        for kind, names in ((Tag.Kind.SECTOR, SECTORS), (Tag.Kind.TECHNOLOGY, TECHNOLOGIES)):
            for key, name in names.items():
                tag = existing.get((kind, slugify(name)))
                if tag is None:
                    tag = intelligence.save_reference_entry(
                        Tag(kind=kind, name=name, slug=slugify(name)),
                        acting_user=self.fresh(self.coordinator),
                    )
                self.tags[key] = tag

    def save_topics(self):
        existing = {t.slug: t for t in Topic.objects.filter(slug__in=[row[0] for row in TOPICS])}
        for slug, name, description in TOPICS:
            self.topics[slug] = existing.get(slug) or intelligence.save_reference_entry(
                Topic(slug=slug, name=name, description=description), acting_user=self.fresh(self.coordinator)
            )

    def subscribe(self, firm: str, slugs):
        user = self.user(firm)
        for slug in slugs:
            intelligence.subscribe_topic(self.topics[slug], acting_user=user)

    # ------------------------------------------------------------------------------------ marketplace

    def plan_listings(self):
        for spec, model in [(spec, Need) for spec in NEEDS] + [(spec, Offer) for spec in OFFERS]:
            self.at(
                spec.day, 9 + self.rng.randint(0, 6), self.rng.choice((0, 15, 30, 45)), self.post, spec, model
            )
            if spec.status != "draft":
                self.at(spec.day, 17, 30, self.publish, spec.key)
        # The warehouse picking app is replaced by the route product.
        self.at(116, 11, 0, self.close, "picking-app", LOGISTICS)

    def post(self, spec: Listing, model):
        values = {
            "title": spec.title,
            "summary": spec.summary,
            "description": spec.description,
            "visibility": spec.visibility,
            "sectors": [self.tags[key] for key in spec.sectors],
            "technologies": [self.tags[key] for key in spec.technologies],
            **spec.fields,
        }
        save = marketplace.save_need if model is Need else marketplace.save_offer
        self.listings[spec.key] = save(
            None, values, organisation=self.orgs[spec.firm], acting_user=self.user(spec.firm)
        )

    def publish(self, key: str):
        listing = self.listings[key]
        self.listings[key] = marketplace.publish_listing(
            listing, acting_user=self.user(listing.organisation.slug)
        )

    def close(self, key: str, firm: str):
        self.listings[key] = marketplace.close_listing(self.listings[key], acting_user=self.user(firm))

    # ---------------------------------------------------------------------------------- introductions

    def request(self, key: str, need: str, offer: str, *, by: str, message: str, nda: bool = False):
        need, offer = self.listings[need], self.listings[offer]
        side = need.organisation if by == "need" else offer.organisation
        self.introductions[key] = introductions.request_introduction(
            need,
            offer,
            organisation=side,
            message=message,
            nda_requested=nda,
            acting_user=self.user(side.slug),
        )

    def broker(self, key: str, note: str, *, nda: bool = False):
        self.introductions[key] = introductions.broker_introduction(
            self.introductions[key],
            nda_required=nda,
            nda_text="",
            note=note,
            acting_user=self.fresh(self.manager),
        )

    def accept(self, key: str, firm: str):
        introduction = self.introductions[key]
        self.introductions[key] = introductions.accept_introduction(
            introduction,
            organisation=self.orgs[firm],
            nda_sha256=introduction.nda_sha256,
            acting_user=self.user(firm),
        )

    def outcome(self, key: str, kind: str, days_ago: int, note: str, *, by: str):
        introductions.record_outcome(
            self.introductions[key],
            kind=kind,
            occurred_on=self.clock.day(days_ago),
            note=note,
            acting_user=self.user(by),
        )

    def decline(self, key: str, firm: str, reason: str):
        introductions.decline_introduction(
            self.introductions[key], organisation=self.orgs[firm], reason=reason, acting_user=self.user(firm)
        )

    def refuse(self, key: str, reason: str):
        introductions.refuse_introduction(
            self.introductions[key], reason=reason, acting_user=self.fresh(self.manager)
        )

    def withdraw(self, key: str, firm: str, reason: str):
        introductions.withdraw_introduction(
            self.introductions[key], reason=reason, acting_user=self.user(firm)
        )

    def propose(self, key: str, need: str, offer: str, note: str):
        self.introductions[key] = introductions.propose_introduction(
            self.listings[need],
            self.listings[offer],
            broker=self.cluster,
            note=note,
            nda_required=False,
            nda_text="",
            acting_user=self.fresh(self.manager),
        )

    def plan_introductions(self):
        at, Outcome = self.at, IntroductionOutcome.Kind
        # Accepted under an NDA, a meeting held, then co-development (the project): cannery and sensor firm.
        at(
            108,
            10,
            0,
            self.request,
            "cold-chain",
            "cold-chain",
            "temperature-tags",
            by="need",
            nda=True,
            message="Your tags could be what we need on the quay. We would like to talk under an NDA.",
        )
        at(
            106,
            15,
            0,
            self.broker,
            "cold-chain",
            nda=True,
            note="A good fit on paper: washable tags, signed readings. Both firms asked for the standard "
            "NDA.",
        )
        at(105, 9, 30, self.accept, "cold-chain", CANNERY)
        at(104, 11, 0, self.accept, "cold-chain", IOT)
        at(
            95,
            17,
            0,
            self.outcome,
            "cold-chain",
            Outcome.MEETING_HELD,
            95,
            by=CANNERY,
            note="Visit of the quay and the cold rooms; tags tested in the brine tank.",
        )

        # Accepted, a meeting held: the hospital group and the e-health firm, asked for by the supplier.
        at(
            100,
            10,
            0,
            self.request,
            "heart",
            "heart-failure",
            "remote-monitoring",
            by="offer",
            message="Our platform is used by two cardiology departments; we would be glad to present it.",
        )
        at(
            99,
            14,
            0,
            self.broker,
            "heart",
            note="The hospital group asked for suppliers with a FHIR interface.",
        )
        at(98, 9, 0, self.accept, "heart", HOSPITALS)
        at(97, 10, 0, self.accept, "heart", EHEALTH)
        at(
            80,
            17,
            0,
            self.outcome,
            "heart",
            Outcome.MEETING_HELD,
            82,
            by=EHEALTH,
            note="Demonstration to the cardiology nurses; a data-protection review is planned.",
        )

        # Accepted, no fit: the ferries' engines and the vibration sensors.
        at(
            96,
            11,
            0,
            self.request,
            "engines",
            "engine-maintenance",
            "vibration-sensors",
            by="need",
            message="Have your sensors been used on marine diesel engines?",
        )
        at(
            95,
            10,
            0,
            self.broker,
            "engines",
            note="Worth a conversation; marine certification may be the question.",
        )
        at(94, 9, 0, self.accept, "engines", FERRIES)
        at(94, 15, 0, self.accept, "engines", IOT)
        at(
            75,
            10,
            0,
            self.outcome,
            "engines",
            Outcome.NO_FIT,
            76,
            by=FERRIES,
            note="The sensors are not certified for engine rooms; Capteo will come back when they are.",
        )

        # Declined: the hospital group already tenders for an equipment-location system.
        at(
            90,
            10,
            0,
            self.request,
            "location",
            "equipment-location",
            "asset-tags",
            by="offer",
            message="Our tags are certified for use near medical devices.",
        )
        at(
            89,
            11,
            0,
            self.broker,
            "location",
            note="The hospital group may want a second supplier to compare.",
        )
        at(
            85,
            16,
            0,
            self.decline,
            "location",
            HOSPITALS,
            "A public tender for equipment location is already running; we cannot talk to suppliers "
            "outside it.",
        )

        # Refused by the cluster: VR training is not what the cannery's camera need asks for.
        at(
            70,
            10,
            0,
            self.request,
            "defects",
            "can-defects",
            "vr-training",
            by="offer",
            message="Our VR modules could train operators to spot defects.",
        )
        at(
            69,
            9,
            0,
            self.refuse,
            "defects",
            "The cannery looks for automatic inspection, not training. The university's computer-vision "
            "lab is a closer match; you may want to look at the cannery's training need instead.",
        )

        # Withdrawn: the freight platform asked, then the ferry company closed its booking need.
        at(
            66,
            14,
            0,
            self.request,
            "booking",
            "island-booking",
            "freight-booking",
            by="offer",
            message="Our platform books freight on a barge line; seats and cars would be new for us.",
        )
        at(60, 9, 0, self.close, "island-booking", FERRIES)
        at(
            58,
            10,
            0,
            self.withdraw,
            "booking",
            LOGISTICS,
            "The ferry company closed its need: the booking project is postponed.",
        )

        # Brokered under an NDA, accepted by the ferry company, waiting for the router maker.
        at(
            12,
            10,
            0,
            self.request,
            "connectivity",
            "island-connectivity",
            "ship-router",
            by="need",
            nda=True,
            message="We need a solution before the summer season; our fleet plans are confidential.",
        )
        at(
            10,
            15,
            0,
            self.broker,
            "connectivity",
            nda=True,
            note="Mor Connect's router is on two fishing vessels already. Both firms are asked to accept "
            "the NDA.",
        )
        at(9, 8, 45, self.accept, "connectivity", FERRIES)

        # Proposed by the cluster between two staff-only listings; neither firm has answered yet.
        at(
            6,
            11,
            0,
            self.propose,
            "calming-vr",
            "calming-vr",
            "calming-vr-content",
            "Both of you told only us about this; we think you should meet.",
        )

        # Requested, waiting for the cluster.
        at(
            3,
            16,
            0,
            self.request,
            "rural",
            "rural-deliveries",
            "route-optimisation",
            by="need",
            message="We would like to try your planning on two village shops before the winter.",
        )
        at(
            1,
            10,
            30,
            self.request,
            "fibre",
            "fibre-ar",
            "ar-assistance",
            by="offer",
            message="Our remote assistance runs on ordinary phones, which your technicians already carry.",
        )

    # ---------------------------------------------------------------------------------------- project

    def plan_project(self):
        milestones = [
            ("Tags fitted on 200 pallets and two lorries", 70),
            ("Quay trial during the sardine season", -30),
            ("Readings accepted by the veterinary inspection", -75),
            ("Decision on roll-out to the second site", -120),
        ]
        self.at(92, 14, 0, self.start_project)
        for number, (title, due) in enumerate(milestones):
            self.at(92, 14, 10 + number, self.add_milestone, title, due)
        self.at(90, 11, 0, self.upload_minutes)
        self.at(70, 17, 0, self.complete_milestone, milestones[0][0])
        # The buyer's quality technicians test the supplier's prototype: the B2B test campaign.
        self.at(40, 10, 0, self.launch_campaign)
        self.at(38, 15, 0, self.prepare_campaign)
        self.at(37, 9, 0, self.submit_campaign)
        self.at(36, 11, 0, self.approve_campaign)

    def start_project(self):
        self.project = projects.start_project(
            introduction=self.introductions["cold-chain"],
            title="Cold chain you can prove: from the quay to the lorry",
            goals="Track every pallet of fresh fish from unloading to delivery below 2 °C, with readings the "
            "veterinary inspection accepts, and alerts that shift leaders act on within 15 minutes.",
            ip_ownership=Project.Ownership.GENERATOR,
            licence_terms="Capteo keeps the rights to its tags and firmware and grants the cannery a free, "
            "perpetual licence to use them at its sites. The university may publish the anonymised "
            "temperature data set and the alert model after the project, with the partners' agreement.",
            exclusivity=Project.Exclusivity.FIELD,
            exclusivity_until=self.clock.day(-365),
            confidentiality="Fleet, customer and claim data of the cannery stay confidential for five years; "
            "the design of the tags stays confidential to Capteo.",
            started_on=self.clock.day(92),
            partners=[(self.orgs[UNIVERSITY], ProjectPartner.Role.RESEARCH)],
            acting_user=self.user(CANNERY),
        )

    def add_milestone(self, title: str, due: int):
        projects.add_milestone(
            self.project, title=title, due_on=self.clock.day(due), acting_user=self.user(CANNERY)
        )

    def upload_minutes(self):
        project = self.project
        partners = [p.organisation.name for p in project.partners.select_related("organisation")]
        milestones = list(project.milestones.order_by("due_on").values_list("title", "due_on"))
        projects.upload_document(
            project,
            title="Kick-off minutes",
            upload=SimpleUploadedFile(
                "kick-off-minutes.pdf",
                pdf_minutes(project, partners, milestones),
                content_type="application/pdf",
            ),
            acting_user=self.user(UNIVERSITY),
        )

    def complete_milestone(self, title: str):
        milestone = self.project.milestones.get(title=title)
        projects.complete_milestone(milestone, acting_user=self.user(IOT))

    def launch_campaign(self):
        self.campaign = projects.launch_test_campaign(self.project, acting_user=self.user(IOT))

    def prepare_campaign(self):
        """The living lab completes the request: the lead-user panel, the screener, what to expect."""
        campaign = Campaign.objects.get(pk=self.campaign.pk)
        campaign.panel = self.lead_user_panel()
        campaign.target_participants = 8
        campaign.conditions = {"all": [{"attribute": "sector", "operator": "in", "value": ["C"]}]}
        campaign.expect_time = "Three weeks of normal shifts with the tags, then a 30-minute interview."
        campaign.expect_risks = (
            "None beyond a phone alert that may ring when it should not; the usual temperature log stays "
            "the reference during the test."
        )
        self.campaign = lifecycle.save_campaign(
            campaign,
            required_purposes=list(ConsentPurpose.objects.filter(code="participation")),
            acting_user=self.fresh(self.coordinator),
        )

    def submit_campaign(self):
        self.campaign = lifecycle.submit_campaign(self.campaign, acting_user=self.user(IOT))

    def approve_campaign(self):
        lifecycle.fast_track_campaign(self.campaign, acting_user=self.fresh(self.coordinator))

    # ---------------------------------------------------------------------------------------- events

    def lead_user_panel(self) -> Panel:
        """The cluster's B2B panel for lead users (``pilots.demo``'s), opened here if there is none."""
        panel = (
            Panel.objects.filter(channel=Channel.B2B, owner=self.cluster)
            .order_by(Case(When(slug=LEAD_USER_PANEL, then=Value(0)), default=Value(1)), "pk")
            .first()
        )
        if panel is not None:
            return panel
        coordinator = self.fresh(self.coordinator)
        title = "Professional lead users: panel consent"
        document = ConsentDocument.objects.filter(title=title).first() or core.save_reference_data(
            ConsentDocument(title=title, scope_kind=ScopedDocument.ScopeKind.CHANNEL, channel=Channel.B2B),
            acting_user=coordinator,
        )
        if not document.versions.filter(status=VersionStatus.PUBLISHED).exists():
            draft = core.save_draft_version(
                ConsentDocumentVersion(
                    document=document,
                    text="Professional lead users is a standing panel of Armor Living Lab for professionals "
                    "who try new tools at work. Taking part is voluntary; you can withdraw each permission "
                    "at any time.",
                ),
                acting_user=coordinator,
            )
            draft.purposes.set(ConsentPurpose.objects.filter(code__in=LEAD_USER_PURPOSES))
            core.publish_version(draft, acting_user=coordinator)
        return save_panel(
            Panel(
                owner=self.cluster,
                channel=Channel.B2B,
                name="Professional lead users",
                slug=LEAD_USER_PANEL,
                description="Staff of buyer firms who try professional tools early.",
                consent_document=document,
                open_for_sign_up=True,
            ),
            acting_user=coordinator,
        )

    def create_event(self, key: str, *, panel: bool = False, **changes):
        coordinator = self.fresh(self.coordinator)
        if panel:
            changes["lead_user_panel"] = self.lead_user_panel()
        event = events.save_event(
            None, {"time_zone": ZONE, **changes}, organiser=self.cluster, acting_user=coordinator
        )
        self.events[key] = events.publish_event(event, acting_user=coordinator)

    def register_guest(self, key: str, name: str, email: str, organisation: str, job: str):
        """Staff register a professional without a login."""
        registration, _created = events.register_for_event(
            self.events[key],
            user=None,
            full_name=name,
            email=email,
            organisation=self.orgs.get(organisation, organisation),
            job_title=job,
            acting_user=self.fresh(self.coordinator),
        )
        self.tickets[key, email] = registration

    def register_login(self, key: str, firm: str):
        """A firm login registers itself."""
        user = self.user(firm)
        registration, _created = events.register_for_event(
            self.events[key],
            user=user,
            full_name=user.get_full_name(),
            email=user.email,
            organisation=self.orgs[firm],
            job_title="",
            acting_user=user,
        )
        self.tickets[key, user.email] = registration

    def check_in(self, key: str, email: str):
        events.check_in(
            self.tickets[key, email].ticket_code,
            event=self.events[key],
            acting_user=self.fresh(self.coordinator),
        )

    def sign_up(
        self, key: str, name: str, email: str, organisation: str, job: str, details, *, registered=True
    ):
        """A professional signs up as a lead user at the stand, consent given before a witness."""
        event = self.events[key]
        sector, born, region, supervised, role, size = details
        codes = set(
            PanelAttribute.objects.filter(panel_id=event.lead_user_panel_id).values_list("code", flat=True)
        )
        answers = {
            code: value
            for code, value in (
                ("employees_supervised", supervised),
                ("buying_role", role),
                ("company_size", size),
            )
            if code in codes
        }
        events.sign_up_lead_user(
            event,
            full_name=name,
            profile={
                "year_of_birth": born,
                "region": region,
                "sector": sector,
                "employer": self.orgs[organisation].name if organisation in self.orgs else organisation,
                "occupation": job,
                "preferred_contact": "email",
                "contact_email": email,
            },
            answers=answers,
            consent_route=ConsentRoute.WITNESSED,
            purposes=list(ConsentPurpose.objects.filter(code__in=LEAD_USER_PURPOSES)),
            witness_name=self.manager.get_full_name(),
            registration=self.tickets[key, email] if registered else None,
            submission_key=f"demo-b2b-{key}-{slugify(name)}",
            acting_user=self.fresh(self.coordinator),
        )

    def follow_up(self, key: str, subject: str, message: str):
        events.send_follow_up(
            self.events[key], subject=subject, message=message, acting_user=self.fresh(self.coordinator)
        )

    def plan_registrations(self, key: str, firms, guests, first: int, last: int) -> list[str]:
        """Firm logins register themselves and staff register guests, spread from ``first`` to ``last``
        days ago; the e-mail addresses, in order of registration."""
        people = [(firm, None) for firm in firms] + [(None, guest) for guest in guests]
        emails = []
        for index, (firm, guest) in enumerate(people):
            day = first - (first - last) * index // max(len(people) - 1, 1)
            if firm:
                self.at(day, 8 + index % 10, 5 * (index % 12), self.register_login, key, firm)
                emails.append(self.email_of(firm))
            else:
                self.at(day, 8 + index % 10, 5 * (index % 12), self.register_guest, key, *guest[:4])
                emails.append(guest[1])
        return emails

    def plan_events(self):
        at, clock = self.at, self.clock
        # The fair, two months ago: registrations, check-ins at the stand, lead users, the follow-up.
        at(
            90,
            11,
            0,
            self.create_event,
            "fair",
            panel=True,
            title="Sea & Food Tech Fair, Brest: meet the cluster's buyers and suppliers",
            kind=Event.Kind.FAIR,
            description="Two days at the cluster's stand with its buyer and supplier firms: cold chain, "
            "connectivity at sea and e-health demonstrations, and short meetings booked on the spot. "
            "Professionals can join the cluster's panel of lead users at the stand.",
            venue="Parc des expositions de Penfeld, Brest — hall B, stand 12",
            starts_at=clock.at(61, 9),
            ends_at=clock.at(60, 18),
            registration_closes_at=clock.at(62, 18),
            capacity=80,
        )
        firms = [CANNERY, FERRIES, RETAIL, IOT, MARITIME, XR, LOGISTICS, EHEALTH]
        emails = self.plan_registrations("fair", firms, FAIR_VISITORS, 86, 63)
        visitors = {visitor[1]: visitor for visitor in FAIR_VISITORS}
        # Three registered visitors did not come (none of those who signed up as lead users).
        absent = set(self.rng.sample(sorted(e for e, v in visitors.items() if v[4] is None), 3))
        came = [email for email in emails if email not in absent]
        for index, email in enumerate(came):
            day, hour = (61, 9) if index % 2 == 0 else (60, 9)
            at(day, hour + index // 12, 4 * (index % 12), self.check_in, "fair", email)
        for index, (name, email, organisation, job, details) in enumerate(FAIR_VISITORS):
            if details is not None and email in came:
                at(
                    61,
                    14 + index // 2,
                    20 * (index % 2),
                    self.sign_up,
                    "fair",
                    name,
                    email,
                    organisation,
                    job,
                    details,
                )
        at(60, 16, 30, self.sign_up, "fair", *WALK_IN, registered=False)
        at(
            59,
            10,
            0,
            self.follow_up,
            "fair",
            "Thank you for visiting the cluster's stand",
            "Thank you for coming to the Sea & Food Tech Fair. The presentations are on the cluster's "
            "events page. If you met a firm you want to work with, ask us for an introduction from the "
            "marketplace: we broker it under the B2B ground rules. Lead users who joined the panel will "
            "hear from us before the first test.",
        )

        # A workshop three weeks ago: held, its follow-up still to write.
        at(
            45,
            11,
            0,
            self.create_event,
            "workshop",
            title="Workshop: sharing data with your suppliers without giving away your know-how",
            kind=Event.Kind.WORKSHOP,
            description="An IPR attorney and two firms that co-develop explain NDAs, foreground and "
            "background rights, and who owns the data a prototype collects.",
            venue="Armor Médias & Réseaux, 4 rue Ampère, Lannion — meeting room Trégor",
            starts_at=clock.at(21, 14),
            ends_at=clock.at(21, 17),
            registration_closes_at=clock.at(22, 12),
            capacity=25,
        )
        emails = self.plan_registrations(
            "workshop", [CANNERY, HOSPITALS, IOT, EHEALTH, XR, UNIVERSITY], WORKSHOP_GUESTS, 40, 23
        )
        for index, email in enumerate(emails[:5] + emails[6:9]):
            at(21, 13, 30 + 3 * index, self.check_in, "workshop", email)

        # A breakfast meeting in twelve days, nearly full.
        at(
            20,
            11,
            0,
            self.create_event,
            "breakfast",
            title="Breakfast meeting: staying connected at sea",
            kind=Event.Kind.BREAKFAST,
            description="Ferry, fishing and port people compare what works for connectivity at sea: coastal "
            "5G, low-orbit satellites and hybrid routers. Coffee and far breton from 8:00.",
            venue="Maison de la Mer, port de commerce, Brest",
            starts_at=clock.at(-12, 8),
            ends_at=clock.at(-12, 9, 45),
            registration_closes_at=clock.at(-11, 12),
            capacity=20,
        )
        self.plan_registrations(
            "breakfast", [FERRIES, MARITIME, CANNERY, TELECOM, UNIVERSITY], BREAKFAST_GUESTS, 18, 1
        )

        # A cluster visit in five weeks.
        at(
            14,
            11,
            0,
            self.create_event,
            "visit",
            title="Cluster visit: immersive technologies in Laval",
            kind=Event.Kind.CLUSTER_VISIT,
            description="A day with Studio Immersif Laval and its neighbours: VR training for production "
            "lines, AR assistance for field technicians and relaxing VR for patients. Coach from Rennes at "
            "8:00.",
            venue="Studio Immersif Laval, 6 rue Léonard de Vinci, Laval",
            starts_at=clock.at(-35, 10),
            ends_at=clock.at(-35, 16, 30),
            registration_closes_at=clock.at(-33, 12),
            capacity=25,
        )
        self.plan_registrations(
            "visit", [CANNERY, HOSPITALS, TELECOM, XR, RETAIL, UNIVERSITY], VISIT_GUESTS, 12, 2
        )

    # ------------------------------------------------------------------------------------- providers

    def provider_fields(self, row) -> tuple[dict, tuple]:
        name, country, region, services, languages, website, description = row
        return (
            {
                "name": name,
                "country": country,
                "region": region,
                "languages": languages,
                "website": website,
                "description": description,
                "contact_email": f"contact@{website.split('//', 1)[1]}",
            },
            services,
        )

    def list_provider(self, row):
        fields, services = self.provider_fields(row)
        self.providers[row[0]] = providers.save_provider(
            None, services=services, acting_user=self.fresh(self.coordinator), **fields
        )

    def hide_provider(self, name: str, note: str):
        providers.curate_provider(
            self.providers[name],
            status=ServiceProvider.Status.HIDDEN,
            note=note,
            acting_user=self.fresh(self.coordinator),
        )

    def propose_provider(self, firm: str, row):
        fields, services = self.provider_fields(row)
        providers.propose_provider(services=services, acting_user=self.user(firm), **fields)

    def request_contact(self, firm: str, provider: str, service: str, message: str):
        providers.request_contact(
            self.providers[provider],
            organisation=self.orgs[firm],
            service=service,
            message=message,
            acting_user=self.user(firm),
        )

    def plan_providers(self):
        for index, row in enumerate(PROVIDERS):
            self.at(144 - index // 3, 10 + index % 3 * 2, 0, self.list_provider, row)
        self.at(120, 15, 0, self.list_provider, HIDDEN)
        self.at(
            64,
            9,
            0,
            self.hide_provider,
            HIDDEN[0],
            "Two firms had no answer to their contact requests; hidden until the address is confirmed.",
        )
        for day, (firm, row) in zip((8, 4), PROPOSALS, strict=True):
            self.at(day, 16, 0, self.propose_provider, firm, row)
        for day, firm, provider, service, message in (
            (
                88,
                IOT,
                "Cabinet Le Gall Propriété Industrielle",
                IPR,
                "We co-develop temperature tags with a food processor and need advice on a licence "
                "agreement.",
            ),
            (
                52,
                MARITIME,
                "Cork Maritime Innovation Hub",
                INTL,
                "We would like to test our ship router with an Irish ferry operator next spring.",
            ),
            (
                30,
                XR,
                "Öresund Living Lab",
                LAB,
                "Could we run a market test of relaxing VR content with a Swedish children's hospital?",
            ),
            (
                11,
                CANNERY,
                "Levante Test Lab",
                TEST,
                "We need food-contact tests for sensor tags placed inside fish crates.",
            ),
        ):
            self.at(day, 14, 0, self.request_contact, firm, provider, service, message)

    # ---------------------------------------------------------------------------------- intelligence

    def write_report(self, key: str, kind: str, title: str, topics, summary: str, body: str, campaigns=()):
        self.reports[key] = intelligence.save_report(
            None,
            topics=[self.topics[slug] for slug in topics],
            campaigns=campaigns,
            publisher=self.cluster,
            acting_user=self.fresh(self.coordinator),
            kind=kind,
            title=title,
            summary=summary,
            body=body,
        )

    def publish_report(self, key: str):
        self.reports[key] = intelligence.publish_report(
            self.reports[key], acting_user=self.fresh(self.coordinator)
        )

    def send_digest(self, firm: str):
        """The weekly digest task, as the worker ran it that morning, for one subscriber."""
        send_topic_digest(self.users[firm], intelligence.digest_period_end().isoformat())

    def plan_reports(self):
        from pilots.demo_campaigns import CARER_APP, CLOSED, HOME_CARE

        eligible = intelligence.eligible_campaigns()
        carers = list(eligible.filter(slug=CARER_APP)) or list(eligible[:1])
        sensors = list(eligible.filter(slug__in=(HOME_CARE, CLOSED))) or list(eligible[:1])
        for key, published, kind, title, topics, summary, body, campaigns in REPORTS:
            campaigns = {"carers": carers, "sensors": sensors}.get(campaigns, ())
            if kind == Report.Kind.INSIGHT and not campaigns:
                continue  # no campaign with results to draw on
            self.at(
                published + 3 if published is not None else 2,
                15,
                0,
                self.write_report,
                key,
                kind,
                title,
                topics,
                summary,
                body,
                campaigns,
            )
            if published is not None:
                self.at(published, 9, 0, self.publish_report, key)
        # Last week's digest went to the cannery's head of quality.
        self.at(14, 7, 0, self.send_digest, CANNERY)
