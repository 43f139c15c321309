"""A large user panel for the panel benchmarks, written straight into the tables.

The living lab, its consent form and the panel are made through the services, like the screens make them.
The participants are not: a million people through ``enrol_participant`` would take hours and measure the
enrolment, not the draw. They are written in batches (``COPY`` on PostgreSQL, ``executemany`` on SQLite):
people, their profiles, panel memberships, consent records, and a contact history of past draws with
invitations and participations, so that the fair-contact rules have someone to protect. Everything comes
from a seeded random generator: the same count and seed give the same panel. Call after django.setup().
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Where people live (weights); the strata of the benchmark's quotas use the first three.
REGIONS = [
    ("Bretagne", 30),
    ("Pays de la Loire", 22),
    ("Uusimaa", 14),
    ("Normandie", 10),
    ("Skåne", 8),
    ("Oberösterreich", 6),
    ("Pirkanmaa", 5),
    ("Île-de-France", 5),
]
# Languages people speak, by region: (language, probability).
LANGUAGES = {
    "fr": [("fr", 0.97), ("en", 0.35), ("es", 0.06), ("de", 0.05), ("ar", 0.04), ("it", 0.03)],
    "fi": [("fi", 0.92), ("sv", 0.15), ("en", 0.6), ("de", 0.04)],
    "se": [("sv", 0.95), ("en", 0.7), ("ar", 0.06), ("fi", 0.03)],
    "at": [("de", 0.97), ("en", 0.5), ("it", 0.05), ("nl", 0.02)],
}
COUNTRY = {
    "Bretagne": "fr",
    "Pays de la Loire": "fr",
    "Normandie": "fr",
    "Île-de-France": "fr",
    "Uusimaa": "fi",
    "Pirkanmaa": "fi",
    "Skåne": "se",
    "Oberösterreich": "at",
}
POSTCODES = {
    "Bretagne": ["22", "29", "35", "56"],
    "Pays de la Loire": ["44", "49", "53", "72", "85"],
    "Normandie": ["14", "27", "50", "61", "76"],
    "Île-de-France": ["75", "77", "78", "91", "92", "93", "94", "95"],
    "Uusimaa": ["00", "01", "02", "04"],
    "Pirkanmaa": ["33", "34", "37"],
    "Skåne": ["21", "22", "25", "26"],
    "Oberösterreich": ["40", "41", "44", "46"],
}
# (youngest, oldest, weight) of adults; a few children come on top (see MINORS).
AGES = [(16, 24, 11), (25, 34, 15), (35, 44, 16), (45, 54, 16), (55, 64, 16), (65, 74, 15), (75, 95, 11)]
MINORS = 0.01
HOUSEHOLDS = [("single", 30), ("couple", 32), ("family", 25), ("single_parent", 7), ("shared", 6)]
JOIN_PREVIOUS_HOUSEHOLD = 0.35  # of people in a couple or family: they live with the person before them
STATUSES = [
    ("active", 910),
    ("paused", 30),
    ("opted_out", 25),
    ("do_not_contact", 10),
    ("blocked", 3),
    ("pending", 20),
    ("removed", 2),
]
SOURCES = [("self", 45), ("interest_group", 20), ("staff", 10), ("event", 10), ("import", 15)]
CONSENTING = 0.94  # of people: consented to taking part under the panel's form
WITHDRAWN = 0.025  # of those: withdrew it since
PROFILE_CONSENT = 0.7  # of people: a second purpose, so that the consent table is not one row per person
# Contact history: past draws every PAST_DRAW_EVERY days back over more than a year.
PAST_DRAWS = 26
PAST_DRAW_EVERY = 15
INVITED = 0.12  # of people: invited at least once
INVITATIONS_EACH = [(1, 40), (2, 25), (3, 15), (4, 10), (5, 6), (6, 4)]
OVERRIDES = 30  # protected members whom staff let the next draw consider, with a reason
# The panel's fair-contact rules (strict enough that they protect a few per cent of the panel).
RULES = {"period_days": 365, "max_invitations": 4, "max_participations": 2, "cooldown_days": 60}


# The columns each batch writes, in the order of the row tuples below.
# fmt: off
PROFILE_COLUMNS = [
    "id", "person_id", "year_of_birth", "region", "postcode_area", "languages", "household_type",
    "household_key", "accessibility_needs", "accessibility_notes", "digital_skills", "devices", "occupation",
    "sector", "employer", "contact_email", "phone", "preferred_contact", "contact_via_id",
    "shared_attributes", "created_at", "updated_at",
]
MEMBERSHIP_COLUMNS = [
    "id", "panel_id", "person_id", "status", "status_reason", "status_changed_at", "source",
    "recruited_by_id", "source_detail", "enrolled_by_id", "import_key", "confirmation_nonce",
    "confirmation_sent_at", "confirmed_at", "joined_at",
]
CONSENT_COLUMNS = [
    "id", "person_id", "purpose_id", "version_id", "text_sha256", "method", "explicit", "given_at",
    "given_by_id", "guardian_id", "guardian_relationship", "evidence", "receipt_sent_at", "withdrawn_at",
    "withdrawal_channel", "withdrawn_by_id",
]
SELECTION_COLUMNS = ["id", "draw_id", "membership_id", "rank", "cell", "code", "overridden", "removal_reason"]
INVITATION_COLUMNS = [
    "id", "selection_id", "person_id", "panel_id", "status", "nonce", "created_at", "expires_at", "mailed_at",
    "reminder_sent_at", "opened_at", "responded_at", "share_identity",
]
PARTICIPATION_COLUMNS = [
    "id", "person_id", "panel_id", "invitation_id", "outcome", "occurred_at", "recorded_by_id",
]
# fmt: on


@dataclass(frozen=True)
class World:
    panel_id: int
    staff_user_id: int
    participation_purpose_id: int
    version_id: int
    participants: int


def weighted(rng: random.Random, table):
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def pack(values) -> str:
    return f"|{'|'.join(sorted(values))}|" if values else ""


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany on SQLite (values adapted as Django
    adapts them, so that the ORM reads and compares them as its own)."""

    def __init__(self, connection):
        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.ops = connection.ops

    def when(self, value: datetime | None):
        if value is None or self.postgres:
            return value
        return self.ops.adapt_datetimefield_value(value)

    def day(self, value: date | None):
        if value is None or self.postgres:
            return value
        return self.ops.adapt_datefield_value(value)

    def write(self, model, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        table = self.connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(self.connection.ops.quote_name(c) for c in columns)
        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(n=Max("pk"))["n"] or 0) + 1


