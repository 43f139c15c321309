"""Questionnaires: building them (questions, imports of a definition), opening and closing them, and
answering them page by page with save-and-resume, conditional display and one submission per person.

Answers are stored as the results expect them (see ``Answer``): scales, ratings and NPS in ``number``; the
ten SUS answers in ``value`` with the SUS score in ``number``; choices and rankings in ``value``; free text
in ``text``."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Person, User

from ..analytics import answers_changed
from ..errors import CampaignError
from ..models import (
    FIXED_ATTRIBUTES,
    SHAREABLE_ATTRIBUTES,
    Answer,
    AttributeKind,
    Booking,
    Campaign,
    CampaignSession,
    ParticipantProfile,
    Question,
    QuestionKind,
    Questionnaire,
    Response,
)
from ..questionnaire_definition import (
    ANSWERED,
    CHOICE_KINDS,
    LANGUAGE_RE,
    NUMBER_KINDS,
    export_definition,
    number_range,
    parse_definition,
    question_definition,
)
from ..scoring import SUS_ITEMS, sus_score
from .campaign_access import require_participant

PAGE_SIZE = 5
MAX_TEXT_ANSWER = 5000
FINISHED_CAMPAIGN = {Campaign.Status.CLOSED, Campaign.Status.WITHDRAWN, Campaign.Status.REJECTED}
SESSION_BOOKINGS = (Booking.Status.BOOKED, Booking.Status.ATTENDED)


class DefinitionError(CampaignError):
    """A definition (or one question) that cannot be saved, with every problem found (``problems``)."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class AnswerError(CampaignError):
    """Answers that cannot be saved or submitted, with a reason per question key (``problems``)."""

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = dict(problems or {})


def _actor(user):
    return user if user is not None and user.is_authenticated else None


# ------------------------------------------------------------------------------------------ building


def _lock(questionnaire: Questionnaire) -> Questionnaire:
    return (
        Questionnaire.objects.select_for_update(no_key=True, of=("self",))
        .select_related("campaign")
        .get(pk=questionnaire.pk)
    )


def _require_editable(questionnaire: Questionnaire):
    """Questions change only while nobody answered: in draft, or open or closed without any response."""
    if questionnaire.campaign.status in FINISHED_CAMPAIGN:
        raise CampaignError(_("This campaign is finished: its questionnaires can no longer be changed."))
    if questionnaire.status != Questionnaire.Status.DRAFT and questionnaire.responses.exists():
        raise CampaignError(
            _("People have started answering this questionnaire: its questions can no longer be changed.")
        )


def _check(definition: dict, campaign: Campaign) -> dict:
    clean, problems = parse_definition(definition, campaign)
    if problems:
        raise DefinitionError(
            _("The questionnaire was not changed: %(count)s problem(s) to correct.")
            % {"count": len(problems)},
            problems,
        )
    return clean


def _write(questionnaire: Questionnaire, clean: dict, keep: list[int | None]):
    """Make the questionnaire's questions those of ``clean``, in order; ``keep[i]`` is the id of the
    existing question entry i replaces (None: a new one). Questions not kept are deleted."""
    kept = [pk for pk in keep if pk is not None]
    questionnaire.questions.exclude(pk__in=kept).delete()
    # Move kept rows out of the way first, so that swapped positions and renamed keys never collide.
    for pk in kept:
        Question.objects.filter(pk=pk).update(position=F("position") + 1000, key=f"tmp-{pk}")
    for position, (entry, pk) in enumerate(zip(clean["questions"], keep, strict=True), start=1):
        fields = {
            "position": position,
            "key": entry["key"],
            "kind": entry["kind"],
            "text": entry["text"],
            "help_text": entry["help"],
            "options": entry["options"],
            "scale_max": entry["scale_max"],
            "required": entry["required"],
            "show_if": entry["show_if"],
            "firm_id": entry["firm"],
        }
        if pk is None:
            Question.objects.create(questionnaire=questionnaire, **fields)
        else:
            Question.objects.filter(pk=pk).update(**fields)
    questionnaire.title = clean["title"]
    questionnaire.introduction = clean["introduction"]
    questionnaire.languages = clean["languages"]
    questionnaire.save(update_fields=["title", "introduction", "languages", "updated_at"])


def _check_languages(languages) -> list[str]:
    cleaned = []
    for language in languages or ():
        if isinstance(language, str) and LANGUAGE_RE.match(language) and language not in cleaned:
            cleaned.append(language)
    if not cleaned:
        raise CampaignError(_("Choose at least one language for the questionnaire."))
    return cleaned


