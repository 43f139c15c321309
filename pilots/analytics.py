"""A campaign's results, computed with pandas from a handful of queries: distributions per question, SUS
with its 95% confidence interval, NPS, completion, and comparisons by the attributes participants agreed to
share. Only submitted answers count; a withdrawal deletes or anonymises the person's answers, so whatever
is stored is what may be shown. Results are cached per (campaign, results version, firm): a submission or a
withdrawal bumps the version, so the dashboard is right at once.

Answers are never loaded as model instances. The scale answers' numbers come in one query into numpy
arrays (the comparisons need each one's response); the other answers are counted by the database, by
question and raw JSON value, and each distinct value is decoded once. Responses bring only the attributes
results compare by, extracted in SQL. ``load_answers`` (every answer, for the exports) and ``analyse``
compute the same figures from all the rows."""

import json
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F
from django.utils.translation import gettext_lazy as _
from scipy import stats

from livinglab.models import Organisation

from .models import (
    FIXED_ATTRIBUTES,
    Answer,
    AttributeKind,
    Campaign,
    Invitation,
    Question,
    QuestionKind,
    Questionnaire,
    Response,
)
from .scoring import likert_labels
from .tasks.results import warm_results

# Groups smaller than this are not shown on their own: a handful of people could be recognised.
MIN_GROUP = 5
CACHE_SECONDS = 60 * 60 * 24
NUMERIC = {
    QuestionKind.LIKERT5,
    QuestionKind.LIKERT7,
    QuestionKind.RATING,
    QuestionKind.NPS,
    QuestionKind.SUS,
}
CHOICE = {QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKING}
SCALE_POINTS = {QuestionKind.LIKERT5: 5, QuestionKind.LIKERT7: 7, QuestionKind.NPS: 11}
# Shareable attributes with one value per person: those results can be compared by.
COMPARABLE = [code for code, a in FIXED_ATTRIBUTES.items() if a.shareable and a.kind == AttributeKind.CHOICE]
FEWER = _("fewer than %(n)s") % {"n": MIN_GROUP}


def cache_key(campaign: Campaign, for_firm: Organisation | None) -> str:
    return f"pilots:results:{campaign.pk}:{campaign.results_version}:{for_firm.pk if for_firm else 0}"


def campaign_results(campaign: Campaign, *, for_firm: Organisation | None = None) -> dict:
    """The results of ``campaign`` (for a partner firm: shared questions and its own), from the cache."""
    key = cache_key(campaign, for_firm)
    results = cache.get(key)
    if results is None:
        results = compute_results(campaign, for_firm=for_firm)
        cache.set(key, results, CACHE_SECONDS)
    return results


def warm_cache(campaign: Campaign) -> None:
    """Compute the results every viewer of the campaign gets: the full ones, and each partner firm's."""
    for firm in [None, *campaign.partners.exclude(pk=campaign.requested_by_id)]:
        key = cache_key(campaign, firm)
        if cache.get(key) is None:
            cache.set(key, compute_results(campaign, for_firm=firm), CACHE_SECONDS)


def answers_changed(campaign_id: int) -> None:
    """Call inside the transaction that changed a campaign's answers: the cached results go stale at once
    (they are keyed on the version), and the new ones are computed in the background after commit."""
    Campaign.objects.filter(pk=campaign_id).update(results_version=F("results_version") + 1)
    version = Campaign.objects.values_list("results_version", flat=True).get(pk=campaign_id)
    warm_results.delay_on_commit(campaign_id, version)


def visible_questions(campaign: Campaign, for_firm: Organisation | None):
    questions = Question.objects.filter(questionnaire__campaign=campaign)
    if for_firm is not None:
        questions = questions.filter(firm__isnull=True) | questions.filter(firm=for_firm)
    return questions.order_by("questionnaire_id", "position")


# ------------------------------------------------------------------------------------------- loading


