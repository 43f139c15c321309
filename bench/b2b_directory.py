"""The B2B directory of service providers: median server time and query count of the search page over
5,000 providers.

    uv run python bench/b2b_directory.py                       # SQLite, in a fresh file under var/bench/
    uv run python bench/b2b_directory.py --postgres            # a throwaway PostgreSQL server
    uv run python bench/b2b_directory.py --providers 5000 --runs 30
    DATABASE_URL=postgres://… uv run python bench/b2b_directory.py   # an empty database of yours

The providers are written with ``bulk_create`` from a seeded generator: design studios, patent attorneys,
seed funds, export advisers, test centres, living labs and design centres in eleven European countries
and their regions, each offering one to three services, with descriptions and languages to search in;
about 90 % listed, 6 % hidden and 4 % proposed (never found). The visitor is a firm user of a French SME.

The search page (``b2b:provider_search``) is requested through ``django.test.Client`` signed in as that
user, with typical searches (by service, by country, by region, by words, combined, a deep page): two
untimed requests, then ``--runs`` timed ones each; "server time" is the wall time of ``Client.get``
(middleware, view, queries, template). The query count comes from a separate request, counted by a
database execute wrapper. ``search_providers`` is also timed alone (the queryset evaluated with its
services, without the page), and ``/healthz/`` gives the floor of a signed-in request.
"""

import argparse
import os
import random
import sys
import time
import warnings
from pathlib import Path

from support import add_postgres_flag, counting, run_on_database, setup, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "localhost"  # in the dev profile's ALLOWED_HOSTS

# (country, regions, languages spoken there besides English)
PLACES = [
    (
        "FR",
        ["Bretagne", "Pays de la Loire", "Île-de-France", "Auvergne-Rhône-Alpes", "Occitanie"],
        ["French"],
    ),
    ("DE", ["Bayern", "Baden-Württemberg", "Berlin", "Nordrhein-Westfalen", "Sachsen"], ["German"]),
    ("FI", ["Uusimaa", "Pirkanmaa", "Pohjois-Pohjanmaa", "Varsinais-Suomi"], ["Finnish", "Swedish"]),
    ("SE", ["Skåne", "Stockholm", "Västra Götaland", "Östergötland"], ["Swedish"]),
    ("AT", ["Oberösterreich", "Wien", "Steiermark", "Tirol"], ["German"]),
    ("ES", ["Cataluña", "País Vasco", "Comunidad de Madrid", "Andalucía"], ["Spanish", "Catalan"]),
    ("IT", ["Lombardia", "Emilia-Romagna", "Piemonte", "Toscana"], ["Italian"]),
    ("NL", ["Noord-Brabant", "Zuid-Holland", "Utrecht", "Gelderland"], ["Dutch"]),
    ("BE", ["Flanders", "Wallonia", "Brussels-Capital"], ["Dutch", "French"]),
    ("DK", ["Hovedstaden", "Midtjylland", "Syddanmark"], ["Danish"]),
    ("PT", ["Norte", "Lisboa", "Centro"], ["Portuguese"]),
]
SURNAMES = [
    "Kerné",
    "Le Goff",
    "Meyer",
    "Virtanen",
    "Lindqvist",
    "Huber",
    "García",
    "Rossi",
    "de Vries",
    "Peeters",
    "Jensen",
    "Silva",
    "Moreau",
    "Schmidt",
    "Korhonen",
    "Berg",
    "Gruber",
    "Martí",
    "Bianchi",
    "Janssen",
]
WORDS = ["Nova", "Arc", "Fjord", "Atlas", "Delta", "Linea", "Kite", "Pulse", "Nord", "Sol", "Vento", "Brisa"]
# Per service: name patterns ({s}urname, {p}lace, {w}ord) and phrases for the description.
KINDS = {
    "design": (
        ["Studio {s}", "{w} Design", "Atelier {s}", "{p} Product Design"],
        ["industrial design", "service design", "user research", "packaging design", "UX for machinery"],
    ),
    "ipr": (
        ["{s} & {s2} Patent Attorneys", "{p} IP Partners", "{s} Intellectual Property"],
        ["patent searches", "patent filing", "trademark registration", "freedom-to-operate opinions"],
    ),
    "financing": (
        ["{p} Seed Fund", "Business Angels {p}", "{w} Capital", "{p} Innovation Loans"],
        ["seed financing", "innovation loans", "grant applications", "venture capital for hardware"],
    ),
    "international": (
        ["{p} Export Partners", "{w} Trade Advisers", "{s} Market Entry"],
        ["export plans", "trade missions", "market entry studies", "distributor search"],
    ),
    "testing": (
        ["{p} Test & Certification", "{w} Test Lab", "{s} Conformity Services"],
        ["CE marking", "EMC testing", "food-contact certification", "usability testing"],
    ),
    "living_lab": (
        ["{p} Living Lab", "{w} Living Lab", "{p} Urban Living Lab"],
        [
            "market tests with user panels",
            "field trials at home",
            "co-creation workshops",
            "older adults panels",
        ],
    ),
    "design_centre": (
        ["{p} Design Centre", "{w} Design Centre", "Design Centre {p}"],
        ["design coaching for SMEs", "design vouchers", "prototype workshops", "design management training"],
    ),
}