@transaction.atomic
def create_questionnaire(
    campaign: Campaign,
    title,
    languages,
    session: CampaignSession | None = None,
    *,
    acting_user: User,
    introduction: dict | None = None,
) -> Questionnaire:
    """A new questionnaire in draft for the campaign (or one of its sessions)."""
    languages = _check_languages(languages)
    if campaign.status in FINISHED_CAMPAIGN:
        raise CampaignError(_("This campaign is finished: no questionnaire can be added."))
    if session is not None and session.campaign_id != campaign.pk:
        raise CampaignError(_("This session belongs to another campaign."))
    if isinstance(title, str):
        title = {languages[0]: title}
    clean = _check(
        {
            "version": 1,
            "languages": languages,
            "title": title,
            "introduction": introduction or {},
            "questions": [],
        },
        campaign,
    )
    questionnaire = Questionnaire.objects.create(
        campaign=campaign,
        session=session,
        title=clean["title"],
        introduction=clean["introduction"],
        languages=clean["languages"],
    )
    audit.record(
        "pilots.questionnaire.create",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=campaign.lab,
        data={"campaign": campaign.pk, "session": session.pk if session else None},
    )
    return questionnaire


@transaction.atomic
def save_question(
    questionnaire: Questionnaire, fields: dict, *, acting_user: User, question: Question | None = None
) -> Question:
    """Add a question at the end, or replace ``question`` with ``fields`` (the definition format)."""
    original, questionnaire = questionnaire, _lock(questionnaire)
    _require_editable(questionnaire)
    current = list(questionnaire.questions.order_by("position"))
    definition = export_definition(questionnaire)
    keep: list[int | None] = [q.pk for q in current]
    if question is None:
        definition["questions"].append(fields)
        keep.append(None)
        index = len(keep) - 1
    else:
        index = next((i for i, q in enumerate(current) if q.pk == question.pk), None)
        if index is None:
            raise CampaignError(_("This question belongs to another questionnaire."))
        definition["questions"][index] = fields
    clean = _check(definition, questionnaire.campaign)
    _write(questionnaire, clean, keep)
    saved = questionnaire.questions.get(position=index + 1)
    original.refresh_from_db()
    audit.record(
        "pilots.question.add" if question is None else "pilots.question.edit",
        actor=_actor(acting_user),
        obj=saved,
        organisation=questionnaire.campaign.lab,
        data={"questionnaire": questionnaire.pk, "key": saved.key, "kind": saved.kind},
    )
    return saved


@transaction.atomic
def delete_question(question: Question, *, acting_user: User):
    """Remove a question; refused while a later question's condition depends on it."""
    questionnaire = _lock(question.questionnaire)
    _require_editable(questionnaire)
    current = list(questionnaire.questions.order_by("position"))
    definition = export_definition(questionnaire)
    index = next((i for i, q in enumerate(current) if q.pk == question.pk), None)
    if index is None:
        return
    del definition["questions"][index]
    if questionnaire.status == Questionnaire.Status.OPEN and not definition["questions"]:
        raise CampaignError(_("An open questionnaire needs at least one question."))
    clean = _check(definition, questionnaire.campaign)
    _write(questionnaire, clean, [q.pk for q in current if q.pk != question.pk])
    audit.record(
        "pilots.question.delete",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=questionnaire.campaign.lab,
        data={"key": question.key},
    )


@transaction.atomic
def move_question(question: Question, direction: str, *, acting_user: User):
    """Move a question one place ``up`` or ``down``; refused when a condition would then point forward."""
    questionnaire = _lock(question.questionnaire)
    _require_editable(questionnaire)
    current = list(questionnaire.questions.order_by("position"))
    index = next((i for i, q in enumerate(current) if q.pk == question.pk), None)
    other = None if index is None else index + (-1 if direction == "up" else 1)
    if other is None or not 0 <= other < len(current) or direction not in ("up", "down"):
        raise CampaignError(_("This question cannot move further that way."))
    current[index], current[other] = current[other], current[index]
    definition = export_definition(questionnaire)
    definition["questions"] = [question_definition(q) for q in current]
    clean = _check(definition, questionnaire.campaign)
    _write(questionnaire, clean, [q.pk for q in current])
    audit.record(
        "pilots.question.move",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=questionnaire.campaign.lab,
        data={"key": question.key, "direction": direction},
    )


