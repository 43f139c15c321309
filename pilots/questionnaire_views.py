"""Questionnaire pages: the builder (staff of the lab and the requester) and the participant's answering,
page by page, with save-and-resume. Thin views: every change goes through
``pilots.services.questionnaires``."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from livinglab.errors import DomainError
from livinglab.models import Person
from livinglab.views import paginate

from .models import Campaign, Questionnaire, Response
from .questionnaire_definition import export_definition
from .questionnaire_forms import (
    LANGUAGE_NAMES,
    AnswerPageForm,
    ImportForm,
    OpenForm,
    QuestionForm,
    QuestionnaireForm,
    localized,
)
from .services import questionnaires as services
from .services.campaign_access import ever_invited

# ------------------------------------------------------------------------------------------- builder


def _campaign(request, slug: str) -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related("lab", "requested_by"), slug=slug)
    if not request.user.has_perm("pilots.edit_questionnaire", campaign):
        raise PermissionDenied(_("You cannot edit the questionnaires of this campaign."))
    return campaign


def _questionnaire(request, slug: str, pk: int) -> Questionnaire:
    questionnaire = get_object_or_404(
        Questionnaire.objects.select_related("campaign__lab", "campaign__requested_by", "session"),
        pk=pk,
        campaign__slug=slug,
    )
    if not request.user.has_perm("pilots.edit_questionnaire", questionnaire.campaign):
        raise PermissionDenied(_("You cannot edit the questionnaires of this campaign."))
    return questionnaire


def _builder_url(questionnaire: Questionnaire) -> str:
    return reverse("campaigns:questionnaire_builder", args=[questionnaire.campaign.slug, questionnaire.pk])


def _error(request, error: DomainError):
    messages.error(request, str(error))
    for problem in getattr(error, "problems", ()):
        messages.error(request, problem)


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_list(request, slug: str):
    """The campaign's questionnaires, and a form to start a new one."""
    campaign = _campaign(request, slug)
    form = QuestionnaireForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            questionnaire = services.create_questionnaire(
                campaign,
                form.cleaned_data["title"],
                form.cleaned_data["languages"],
                form.cleaned_data["session"],
                acting_user=request.user,
            )
        except DomainError as error:
            _error(request, error)
        else:
            messages.success(request, _("Questionnaire created: now add its questions."))
            return redirect(_builder_url(questionnaire))
    questionnaires = (
        campaign.questionnaires.select_related("session")
        .annotate(
            question_count=Count("questions", distinct=True), response_count=Count("responses", distinct=True)
        )
        .order_by("pk")
    )
    page = paginate(request, questionnaires)
    return render(
        request,
        "pilots/questionnaires/list.html",
        {"campaign": campaign, "page_obj": page, "form": form},
    )


def _builder_context(questionnaire, form, **extra):
    questions = list(questionnaire.questions.select_related("firm").order_by("position"))
    first = questionnaire.languages[0] if questionnaire.languages else ""
    rows = [
        {
            "question": q,
            "text": localized(q.text, first),
            "condition": q.show_if,
            "first": i == 0,
            "last": i == len(questions) - 1,
        }
        for i, q in enumerate(questions)
    ]
    editable = questionnaire.status == Questionnaire.Status.DRAFT or not questionnaire.responses.exists()
    return {
        "campaign": questionnaire.campaign,
        "questionnaire": questionnaire,
        "rows": rows,
        "form": form,
        "import_form": extra.pop("import_form", None) or ImportForm(),
        "open_form": OpenForm(),
        "editable": editable,
        "title": localized(questionnaire.title, first),
        **extra,
    }


def _save_question(request, questionnaire, form, question, done: str) -> tuple[bool, list[str]]:
    """Save a posted question form through the service: (saved, the definition's problems)."""
    if request.method != "POST" or not form.is_valid():
        return False, []
    try:
        services.save_question(questionnaire, form.definition(), question=question, acting_user=request.user)
    except services.DefinitionError as error:
        messages.error(request, str(error))
        return False, error.problems
    except DomainError as error:
        messages.error(request, str(error))
        return False, []
    messages.success(request, done)
    return True, []


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_builder(request, slug: str, pk: int):
    """The questions with edit / move / delete, and the form to add one."""
    questionnaire = _questionnaire(request, slug, pk)
    earlier = list(questionnaire.questions.order_by("position"))
    form = QuestionForm(request.POST or None, questionnaire=questionnaire, earlier=earlier)
    saved, problems = _save_question(request, questionnaire, form, None, _("Question added."))
    if saved:
        return redirect(_builder_url(questionnaire))
    return render(
        request,
        "pilots/questionnaires/builder.html",
        _builder_context(questionnaire, form, problems=problems),
    )


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request, slug: str, pk: int, question_pk: int):
    questionnaire = _questionnaire(request, slug, pk)
    question = get_object_or_404(questionnaire.questions, pk=question_pk)
    earlier = list(questionnaire.questions.filter(position__lt=question.position).order_by("position"))
    form = QuestionForm(
        request.POST or None,
        questionnaire=questionnaire,
        earlier=earlier,
        initial=QuestionForm.initial_for(question),
    )
    saved, problems = _save_question(request, questionnaire, form, question, _("Question saved."))
    if saved:
        return redirect(_builder_url(questionnaire))
    context = {
        "campaign": questionnaire.campaign,
        "questionnaire": questionnaire,
        "question": question,
        "form": form,
        "problems": problems,
    }
    return render(request, "pilots/questionnaires/question_edit.html", context)


