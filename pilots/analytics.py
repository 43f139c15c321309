"""A campaign's results, computed with pandas from a handful of queries: distributions per question, SUS
with its 95% confidence interval, NPS, completion, and comparisons by the attributes participants agreed to
share. Only submitted answers count; a withdrawal deletes or anonymises the person's answers, so whatever
is stored is what may be shown. Results are cached per (campaign, results version, firm): a submission or a
withdrawal bumps the version, so the dashboard is right at once.

Answers are read with one SQL query into a DataFrame and never loaded as model instances. JSON values
(choices, rankings) are counted as raw text first and decoded once per distinct value, so that the cost
grows with the number of answers only through pandas' vectorised group-bys."""

import json
import math

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


def load_responses(campaign: Campaign) -> pd.DataFrame:
    """Every response of the campaign: (id, questionnaire, status, code, one column per shared attribute)."""
    rows = list(
        Response.objects.filter(questionnaire__campaign=campaign).values_list(
            "id", "questionnaire_id", "status", "code", "attributes"
        )
    )
    frame = pd.DataFrame.from_records(
        rows, columns=["response_id", "questionnaire_id", "status", "code", "attributes"]
    )
    attributes = pd.json_normalize(frame["attributes"].map(lambda a: a or {}).tolist()) if rows else None
    for code in COMPARABLE:
        if attributes is not None and code in attributes:
            frame[code] = attributes[code].where(attributes[code].map(lambda v: isinstance(v, str)))
        else:
            frame[code] = None
    return frame.drop(columns=["attributes"])


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


def question_results(question, answers: pd.DataFrame, respondents: int) -> dict:
    """The figures of one question from its answers."""
    kind = question.kind
    result = {
        "id": question.pk,
        "key": question.key,
        "kind": kind,
        "kind_label": str(QuestionKind(kind).label),
        "text": text_of(question.text),
        "firm_id": question.firm_id,
        "respondents": respondents,
        "n": len(answers),
    }
    if kind in NUMERIC:
        numbers = answers["number"].dropna()
        result["n"] = int(numbers.count())
        result["distribution"] = _numeric_distribution(question, numbers.value_counts())
        result["median"] = _float(numbers.median()) if len(numbers) else None
        result.update({f"{k}": v for k, v in mean_ci(numbers).items() if k != "n"})
        if kind == QuestionKind.SUS:
            result["grade"] = sus_grade(result["mean"])
        if kind == QuestionKind.NPS:
            result["nps"] = nps_figures(numbers)
    elif kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        raw = answers["value"].dropna()
        counts = raw.value_counts()
        decoded = _decode(pd.Series(counts.index))
        labels = _option_labels(question)
        per_option = pd.Series(0, index=list(labels), dtype="int64")
        for text, count in counts.items():  # distinct answers, not answers
            chosen = decoded[text]
            for option in chosen if isinstance(chosen, list) else [chosen]:
                per_option[str(option)] = per_option.get(str(option), 0) + int(count)
        result["n"] = int(raw.count())
        result["distribution"] = [
            {
                "label": labels.get(value, value),
                "count": int(c),
                "share": _float(100.0 * c / (raw.count() or 1)),
            }
            for value, c in per_option.items()
        ]
    elif kind == QuestionKind.RANKING:
        raw = answers["value"].dropna()
        counts = raw.value_counts()
        decoded = _decode(pd.Series(counts.index))
        labels = _option_labels(question)
        weights = pd.DataFrame(
            [
                (str(option), position, int(count))
                for text, count in counts.items()
                for position, option in enumerate(decoded[text] or [], start=1)
            ],
            columns=["option", "rank", "count"],
        )
        ranked = (
            weights.assign(total=weights["rank"] * weights["count"])
            .groupby("option")[["total", "count"]]
            .sum()
        )
        mean_rank = (ranked["total"] / ranked["count"]).sort_values()
        result["n"] = int(raw.count())
        result["ranking"] = [
            {
                "label": labels.get(option, option),
                "mean_rank": _float(rank),
                "count": int(ranked.at[option, "count"]),
            }
            for option, rank in mean_rank.items()
        ]
        result["distribution"] = [
            {"label": r["label"], "count": r["mean_rank"], "share": None} for r in result["ranking"]
        ]
    else:  # free text: counted here, read on the answers page
        result["n"] = int(answers["has_text"].sum())
    return result


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


def _comparisons(numeric: pd.DataFrame, responses: pd.DataFrame, questions: dict) -> list[dict]:
    """Mean of each scale question by each shared attribute, for groups of at least MIN_GROUP."""
    if numeric.empty:
        return []
    merged = numeric.merge(responses, on="response_id", how="left")
    comparisons = []
    for code in COMPARABLE:
        if merged[code].isna().all():
            continue
        grouped = merged.dropna(subset=[code]).groupby(["question_id", code])["number"].agg(["count", "mean"])
        labels = dict(FIXED_ATTRIBUTES[code].choices)
        for question_id, frame in grouped.groupby(level=0):
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
                            "label": str(labels.get(value, value)),
                            "n": int(row["count"]) if row["count"] >= MIN_GROUP else None,
                            "mean": _float(row["mean"]) if row["count"] >= MIN_GROUP else None,
                        }
                        for (_, value), row in frame.iterrows()  # groups, not answers
                    ],
                }
            )
    return comparisons


def compute_results(campaign: Campaign, *, for_firm: Organisation | None = None) -> dict:
    """Every figure of the dashboard and the report, as plain values that can be cached."""
    questionnaires = list(Questionnaire.objects.filter(campaign=campaign).order_by("pk"))
    questions = list(visible_questions(campaign, for_firm))
    by_id = {q.pk: q for q in questions}
    answers = load_answers(campaign, list(by_id))
    responses = load_responses(campaign)
    participants = Invitation.objects.filter(
        selection__draw__campaign=campaign, status=Invitation.Status.ACCEPTED
    ).aggregate(n=Count("person", distinct=True))["n"]
    return analyse(campaign, questionnaires, questions, answers, responses, participants)


def analyse(campaign, questionnaires, questions, answers, responses, participants: int) -> dict:
    """The pandas part of ``compute_results``: no queries."""
    by_id = {q.pk: q for q in questions}
    submitted = responses[responses["status"] == Response.Status.SUBMITTED]
    status_counts = responses.groupby(["questionnaire_id", "status"]).size()
    answers_by_question = dict(list(answers.groupby("question_id"))) if len(answers) else {}
    respondents = answers.groupby("question_id")["response_id"].nunique() if len(answers) else pd.Series()
    empty = answers.iloc[0:0]
    numeric_ids = [q.pk for q in questions if q.kind in NUMERIC]
    numeric = answers[answers["question_id"].isin(numeric_ids) & answers["number"].notna()][
        ["response_id", "question_id", "number"]
    ]
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
                    question_results(q, answers_by_question.get(q.pk, empty), int(respondents.get(q.pk, 0)))
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
        "answers": len(answers),
        "questionnaires": result_questionnaires,
        "composition": _composition(people),
        "comparisons": _comparisons(numeric, submitted, by_id),
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