@transaction.atomic
def replace_definition(questionnaire: Questionnaire, data, *, acting_user: User) -> Questionnaire:
    """Import a definition (dict or JSON text): every problem is reported, nothing stored unless all is
    right. Only in draft, or while open before anyone answered."""
    original, questionnaire = questionnaire, _lock(questionnaire)
    if questionnaire.status == Questionnaire.Status.CLOSED:
        raise CampaignError(_("This questionnaire is closed: reopen it before importing questions."))
    _require_editable(questionnaire)
    clean, problems = parse_definition(data, questionnaire.campaign)
    if problems:
        raise DefinitionError(
            _("Nothing was imported: %(count)s problem(s) to correct.") % {"count": len(problems)}, problems
        )
    if questionnaire.status == Questionnaire.Status.OPEN and not clean["questions"]:
        raise CampaignError(_("An open questionnaire needs at least one question."))
    _write(questionnaire, clean, [None] * len(clean["questions"]))
    original.refresh_from_db()
    audit.record(
        "pilots.questionnaire.import",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=questionnaire.campaign.lab,
        data={"questions": len(clean["questions"])},
    )
    return questionnaire


@transaction.atomic
def open_questionnaire(questionnaire: Questionnaire, *, acting_user: User, closes_at=None) -> Questionnaire:
    """Open for answers (from draft, or reopen a closed one), until ``closes_at`` if given."""
    questionnaire = _lock(questionnaire)
    if questionnaire.campaign.status in FINISHED_CAMPAIGN:
        raise CampaignError(_("This campaign is finished: its questionnaires cannot open."))
    if Questionnaire.Status.OPEN not in Questionnaire.TRANSITIONS.get(questionnaire.status, set()):
        raise CampaignError(_("This questionnaire is already open."))
    if not questionnaire.questions.exists():
        raise CampaignError(_("Add at least one question before opening the questionnaire."))
    _check(export_definition(questionnaire), questionnaire.campaign)
    if closes_at is not None and closes_at <= timezone.now():
        raise CampaignError(_("The closing time must be in the future."))
    old = questionnaire.status
    Questionnaire.objects.filter(pk=questionnaire.pk, status=old).update(
        status=Questionnaire.Status.OPEN, closes_at=closes_at, updated_at=timezone.now()
    )
    questionnaire.refresh_from_db()
    audit.record(
        "pilots.questionnaire.open",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=questionnaire.campaign.lab,
        data={"from": old, "closes_at": closes_at.isoformat() if closes_at else None},
    )
    return questionnaire


@transaction.atomic
def close_questionnaire(questionnaire: Questionnaire, *, acting_user: User | None) -> bool:
    """Stop taking answers; False if it was not open (already closed by someone else or by time)."""
    closed = Questionnaire.objects.filter(pk=questionnaire.pk, status=Questionnaire.Status.OPEN).update(
        status=Questionnaire.Status.CLOSED, updated_at=timezone.now()
    )
    if closed != 1:
        return False
    questionnaire.refresh_from_db()
    audit.record(
        "pilots.questionnaire.close",
        actor=_actor(acting_user),
        obj=questionnaire,
        organisation=questionnaire.campaign.lab,
        data={},
    )
    return True


# ------------------------------------------------------------------------------------- display, paging


def answer_value(question: Question, answer: Answer | None):
    """What a condition compares: the number (the SUS score for SUS), the option(s), or the text."""
    if answer is None:
        return None
    if question.kind in NUMBER_KINDS or question.kind == QuestionKind.SUS:
        return answer.number
    if question.kind == QuestionKind.TEXT:
        return answer.text or None
    return answer.value


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def condition_holds(condition: dict, value) -> bool:
    """Whether an answer ``value`` meets a ``show_if`` condition; no answer meets no condition."""
    if _is_empty(value):
        return False
    operator, expected = condition["operator"], condition.get("value")
    if operator == ANSWERED:
        return True
    if isinstance(value, list):  # multiple choice: is that option (or any of those) among the chosen?
        expected_set = set(expected) if isinstance(expected, list) else {expected}
        hit = bool(expected_set & set(value))
        return not hit if operator == "ne" else hit
    if operator == "eq":
        return value == expected
    if operator == "ne":
        return value != expected
    if operator == "in":
        return value in expected
    if operator == "gte":
        return value >= expected
    if operator == "lte":
        return value <= expected
    return False


