"""Matchmaking: hand-made needs and offers are ranked in the order a broker would rank them, every
suggestion says why, the reasons never quote confidential text, and the stored suggestions are refreshed
idempotently (also when refreshes run at the same time)."""

import json
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from livinglab.b2b import matching
from livinglab.b2b.factories import NeedFactory, OfferFactory, TagFactory
from livinglab.b2b.matching import Matcher, Profile, match_table, rank_needs, rank_offers, strength
from livinglab.b2b.models import ListingStatus, Match, Tag
from livinglab.b2b.services import matching as services
from livinglab.b2b.services.matching import refresh_matches
from livinglab.b2b.tasks.matching import refresh_all_matches, refresh_listing_matches
from livinglab.factories import OrganisationFactory
from tests.concurrency import on_postgresql, run_together

from .conftest import CONFIDENTIAL_MARKERS

FOOD, LOGISTICS = 1, 2
IOT, ML, ROBOTICS = 11, 12, 13
BUYER, SUPPLIER_A, SUPPLIER_B, SUPPLIER_C, SUPPLIER_D = 100, 200, 300, 400, 500


def profile(pk, org, title, summary, description="", sectors=(), technologies=()):
    return Profile(
        pk=pk,
        organisation_id=org,
        teaser=f"{title}\n{summary}",
        text=f"{title} {summary} {description}",
        sectors=frozenset(sectors),
        technologies=frozenset(technologies),
    )


FREEZING_NEED = profile(
    1,
    BUYER,
    "Predict breakdowns of our freezing lines",
    "We want to know days ahead when a freezing line will fail, to plan maintenance.",
    "Line 4 stops twice a month; each stop spoils the production of a whole shift.",
    sectors=[FOOD],
    technologies=[IOT, ML],
)
EXACT = profile(
    10,
    SUPPLIER_A,
    "Predictive maintenance for freezing lines",
    "Sensors and a model that predict breakdowns of freezing lines days ahead.",
    "Vibration and temperature sensors on compressors; maintenance planned before the line fails.",
    sectors=[FOOD],
    technologies=[IOT, ML],
)
TAGS_ONLY = profile(
    11,
    SUPPLIER_B,
    "Connected cleaning robots",
    "Robots that clean factory floors at night and report what they did.",
    "Fleet dashboard, cleaning schedules, hygiene reports for auditors.",
    sectors=[FOOD],
    technologies=[IOT, ML],
)
TEXT_ONLY = profile(
    12,
    SUPPLIER_C,
    "Breakdown prediction for freezing lines in cold stores",
    "We predict when freezing lines and compressors will fail, days ahead, so maintenance is planned.",
    "Maintenance teams get a warning before the line stops.",
    sectors=[LOGISTICS],
    technologies=[ROBOTICS],
)
UNRELATED = profile(
    13,
    SUPPLIER_D,
    "Payroll software for accountants",
    "Monthly salary slips, tax declarations and holiday balances.",
    "Runs in the browser.",
    sectors=[LOGISTICS],
    technologies=[ROBOTICS],
)
SAME_FIRM = profile(
    14,
    BUYER,
    "Predictive maintenance for freezing lines",
    "Our own team predicts breakdowns of freezing lines days ahead.",
    "The same text as the need, from the buyer itself.",
    sectors=[FOOD],
    technologies=[IOT, ML],
)
OFFERS = [UNRELATED, TEXT_ONLY, SAME_FIRM, TAGS_ONLY, EXACT]


# -------------------------------------------------------------------------------------------- ranking


def test_offers_for_a_need_are_ranked_tags_and_text_then_tags_then_text_then_unrelated():
    ranked = rank_offers(FREEZING_NEED, OFFERS)

    assert [s.offer_id for s in ranked] == [EXACT.pk, TAGS_ONLY.pk, TEXT_ONLY.pk, UNRELATED.pk]
    exact, tags_only, text_only, unrelated = ranked
    assert exact.technology_score == tags_only.technology_score == 1.0
    assert exact.text_score > tags_only.text_score and text_only.text_score > tags_only.text_score
    assert text_only.tag_score == 0 and text_only.text_score > 0.3
    assert unrelated.score == 0


