"""Results of a campaign: tags on free-text answers, exports and the PDF report made in the background, the
coordinator's key findings, and a participant's withdrawal from a campaign (their bookings cancelled, their
answers deleted or anonymised, every cached result and earlier file invalidated)."""

import io
import logging
import secrets
from datetime import timedelta

import pandas as pd
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import ConsentRecord, Organisation, Person, User
from livinglab.pdf import render_pdf
from livinglab.spreadsheets import FORMULA_STARTS

from .. import analytics, result_charts
from ..errors import CampaignError
from ..models import (
    FIXED_ATTRIBUTES,
    Answer,
    AnswerTag,
    Campaign,
    CampaignSession,
    Method,
    QuestionKind,
    Response,
    ResultsFile,
)
from ..tasks.results import build_results_file as build_results_file_task
from ..tasks.rights import delete_private_files
from .campaign_access import WITHDRAWN_CONSENT

logger = logging.getLogger(__name__)

# A file queued or being made this long ago is taken as lost: asking again makes a new one.
STALE_AFTER = timedelta(minutes=30)
EXTENSIONS = {ResultsFile.Kind.CSV: "csv", ResultsFile.Kind.XLSX: "xlsx", ResultsFile.Kind.REPORT: "pdf"}
CONTENT_TYPES = {
    ResultsFile.Kind.CSV: "text/csv",
    ResultsFile.Kind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ResultsFile.Kind.REPORT: "application/pdf",
}


# ------------------------------------------------------------------------------------------- tags


def _campaign_of(answer: Answer) -> Campaign:
    return Campaign.objects.get(questionnaires__questions__answers=answer)


@transaction.atomic
def tag_answer(answer: Answer, tag_name: str, *, acting_user: User) -> AnswerTag:
    """Put a tag (made on first use, per campaign) on a free-text answer."""
    name = " ".join((tag_name or "").split())
    if not name or len(name) > 60:
        raise CampaignError(_("A tag is 1 to 60 characters long."))
    if answer.question.kind != QuestionKind.TEXT:
        raise CampaignError(_("Only free-text answers are tagged."))
    campaign = _campaign_of(answer)
    tag = AnswerTag.objects.filter(campaign=campaign, name__iexact=name).first()
    if tag is None:
        tag, _created = AnswerTag.objects.get_or_create(campaign=campaign, name=name)
    answer.tags.add(tag)
    audit.record(
        "pilots.answer.tag", actor=acting_user, obj=answer, organisation=campaign.lab, data={"tag": tag.pk}
    )
    return tag


@transaction.atomic
def untag_answer(answer: Answer, tag: AnswerTag, *, acting_user: User) -> None:
    """Take a tag off an answer (the tag stays for the campaign's other answers)."""
    campaign = _campaign_of(answer)
    if tag.campaign_id != campaign.pk:
        raise CampaignError(_("This tag belongs to another campaign."))
    answer.tags.remove(tag)
    audit.record(
        "pilots.answer.untag", actor=acting_user, obj=answer, organisation=campaign.lab, data={"tag": tag.pk}
    )


# ------------------------------------------------------------------------------------------- findings


@transaction.atomic
def save_findings(
    campaign: Campaign, key_findings: str, recommendations: str, *, acting_user: User
) -> Campaign:
    """Write the key findings and recommendations the report shows."""
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    if campaign.status in (Campaign.Status.WITHDRAWN, Campaign.Status.REJECTED):
        raise CampaignError(_("This campaign was withdrawn or rejected: it has no results to report on."))
    campaign.key_findings = key_findings.strip()
    campaign.recommendations = recommendations.strip()
    campaign.save(update_fields=["key_findings", "recommendations", "updated_at"])
    audit.record(
        "pilots.campaign.write_findings",
        actor=acting_user,
        obj=campaign,
        organisation=campaign.lab,
        data={"characters": len(campaign.key_findings) + len(campaign.recommendations)},
    )
    return campaign


# ------------------------------------------------------------------------------------------- files


def current_file(campaign: Campaign, kind: str, for_firm: Organisation | None) -> ResultsFile | None:
    """The newest file of ``kind`` made from the campaign's current answers (ready or on its way). A report
    made before the findings last changed is not reused."""
    files = ResultsFile.objects.filter(campaign=campaign, kind=kind, for_firm=for_firm)
    if kind == ResultsFile.Kind.REPORT:
        files = files.filter(created_at__gte=campaign.updated_at)
    return (
        files.filter(
            results_version=campaign.results_version,
            status__in=[ResultsFile.Status.READY, ResultsFile.Status.QUEUED, ResultsFile.Status.RUNNING],
            created_at__gte=timezone.now() - STALE_AFTER,
        )
        .exclude(status=ResultsFile.Status.READY, file="")
        .order_by("-created_at")
        .first()
        or ResultsFile.objects.filter(
            campaign=campaign,
            kind=kind,
            for_firm=for_firm,
            results_version=campaign.results_version,
            status=ResultsFile.Status.READY,
        )
        .exclude(file="")
        .order_by("-created_at")
        .first()
    )