def load_answers(campaign: Campaign, question_ids: list[int]) -> pd.DataFrame:
    """Submitted answers to ``question_ids`` as (response, question, number, raw JSON value, has text)."""
    columns = ["response_id", "question_id", "number", "value", "has_text"]
    if not question_ids:
        return pd.DataFrame(columns=columns)
    answer, response = Answer._meta.db_table, Response._meta.db_table
    questionnaire = Questionnaire._meta.db_table
    marks = ", ".join(["%s"] * len(question_ids))
    sql = (
        f"SELECT a.response_id, a.question_id, a.number, CAST(a.value AS TEXT), "  # noqa: S608
        f"CASE WHEN a.text = '' THEN 0 ELSE 1 END "
        f"FROM {answer} a JOIN {response} r ON r.id = a.response_id "
        f"JOIN {questionnaire} qn ON qn.id = r.questionnaire_id "
        f"WHERE qn.campaign_id = %s AND r.status = %s AND a.question_id IN ({marks})"
    )
    with connection.cursor() as cursor:
        # Table names come from the models and values are parameters: nothing user-supplied is formatted.
        cursor.execute(sql, [campaign.pk, Response.Status.SUBMITTED, *question_ids])
        rows = cursor.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    frame["number"] = pd.to_numeric(frame["number"], errors="coerce")
    return frame


class Tally(NamedTuple):
    """Submitted answers, as much as the figures need: every answer to a scale question (its response, its
    question, its number, which may be missing), and the other answers counted by (question, raw JSON value
    of a choice or ranking, whether it holds text)."""

    numbers: pd.DataFrame  # response_id, question_id, number
    counts: pd.DataFrame  # question_id, value, has_text, count


NUMBER_COLUMNS = ["response_id", "question_id", "number"]
COUNT_COLUMNS = ["question_id", "value", "has_text", "count"]


def load_tally(campaign: Campaign, questions: list[Question]) -> Tally:
    """The ``Tally`` of ``questions`` in two queries: the scale answers' numbers, and the other answers
    counted by the database, so that neither choices nor texts travel one row per answer."""
    numeric = [q.pk for q in questions if q.kind in NUMERIC]
    others = [q.pk for q in questions if q.kind not in NUMERIC]
    choices = [q.pk for q in questions if q.kind in CHOICE]
    answer, response = Answer._meta.db_table, Response._meta.db_table
    questionnaire = Questionnaire._meta.db_table
    # SQLite keeps the order of a CROSS JOIN: walking the campaign's responses reads each one's answers
    # together, about twice as fast as walking the question index. PostgreSQL plans it as the inner join
    # it is. Table names come from the models and values are parameters: nothing user-supplied is formatted.
    submitted = (
        f"FROM {response} r CROSS JOIN {answer} a WHERE a.response_id = r.id "  # noqa: S608
        f"AND r.questionnaire_id IN (SELECT id FROM {questionnaire} WHERE campaign_id = %s) AND r.status = %s"
    )
    params = [campaign.pk, Response.Status.SUBMITTED]
    numbers = pd.DataFrame({"response_id": [], "question_id": [], "number": []}).astype(
        {"response_id": "int64", "question_id": "int64", "number": "float64"}
    )
    counts = pd.DataFrame(columns=COUNT_COLUMNS)
    with connection.cursor() as cursor:
        if numeric:
            cursor.execute(
                f"SELECT a.response_id, a.question_id, a.number {submitted} "
                f"AND a.question_id IN ({_marks(numeric)})",
                [*params, *numeric],
            )
            table = np.array(cursor.fetchall(), dtype="float64").reshape(-1, 3)  # a missing number: NaN
            numbers = pd.DataFrame(
                {
                    "response_id": table[:, 0].astype("int64"),
                    "question_id": table[:, 1].astype("int64"),
                    "number": table[:, 2],
                }
            )
        if others:
            value = (
                f"CASE WHEN a.question_id IN ({_marks(choices)}) THEN CAST(a.value AS TEXT) END"
                if choices
                else "CAST(NULL AS TEXT)"
            )
            cursor.execute(
                f"SELECT a.question_id, {value}, CASE WHEN a.text = '' THEN 0 ELSE 1 END, COUNT(*) "
                f"{submitted} AND a.question_id IN ({_marks(others)}) GROUP BY 1, 2, 3",
                [*choices, *params, *others],
            )
            counts = pd.DataFrame.from_records(cursor.fetchall(), columns=COUNT_COLUMNS)
    return Tally(numbers, counts)


