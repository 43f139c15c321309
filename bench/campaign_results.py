"""Results of a large campaign: dashboard server time and queries (cold and warm cache), the pandas
analytics, the PDF report and the XLSX export (time and peak memory).

    uv run python bench/campaign_results.py                      # 10,000 participants, 200,000 answers
    uv run python bench/campaign_results.py --answers 1000000    # the analytics on a million answers
    uv run python bench/campaign_results.py --postgres           # a throwaway PostgreSQL server
    DATABASE_URL=postgres://… uv run python bench/campaign_results.py   # an empty database of yours

The lab, the firm, the panel, the consent form, the campaign and its questionnaire come from the factories.
The participants are written with ``bulk_create`` from a seeded generator, as the product would hold them
after recruitment: a person who consents to the campaign's purpose, an active panel member, one selection
of the campaign's draw with its pseudonymous code, an accepted invitation, and one response (93 %
submitted) under that code with an answer to each of 20 questions of every kind. The same options give
the same data. SQLite by default, in a fresh file under var/bench/.

Timings are medians of untraced runs. The peak memory of the PDF report and the XLSX export is measured
in a separate process (this script with ``--measure``): its resident set before the build and its peak
during it, so that measuring never slows the timed runs.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

from support import add_postgres_flag, reset_peak_rss, resident_kb, run_on_database, setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    ("likert5", 5),
    ("likert7", 2),
    ("sus", 1),
    ("nps", 1),
    ("single", 3),
    ("multiple", 2),
    ("ranking", 1),
    ("rating", 2),
    ("text", 3),
]  # 20 questions
OPTIONS = [{"value": v, "label": {"en": v.title()}} for v in ("alpha", "beta", "gamma", "delta", "epsilon")]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
REGIONS = ["Bretagne", "Pays de la Loire", "Normandie", "Uusimaa", "Skåne", "Oberösterreich"]
HOUSEHOLDS = ["single", "couple", "family", "single_parent", "shared"]
SKILLS = ["none", "basic", "everyday", "advanced"]
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WORDS = [
    "battery",
    "screen",
    "small",
    "button",
    "slow",
    "helpful",
    "clear",
    "confusing",
    "font",
    "alarm",
    "reminder",
    "easy",
]
BATCH = 5_000


def codes(count: int, rng: random.Random) -> list[str]:
    """Distinct pseudonymous codes like the draw engine's (``P-7K3QX``), seeded."""
    found: dict[str, None] = {}
    while len(found) < count:
        found["P-" + "".join(rng.choices(CODE_ALPHABET, k=5))] = None
    return list(found)