def build_world(count: int, rng: random.Random):
    """``count`` providers with their services, and a firm user of a French SME to search as."""
    from django.db import transaction
    from django.utils.text import slugify

    from livinglab.b2b.models import ProviderService, ServiceProvider
    from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
    from livinglab.models import Organisation, Role

    firm = OrganisationFactory(
        name="Bench Sensors",
        kind=Organisation.Kind.SME,
        country="FR",
        region="Bretagne",
        slug="bench-sensors",
    )
    user = MembershipFactory(
        organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory(email="bench-firm@example.org")
    ).user
    PersonFactory(user=user)
    kinds = list(KINDS)
    providers, offered = [], []
    for i in range(count):
        country, regions, local = rng.choice(PLACES)
        region = rng.choice(regions)
        main = rng.choice(kinds)
        extra = rng.sample([k for k in kinds if k != main], rng.choice([0, 0, 1, 1, 2]))
        patterns, phrases = KINDS[main]
        name = rng.choice(patterns).format(
            s=rng.choice(SURNAMES), s2=rng.choice(SURNAMES), p=region, w=rng.choice(WORDS)
        )
        chosen = rng.sample(phrases, 2) + [rng.choice(KINDS[k][1]) for k in extra]
        description = (
            f"{name} offers {', '.join(chosen)} to small and medium-sized firms in {region} and abroad. "
            f"Founded in {rng.randrange(1985, 2024)}, {rng.randrange(3, 120)} staff."
        )
        roll = rng.random()
        status = "listed" if roll < 0.90 else "hidden" if roll < 0.96 else "proposed"
        providers.append(
            ServiceProvider(
                name=name,
                slug=f"{slugify(name)[:70]}-{i}",
                description=description,
                country=country,
                region=region,
                languages=", ".join([*local, "English"]),
                website=f"https://provider{i}.example",
                contact_email=f"contact{i}@provider.example",
                status=status,
            )
        )
        offered.append([main, *extra])
    with transaction.atomic():
        ServiceProvider.objects.bulk_create(providers, batch_size=1000)
        saved = list(ServiceProvider.objects.order_by("pk").values_list("pk", flat=True))
        rows = [
            ProviderService(provider_id=pk, service=service)
            for pk, services in zip(saved, offered, strict=True)
            for service in services
        ]
        ProviderService.objects.bulk_create(rows, batch_size=2000)
    return user


SEARCHES = [
    ("every listed provider, page 1", {}),
    ("by service: living lab", {"service": "living_lab"}),
    ("by country: Germany", {"country": "DE"}),
    ("by region: Bretagne", {"region": "Bretagne"}),
    ("by words: “user research”", {"q": "user research"}),
    ("combined: words + service + country", {"q": "export", "service": "international", "country": "FI"}),
    ("combined: service + region", {"service": "design", "region": "Bayern"}),
    ("every listed provider, page 200", {"page": "200"}),
]


def measure(user, runs: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from livinglab.b2b.services.providers import search_providers

    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    url = reverse("b2b:provider_search")
    rows = []
    floor_ms, floor_p95 = timed(lambda: client.get("/healthz/"), runs)
    rows.append({"label": "floor: /healthz/ signed in", "ms": floor_ms, "p95": floor_p95, "queries": None})
    for label, query in SEARCHES:
        for _i in range(2):
            response = client.get(url, query)
            assert response.status_code == 200, (query, response.status_code)
        filters = {k: v for k, v in query.items() if k != "page"}
        found = search_providers(**filters).count()
        # Counted by a wrapper: each request resets Django's own query log when it starts.
        captured: list[str] = []
        with connection.execute_wrapper(counting(captured)):
            client.get(url, query)
        ms, p95 = timed(lambda q=query: client.get(url, q), runs)
        alone_ms, _p95 = timed(lambda f=filters: list(search_providers(**f)[:20]), runs)
        rows.append(
            {
                "label": label,
                "ms": ms,
                "p95": p95,
                "queries": len(captured),
                "found": found,
                "alone": alone_ms,
            }
        )
    return rows


def run(args) -> None:
    setup(ROOT / "var" / "bench" / "b2b_directory.sqlite3")
    from django.db import connection

    from livinglab.b2b.models import ServiceProvider

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}", flush=True)
    start = time.perf_counter()
    user = build_world(args.providers, random.Random(args.seed))
    listed = ServiceProvider.objects.listed().count()
    print(
        f"built {args.providers:,} providers ({listed:,} listed) in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    rows = measure(user, args.runs)
    print(
        f"\n{args.runs} timed requests each; the search_providers column is the first page of results "
        f"with their services, without the page\n"
        f"{'search':40} {'found':>6} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
        f"{'search_providers ms':>20}"
    )
    for row in rows:
        queries = "" if row["queries"] is None else row["queries"]
        found = f"{row['found']:,}" if "found" in row else ""
        alone = f"{row['alone']:.1f}" if "alone" in row else ""
        print(f"{row['label']:40} {found:>6} {row['ms']:>10.1f} {row['p95']:>8.1f} {queries:>8} {alone:>20}")
    print(f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--providers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per search (default 30)")
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_flag(parser)
    args = parser.parse_args()
    run_on_database(args, run)


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    main()
