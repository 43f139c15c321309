"""B2B matchmaking: one need against 10,000 offers, and the full match table for 2,000 needs × 2,000
offers: time (median of several runs) and memory (Python's tracemalloc peak and the resident set).

    uv run python bench/b2b_matching.py                     # SQLite, in a fresh file under var/bench/
    uv run python bench/b2b_matching.py --postgres          # a throwaway PostgreSQL server
    uv run python bench/b2b_matching.py --runs 5 --needs 2000 --offers 2000 --many-offers 10000
    DATABASE_URL=postgres://… uv run python bench/b2b_matching.py   # an empty database of yours

The world is written with ``bulk_create`` from a seeded generator: 12 sector tags and 30 technology tags,
400 firms, then ``--needs`` published needs and ``--offers`` published offers. Each listing has one or two
sectors and one to three technologies, and texts made from phrase banks of its sector and technologies
plus ordinary business sentences (a title, a one- or two-sentence summary, a description of 60 to 140
words), so that listings about the same subject share words the way real ones do. A tenth of the listings
are staff-only and a third reveal details only after an introduction; that changes nothing for the
matcher, which scores every published listing.

Measured, in this order:

1. **The full table, 2,000 × 2,000.** ``match_table`` on the profiles in memory (the pure computation:
   TF-IDF fit, tag overlaps, each need's and each offer's ten best); then ``refresh_matches()`` end to end
   (reading the listings, computing, writing the ``Match`` rows) on an empty table, and once more on the
   filled one, when it has nothing to write.
2. **One need against 10,000 offers.** Offers are added up to ``--many-offers``; ``rank_offers`` of one
   need against them in memory (the TF-IDF corpus is the need and the offers); then
   ``refresh_matches(need_ids=[…])`` end to end, as after a need is published: it reads every published
   listing (the TF-IDF corpus is all of them, 2,000 needs and 10,000 offers), ranks the need against every
   offer, and writes its suggestions.

Times are medians of ``--runs`` untraced runs (the first run is a warm-up and not counted): the wall
time, and the CPU time of this process, which moves less when other work shares the machine (on
PostgreSQL the server's own work is not in it). Memory is
measured on one more run of each: under tracemalloc (the peak of Python and numpy allocations; scipy's
sparse matrices are numpy arrays), then without it with the kernel's peak resident set (VmHWM) reset just
before, so the peak is what the run added to what the process already held.
"""

import argparse
import os
import random
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