def is_current(results_file: ResultsFile, campaign: Campaign) -> bool:
    """Whether a file still reflects the campaign's answers: after a withdrawal it is never handed out."""
    return results_file.results_version == campaign.results_version and bool(results_file.file)


@transaction.atomic
def request_results_file(
    campaign: Campaign, kind: str, *, for_firm: Organisation | None, acting_user: User
) -> ResultsFile:
    """Ask for an export or the report; a file of the same answers, ready or being made, is reused."""
    if kind not in ResultsFile.Kind.values:
        raise CampaignError(_("Choose a CSV file, an Excel file or the PDF report."))
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    existing = current_file(campaign, kind, for_firm)
    if existing is not None:
        return existing
    results_file = ResultsFile.objects.create(
        campaign=campaign,
        kind=kind,
        for_firm=for_firm,
        results_version=campaign.results_version,
        requested_by=acting_user if acting_user is not None and acting_user.is_authenticated else None,
    )
    audit.record(
        "pilots.results_file.request",
        actor=acting_user,
        obj=results_file,
        organisation=campaign.lab,
        data={
            "kind": kind,
            "for_firm": for_firm.pk if for_firm else None,
            "version": campaign.results_version,
        },
    )
    build_results_file_task.delay_on_commit(results_file.pk)
    return results_file


def _progress(results_file_id: int, percent: int) -> None:
    ResultsFile.objects.filter(pk=results_file_id, status=ResultsFile.Status.RUNNING).update(progress=percent)


def build_results_file(results_file_id: int) -> ResultsFile | None:
    """Make a queued file (claimed by compare-and-set, so a second delivery does nothing); None if taken."""
    claimed = ResultsFile.objects.filter(pk=results_file_id, status=ResultsFile.Status.QUEUED).update(
        status=ResultsFile.Status.RUNNING, progress=1
    )
    if claimed != 1:
        return None
    results_file = ResultsFile.objects.select_related("campaign", "for_firm").get(pk=results_file_id)
    try:
        with translation.override(settings.LANGUAGE_CODE):
            if results_file.kind == ResultsFile.Kind.REPORT:
                content = report_pdf(
                    results_file.campaign, for_firm=results_file.for_firm, progress=results_file.pk
                )
            else:
                frame = export_frame(
                    results_file.campaign, for_firm=results_file.for_firm, progress=results_file.pk
                )
                content = _write_table(frame, results_file.kind)
    except Exception as error:
        logger.exception("Results file %s failed", results_file_id)
        ResultsFile.objects.filter(pk=results_file_id, status=ResultsFile.Status.RUNNING).update(
            status=ResultsFile.Status.FAILED, finished_at=timezone.now(), error=str(error)[:300]
        )
        raise
    _progress(results_file.pk, 95)
    storage = ResultsFile._meta.get_field("file").storage
    name = f"campaign-results/{results_file.campaign_id}-{results_file.kind}-{secrets.token_hex(8)}"
    stored = storage.save(f"{name}.{EXTENSIONS[results_file.kind]}", ContentFile(content))
    with transaction.atomic():
        locked = ResultsFile.objects.select_for_update().filter(pk=results_file_id).first()
        campaign = Campaign.objects.get(pk=results_file.campaign_id)
        if locked is None or locked.status != ResultsFile.Status.RUNNING:
            transaction.on_commit(lambda: storage.delete(stored))
            return None
        # Answers changed while the file was made (a withdrawal, say): it is stale from the start.
        locked.results_version = min(locked.results_version, campaign.results_version)
        locked.file.name = stored
        locked.status = ResultsFile.Status.READY
        locked.progress = 100
        locked.finished_at = timezone.now()
        locked.save(update_fields=["file", "status", "progress", "finished_at", "results_version"])
    return locked


def consenting_people(campaign: Campaign):
    """Ids of people who hold an active consent to every purpose the campaign relies on (a subquery)."""
    needed = list(campaign.required_purposes.values_list("pk", flat=True))
    records = ConsentRecord.objects.active().filter(purpose_id__in=needed)
    return (
        records.values("person_id")
        .annotate(purposes=Count("purpose_id", distinct=True))
        .filter(purposes=len(needed))
        .values("person_id")
    )