def test_an_offer_of_the_needs_own_organisation_is_never_suggested():
    assert SAME_FIRM.pk not in [s.offer_id for s in rank_offers(FREEZING_NEED, OFFERS)]
    table = match_table([FREEZING_NEED], OFFERS, per_need=10, per_offer=10, min_score=0.0)
    assert (FREEZING_NEED.pk, SAME_FIRM.pk) not in {(s.need_id, s.offer_id) for s in table}
    assert rank_needs(SAME_FIRM, [FREEZING_NEED]) == []


def test_needs_for_an_offer_are_ranked_the_same_way():
    needs = [
        FREEZING_NEED,
        profile(2, SUPPLIER_B, "Cheaper payroll", "Salary slips take us days.", sectors=[LOGISTICS]),
        profile(3, SUPPLIER_C, "Monitor freezing lines", "Know when lines fail.", sectors=[FOOD]),
    ]

    ranked = rank_needs(EXACT, needs)

    assert [s.need_id for s in ranked] == [1, 3, 2]


def test_the_score_is_the_documented_formula_of_its_parts():
    need = profile(1, BUYER, "Alpha", "Bravo", sectors=[FOOD], technologies=[IOT, ML])
    offer = profile(2, SUPPLIER_A, "Charlie", "Delta", sectors=[FOOD], technologies=[IOT])

    (suggestion,) = rank_offers(need, [offer])

    # technologies {iot, ml} vs {iot}: 1/2; sectors {food} vs {food}: 1; no shared word: 0.
    assert suggestion.technology_score == 0.5
    assert suggestion.sector_score == 1.0
    assert suggestion.text_score == 0.0
    assert suggestion.tag_score == round((2 * 0.5 + 1.0) / 3, 4)
    assert suggestion.score == pytest.approx(0.4 * 0.5 + 0.2 * 1.0 + 0.4 * 0.0)


def test_strength_puts_the_score_in_plain_words():
    assert strength(0.9) == "Strong match"
    assert strength(0.6) == "Strong match"
    assert strength(0.4) == "Good match"
    assert strength(0.12) == "Possible match"


def test_equal_scores_are_ordered_by_id():
    twin_a = profile(31, SUPPLIER_B, "Cleaning robots", "Robots clean floors.", technologies=[ROBOTICS])
    twin_b = profile(30, SUPPLIER_C, "Cleaning robots", "Robots clean floors.", technologies=[ROBOTICS])
    need = profile(1, BUYER, "Clean floors", "Robots welcome.", technologies=[ROBOTICS])

    ranked = rank_offers(need, [twin_a, twin_b])

    assert ranked[0].score == ranked[1].score
    assert [s.offer_id for s in ranked] == [30, 31]


def test_texts_without_a_single_meaningful_word_score_on_tags_alone():
    need = profile(1, BUYER, "The", "and of", technologies=[IOT])
    offer = profile(2, SUPPLIER_A, "A", "to be", technologies=[IOT])

    (suggestion,) = rank_offers(need, [offer])

    assert suggestion.text_score == 0 and suggestion.terms == ()
    assert suggestion.score == 0.4
    assert match_table([], [offer], per_need=3, per_offer=3, min_score=0.1) == []


# -------------------------------------------------------------------------------------------- reasons


def test_reasons_name_the_shared_tags_and_the_words_both_summaries_use():
    exact, *_rest = rank_offers(FREEZING_NEED, OFFERS)

    assert exact.sectors == (FOOD,)
    assert exact.technologies == (IOT, ML)
    assert {"freezing", "breakdowns", "predict"} <= set(exact.terms)
    assert len(exact.terms) <= matching.REASON_TERMS
    assert exact.reasons == {"sectors": [FOOD], "technologies": [IOT, ML], "terms": list(exact.terms)}