def build_base(now: datetime):
    """The living lab, its staff member, an interest group, the consent form and the panel, through the
    services. Returns (panel, staff user, participation purpose, consent version, interest group)."""
    import factory
    from django.contrib.auth.hashers import make_password

    from livinglab import services as core
    from livinglab.factories import OrganisationFactory, PersonFactory, UserFactory
    from livinglab.models import (
        Channel,
        ConsentDocument,
        ConsentDocumentVersion,
        ConsentPurpose,
        Organisation,
        Role,
        ScopedDocument,
    )
    from pilots.models import Panel
    from pilots.services.panels import save_panel

    no_password = factory.Transformer.Force(make_password(None))
    admin = UserFactory(
        email="bench-admin@example.org", is_superuser=True, is_staff=True, password=no_password
    )
    cluster = OrganisationFactory(name="Bench Living Lab", kind=Organisation.Kind.CLUSTER)
    group = OrganisationFactory(name="Bench Seniors' Club", kind=Organisation.Kind.INTEREST_GROUP)
    staff = UserFactory(email="bench-coordinator@example.org", password=no_password)
    PersonFactory(user=staff, full_name="Bench Coordinator")
    core.add_membership(staff, cluster, Role.LAB_COORDINATOR, acting_user=admin)
    purposes = [
        core.save_reference_data(
            ConsentPurpose(code=code, name=name, description="What we do with your data, in plain words."),
            acting_user=admin,
        )
        for code, name in (("participation", "Taking part in studies"), ("profile-data", "Keeping a profile"))
    ]
    document = core.save_reference_data(
        ConsentDocument(title="Bench panel participation", scope_kind=ScopedDocument.ScopeKind.PLATFORM),
        acting_user=admin,
    )
    draft = core.save_draft_version(
        ConsentDocumentVersion(document=document, text="We ask your permission for the purposes below."),
        acting_user=admin,
    )
    draft.purposes.set(purposes)
    version = core.publish_version(draft, acting_user=admin)
    panel = save_panel(
        Panel(
            owner=cluster,
            channel=Channel.B2C,
            name="Bench panel",
            slug="bench-panel",
            description="Everybody in the benchmark.",
            consent_document=document,
            **RULES,
        ),
        acting_user=admin,
        recruiting_groups=[group],
    )
    return panel, staff, purposes, version, group