def build(participants: int, answers_wanted: int, seed: int):
    """A running campaign whose draw's accepted invitations are its participants, each with one response to
    its questionnaire. More answers than ``participants`` × 20 questions bring more participants."""
    from django.db import transaction
    from django.utils import timezone

    from livinglab.factories import (
        ConsentDocumentVersionFactory,
        ConsentPurposeFactory,
        MembershipFactory,
        OrganisationFactory,
        UserFactory,
    )
    from livinglab.models import ConsentRecord, Organisation, Person, Role
    from pilots.factories import CampaignFactory, PanelFactory, QuestionFactory, QuestionnaireFactory
    from pilots.models import (
        Answer,
        Campaign,
        Draw,
        DrawSelection,
        Invitation,
        PanelMembership,
        Response,
    )

    rng = random.Random(seed)
    now = timezone.now()
    lab = OrganisationFactory(name="Bench Living Lab", kind=Organisation.Kind.CLUSTER)
    firm = OrganisationFactory(name="Bench Sensors", kind=Organisation.Kind.SME)
    user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
    purpose = ConsentPurposeFactory(code="bench-participation", name="Taking part in studies")
    form = ConsentDocumentVersionFactory(document__title="Bench panel participation", purposes=[purpose])
    panel = PanelFactory(owner=lab, name="Bench panel", consent_document=form.document)
    questions_per_response = sum(count for _kind, count in QUESTIONS)
    people = max(participants, -(-answers_wanted // questions_per_response))
    campaign = CampaignFactory(
        lab=lab,
        requested_by=firm,
        status="running",
        title="Bench campaign",
        panel=panel,
        target_participants=people,
    )
    campaign.required_purposes.set([purpose])
    draw = Draw.objects.bulk_create(
        [
            Draw(
                panel=panel,
                campaign=campaign,
                title=campaign.title,
                involves=campaign.expect_activities,
                requested_by=firm,
                size=people,
                seed=seed,
                status=Draw.Status.INVITING,
                eligible_count=people,
                drawn_at=now,
                invited_at=now,
            )
        ]
    )[0]
    draw.required_purposes.set([purpose])
    questionnaire = QuestionnaireFactory(campaign=campaign, title={"en": "After the test"}, status="open")
    questions = []
    for kind, count in QUESTIONS:
        for i in range(count):
            questions.append(
                QuestionFactory(
                    questionnaire=questionnaire,
                    key=f"{kind}{i}",
                    kind=kind,
                    text={"en": f"{kind} question {i}"},
                    options=OPTIONS if kind in ("single", "multiple", "ranking") else [],
                    scale_max=5 if kind == "rating" else None,
                )
            )
    all_codes = codes(people, rng)
    made = 0
    while made < people:
        size = min(BATCH, people - made)
        numbers = range(made, made + size)
        with transaction.atomic():
            persons = Person.objects.bulk_create(Person(full_name=f"Bench participant {n}") for n in numbers)
            ConsentRecord.objects.bulk_create(
                ConsentRecord(
                    person=person,
                    purpose=purpose,
                    version=form,
                    text_sha256=form.text_sha256,
                    method=ConsentRecord.Method.ONLINE,
                    given_at=now,
                )
                for person in persons
            )
            memberships = PanelMembership.objects.bulk_create(
                PanelMembership(
                    panel=panel,
                    person=person,
                    status=PanelMembership.Status.ACTIVE,
                    source=PanelMembership.Source.SELF,
                    confirmed_at=now,
                )
                for person in persons
            )
            selections = DrawSelection.objects.bulk_create(
                DrawSelection(draw=draw, membership=membership, rank=n + 1, code=all_codes[n])
                for n, membership in zip(numbers, memberships, strict=True)
            )
            Invitation.objects.bulk_create(
                Invitation(
                    selection=selection,
                    person=person,
                    panel=panel,
                    status=Invitation.Status.ACCEPTED,
                    expires_at=now + timedelta(days=draw.respond_within_days),
                    mailed_at=now,
                    opened_at=now,
                    responded_at=now,
                )
                for selection, person in zip(selections, persons, strict=True)
            )
            submitted = [rng.random() < 0.93 for _person in persons]
            responses = Response.objects.bulk_create(
                Response(
                    questionnaire=questionnaire,
                    person=person,
                    code=selection.code,
                    language="en",
                    status="submitted" if done else "in_progress",
                    submitted_at=now if done else None,
                    attributes={
                        "age_band": rng.choice(AGE_BANDS),
                        "region": rng.choice(REGIONS),
                        "household_type": rng.choice(HOUSEHOLDS),
                        "digital_skills": rng.choice(SKILLS),
                    },
                )
                for person, selection, done in zip(persons, selections, submitted, strict=True)
            )
            rows = []
            for response in responses:
                for q in questions:
                    rows.append(Answer(response_id=response.pk, question_id=q.pk, **value(q.kind, rng)))
            Answer.objects.bulk_create(rows, batch_size=10_000)
        made += size
        print(
            f"  {made:,} participants, {made * questions_per_response:,} answers", file=sys.stderr, flush=True
        )
    Campaign.objects.filter(pk=campaign.pk).update(results_version=1)
    campaign.refresh_from_db()
    return campaign, user


def value(kind: str, rng: random.Random) -> dict:
    if kind == "likert5":
        return {"number": rng.choice([1, 2, 3, 3, 4, 4, 4, 5, 5])}
    if kind == "likert7":
        return {"number": rng.randint(1, 7)}
    if kind == "rating":
        return {"number": rng.randint(1, 5)}
    if kind == "nps":
        return {"number": rng.choice([0, 3, 5, 6, 7, 7, 8, 8, 9, 9, 10, 10])}
    if kind == "sus":
        items = [rng.randint(2, 5) if i % 2 == 0 else rng.randint(1, 4) for i in range(10)]
        score = sum(v - 1 if i % 2 == 0 else 5 - v for i, v in enumerate(items)) * 2.5
        return {"number": score, "value": items}
    options = [o["value"] for o in OPTIONS]
    if kind == "single":
        return {"value": rng.choice(options)}
    if kind == "multiple":
        return {"value": rng.sample(options, rng.randint(0, 3))}
    if kind == "ranking":
        return {"value": rng.sample(options, len(options))}
    return {"text": " ".join(rng.choices(WORDS, k=rng.randint(0, 8)))}


def timed(fn, runs: int):
    times = []
    result = None
    for _i in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def files(campaign_pk: int):
    """The two files a coordinator asks for, as ``build_results_file`` makes them (without storing them)."""
    from django.conf import settings
    from django.utils import translation

    from pilots.models import Campaign, ResultsFile
    from pilots.services import results as services

    campaign = Campaign.objects.get(pk=campaign_pk)

    def pdf():
        with translation.override(settings.LANGUAGE_CODE):
            return services.report_pdf(campaign)

    def xlsx():
        with translation.override(settings.LANGUAGE_CODE):
            return services._write_table(services.export_frame(campaign), ResultsFile.Kind.XLSX)

    return {"pdf": pdf, "xlsx": xlsx}


def measure(kind: str, campaign_pk: int) -> None:
    """In a process of its own: the resident set before one build and its peak during it, as JSON."""
    import openpyxl  # noqa: F401  (importing is not building)
    import weasyprint  # noqa: F401
    from django.db import connection

    make = files(campaign_pk)[kind]
    connection.ensure_connection()
    # Start the peak (VmHWM) again from the current resident set, so imports do not count.
    reset_peak_rss()
    before = resident_kb("VmRSS")
    make()
    peak = resident_kb("VmHWM")
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024}))