def test_reasons_use_only_words_both_teasers_show_even_when_descriptions_share_more():
    need = profile(
        1,
        BUYER,
        "Predict freezing line failures",
        "Warn days ahead.",
        "CONFIDENTIAL-NEED Kerava compressor bearings cost us dearly",
        technologies=[IOT],
    )
    offer = profile(
        2,
        SUPPLIER_A,
        "Failure prediction for freezing lines",
        "Days ahead warnings.",
        "CONFIDENTIAL-OFFER Kerava compressor bearings at two dairies",
        technologies=[IOT],
    )

    (suggestion,) = rank_offers(need, [offer])

    assert suggestion.text_score > 0.3  # the descriptions count in the score...
    assert set(suggestion.terms) == {"freezing", "days", "ahead"}  # ...but are never quoted
    for secret in ("confidential", "kerava", "compressor", "bearings"):
        assert secret not in suggestion.terms


# ------------------------------------------------------------------------------------------ the table


def synthetic(count, first_pk, rng, orgs):
    words = [
        "sensor",
        "freezing",
        "line",
        "robot",
        "warehouse",
        "energy",
        "battery",
        "solar",
        "vision",
        "camera",
        "packaging",
        "cold",
        "chain",
        "tracking",
        "forecast",
        "demand",
        "logistics",
        "welding",
        "inspection",
        "predictive",
        "maintenance",
        "drone",
        "pallet",
    ]
    return [
        profile(
            first_pk + i,
            rng.choice(orgs),
            " ".join(rng.sample(words, 3)),
            " ".join(rng.sample(words, 5)),
            " ".join(rng.sample(words, 8)),
            sectors=rng.sample([FOOD, LOGISTICS], rng.randint(0, 2)),
            technologies=rng.sample([IOT, ML, ROBOTICS], rng.randint(0, 3)),
        )
        for i in range(count)
    ]


def brute_force(needs, offers, per_need, per_offer, min_score):
    """Each need's ``per_need`` best offers and each offer's ``per_offer`` best needs, ranked one
    listing at a time."""
    matcher = Matcher(needs, offers)
    chosen = {}
    for need in needs:
        for s in matcher.offers_for(need.pk, limit=per_need, min_score=min_score):
            chosen[(s.need_id, s.offer_id)] = s
    for offer in offers:
        for s in matcher.needs_for(offer.pk, limit=per_offer, min_score=min_score):
            chosen[(s.need_id, s.offer_id)] = s
    return chosen


@pytest.mark.parametrize("block_cells", [matching.BLOCK_CELLS, 37])
def test_the_table_holds_each_needs_and_each_offers_best_counterparts(monkeypatch, block_cells):
    """Computed in blocks of needs (37 cells: a block of one need at a time), the table equals the one
    scored pair by pair."""
    monkeypatch.setattr(matching, "BLOCK_CELLS", block_cells)
    rng = random.Random(7)
    orgs = [BUYER, SUPPLIER_A, SUPPLIER_B, SUPPLIER_C]
    needs, offers = synthetic(25, 1, rng, orgs), synthetic(30, 1000, rng, orgs)

    table = match_table(needs, offers, per_need=3, per_offer=2, min_score=0.1)

    assert {(s.need_id, s.offer_id): s for s in table} == brute_force(needs, offers, 3, 2, 0.1)
    assert len(table) > 25
    assert table == sorted(table, key=lambda s: (-s.score, s.need_id, s.offer_id))
    assert all(s.score >= 0.1 for s in table)
    organisations = {p.pk: p.organisation_id for p in (*needs, *offers)}
    assert all(organisations[s.need_id] != organisations[s.offer_id] for s in table)


# ------------------------------------------------------------------------------------------- refresh


@pytest.fixture
def market(need, offer, buyer, supplier, rival, tags):
    """The shared need and offer, plus offers of a rival: one on the same tags with other words, one about
    something else, a draft and a closed one on the same subject (never suggested)."""
    rival_offer = OfferFactory(
        organisation=rival,
        title="Cleaning robots for food plants",
        summary="Robots that clean production floors at night.",
        description="CONFIDENTIAL-OFFER: two robots per plant.",
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )
    unrelated = OfferFactory(
        organisation=rival,
        title="Payroll software",
        summary="Salary slips for accountants.",
        sectors=[tags["logistics"]],
        technologies=[tags["robotics"]],
    )
    draft = OfferFactory(
        organisation=rival,
        title=offer.title,
        summary=offer.summary,
        status=ListingStatus.DRAFT,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )
    closed = OfferFactory(
        organisation=rival,
        title=offer.title,
        summary=offer.summary,
        status=ListingStatus.CLOSED,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )
    own = OfferFactory(
        organisation=buyer,
        title=need.title,
        summary=need.summary,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )
    return {
        "rival_offer": rival_offer,
        "unrelated": unrelated,
        "draft": draft,
        "closed": closed,
        "own": own,
    }