def build_panel_world(count: int, *, seed: int = 2026, batch: int = 20_000, progress: bool = True) -> World:
    """``count`` participants in one panel, with consents and a contact history; see the module text."""
    from django.db import connection, transaction
    from django.utils import timezone
    from tqdm import tqdm

    from livinglab.models import ConsentRecord, Person
    from pilots.models import (
        ContactOverride,
        Draw,
        DrawSelection,
        Invitation,
        PanelMembership,
        ParticipantProfile,
        Participation,
    )

    rng = random.Random(seed)
    now = timezone.now()
    year = timezone.localdate(now).year
    writer = Writer(connection)
    with transaction.atomic():
        panel, staff, (participation, profile_data), version, group = build_base(now)
        past = Draw.objects.bulk_create(
            Draw(
                panel=panel,
                title=f"Past study {n + 1}",
                involves="A session at the lab.",
                size=1,
                seed=n,
                status=Draw.Status.CLOSED,
                drawn_by=staff,
                drawn_at=now - timedelta(days=5 + PAST_DRAW_EVERY * n),
                invited_at=now - timedelta(days=5 + PAST_DRAW_EVERY * n),
            )
            for n in range(PAST_DRAWS)
        )
    past_draws = [(d.pk, d.drawn_at) for d in past]

    ids = {
        model: next_id(model)
        for model in (Person, ParticipantProfile, PanelMembership, ConsentRecord, DrawSelection, Invitation)
    }
    ids[Participation] = next_id(Participation)
    ranks = dict.fromkeys((pk for pk, _at in past_draws), 0)
    region_values = [r for r, _w in REGIONS]
    region_weights = [w for _r, w in REGIONS]
    household = {"key": "", "region": "", "type": "", "number": 0}
    protected: list[int] = []

    bar = tqdm(total=count, desc="Participants", unit="person", disable=not progress, dynamic_ncols=True)
    made = 0
    while made < count:
        size = min(batch, count - made)
        people, profiles, memberships, consents = [], [], [], []
        selections, invitations, participations = [], [], []
        adults = []
        for _n in range(size):
            person_id = ids[Person]
            ids[Person] += 1
            minor = rng.random() < MINORS
            if minor:
                age = rng.randint(8, 15)
            else:
                youngest, oldest, _w = rng.choices(AGES, [a[2] for a in AGES])[0]
                age = rng.randint(youngest, oldest)
            born_in = year - age
            birthday = (
                date(born_in, rng.randint(1, 12), rng.randint(1, 28)) if minor or rng.random() < 0.8 else None
            )
            # Households: couples and families often live with the person generated before them.
            kind = weighted(rng, HOUSEHOLDS) if not minor else "family"
            if (
                kind in ("couple", "family")
                and household["type"] in ("couple", "family")
                and rng.random() < JOIN_PREVIOUS_HOUSEHOLD
            ):
                kind, region = household["type"], household["region"]
            else:
                region = rng.choices(region_values, region_weights)[0]
                household["number"] += 1
                household.update(
                    key=f"h{seed}-{household['number']}" if kind != "single" else "", region=region, type=kind
                )
            country = COUNTRY[region]
            languages = [code for code, chance in LANGUAGES[country] if rng.random() < chance] or [
                LANGUAGES[country][0][0]
            ]
            old = max(age - 55, 0) / 40  # 0 at 55, 1 at 95
            skills = rng.choices(
                ["", "none", "basic", "everyday", "advanced"],
                [3, 2 + 30 * old, 10 + 25 * old, 55 - 35 * old, 30 - 20 * old],
            )[0]
            devices = [
                device
                for device, chance in (
                    ("smartphone", 0.92 - 0.5 * old),
                    ("tablet", 0.3),
                    ("computer", 0.6 - 0.3 * old),
                    ("smart_tv", 0.25),
                    ("speaker", 0.1),
                    ("wearable", 0.15 - 0.1 * old),
                )
                if rng.random() < chance
            ] or ["none"]
            needs = [
                need
                for need, chance in (
                    ("vision", 0.03 + 0.15 * old),
                    ("hearing", 0.03 + 0.2 * old),
                    ("mobility", 0.02 + 0.25 * old),
                    ("dexterity", 0.01 + 0.08 * old),
                    ("cognitive", 0.01 + 0.06 * old),
                )
                if rng.random() < chance
            ]
            people.append(
                (person_id, None, f"Participant {person_id}", writer.day(birthday), writer.when(now))
            )
            profiles.append(
                (
                    ids[ParticipantProfile],
                    person_id,
                    born_in,
                    region,
                    rng.choice(POSTCODES[region]),
                    pack(languages),
                    kind,
                    household["key"],
                    pack(needs),
                    "",
                    skills,
                    pack(devices),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "email",
                    None,
                    "|age_band|region|",
                    writer.when(now),
                    writer.when(now),
                )
            )
            ids[ParticipantProfile] += 1
            membership_id = ids[PanelMembership]
            ids[PanelMembership] += 1
            status = weighted(rng, STATUSES)
            source = weighted(rng, SOURCES)
            joined = now - timedelta(days=rng.randint(30, 1500), seconds=rng.randint(0, 86399))
            memberships.append(
                (
                    membership_id,
                    panel.pk,
                    person_id,
                    status,
                    "",
                    writer.when(joined),
                    source,
                    group.pk if source == "interest_group" else None,
                    "",
                    None,
                    f"bench-{membership_id}" if source == "import" else "",
                    f"n{membership_id}",
                    None,
                    writer.when(joined) if status != "pending" else None,
                    writer.when(joined),
                )
            )
            guardian = rng.choice(adults) if minor and adults and rng.random() < 0.6 else None
            if not minor:
                adults.append(person_id)
            for purpose, chance in ((participation, CONSENTING), (profile_data, PROFILE_CONSENT)):
                if (minor and guardian is None and purpose is participation) or rng.random() >= chance:
                    continue
                given = joined + timedelta(hours=rng.randint(0, 48))
                withdrawn = given + timedelta(days=rng.randint(1, 400)) if rng.random() < WITHDRAWN else None
                if withdrawn is not None and withdrawn >= now:
                    withdrawn = None
                consents.append(
                    (
                        ids[ConsentRecord],
                        person_id,
                        purpose.pk,
                        version.pk,
                        version.text_sha256,
                        "paper" if source == "interest_group" else "online",
                        False,
                        writer.when(given),
                        None,
                        guardian,
                        "parent" if guardian else "",
                        "{}",
                        None,
                        writer.when(withdrawn),
                        "online" if withdrawn else "",
                        None,
                    )
                )
                ids[ConsentRecord] += 1
            # Contact history: invitations from past draws, and taking part after accepting some.
            if status == "pending" or rng.random() >= INVITED:
                continue
            recent = 0
            for draw_id, drawn_at in rng.sample(past_draws, weighted(rng, INVITATIONS_EACH)):
                ranks[draw_id] += 1
                selection_id, invitation_id = ids[DrawSelection], ids[Invitation]
                ids[DrawSelection] += 1
                ids[Invitation] += 1
                selections.append(
                    (
                        selection_id,
                        draw_id,
                        membership_id,
                        ranks[draw_id],
                        "{}",
                        f"B-{ranks[draw_id]}",
                        False,
                        "",
                    )
                )
                sent = drawn_at + timedelta(hours=rng.randint(1, 30))
                expires = sent + timedelta(days=10)
                answer = rng.choices(["accepted", "declined", "expired", "withdrawn"], [35, 30, 33, 2])[0]
                if expires > now:
                    answer = rng.choice(["sent", "opened", "accepted", "declined"])
                responded = (
                    sent + timedelta(hours=rng.randint(2, 200))
                    if answer in ("accepted", "declined")
                    else None
                )
                opened = responded or (sent + timedelta(hours=3) if answer == "opened" else None)
                invitations.append(
                    (
                        invitation_id,
                        selection_id,
                        person_id,
                        panel.pk,
                        answer,
                        f"i{invitation_id}",
                        writer.when(sent),
                        writer.when(expires),
                        writer.when(sent),
                        None,
                        writer.when(opened),
                        writer.when(responded),
                        False,
                    )
                )
                recent += sent >= now - timedelta(days=RULES["period_days"])
                occurred = sent + timedelta(days=rng.randint(3, 12))
                if answer == "accepted" and occurred < now:
                    outcome = "took_part" if rng.random() < 0.85 else "no_show"
                    participations.append(
                        (
                            ids[Participation],
                            person_id,
                            panel.pk,
                            invitation_id,
                            outcome,
                            writer.when(occurred),
                            None,
                        )
                    )
                    ids[Participation] += 1
            if status == "active" and len(protected) < OVERRIDES and recent >= RULES["max_invitations"]:
                protected.append(membership_id)

        with transaction.atomic():
            writer.write(Person, ["id", "user_id", "full_name", "birth_date", "created_at"], people)
            writer.write(ParticipantProfile, PROFILE_COLUMNS, profiles)
            writer.write(PanelMembership, MEMBERSHIP_COLUMNS, memberships)
            writer.write(ConsentRecord, CONSENT_COLUMNS, consents)
            writer.write(DrawSelection, SELECTION_COLUMNS, selections)
            writer.write(Invitation, INVITATION_COLUMNS, invitations)
            writer.write(Participation, PARTICIPATION_COLUMNS, participations)
        made += size
        bar.update(size)
    bar.close()

    with transaction.atomic():
        for membership_id in protected:
            ContactOverride.objects.create(
                membership_id=membership_id, reason="Only member with this profile", granted_by=staff
            )
        reset_sequences(
            connection,
            [
                Person,
                ParticipantProfile,
                PanelMembership,
                ConsentRecord,
                DrawSelection,
                Invitation,
                Participation,
            ],
        )
    analyse(connection)
    return World(panel.pk, staff.pk, participation.pk, version.pk, count)


def reset_sequences(connection, models) -> None:
    """After rows written with their own ids, PostgreSQL's next id must come after them."""
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def analyse(connection) -> None:
    """Fresh planner statistics, as autovacuum (PostgreSQL) or a routine ANALYZE (SQLite) would give."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def find_world() -> World | None:
    """The world a previous run left in this database, if any."""
    from livinglab.models import ConsentPurpose, User
    from pilots.models import Panel

    panel = Panel.objects.filter(slug="bench-panel").select_related("consent_document").first()
    if panel is None:
        return None
    version = panel.consent_document.versions.get(status="published")
    return World(
        panel.pk,
        User.objects.get(email="bench-coordinator@example.org").pk,
        ConsentPurpose.objects.get(code="participation").pk,
        version.pk,
        panel.memberships.count(),
    )