def tally(answers: pd.DataFrame, questions: list[Question]) -> Tally:
    """The ``Tally`` of a ``load_answers`` frame: what ``load_tally`` asks the database for."""
    numeric = [q.pk for q in questions if q.kind in NUMERIC]
    choices = [q.pk for q in questions if q.kind in CHOICE]
    is_numeric = answers["question_id"].isin(numeric)
    numbers = answers.loc[is_numeric, NUMBER_COLUMNS].astype(
        {"response_id": "int64", "question_id": "int64", "number": "float64"}
    )
    others = answers.loc[~is_numeric, ["question_id", "value", "has_text"]]
    others = others.assign(value=others["value"].where(others["question_id"].isin(choices)))
    counts = (
        others.groupby(["question_id", "value", "has_text"], dropna=False)
        .size()
        .rename("count")
        .reset_index()
    )
    return Tally(numbers.reset_index(drop=True), counts[COUNT_COLUMNS])


def load_responses(campaign: Campaign) -> pd.DataFrame:
    """Every response of the campaign: (id, questionnaire, status, code, one column per shared attribute,
    empty where the attribute is missing or not a single text)."""
    response, questionnaire = Response._meta.db_table, Questionnaire._meta.db_table
    attributes = [_text_attribute(code) for code in COMPARABLE]
    sql = (
        f"SELECT r.id, r.questionnaire_id, r.status, r.code{''.join(', ' + a for a, _p in attributes)} "  # noqa: S608
        f"FROM {response} r JOIN {questionnaire} qn ON qn.id = r.questionnaire_id "
        f"WHERE qn.campaign_id = %s ORDER BY r.questionnaire_id, r.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [p for _a, params in attributes for p in params] + [campaign.pk])
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(
        rows, columns=["response_id", "questionnaire_id", "status", "code", *COMPARABLE]
    )


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _text_attribute(code: str) -> tuple[str, list[str]]:
    """SQL for the text of ``code`` in a response's attributes (empty unless it is a JSON string), with its
    parameters."""
    if connection.vendor == "postgresql":
        return "CASE WHEN jsonb_typeof(r.attributes -> %s) = 'string' THEN r.attributes ->> %s END", [
            code,
            code,
        ]
    path = f'$."{code}"'
    return "CASE WHEN json_type(r.attributes, %s) = 'text' THEN json_extract(r.attributes, %s) END", [
        path,
        path,
    ]


# ------------------------------------------------------------------------------------------- figures


def text_of(value: dict | str | None) -> str:
    if isinstance(value, dict):
        return next(iter(value.values()), "") if value else ""
    return value or ""


def _float(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 2)


def mean_ci(values: pd.Series, confidence: float = 0.95) -> dict:
    """Mean, standard deviation, n and the ``confidence`` interval of the mean (t distribution)."""
    n = int(values.count())
    mean = float(values.mean()) if n else math.nan
    sd = float(values.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = math.nan
    return {"n": n, "mean": _float(mean), "sd": _float(sd), "low": _float(low), "high": _float(high)}


def sus_grade(score: float | None) -> str:
    """The adjective rating of a SUS score (Bangor, Kortum & Miller, 2009)."""
    if score is None:
        return ""
    for floor, label in (
        (85.5, _("Excellent")),
        (72.5, _("Good")),
        (52.0, _("OK")),
        (38.0, _("Poor")),
    ):
        if score >= floor:
            return str(label)
    return str(_("Awful"))


def nps_figures(values: pd.Series) -> dict:
    n = int(values.count())
    if not n:
        return {"n": 0, "score": None, "promoters": 0, "passives": 0, "detractors": 0}
    promoters, detractors = int((values >= 9).sum()), int((values <= 6).sum())
    return {
        "n": n,
        "score": _float(100.0 * (promoters - detractors) / n),
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "promoters_share": _float(100.0 * promoters / n),
        "passives_share": _float(100.0 * (n - promoters - detractors) / n),
        "detractors_share": _float(100.0 * detractors / n),
    }


def _rows(labels: list[str], counts: list[int]) -> list[dict]:
    total = sum(counts) or 1
    return [
        {"label": label, "count": int(c), "share": _float(100.0 * c / total)}
        for label, c in zip(labels, counts, strict=True)
    ]


def _decode(raw: pd.Series) -> dict:
    """Decode each distinct raw JSON text once."""
    return {text: json.loads(text) for text in raw.dropna().unique()}


def _option_labels(question) -> dict[str, str]:
    return {
        str(o.get("value")): text_of(o.get("label")) or str(o.get("value")) for o in question.options or []
    }


def _numeric_distribution(question, counts: pd.Series) -> list[dict]:
    kind = question.kind
    if kind in (QuestionKind.LIKERT5, QuestionKind.LIKERT7):
        points = list(range(1, SCALE_POINTS[kind] + 1))
        names = [f"{p} · {label}" for p, label in zip(points, likert_labels(kind), strict=True)]
    elif kind == QuestionKind.NPS:
        points = list(range(0, 11))
        names = [str(p) for p in points]
    elif kind == QuestionKind.RATING:
        top = question.scale_max or int(max(counts.index, default=5))
        points = list(range(1, top + 1))
        names = [str(p) for p in points]
    else:  # SUS: the scores in bands of ten
        bands = (counts.index.to_series() // 10).clip(upper=9).astype(int)
        grouped = counts.groupby(bands.values).sum()
        names = [f"{b * 10}–{b * 10 + 10 if b == 9 else b * 10 + 9.5:g}" for b in range(10)]
        return _rows(names, [int(grouped.get(b, 0)) for b in range(10)])
    return _rows(names, [int(counts.get(float(p), 0)) for p in points])


def question_results(question, numbers: pd.Series, counts: pd.DataFrame, respondents: int) -> dict:
    """The figures of one question: from its answers' ``numbers`` for a scale question, else from its
    answers ``counts`` (value, has_text, count)."""
    kind = question.kind
    result = {
        "id": question.pk,
        "key": question.key,
        "kind": kind,
        "kind_label": str(QuestionKind(kind).label),
        "text": text_of(question.text),
        "firm_id": question.firm_id,
        "respondents": respondents,
        "n": respondents,
    }
    if kind in NUMERIC:
        numbers = numbers.dropna()
        result["n"] = int(numbers.count())
        result["distribution"] = _numeric_distribution(question, numbers.value_counts())
        result["median"] = _float(numbers.median()) if len(numbers) else None
        result.update({f"{k}": v for k, v in mean_ci(numbers).items() if k != "n"})
        if kind == QuestionKind.SUS:
            result["grade"] = sus_grade(result["mean"])
        if kind == QuestionKind.NPS:
            result["nps"] = nps_figures(numbers)
    elif kind in CHOICE:
        # Distinct answers, most frequent first, each decoded once.
        chosen = counts[counts["value"].notna()]
        chosen = (
            chosen.groupby("value")["count"]
            .sum()
            .sort_index(kind="stable")
            .sort_values(ascending=False, kind="stable")
        )
        decoded = {text: json.loads(text) for text in chosen.index}
        labels = _option_labels(question)
        n = int(chosen.sum())
        result["n"] = n
        if kind == QuestionKind.RANKING:
            result.update(_ranking(chosen, decoded, labels))
        else:
            per_option = pd.Series(0, index=list(labels), dtype="int64")
            for text, count in chosen.items():
                value = decoded[text]
                for option in value if isinstance(value, list) else [value]:
                    per_option[str(option)] = per_option.get(str(option), 0) + int(count)
            result["distribution"] = [
                {"label": labels.get(value, value), "count": int(c), "share": _float(100.0 * c / (n or 1))}
                for value, c in per_option.items()
            ]
    else:  # free text: counted here, read on the answers page
        result["n"] = int(counts.loc[counts["has_text"] == 1, "count"].sum())
    return result


def _ranking(chosen: pd.Series, decoded: dict, labels: dict[str, str]) -> dict:
    """Mean rank of each option (1 = best), best first, from the count of each distinct ranking."""
    weights = pd.DataFrame(
        [
            (str(option), position, int(count))
            for text, count in chosen.items()
            for position, option in enumerate(decoded[text] or [], start=1)
        ],
        columns=["option", "rank", "count"],
    )
    ranked = (
        weights.assign(total=weights["rank"] * weights["count"]).groupby("option")[["total", "count"]].sum()
    )
    mean_rank = (ranked["total"] / ranked["count"]).sort_values()
    ranking = [
        {
            "label": labels.get(option, option),
            "mean_rank": _float(rank),
            "count": int(ranked.at[option, "count"]),
        }
        for option, rank in mean_rank.items()
    ]
    return {
        "ranking": ranking,
        "distribution": [{"label": r["label"], "count": r["mean_rank"], "share": None} for r in ranking],
    }


def _composition(people: pd.DataFrame) -> list[dict]:
    """Counts of people by each shared attribute; groups under MIN_GROUP are not shown on their own."""
    composition = []
    for code in COMPARABLE:
        if code not in people or people[code].isna().all():
            continue
        counts = people[code].value_counts()
        labels = dict(FIXED_ATTRIBUTES[code].choices)
        rows = [
            {"label": str(labels.get(v, v)), "count": int(c) if c >= MIN_GROUP else None}
            for v, c in counts.sort_index().items()
        ]
        hidden = int(counts[counts < MIN_GROUP].sum())
        composition.append(
            {
                "code": code,
                "label": str(FIXED_ATTRIBUTES[code].label),
                "rows": [r for r in rows if r["count"] is not None],
                "small_groups": sum(1 for r in rows if r["count"] is None),
                "hidden": hidden,
                "not_shared": int(people[code].isna().sum()),
            }
        )
    return composition


def _comparisons(numbers: pd.DataFrame, responses: pd.DataFrame, questions: dict) -> list[dict]:
    """Mean of each scale question by each shared attribute, for groups of at least MIN_GROUP: one pass of
    integer counting per attribute over the answers, each response's attributes looked up by position."""
    numbers = numbers[numbers["number"].notna()]
    if numbers.empty:
        return []
    question_codes, question_ids = pd.factorize(numbers["question_id"], sort=True)
    where = pd.Index(responses["response_id"]).get_indexer(numbers["response_id"])
    values = numbers["number"].to_numpy(dtype="float64")
    comparisons = []
    for code in COMPARABLE:
        value_codes, shared = pd.factorize(responses[code], sort=True)  # missing: -1
        group = np.where(where >= 0, value_codes[where], -1)
        known = group >= 0
        if not known.any():
            continue
        cell = question_codes[known] * len(shared) + group[known]
        size = len(question_ids) * len(shared)
        count = np.bincount(cell, minlength=size).reshape(len(question_ids), len(shared))
        total = np.bincount(cell, weights=values[known], minlength=size).reshape(count.shape)
        labels = dict(FIXED_ATTRIBUTES[code].choices)
        for row, question_id in enumerate(question_ids):
            # Groups below MIN_GROUP are neither named nor shown: only how many there are (as in the sample).
            shown = np.flatnonzero(count[row] >= MIN_GROUP)
            if not len(shown):
                continue
            question = questions[question_id]
            comparisons.append(
                {
                    "attribute": str(FIXED_ATTRIBUTES[code].label),
                    "code": code,
                    "question_id": int(question_id),
                    "question": text_of(question.text),
                    "kind": question.kind,
                    "groups": [
                        {
                            "label": str(labels.get(shared[i], shared[i])),
                            "n": int(count[row, i]),
                            "mean": _float(total[row, i] / count[row, i]),
                        }
                        for i in shown  # groups, not answers
                    ],
                    "small_groups": int(((count[row] > 0) & (count[row] < MIN_GROUP)).sum()),
                }
            )
    return comparisons


def compute_results(campaign: Campaign, *, for_firm: Organisation | None = None) -> dict:
    """Every figure of the dashboard and the report, as plain values that can be cached."""
    questionnaires = list(Questionnaire.objects.filter(campaign=campaign).order_by("pk"))
    questions = list(visible_questions(campaign, for_firm))
    answers = load_tally(campaign, questions)
    responses = load_responses(campaign)
    participants = Invitation.objects.filter(
        selection__draw__campaign=campaign, status=Invitation.Status.ACCEPTED
    ).aggregate(n=Count("person", distinct=True))["n"]
    return figures(campaign, questionnaires, questions, answers, responses, participants)


def analyse(campaign, questionnaires, questions, answers, responses, participants: int) -> dict:
    """``compute_results`` from a ``load_answers`` frame: no queries."""
    return figures(campaign, questionnaires, questions, tally(answers, questions), responses, participants)


def figures(campaign, questionnaires, questions, answers: Tally, responses, participants: int) -> dict:
    """The pandas part of ``compute_results``: no queries."""
    by_id = {q.pk: q for q in questions}
    submitted = responses[responses["status"] == Response.Status.SUBMITTED]
    status_counts = responses.groupby(["questionnaire_id", "status"]).size()
    numbers, counts = answers
    respondents = pd.concat(
        [numbers.groupby("question_id").size(), counts.groupby("question_id")["count"].sum()]
    )
    scales = numbers.groupby("question_id").indices
    tallies = dict(list(counts.groupby("question_id")))
    no_numbers, no_counts = numbers["number"].iloc[0:0], counts.iloc[0:0]
    result_questionnaires = []
    for questionnaire in questionnaires:
        done = int(status_counts.get((questionnaire.pk, Response.Status.SUBMITTED), 0))
        started = int(status_counts.get((questionnaire.pk, Response.Status.IN_PROGRESS), 0))
        result_questionnaires.append(
            {
                "id": questionnaire.pk,
                "title": str(questionnaire),
                "submitted": done,
                "started": started,
                "completion": _float(100.0 * done / (done + started)) if done + started else None,
                "participation": _float(100.0 * done / participants) if participants else None,
                "questions": [
                    question_results(
                        q,
                        numbers["number"].iloc[scales[q.pk]] if q.pk in scales else no_numbers,
                        tallies.get(q.pk, no_counts),
                        int(respondents.get(q.pk, 0)),
                    )
                    for q in questions
                    if q.questionnaire_id == questionnaire.pk
                ],
            }
        )
    people = submitted.drop_duplicates("code")
    return {
        "campaign_id": campaign.pk,
        "results_version": campaign.results_version,
        "participants": int(participants),
        "respondents": int(people["code"].nunique()) if len(people) else 0,
        "answers": int(respondents.sum()),
        "questionnaires": result_questionnaires,
        "composition": _composition(people),
        "comparisons": _comparisons(numbers, submitted, by_id),
        "min_group": MIN_GROUP,
    }


def headline(results: dict) -> dict:
    """The first SUS and NPS figures of the campaign: what the report's summary and the dashboard show."""
    figures = {"sus": None, "nps": None}
    for questionnaire in results["questionnaires"]:
        for question in questionnaire["questions"]:
            if question["kind"] == QuestionKind.SUS and figures["sus"] is None and question["n"]:
                figures["sus"] = question
            if question["kind"] == QuestionKind.NPS and figures["nps"] is None and question["n"]:
                figures["nps"] = question
    return figures