def snapshot():
    """The stored rows, comparable: (pk, need, offer, score, tag score, text score, reasons as JSON)."""
    rows = Match.objects.values_list(
        "pk", "need_id", "offer_id", "score", "tag_score", "text_score", "reasons"
    )
    return sorted((*row[:-1], json.dumps(row[-1], sort_keys=True)) for row in rows)


def test_refresh_stores_the_suggestions_of_published_listings_best_first(need, offer, market, tags):
    refresh_matches()

    suggested = list(Match.objects.filter(need=need).values_list("offer_id", flat=True))
    assert suggested == [offer.pk, market["rival_offer"].pk]
    best = Match.objects.get(need=need, offer=offer)
    assert best.reasons["sectors"] == [tags["food"].pk]
    assert best.reasons["technologies"] == sorted([tags["iot"].pk, tags["ml"].pk])
    assert "predict" in best.reasons["terms"]
    assert best.score == pytest.approx(0.6 * best.tag_score + 0.4 * best.text_score, abs=1e-4)
    assert not Match.objects.filter(offer__in=[market["draft"], market["closed"], market["own"]]).filter(
        need=need
    )


def test_stored_reasons_never_contain_a_confidential_word(need, offer, market):
    refresh_matches()

    stored = json.dumps(list(Match.objects.values_list("reasons", flat=True))).lower()
    assert Match.objects.filter(need=need, offer=offer).exists()
    # Both descriptions start with "CONFIDENTIAL-…": a shared word, but never a teaser word.
    assert "confidential" not in stored
    for marker in CONFIDENTIAL_MARKERS:
        assert marker.lower() not in stored


def test_refresh_is_idempotent(need, offer, market):
    first = refresh_matches()
    rows = snapshot()
    computed = dict(Match.objects.values_list("pk", "computed_at"))

    second = refresh_matches()
    again = refresh_matches(need_ids=[need.pk], offer_ids=[offer.pk])

    assert first.written > 0
    assert (second.written, second.deleted) == (0, 0)
    assert (again.written, again.deleted) == (0, 0)
    assert snapshot() == rows
    assert dict(Match.objects.values_list("pk", "computed_at")) == computed


def test_refreshing_one_listing_stores_what_the_full_refresh_stores(need, offer, market):
    refresh_matches()
    expected = {row[1:] for row in snapshot()}
    Match.objects.filter(need=need).delete()
    Match.objects.filter(offer=market["rival_offer"]).delete()

    refresh_matches(need_ids=[need.pk])
    refresh_matches(offer_ids=[market["rival_offer"].pk])

    assert {row[1:] for row in snapshot()} == expected


def test_closing_a_listing_and_refreshing_it_removes_its_suggestions(need, offer, market):
    refresh_matches()
    assert Match.objects.filter(offer=offer).exists()
    type(offer).objects.filter(pk=offer.pk).update(status=ListingStatus.CLOSED)

    done = refresh_matches(offer_ids=[offer.pk])

    assert done.deleted >= 1
    assert not Match.objects.filter(offer=offer).exists()
    assert Match.objects.filter(need=need, offer=market["rival_offer"]).exists()