def memory_of(kind: str, campaign_pk: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--campaign", str(campaign_pk)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the analytics and the dashboard")
    parser.add_argument("--file-runs", type=int, default=3, help="timed builds of the PDF and of the XLSX")
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_flag(parser)
    parser.add_argument("--measure", choices=["pdf", "xlsx"], help=argparse.SUPPRESS)
    parser.add_argument("--campaign", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        setup(ROOT / "var" / "bench" / "unused.sqlite3", fresh=False, migrate=False)
        measure(args.measure, args.campaign)
        return
    run_on_database(args, run)


def run(args) -> None:
    big = args.answers > 200_000
    setup(ROOT / "var" / "bench" / f"campaign_results_{args.answers}.sqlite3")

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from pilots import analytics
    from pilots.models import Answer, Invitation, Response

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}", flush=True)
    start = time.perf_counter()
    campaign, user = build(args.participants, args.answers, args.seed)
    accepted = Invitation.objects.filter(
        selection__draw__campaign=campaign, status=Invitation.Status.ACCEPTED
    ).count()
    print(
        f"built in {time.perf_counter() - start:.0f} s: {accepted:,} participants (accepted invitations), "
        f"{Response.objects.count():,} responses, {Answer.objects.count():,} answers",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have gathered by now

    # The analytics: the one SQL query into a DataFrame, then the pandas part.
    questions = list(analytics.visible_questions(campaign, None))
    ids = [q.pk for q in questions]
    load_ms, frame = timed(lambda: analytics.load_answers(campaign, ids), args.runs)
    responses_ms, responses = timed(lambda: analytics.load_responses(campaign), args.runs)
    questionnaires = list(campaign.questionnaires.all())
    pandas_ms, results = timed(
        lambda: analytics.analyse(campaign, questionnaires, questions, frame, responses, accepted), args.runs
    )
    total_ms, results = timed(lambda: analytics.compute_results(campaign), args.runs)
    first = results["questionnaires"][0]
    print(f"answers loaded (SQL → DataFrame): median {load_ms:.0f} ms ({len(frame):,} submitted answers)")
    print(f"responses loaded: median {responses_ms:.0f} ms")
    print(f"analytics, pandas part: median {pandas_ms:.0f} ms")
    print(f"analytics, queries + pandas (compute_results): median {total_ms:.0f} ms")
    print(
        f"  participants {results['participants']:,}, respondents {results['respondents']:,}, "
        f"response rate {first['participation']:.1f} %, completion {first['completion']:.1f} %"
    )
    if big:
        return

    client = Client(HTTP_HOST="localhost")  # in the dev profile's ALLOWED_HOSTS
    client.force_login(user)
    url = reverse("campaigns:results", args=[campaign.slug])

    def dashboard(cold: bool):
        if cold:
            cache.clear()
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        return response

    page = dashboard(False).content.decode()
    assert f"{accepted:,}" in page or str(accepted) in page, "the dashboard does not show the participants"
    for cold in (True, False):
        with CaptureQueriesContext(connection) as captured:
            dashboard(cold)
        queries = len(captured)
        median, _r = timed(lambda cold=cold: dashboard(cold), args.runs if cold else args.runs * 4)
        label = "cold cache" if cold else "warm cache"
        print(f"dashboard, {label}: median {median:.0f} ms, {queries} queries", flush=True)

    for kind, label in (("pdf", "PDF report"), ("xlsx", "XLSX export (pandas + openpyxl)")):
        make = files(campaign.pk)[kind]
        ms, content = timed(make, args.file_runs)
        memory = memory_of(kind, campaign.pk)
        print(
            f"{label}: median {ms:,.0f} ms of {args.file_runs}, {len(content) / 1024:,.0f} KB; "
            f"resident {memory['before_mb']:.0f} MB before, peak {memory['peak_mb']:.0f} MB "
            f"(+{memory['peak_mb'] - memory['before_mb']:.0f} MB), in a process of its own",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    main()