def export_frame(campaign: Campaign, *, for_firm: Organisation | None = None, progress: int | None = None):
    """One row per submitted response: code, shared attributes, submission date, one column per question.
    Only people who still consent to the campaign's purposes, and anonymised responses."""
    questions = list(analytics.visible_questions(campaign, for_firm).select_related("questionnaire"))
    responses = Response.objects.filter(questionnaire__campaign=campaign, status=Response.Status.SUBMITTED)
    if campaign.required_purposes.exists():
        responses = responses.filter(Q(person__isnull=True) | Q(person_id__in=consenting_people(campaign)))
    rows = list(responses.values_list("id", "questionnaire_id", "code", "attributes", "submitted_at"))
    base = pd.DataFrame.from_records(
        rows, columns=["response_id", "questionnaire_id", "code", "attributes", "submitted_at"]
    )
    shared = [code for code, attribute in FIXED_ATTRIBUTES.items() if attribute.shareable]
    attributes = (
        pd.json_normalize(base["attributes"].map(lambda a: a or {}).tolist()) if rows else pd.DataFrame()
    )
    table = pd.DataFrame({"code": base["code"]})
    titles = {qn.pk: str(qn) for qn in {q.questionnaire for q in questions}}
    several = len(titles) > 1
    if several:
        table["questionnaire"] = base["questionnaire_id"].map(titles)
    for code in shared:
        if code in attributes:
            values = attributes[code]
            table[str(FIXED_ATTRIBUTES[code].label)] = values.map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v
            )
    table["submitted_on"] = pd.to_datetime(base["submitted_at"], utc=True).dt.date if rows else []
    if progress:
        _progress(progress, 20)
    answers = analytics.load_answers(campaign, [q.pk for q in questions])
    answers = answers[answers["response_id"].isin(base["response_id"])]
    texts = _texts(answers, questions)
    if progress:
        _progress(progress, 50)
    position = pd.Series(range(len(base)), index=base["response_id"])
    for question in questions:
        column = f"{question.questionnaire_id}.{question.key}" if several else question.key
        mine = answers[answers["question_id"] == question.pk]
        if question.kind in analytics.NUMERIC:
            cells = mine["number"]
        elif question.kind == QuestionKind.TEXT:
            cells = texts.get(question.pk, pd.Series(dtype=object)).reindex(mine.index)
        else:
            decoded = {raw: _cell(value) for raw, value in analytics._decode(mine["value"]).items()}
            cells = mine["value"].map(decoded)
        series = pd.Series([None] * len(base), dtype=object)
        if len(mine):
            series.iloc[position.loc[mine["response_id"]].to_numpy(dtype="int64")] = cells.to_numpy()
        table[column if question.kind != QuestionKind.SUS else f"{column} (SUS score)"] = series
    if progress:
        _progress(progress, 80)
    return table


def _texts(answers: pd.DataFrame, questions) -> dict:
    """The free-text answers (read separately: the analytics query leaves the text out)."""
    ids = [q.pk for q in questions if q.kind == QuestionKind.TEXT]
    if not ids or answers.empty:
        return {}
    rows = Answer.objects.filter(
        question_id__in=ids, response_id__in=list(answers["response_id"].unique())
    ).values_list("response_id", "question_id", "text")
    found = pd.DataFrame.from_records(list(rows), columns=["response_id", "question_id", "text"])
    merged = (
        answers.reset_index().merge(found, on=["response_id", "question_id"], how="inner").set_index("index")
    )
    return {qid: frame["text"] for qid, frame in merged.groupby("question_id")}


def _cell(value):
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _guard(frame: pd.DataFrame) -> pd.DataFrame:
    """Text a spreadsheet would run as a formula is written as text (CSV injection)."""
    for column in frame.columns:
        if frame[column].dtype == object:
            text = frame[column]
            risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
            if risky.any():
                frame[column] = text.where(~risky, "'" + text.astype(str))
    return frame


def _write_table(frame: pd.DataFrame, kind: str) -> bytes:
    frame = _guard(frame)
    if kind == ResultsFile.Kind.CSV:
        return frame.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=str(_("Answers"))[:31])
    return buffer.getvalue()