def test_a_listing_changed_while_the_table_was_computed_is_left_to_its_own_refresh(need, offer, market):
    """Its change enqueued a refresh of its own, which reads the new text: the slower nightly run must
    not overwrite that with what it read before."""
    refresh_matches()
    Match.objects.filter(need=need).delete()
    type(need).objects.filter(pk=need.pk).update(updated_at=timezone.now() + timedelta(minutes=5))

    done = refresh_matches()

    assert (done.written, done.deleted) == (0, 0)
    assert not Match.objects.filter(need=need).exists()
    type(need).objects.filter(pk=need.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    refresh_matches(need_ids=[need.pk])
    assert Match.objects.filter(need=need, offer=offer).exists()


def test_refresh_keeps_the_top_k_of_each_need_above_the_minimum_score(monkeypatch, buyer, rival, tags):
    monkeypatch.setattr(services, "TOP_K", 2)
    need = NeedFactory(organisation=buyer, title="Freezing line sensors", technologies=[tags["iot"]])
    offers = [
        OfferFactory(organisation=rival, title=f"Sensors {i}", technologies=[tags["iot"]]) for i in range(4)
    ]
    unrelated = OfferFactory(
        organisation=rival, title="Payroll", summary="Salary slips.", description="For accountants."
    )

    refresh_matches()

    kept = list(
        Match.objects.filter(need=need).order_by("-score", "offer_id").values_list("offer_id", flat=True)
    )
    # Each offer keeps its best needs too: here the only need, so every sensor offer is kept.
    assert set(kept) == {o.pk for o in offers}
    assert unrelated.pk not in kept
    Match.objects.all().delete()
    refresh_matches(need_ids=[need.pk])
    assert Match.objects.filter(need=need).count() == 4


def test_a_need_among_many_keeps_only_its_best_offers(monkeypatch, buyer, rival, tags):
    monkeypatch.setattr(services, "TOP_K", 1)
    others = [
        NeedFactory(organisation=buyer, title=f"Sensors wanted {i}", technologies=[tags["iot"]])
        for i in range(2)
    ]
    offers = [
        OfferFactory(organisation=rival, title=f"Sensors {i}", technologies=[tags["iot"]]) for i in range(3)
    ]

    refresh_matches()

    # Each need keeps its best offer (the lowest id on a tie), each offer its best need.
    pairs = set(Match.objects.values_list("need_id", "offer_id"))
    assert pairs == {(others[0].pk, offers[0].pk), (others[1].pk, offers[0].pk)} | {
        (others[0].pk, o.pk) for o in offers
    }


def test_the_tasks_refresh_one_listing_or_every_listing(need, offer, market):
    assert refresh_all_matches.delay().get() > 0
    assert Match.objects.filter(need=need, offer=offer).exists()
    Match.objects.filter(need=need).delete()

    assert refresh_listing_matches.delay("need", need.pk).get() > 0
    assert Match.objects.filter(need=need, offer=offer).exists()
    with pytest.raises(ValueError):
        refresh_listing_matches("project", need.pk)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_leave_the_table_one_refresh_leaves():
    rng = random.Random(3)
    orgs = [OrganisationFactory() for _i in range(4)]
    tags = [TagFactory(kind=Tag.Kind.TECHNOLOGY, name=f"Tech {i}") for i in range(4)]
    words = [
        "sensor",
        "freezing",
        "robot",
        "warehouse",
        "energy",
        "vision",
        "packaging",
        "forecast",
        "welding",
        "drone",
    ]
    needs = [
        NeedFactory(
            organisation=rng.choice(orgs),
            title=" ".join(rng.sample(words, 3)),
            summary=" ".join(rng.sample(words, 4)),
            technologies=rng.sample(tags, 2),
        )
        for _i in range(12)
    ]
    for _i in range(15):
        OfferFactory(
            organisation=rng.choice(orgs),
            title=" ".join(rng.sample(words, 3)),
            summary=" ".join(rng.sample(words, 4)),
            technologies=rng.sample(tags, 2),
        )
    refresh_matches()
    expected = {row[1:] for row in snapshot()}
    assert expected
    Match.objects.all().delete()

    results = run_together(lambda i: refresh_matches(), 4)

    assert [(r.written > 0) for r in results].count(True) == 1, results  # one writes, the others find it done
    assert {row[1:] for row in snapshot()} == expected

    Match.objects.all().delete()
    results = run_together(
        lambda i: refresh_matches() if i % 2 else refresh_matches(need_ids=[n.pk for n in needs]), 4
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {row[1:] for row in snapshot()} >= expected
    refresh_matches()
    assert {row[1:] for row in snapshot()} == expected
    assert connection.vendor == "postgresql"