def visible_questions(questionnaire: Questionnaire, answers: dict, questions=None) -> list[Question]:
    """The questions shown given ``answers`` ({key: compared value, see ``answer_value``}). A question
    whose condition refers to a hidden question is hidden too."""
    questions = list(questions if questions is not None else questionnaire.questions.order_by("position"))
    shown: list[Question] = []
    shown_keys: set[str] = set()
    for question in questions:
        condition = question.show_if
        if condition:
            target = condition.get("question")
            if target not in shown_keys or not condition_holds(condition, answers.get(target)):
                continue
        shown.append(question)
        shown_keys.add(question.key)
    return shown


def paginate_questions(questions) -> list[list[Question]]:
    """Pages of at most PAGE_SIZE questions; a SUS block on a page of its own; a question whose condition
    refers to a question of the current page starts a new page (so the answer it depends on is saved)."""
    pages: list[list[Question]] = []
    current: list[Question] = []
    for question in questions:
        depends_here = bool(question.show_if) and question.show_if.get("question") in {q.key for q in current}
        if question.kind == QuestionKind.SUS or depends_here or len(current) >= PAGE_SIZE:
            if current:
                pages.append(current)
            current = []
        current.append(question)
        if question.kind == QuestionKind.SUS:
            pages.append(current)
            current = []
    if current:
        pages.append(current)
    return pages


def stored_answers(response: Response, questions) -> dict[str, Answer]:
    by_pk = {q.pk: q for q in questions}
    return {by_pk[a.question_id].key: a for a in response.answers.all() if a.question_id in by_pk}


def compared_values(questions, answers: dict[str, Answer]) -> dict:
    return {q.key: answer_value(q, answers.get(q.key)) for q in questions}


def next_page(pages, page_number: int, values: dict, questionnaire, step: int = 1) -> int | None:
    """The next (or previous, ``step=-1``) page number (1-based) with a visible question, or None."""
    all_questions = [q for page in pages for q in page]
    visible = {q.pk for q in visible_questions(questionnaire, values, all_questions)}
    number = page_number + step
    while 1 <= number <= len(pages):
        if any(q.pk in visible for q in pages[number - 1]):
            return number
        number += step
    return None


# ------------------------------------------------------------------------------------------ answering


def refusal(questionnaire: Questionnaire) -> str | None:
    """Why the questionnaire takes no answers now, or None."""
    if questionnaire.status == Questionnaire.Status.DRAFT:
        return _("This questionnaire is not open yet.")
    if questionnaire.status == Questionnaire.Status.CLOSED:
        return _("This questionnaire is closed: answers are no longer accepted.")
    if questionnaire.closes_at is not None and questionnaire.closes_at <= timezone.now():
        return _("This questionnaire closed on %(when)s: answers are no longer accepted.") % {
            "when": formats.date_format(timezone.localtime(questionnaire.closes_at), "DATETIME_FORMAT")
        }
    return None


def _require_answerable(questionnaire: Questionnaire, person: Person | None):
    reason = refusal(questionnaire)
    if reason:
        raise CampaignError(reason)
    invitation = require_participant(questionnaire.campaign, person)
    if (
        questionnaire.session_id is not None
        and not Booking.objects.filter(
            session_id=questionnaire.session_id, person=person, status__in=SESSION_BOOKINGS
        ).exists()
    ):
        raise CampaignError(_("This questionnaire is for the people who booked its session."))
    return invitation


def submitted_text(response: Response) -> str:
    return _("You submitted your answers on %(when)s; they can no longer be changed. Thank you!") % {
        "when": formats.date_format(timezone.localtime(response.submitted_at), "DATETIME_FORMAT")
    }


@transaction.atomic
def start_response(
    questionnaire: Questionnaire, person: Person | None, *, acting_user: User, language: str = ""
) -> Response:
    """The person's response to the questionnaire, started now if need be (one per person)."""
    questionnaire = Questionnaire.objects.select_related("campaign").get(pk=questionnaire.pk)
    existing = Response.objects.filter(questionnaire=questionnaire, person=person).first() if person else None
    if existing is not None and existing.status == Response.Status.SUBMITTED:
        return existing
    invitation = _require_answerable(questionnaire, person)
    if language not in questionnaire.languages:
        language = questionnaire.languages[0] if questionnaire.languages else ""
    response, created = Response.objects.get_or_create(
        questionnaire=questionnaire,
        person=person,
        defaults={"code": invitation.selection.code, "language": language},
    )
    if created:
        audit.record(
            "pilots.response.start",
            actor=_actor(acting_user),
            obj=response,
            organisation=questionnaire.campaign.lab,
            data={"questionnaire": questionnaire.pk},
        )
    return response