from support import add_postgres_flag, reset_peak_rss, resident_kb, run_on_database, setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTORS = {
    "Food processing": (
        "freezing lines, dairy plants, bakeries, meat cutting, packaging lines, cold rooms, "
        "hygiene audits, shelf life, recipes, batch traceability"
    ),
    "Logistics": (
        "warehouses, pallets, forklifts, delivery routes, cross-docking, cold chain, fleet of trucks, "
        "last-mile delivery, loading bays, returns handling"
    ),
    "Health and care": (
        "home care, nurses, elderly residents, hospital wards, medication rounds, falls at home, "
        "rehabilitation, patient records, care homes, night shifts"
    ),
    "Energy": (
        "heat pumps, solar panels, district heating, peak loads, substations, wind turbines, "
        "energy audits, building insulation, grid balancing, smart meters"
    ),
    "Construction": (
        "building sites, concrete pours, cranes, scaffolding, site safety, renovation projects, "
        "prefabricated walls, building permits, facade panels, subcontractors"
    ),
    "Maritime": (
        "fishing vessels, harbour cranes, ship engines, port logistics, hull cleaning, offshore platforms, "
        "ferry timetables, catch quotas, marine weather, mooring"
    ),
    "Retail": (
        "shop floors, shelf gaps, checkout queues, loyalty cards, online orders, click and collect, "
        "store staff, seasonal demand, price labels, customer returns"
    ),
    "Agriculture": (
        "greenhouses, dairy herds, irrigation, crop yields, tractors, soil moisture, milking robots, "
        "animal welfare, harvest planning, fertiliser use"
    ),
    "Manufacturing": (
        "assembly lines, CNC machines, welding cells, quality inspection, spare parts, "
        "changeover times, machine breakdowns, production planning, tooling, shift supervisors"
    ),
    "Mobility": (
        "buses, car sharing, charging stations, ticketing, timetables, bike lanes, passenger flows, "
        "depot maintenance, ride pooling, accessibility of stops"
    ),
    "Media": (
        "newsrooms, video archives, subtitles, audience measurement, live broadcasts, podcasts, "
        "advertising slots, rights management, streaming platforms, local news"
    ),
    "Education": (
        "students, lecture halls, campus services, exam planning, learning platforms, teachers, "
        "course catalogues, library loans, student housing, distance learning"
    ),
}
TECHNOLOGIES = {
    "Internet of things": "wireless sensors, connected devices, battery-powered tags, gateways, telemetry",
    "Machine learning": "predictive models, anomaly detection, forecasts, classification, training data",
    "Computer vision": "cameras, image recognition, visual inspection, object counting, video analytics",
    "Robotics": "collaborative robots, autonomous vehicles, grippers, robot cells, automated handling",
    "Augmented reality": "smart glasses, step-by-step overlays, remote assistance, 3D instructions",
    "Blockchain": "shared ledgers, tamper-proof records, smart contracts, certificates of origin",
    "Cloud platforms": "hosted dashboards, data platforms, APIs, multi-site reporting, single sign-on",
    "Mobile apps": "smartphone apps, push notifications, offline mode, tablets for field staff",
    "Digital twins": "simulation models, virtual plants, what-if scenarios, live process models",
    "Drones": "aerial inspection, drone flights, thermal imaging, mapping from the air",
    "Radio tracking": "RFID tags, ultra-wideband positioning, indoor location, asset tracking",
    "Energy storage": "batteries, thermal storage, load shifting, backup power",
    "Additive manufacturing": "3D printing, printed spare parts, rapid prototypes, lattice structures",
    "Natural language processing": "chatbots, speech recognition, text analytics, automatic summaries",
    "Cybersecurity": "access control, intrusion detection, encrypted links, security audits",
    "Edge computing": "on-site processing, low-latency analytics, embedded computers, local inference",
    "Wearables": "smart watches, body sensors, fall detectors, fatigue monitoring",
    "Acoustic sensing": "vibration analysis, ultrasound, sound signatures, noise monitoring",
    "Optimisation": "route planning, scheduling, solvers, capacity planning, shift rosters",
    "Satellite data": "earth observation, GNSS positioning, satellite imagery, weather data",
    "Advanced materials": "coatings, composites, antimicrobial surfaces, lightweight panels",
    "Biotechnology": "enzymes, fermentation, bio-based packaging, microbial testing",
    "Power electronics": "inverters, motor drives, fast chargers, power quality",
    "Smart textiles": "heated clothing, sensor fabrics, protective garments, washable electronics",
    "Data spaces": "data sharing agreements, federated data, consent management, interoperable formats",
    "Low-code tools": "form builders, workflow automation, citizen developers, integrations",
    "Photonics": "lasers, optical sensors, spectroscopy, fibre sensing",
    "Speech interfaces": "voice assistants, hands-free control, voice picking, spoken reports",
    "Geographic information": "maps, spatial analysis, location data, geofencing",
    "Simulation and gaming": "serious games, training simulators, virtual reality training, gamification",
}
NEED_VERBS = ["Predict", "Reduce", "Monitor", "Automate", "Track", "Plan", "Detect", "Speed up", "Simplify"]
NEED_OBJECTS = [
    "breakdowns of",
    "waste in",
    "energy use of",
    "manual work in",
    "errors in",
    "delays in",
    "the cost of",
    "downtime of",
]
OFFER_FORMS = [
    "{tech} for {place}",
    "{tech} platform for {place}",
    "{tech} service: {phrase}",
    "{phrase} with {tech}",
]
FILLER = [
    "We run three sites with about {n} staff.",
    "The solution must work with our existing systems.",
    "A pilot on one site within six months would be ideal.",
    "We have tried spreadsheets and manual checks without success.",
    "Our team speaks English, French and Finnish.",
    "Data must stay in the European Union.",
    "We can provide test data from the last {n} months.",
    "We are open to co-development and shared intellectual property.",
    "Our customers include {n} firms across Europe.",
    "The product has been on the market for {n} years.",
    "Installation takes less than a day per site.",
    "We offer training for operators and a support hotline.",
    "Prices depend on the number of sites and users.",
    "We are looking for a first reference customer in the region.",
    "Night shifts are short-staffed, which makes the problem worse.",
    "Regulators ask for better documentation every year.",
]


# -------------------------------------------------------------------------------------------- the world


def phrases(bank: str) -> list[str]:
    return [p.strip() for p in bank.split(",")]