def report_context(campaign: Campaign, *, for_firm: Organisation | None = None) -> dict:
    """What the PDF report shows: methodology, sample, charts, figures and findings; no personal data."""
    from ..screening import attributes_of, describe

    results = result_charts.with_charts(analytics.campaign_results(campaign, for_firm=for_firm))
    sessions = CampaignSession.objects.filter(campaign=campaign).exclude(
        status=CampaignSession.Status.CANCELLED
    )
    held = sessions.filter(status=CampaignSession.Status.HELD)
    dates = sessions.order_by("starts_at").values_list("starts_at", flat=True)
    screener = ""
    if campaign.conditions and campaign.panel_id:
        try:
            screener = describe(campaign.conditions, attributes_of(campaign.panel))
        except (KeyError, TypeError, ValueError):  # a screener that no longer fits the panel is left out
            screener = ""

    methods = [str(Method(m).label) for m in campaign.methods if m in Method.values]
    return {
        "campaign": campaign,
        "results": results,
        "headline": analytics.headline(results),
        "methods": methods,
        "sessions_held": held.count(),
        "sessions_planned": sessions.count(),
        "first_date": dates.first(),
        "last_date": sessions.order_by("-starts_at").values_list("starts_at", flat=True).first(),
        "screener": screener,
        "for_firm": for_firm,
        "generated_at": timezone.now(),
    }


def report_pdf(
    campaign: Campaign, *, for_firm: Organisation | None = None, progress: int | None = None
) -> bytes:
    context = report_context(campaign, for_firm=for_firm)
    if progress:
        _progress(progress, 40)
    return render_pdf("pdf/campaign_report.html", context)


# ------------------------------------------------------------------------------------------- withdrawal


@transaction.atomic
def withdraw_from_campaign(person: Person, campaign: Campaign, *, acting_user: User | None) -> dict:
    """Take someone out of a campaign: cancel their future bookings, delete their answers (or anonymise them
    if the campaign's consent terms allow keeping anonymous data), and invalidate results and files."""
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    cancelled = _cancel_future_bookings(person, campaign, acting_user)
    responses = Response.objects.filter(questionnaire__campaign=campaign, person=person)
    # Unfinished answers are never kept: nothing about them is part of the results.
    unfinished, _detail = Answer.objects.filter(
        response__in=responses.filter(status=Response.Status.IN_PROGRESS)
    ).delete()
    responses.filter(status=Response.Status.IN_PROGRESS).delete()
    submitted = list(responses.values_list("pk", flat=True))
    anonymised = deleted = 0
    if submitted and campaign.keep_anonymous_on_withdrawal:
        taken = Response.objects.filter(questionnaire__campaign=campaign, code__startswith="ANON-")
        number = taken.values("code").distinct().count() + 1
        anonymised = Response.objects.filter(pk__in=submitted).update(
            person=None, attributes={}, code=f"ANON-{number}", anonymised_at=timezone.now()
        )
    elif submitted:
        Answer.objects.filter(response_id__in=submitted).delete()
        deleted, _detail = Response.objects.filter(pk__in=submitted).delete()
        deleted = len(submitted)
    analytics.answers_changed(campaign.pk)
    # Files made from the earlier answers still hold this person's answers: they go.
    older = ResultsFile.objects.filter(campaign=campaign).exclude(file="")
    files = list(older.values_list("file", flat=True))
    older.update(file="")
    if files:
        delete_private_files.delay_on_commit(files)
    summary = {
        "bookings_cancelled": cancelled,
        "responses_deleted": deleted,
        "responses_anonymised": anonymised,
        "unfinished_deleted": unfinished and 1,
        "files_removed": len(files),
    }
    audit.record(
        "pilots.campaign.withdraw_participant",
        actor=acting_user,
        obj=campaign,
        organisation=campaign.lab,
        data=summary,
    )
    return summary


def _cancel_future_bookings(person: Person, campaign: Campaign, acting_user) -> int:
    try:
        from .sessions import cancel_booking, future_bookings_of
    except ImportError:  # sessions not installed: nobody can have booked
        return 0
    cancelled = 0
    for booking in list(future_bookings_of(person, campaign)):
        cancel_booking(
            booking,
            reason=str(WITHDRAWN_CONSENT),
            acting_user=acting_user,
        )
        cancelled += 1
    return cancelled


def campaigns_relying_on(person: Person, purpose_id: int):
    """Campaigns the person takes part in (answers or an accepted invitation) that require ``purpose_id``."""
    return (
        Campaign.objects.filter(required_purposes=purpose_id)
        .filter(Q(questionnaires__responses__person=person) | Q(draws__selections__invitation__person=person))
        .distinct()
    )