def _to_int(raw):
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    return None


def clean_answer(question: Question, raw) -> dict | None:
    """The stored fields of an answer ({"number", "value", "text"}), None for no answer; ValueError with
    the reason for an answer the question does not take."""
    kind = question.kind
    if _is_empty(raw) or (isinstance(raw, list | tuple) and all(_is_empty(v) for v in raw)):
        return None
    if isinstance(raw, dict) and all(_is_empty(v) for v in raw.values()):
        return None
    if kind in NUMBER_KINDS:
        number = _to_int(raw)
        low, high = number_range(kind, question.scale_max)
        if number is None or not low <= number <= high:
            raise ValueError(_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return {"number": float(number), "value": None, "text": ""}
    if kind == QuestionKind.SUS:
        items = [_to_int(v) for v in raw] if isinstance(raw, list | tuple) else []
        if len(items) != len(SUS_ITEMS) or any(v is None or not 1 <= v <= 5 for v in items):
            raise ValueError(_("Please answer all ten statements, from 1 to 5."))
        return {"number": sus_score(items), "value": items, "text": ""}
    options = [o["value"] for o in question.options or []]
    if kind == QuestionKind.SINGLE:
        if raw not in options:
            raise ValueError(_("Choose one of the options."))
        return {"number": None, "value": raw, "text": ""}
    if kind == QuestionKind.MULTIPLE:
        chosen = list(raw) if isinstance(raw, list | tuple) else [raw]
        if any(v not in options for v in chosen) or len(set(chosen)) != len(chosen):
            raise ValueError(_("Choose among the options."))
        return {"number": None, "value": [v for v in options if v in chosen], "text": ""}
    if kind == QuestionKind.RANKING:
        if isinstance(raw, dict):  # {option: rank}
            ranks = {value: _to_int(rank) for value, rank in raw.items()}
            if set(ranks) != set(options) or sorted(r for r in ranks.values() if r) != list(
                range(1, len(options) + 1)
            ):
                raise ValueError(
                    _("Give each option a different rank from 1 to %(n)s.") % {"n": len(options)}
                )
            return {"number": None, "value": sorted(options, key=lambda v: ranks[v]), "text": ""}
        if not isinstance(raw, list | tuple) or sorted(raw) != sorted(options) or len(set(raw)) != len(raw):
            raise ValueError(_("Rank every option once."))
        return {"number": None, "value": list(raw), "text": ""}
    text = str(raw).strip()
    if len(text) > MAX_TEXT_ANSWER:
        raise ValueError(_("Please keep your answer under %(max)s characters.") % {"max": MAX_TEXT_ANSWER})
    return {"number": None, "value": None, "text": text} if text else None


def _lock_response(response: Response) -> Response:
    locked = (
        # Only the response row: its person may be empty (anonymised), which PostgreSQL cannot lock.
        Response.objects.select_for_update(no_key=True, of=("self",))
        .select_related("questionnaire__campaign", "person")
        .get(pk=response.pk)
    )
    if locked.status == Response.Status.SUBMITTED:
        raise CampaignError(submitted_text(locked))
    return locked


@dataclass
class Saved:
    page: int  # where the person resumes
    next_page: int | None  # the next page with something to answer, None after the last


@transaction.atomic
def save_answers(
    response: Response, page_number: int, data: dict, *, acting_user: User, advance: bool = False
) -> Saved:
    """Save the answers of one page ({question key: answer}). With ``advance`` (the "Next" button) the
    page's required questions must be answered and the person resumes on the next page."""
    response = _lock_response(response)
    questionnaire = response.questionnaire
    _require_answerable(questionnaire, response.person)
    questions = list(questionnaire.questions.order_by("position"))
    pages = paginate_questions(questions)
    if not 1 <= page_number <= len(pages):
        raise CampaignError(_("This page does not exist."))
    answers = stored_answers(response, questions)
    values = compared_values(questions, answers)
    visible = {q.pk for q in visible_questions(questionnaire, values, questions)}
    problems: dict[str, str] = {}
    for question in pages[page_number - 1]:
        if question.pk not in visible:
            continue
        try:
            fields = clean_answer(question, data.get(question.key))
        except ValueError as error:
            problems[question.key] = str(error)
            continue
        if fields is None:
            if advance and question.required:
                problems[question.key] = _("Please answer this question.")
            Answer.objects.filter(response=response, question=question).delete()
            answers.pop(question.key, None)
        else:
            answers[question.key], _created = Answer.objects.update_or_create(
                response=response, question=question, defaults=fields
            )
    if problems:
        raise AnswerError(_("Some answers need your attention."), problems)
    values = compared_values(questions, answers)
    following = next_page(pages, page_number, values, questionnaire)
    response.page = (following or page_number) if advance else page_number
    response.save(update_fields=["page"])
    audit.record(
        "pilots.response.save",
        actor=_actor(acting_user),
        obj=response,
        organisation=questionnaire.campaign.lab,
        data={"page": page_number},
    )
    return Saved(page=response.page, next_page=following)


def shared_attributes(person: Person | None) -> dict:
    """The profile attributes the person agreed to share, by code (e.g. {"age_band": "65-74"})."""
    profile = ParticipantProfile.objects.filter(person=person).first() if person is not None else None
    if profile is None:
        return {}
    shareable = {code for code, _label in SHAREABLE_ATTRIBUTES}
    attributes = {}
    for code in profile.shared:
        if code not in shareable:
            continue
        attribute = FIXED_ATTRIBUTES[code]
        if code == "age_band":
            value = profile.age_band
        elif attribute.kind == AttributeKind.MULTI:
            value = profile.values_of(attribute.column)
        else:
            value = getattr(profile, attribute.column, "")
        if not _is_empty(value):
            attributes[code] = value
    return attributes


def missing_required(questionnaire: Questionnaire, response: Response) -> list[Question]:
    questions = list(questionnaire.questions.order_by("position"))
    answers = stored_answers(response, questions)
    values = compared_values(questions, answers)
    return [
        q for q in visible_questions(questionnaire, values, questions) if q.required and q.key not in answers
    ]


@transaction.atomic
def submit_response(response: Response, *, acting_user: User, language: str = "") -> Response:
    """Submit once: every visible required question answered; answers to hidden questions are dropped; the
    shared profile attributes are copied; results are refreshed."""
    response = _lock_response(response)
    questionnaire = response.questionnaire
    _require_answerable(questionnaire, response.person)
    questions = list(questionnaire.questions.order_by("position"))
    answers = stored_answers(response, questions)
    visible = visible_questions(questionnaire, compared_values(questions, answers), questions)
    missing = [q for q in visible if q.required and q.key not in answers]
    if missing:
        raise AnswerError(
            _("Please answer the required questions before submitting: %(questions)s.")
            % {"questions": ", ".join(_("question %(n)s") % {"n": q.position} for q in missing)},
            {q.key: _("Please answer this question.") for q in missing},
        )
    visible_pks = {q.pk for q in visible}
    Answer.objects.filter(response=response).exclude(question_id__in=visible_pks).delete()
    response.attributes = shared_attributes(response.person)
    response.status = Response.Status.SUBMITTED
    response.submitted_at = timezone.now()
    if language in questionnaire.languages:
        response.language = language
    response.save(update_fields=["attributes", "status", "submitted_at", "language"])
    answers_changed(questionnaire.campaign_id)
    audit.record(
        "pilots.response.submit",
        actor=_actor(acting_user),
        obj=response,
        organisation=questionnaire.campaign.lab,
        data={
            "questionnaire": questionnaire.pk,
            "answers": len(visible_pks & {a.question_id for a in answers.values()}),
        },
    )
    return response


def close_expired_questionnaires(*, acting_user: User | None = None) -> int:
    """Close the open questionnaires whose closing time passed; how many were closed."""
    closed = 0
    for questionnaire in Questionnaire.objects.filter(
        status=Questionnaire.Status.OPEN, closes_at__lte=timezone.now()
    ).select_related("campaign"):
        closed += close_questionnaire(questionnaire, acting_user=acting_user)
    return closed


__all__ = [
    "CHOICE_KINDS",
    "AnswerError",
    "DefinitionError",
    "Saved",
    "answer_value",
    "clean_answer",
    "close_expired_questionnaires",
    "close_questionnaire",
    "create_questionnaire",
    "delete_question",
    "move_question",
    "open_questionnaire",
    "paginate_questions",
    "refusal",
    "replace_definition",
    "save_answers",
    "save_question",
    "start_response",
    "submit_response",
    "visible_questions",
]