def listing_texts(rng: random.Random, kind: str, sectors: list[str], technologies: list[str]) -> dict:
    """Title, summary and description about the listing's sectors and technologies."""
    places = [p for s in sectors for p in phrases(SECTORS[s])]
    techs = [p for t in technologies for p in phrases(TECHNOLOGIES[t])]
    place, tech_phrase = rng.choice(places), rng.choice(techs)
    if kind == "need":
        title = f"{rng.choice(NEED_VERBS)} {rng.choice(NEED_OBJECTS)} {place}"
        summary = (
            f"We look for a way to use {tech_phrase} in our {place}. "
            f"Today {rng.choice(places)} cost us time every week."
        )
    else:
        title = rng.choice(OFFER_FORMS).format(tech=technologies[0], place=place, phrase=tech_phrase)
        summary = f"{tech_phrase.capitalize()} for {place} and {rng.choice(places)}."
        if rng.random() < 0.5:
            summary += f" Proven with {rng.choice(techs)}."
    sentences = []
    while sum(len(s.split()) for s in sentences) < rng.randint(60, 140):
        roll = rng.random()
        if roll < 0.35:
            sentences.append(f"It concerns {rng.choice(places)} and {rng.choice(places)}.")
        elif roll < 0.7:
            sentences.append(f"We rely on {rng.choice(techs)} and {rng.choice(techs)}.")
        else:
            sentences.append(rng.choice(FILLER).format(n=rng.randint(2, 400)))
    return {"title": title[:200], "summary": summary[:400], "description": " ".join(sentences)}


def build_world(rng: random.Random, firms: int):
    """Tags and firms; returns them for the listings."""
    from livinglab.b2b.models import Tag
    from livinglab.models import Organisation

    Tag.objects.bulk_create(
        [Tag(kind=Tag.Kind.SECTOR, name=name, slug=f"s-{i}") for i, name in enumerate(SECTORS)]
        + [Tag(kind=Tag.Kind.TECHNOLOGY, name=name, slug=f"t-{i}") for i, name in enumerate(TECHNOLOGIES)]
    )
    kinds = [Organisation.Kind.SME] * 3 + [Organisation.Kind.LARGE_ENTERPRISE, Organisation.Kind.RESEARCH]
    Organisation.objects.bulk_create(
        [
            Organisation(name=f"Bench firm {i}", slug=f"bench-firm-{i}", kind=rng.choice(kinds), country="FI")
            for i in range(firms)
        ]
    )
    tags = {t.name: t.pk for t in Tag.objects.all()}
    organisations = list(
        Organisation.objects.filter(slug__startswith="bench-firm-").values_list("pk", flat=True)
    )
    return tags, organisations


def add_listings(model, count: int, rng: random.Random, tags: dict, organisations: list) -> None:
    """``count`` published listings of ``model`` with their tags, in batches."""
    from django.db import transaction
    from django.utils import timezone

    from livinglab.b2b.models import ListingStatus, Need, Offer, Visibility

    kind = model._meta.model_name
    now = timezone.now()
    batch = 1000
    for start in range(0, count, batch):
        rows, chosen = [], []
        for _i in range(min(batch, count - start)):
            sectors = rng.sample(list(SECTORS), rng.choice([1, 1, 2]))
            technologies = rng.sample(list(TECHNOLOGIES), rng.choice([1, 2, 2, 3]))
            texts = listing_texts(rng, kind, sectors, technologies)
            visibility = rng.choices(
                [Visibility.MEMBERS, Visibility.INTRODUCTION, Visibility.STAFF], weights=[6, 3, 1]
            )[0]
            fields = {
                **texts,
                "organisation_id": rng.choice(organisations),
                "visibility": visibility,
                "status": ListingStatus.PUBLISHED,
                "published_at": now,
            }
            if model is Need:
                fields |= {"users_affected": "Operators and supervisors.", "timeframe": Need.Timeframe.YEAR}
            else:
                fields |= {"maturity": Offer.Maturity.PILOT}
            rows.append(model(**fields))
            chosen.append((sectors, technologies))
        with transaction.atomic():
            made = model.objects.bulk_create(rows)
            if not all(m.pk for m in made):  # backends that do not return ids: read them back
                made = list(model.objects.order_by("-pk")[: len(rows)])[::-1]
            for relation, index in (("sectors", 0), ("technologies", 1)):
                through = getattr(model, relation).through
                through.objects.bulk_create(
                    [
                        through(**{f"{kind}_id": listing.pk, "tag_id": tags[name]})
                        for listing, picked in zip(made, chosen, strict=True)
                        for name in picked[index]
                    ]
                )


# ------------------------------------------------------------------------------------------- measuring