@login_required
@require_POST
def question_move(request, slug: str, pk: int, question_pk: int):
    questionnaire = _questionnaire(request, slug, pk)
    question = get_object_or_404(questionnaire.questions, pk=question_pk)
    try:
        services.move_question(question, request.POST.get("direction", ""), acting_user=request.user)
    except DomainError as error:
        _error(request, error)
    return redirect(_builder_url(questionnaire))


@login_required
@require_POST
def question_delete(request, slug: str, pk: int, question_pk: int):
    questionnaire = _questionnaire(request, slug, pk)
    question = get_object_or_404(questionnaire.questions, pk=question_pk)
    try:
        services.delete_question(question, acting_user=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Question deleted."))
    return redirect(_builder_url(questionnaire))


@login_required
def definition_export(request, slug: str, pk: int):
    """The definition as a JSON file to download (and to import elsewhere)."""
    questionnaire = _questionnaire(request, slug, pk)
    body = json.dumps(export_definition(questionnaire), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="questionnaire-{questionnaire.pk}.json"'
    return response


@login_required
@require_POST
def definition_import(request, slug: str, pk: int):
    """Replace the questions with an imported definition; every problem is listed, nothing half-done."""
    questionnaire = _questionnaire(request, slug, pk)
    import_form = ImportForm(request.POST, request.FILES)
    problems = []
    if import_form.is_valid():
        try:
            services.replace_definition(
                questionnaire, import_form.cleaned_data["definition"], acting_user=request.user
            )
        except services.DefinitionError as error:
            problems = error.problems
            messages.error(request, str(error))
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Definition imported."))
            return redirect(_builder_url(questionnaire))
    questionnaire.refresh_from_db()
    form = QuestionForm(
        questionnaire=questionnaire, earlier=list(questionnaire.questions.order_by("position"))
    )
    context = _builder_context(questionnaire, form, import_problems=problems, import_form=import_form)
    return render(request, "pilots/questionnaires/builder.html", context, status=400)


@login_required
@require_POST
def questionnaire_open(request, slug: str, pk: int):
    questionnaire = _questionnaire(request, slug, pk)
    form = OpenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The closing time is not a valid date and time."))
        return redirect(_builder_url(questionnaire))
    try:
        services.open_questionnaire(
            questionnaire, closes_at=form.cleaned_data.get("closes_at"), acting_user=request.user
        )
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("The questionnaire is open for answers."))
    return redirect(_builder_url(questionnaire))


@login_required
@require_POST
def questionnaire_close(request, slug: str, pk: int):
    questionnaire = _questionnaire(request, slug, pk)
    if services.close_questionnaire(questionnaire, acting_user=request.user):
        messages.success(request, _("The questionnaire is closed: it takes no more answers."))
    else:
        messages.error(request, _("This questionnaire was not open."))
    return redirect(_builder_url(questionnaire))


def _language(request, questionnaire, response=None) -> str:
    wanted = request.GET.get("lang") or (response.language if response is not None else "")
    languages = questionnaire.languages or [""]
    return wanted if wanted in languages else languages[0]


def _page_number(request, pages) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    return min(max(number, 1), max(len(pages), 1))


@login_required
def questionnaire_preview(request, slug: str, pk: int):
    """Each page as a participant sees it (every question shown, conditions listed); nothing is saved."""
    questionnaire = _questionnaire(request, slug, pk)
    questions = list(questionnaire.questions.order_by("position"))
    pages = services.paginate_questions(questions)
    number = _page_number(request, pages)
    language = _language(request, questionnaire)
    form = AnswerPageForm(
        questions=pages[number - 1] if pages else [],
        language=language,
        languages=questionnaire.languages,
        answers={},
    )
    return render(
        request,
        "pilots/questionnaires/answer.html",
        _answer_context(questionnaire, form, number, len(pages), language, preview=True),
    )


# --------------------------------------------------------------------------------------- participant


def _answer_context(questionnaire, form, number, total, language, **extra):
    return {
        "questionnaire": questionnaire,
        "campaign": questionnaire.campaign,
        "title": localized(questionnaire.title, language, questionnaire.languages),
        "introduction": localized(questionnaire.introduction, language, questionnaire.languages),
        "form": form,
        "items": form.bound_items() if form is not None else [],
        "page_number": number,
        "page_total": total,
        "language": language,
        "questionnaire_languages": [
            (code, LANGUAGE_NAMES.get(code, code)) for code in questionnaire.languages
        ],
        "is_last": number >= total,
        **extra,
    }


def _answer_url(questionnaire, number, language) -> str:
    url = reverse("campaigns:questionnaire_answer", args=[questionnaire.pk])
    return f"{url}?page={number}&lang={language}"


def _person(request) -> Person | None:
    try:
        return request.user.person
    except (Person.DoesNotExist, AttributeError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_answer(request, pk: int):
    """A participant answers, one page at a time: save and come back later, next, back, submit."""
    questionnaire = get_object_or_404(
        Questionnaire.objects.select_related("campaign").exclude(status=Questionnaire.Status.DRAFT), pk=pk
    )
    person = _person(request)
    if not ever_invited(questionnaire.campaign, person):
        raise Http404(_("No such questionnaire."))
    existing = Response.objects.filter(questionnaire=questionnaire, person=person).first() if person else None
    language = _language(request, questionnaire, existing)
    if existing is not None and existing.status == Response.Status.SUBMITTED:
        context = _answer_context(
            questionnaire, None, 0, 0, language, stopped=services.submitted_text(existing)
        )
        return render(request, "pilots/questionnaires/answer.html", context)
    try:
        response = services.start_response(questionnaire, person, acting_user=request.user, language=language)
    except DomainError as error:
        context = _answer_context(questionnaire, None, 0, 0, language, stopped=str(error))
        return render(request, "pilots/questionnaires/answer.html", context, status=403)

    questions = list(questionnaire.questions.order_by("position"))
    pages = services.paginate_questions(questions)
    answers = services.stored_answers(response, questions)
    values = services.compared_values(questions, answers)
    visible = {q.pk for q in services.visible_questions(questionnaire, values, questions)}
    if not pages:
        context = _answer_context(
            questionnaire, None, 0, 0, language, stopped=_("This questionnaire is empty.")
        )
        return render(request, "pilots/questionnaires/answer.html", context)
    resume_at = min(max(response.page, 1), len(pages))
    number = _page_number(request, pages) if "page" in request.GET else resume_at
    if not any(q.pk in visible for q in pages[number - 1]):
        number = services.next_page(pages, number, values, questionnaire) or number
    page_questions = [q for q in pages[number - 1] if q.pk in visible]
    form = AnswerPageForm(
        request.POST or None,
        questions=page_questions,
        language=language,
        languages=questionnaire.languages,
        answers=answers,
    )
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action", "save")
        advance = action in ("next", "submit")
        try:
            saved = services.save_answers(
                response, number, form.answers(), acting_user=request.user, advance=advance
            )
            if action == "submit":
                services.submit_response(response, acting_user=request.user, language=language)
        except services.AnswerError as error:
            form.show_problems(error.problems)
            messages.error(request, str(error))
        except DomainError as error:
            messages.error(request, str(error))
            return redirect(_answer_url(questionnaire, number, language))
        else:
            if action == "submit":
                messages.success(request, _("Thank you: your answers are submitted."))
                return redirect(_answer_url(questionnaire, number, language))
            if action == "next" and saved.next_page:
                return redirect(_answer_url(questionnaire, saved.next_page, language))
            if action == "back":
                back = services.next_page(pages, number, values, questionnaire, step=-1)
                return redirect(_answer_url(questionnaire, back or number, language))
            messages.success(
                request,
                _(
                    "Your answers are saved. Come back to this page from any device "
                    "to go on where you stopped."
                ),
            )
            return redirect(_answer_url(questionnaire, number, language))
    context = _answer_context(
        questionnaire,
        form,
        number,
        len(pages),
        language,
        is_last=services.next_page(pages, number, values, questionnaire) is None,
        has_back=services.next_page(pages, number, values, questionnaire, step=-1) is not None,
        action_url=_answer_url(questionnaire, number, language),
    )
    return render(request, "pilots/questionnaires/answer.html", context, status=400 if form.is_bound else 200)