def measure(label: str, fn, runs: int, *, before=None) -> dict:
    """Median wall time of ``runs`` runs after one warm-up, then the memory of one more run."""
    times, cpu = [], []
    for run in range(runs + 1):
        if before:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        if run:
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    if before:
        before()
    tracemalloc.start()
    fn()
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if before:
        before()
    reset = reset_peak_rss()
    rss_before = resident_kb("VmRSS")
    fn()
    hwm = resident_kb("VmHWM")
    figures = {
        "label": label,
        "median": statistics.median(times),
        "fastest": min(times),
        "slowest": max(times),
        "cpu": statistics.median(cpu),
        "traced_mb": traced_peak / 1024 / 1024,
        "rss_mb": rss_before / 1024,
        "added_mb": (hwm - rss_before) / 1024 if reset else None,
        "result": result,
    }
    added = f"+{figures['added_mb']:.0f} MB peak over" if reset else "resident"
    print(
        f"  {label}: median {figures['median'] * 1000:,.0f} ms (fastest {figures['fastest'] * 1000:,.0f}, "
        f"slowest {figures['slowest'] * 1000:,.0f}, {runs} runs; CPU {figures['cpu'] * 1000:,.0f} ms); "
        "tracemalloc peak "
        f"{figures['traced_mb']:.1f} MB; {added} {figures['rss_mb']:.0f} MB resident",
        flush=True,
    )
    return figures


def run(args) -> None:
    setup(ROOT / "var" / "bench" / "b2b_matching.sqlite3")
    from django.db import connection

    from livinglab.b2b.matching import match_table, rank_offers
    from livinglab.b2b.models import Match, Need, Offer
    from livinglab.b2b.services import matching as services

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}; CPUs {os.cpu_count()}")
    rng = random.Random(args.seed)
    start = time.perf_counter()
    tags, organisations = build_world(rng, args.firms)
    add_listings(Need, args.needs, rng, tags, organisations)
    add_listings(Offer, args.offers, rng, tags, organisations)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"built {args.firms} firms, {args.needs:,} needs and {args.offers:,} offers in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    needs, offers = services.load_profiles(Need), services.load_profiles(Offer)
    words = [len(p.text.split()) for p in (*needs, *offers)]
    print(f"words per listing: median {statistics.median(words):.0f}, {min(words)}–{max(words)}")

    # 1. The full table.
    print(
        f"\n1. the full match table, {len(needs):,} needs × {len(offers):,} offers (K = {services.TOP_K}, "
        f"minimum score {services.MIN_SCORE})"
    )
    table = measure(
        "match_table (in memory)",
        lambda: match_table(
            needs, offers, per_need=services.TOP_K, per_offer=services.TOP_K, min_score=services.MIN_SCORE
        ),
        args.runs,
    )
    suggestions = table["result"]
    print(f"     {len(suggestions):,} suggestions kept; best score {suggestions[0].score:.3f}")
    first = measure(
        "refresh_matches() on an empty table",
        services.refresh_matches,
        args.runs,
        before=lambda: Match.objects.all().delete(),
    )
    print(f"     {first['result'].written:,} rows written; {Match.objects.count():,} stored")
    again = measure("refresh_matches() again, nothing changed", services.refresh_matches, args.runs)
    print(f"     {again['result'].written} rows written, {again['result'].deleted} deleted (idempotent)")

    # 2. One need against many offers.
    more = args.many_offers - args.offers
    start = time.perf_counter()
    add_listings(Offer, more, rng, tags, organisations)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    offers = services.load_profiles(Offer)
    added = time.perf_counter() - start
    print(f"\n2. one need against {len(offers):,} offers (added {more:,} in {added:.1f} s)")
    need = needs[len(needs) // 2]
    ranked = measure("rank_offers (in memory)", lambda: rank_offers(need, offers), args.runs)
    best = ranked["result"][0]
    print(
        f"     {len(ranked['result']):,} offers ranked; best {best.score:.3f} with words {list(best.terms)}"
    )
    start = time.perf_counter()
    services.refresh_matches()
    print(
        f"     (the table refreshed for {len(needs):,} × {len(offers):,} first, once: "
        f"{time.perf_counter() - start:.1f} s, {Match.objects.count():,} rows, so that the need is judged "
        "against settled suggestions of the offers)"
    )
    measure(
        "refresh_matches(need_ids=[…]) end to end",
        lambda: services.refresh_matches(need_ids=[need.pk]),
        args.runs,
    )
    print(
        f"     {Match.objects.filter(need_id=need.pk).count()} suggestions stored for the need; the refresh "
        f"reads all {len(needs) + len(offers):,} published listings"
    )
    print(f"\nload average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--needs", type=int, default=2000)
    parser.add_argument("--offers", type=int, default=2000, help="offers of the full table (default 2,000)")
    parser.add_argument(
        "--many-offers", type=int, default=10000, help="offers one need is ranked against (default 10,000)"
    )
    parser.add_argument("--firms", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measurement (default 5)")
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_flag(parser)
    args = parser.parse_args()
    if args.many_offers < args.offers:
        parser.error("--many-offers must be at least --offers")
    run_on_database(args, run)


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    main()
