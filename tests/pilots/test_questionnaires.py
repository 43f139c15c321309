"""Questionnaires: the definition format and its problems, building, conditional display, answering with
save-and-resume, submission, and the pages of the builder and of the participant."""

import json

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import ConsentRecord, Role
from livinglab.services import withdraw_consent
from pilots.errors import CampaignError
from pilots.factories import CampaignSessionFactory, QuestionFactory, QuestionnaireFactory
from pilots.models import Answer, Booking, Campaign, QuestionKind, Questionnaire, Response
from pilots.questionnaire_definition import export_definition, parse_definition
from pilots.services import questionnaires as services
from pilots.services.campaign_access import require_participant

SUS_BEST = [5, 1, 5, 1, 5, 1, 5, 1, 5, 1]


def definition(*questions, languages=("en",), title="Title"):
    return {
        "version": 1,
        "languages": list(languages),
        "title": {lang: f"{title} ({lang})" for lang in languages},
        "introduction": {},
        "questions": list(questions),
    }


def q(key, kind="likert5", languages=("en",), **extra):
    question = {"key": key, "kind": kind, "text": {lang: f"Question {key} ({lang})" for lang in languages}}
    question.update(extra)
    return question


def opts(*values, languages=("en",)):
    return [{"value": v, "label": {lang: f"{v} ({lang})" for lang in languages}} for v in values]


FULL = definition(
    q("uses", "single", options=opts("yes", "no")),
    q("why", "text", required=False, show_if={"question": "uses", "operator": "eq", "value": "yes"}),
    q("sus", "sus"),
    q("ease", "likert7", help={"en": "Think of the first time."}),
    q("stars", "rating", scale_max=7, required=False),
    q("recommend", "nps", show_if={"question": "ease", "operator": "gte", "value": 4}),
    q("features", "multiple", options=opts("alarm", "agenda", "share")),
    q("order", "ranking", options=opts("alarm", "agenda", "share"), required=False),
    q("agree", "likert5", show_if={"question": "features", "operator": "in", "value": ["alarm", "share"]}),
)


@pytest.fixture
def questionnaire(campaign, staff_user):
    """An open campaign questionnaire: a yes/no question, a follow-up shown for "yes", a required text."""
    questionnaire = services.create_questionnaire(
        campaign, "After the test", ["en", "fr"], acting_user=staff_user
    )
    services.replace_definition(
        questionnaire,
        definition(
            q("uses", "single", languages=("en", "fr"), options=opts("yes", "no", languages=("en", "fr"))),
            q(
                "why",
                "text",
                languages=("en", "fr"),
                show_if={"question": "uses", "operator": "eq", "value": "yes"},
            ),
            q("ease", "likert5", languages=("en", "fr")),
            languages=("en", "fr"),
            title="After the test",
        ),
        acting_user=staff_user,
    )
    return services.open_questionnaire(questionnaire, acting_user=staff_user)


@pytest.fixture
def sus_questionnaire(campaign, staff_user):
    questionnaire = services.create_questionnaire(campaign, "Usability", ["en"], acting_user=staff_user)
    services.replace_definition(
        questionnaire,
        definition(
            q("sus", "sus"), q("recommend", "nps"), q("comments", "text", required=False), title="Usability"
        ),
        acting_user=staff_user,
    )
    return services.open_questionnaire(questionnaire, acting_user=staff_user)


def answer(questionnaire, person, page, data, advance=True):
    response = services.start_response(questionnaire, person, acting_user=person.user)
    services.save_answers(response, page, data, acting_user=person.user, advance=advance)
    return Response.objects.get(pk=response.pk)


# ------------------------------------------------------------------------------------- the definition


def test_a_complete_definition_is_accepted_as_it_is():
    clean, problems = parse_definition(FULL)
    assert problems == []
    assert [x["key"] for x in clean["questions"]] == [x["key"] for x in FULL["questions"]]
    assert clean["questions"][4]["scale_max"] == 7


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (q("a", "stars"), 'Question 2 (“a”): unknown kind "stars"'),
        ({"key": "a", "kind": "likert5", "text": {"en": "Hello"}}, "text in “fr” is missing"),
        (q("first"), "Question 2 (“first”): the key “first” is used by an earlier question"),
        (q("a", "single"), "Question 2 (“a”): give at least two options"),
        (q("a", "ranking", options=opts("x")), "give at least two options"),
        (q("a", "single", options=opts("x", "x")), "the option “x” is given twice"),
        (q("a", "likert5", options=opts("x", "y")), "a question of kind “likert5” takes no options"),
        (q("a", "rating", scale_max=11), "“scale_max” must be a whole number from 2 to 10 (found 11)"),
        (q("a", "rating", scale_max=1), "from 2 to 10 (found 1)"),
        (q("a", "nps", scale_max=5), "only rating questions take “scale_max”"),
        (
            q("a", show_if={"question": "later", "operator": "answered"}),
            "refers to “later”, which comes later",
        ),
        (
            q("a", show_if={"question": "nowhere", "operator": "answered"}),
            "not a question of this questionnaire",
        ),
        (q("a", show_if={"question": "a", "operator": "answered"}), "a question cannot depend on itself"),
        (
            q("a", show_if={"question": "first", "operator": "gte", "value": 2}),
            'operator "gte" cannot be used',
        ),
        (
            q("a", show_if={"question": "first", "operator": "eq", "value": "maybe"}),
            "is not one of the options",
        ),
        (q("a", required="yes"), "“required” must be true or false"),
        (q("a", text="Hello"), "must be an object of texts by language"),
        (q("A b"), "the key must be 1 to 40 lower-case letters"),
        ("just text", "Question 2 must be an object"),
        (q("a", colour="red"), "unknown field “colour”"),
    ],
)
def test_parse_definition_names_each_problem_with_the_position_and_key_of_the_question(question, expected):
    languages = (
        ("en",)
        if not (isinstance(question, dict) and question.get("text") == {"en": "Hello"})
        else (
            "en",
            "fr",
        )
    )
    first = q("first", "single", languages=languages, options=opts("yes", "no", languages=languages))
    data = definition(first, question, q("later", languages=languages), languages=languages)
    clean, problems = parse_definition(data)
    assert clean is None
    assert any(expected in problem for problem in problems), problems


def test_parse_definition_reports_every_problem_at_once():
    data = definition(
        q("a", "stars"),
        q("a", "single", options=opts("x", "x")),
        q("c", "rating", scale_max=20, show_if={"question": "z", "operator": "eq", "value": 1}),
    )
    data["version"] = 2
    _clean, problems = parse_definition(data)
    assert len(problems) >= 5
    assert any("version" in p for p in problems)
    assert any("Question 1 (“a”): unknown kind" in p for p in problems)
    assert any("Question 2 (“a”): the key “a” is used" in p for p in problems)
    assert any("Question 2 (“a”): the option “x” is given twice" in p for p in problems)
    assert any("Question 3 (“c”): “scale_max”" in p for p in problems)
    assert any('Question 3 (“c”): the condition refers to "z"' in p for p in problems)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{not json", "not valid JSON (line 1"),
        (b"\xff\xfe", "not UTF-8"),
        ("[1, 2]", "must be a JSON object"),
        (
            {"version": 1, "languages": "en", "title": {}, "questions": []},
            "“languages” must be a non-empty list",
        ),
        (
            {"version": 1, "languages": ["en"], "title": {"en": "T"}, "questions": {}},
            "“questions” must be a list",
        ),
        ({"version": 1, "languages": ["en"], "questions": []}, "The title: the text is missing"),
    ],
)
def test_parse_definition_explains_malformed_documents(data, expected):
    clean, problems = parse_definition(data)
    assert clean is None
    assert any(expected in problem for problem in problems), problems


def test_a_question_of_a_firm_must_be_the_requesters_or_a_partners(campaign, other_sme, sme):
    data = definition(q("mine", firm=other_sme.pk), q("theirs", firm=sme.pk))
    _clean, problems = parse_definition(data, campaign)
    assert problems == [
        f"Question 1 (“mine”): organisation {other_sme.pk} is neither the requester nor a partner "
        "of this campaign."
    ]
    campaign.partners.add(other_sme)
    clean, problems = parse_definition(data, campaign)
    assert problems == [] and [x["firm"] for x in clean["questions"]] == [other_sme.pk, sme.pk]


def test_an_exported_definition_imports_back_unchanged(campaign, staff_user):
    questionnaire = services.create_questionnaire(campaign, "Round trip", ["en"], acting_user=staff_user)
    services.replace_definition(questionnaire, json.dumps(FULL), acting_user=staff_user)
    exported = export_definition(questionnaire)
    copy_of = services.create_questionnaire(campaign, "Copy", ["en"], acting_user=staff_user)
    services.replace_definition(copy_of, json.dumps(exported), acting_user=staff_user)
    copied = export_definition(copy_of)
    assert copied["questions"] == exported["questions"] and copied["languages"] == exported["languages"]
    assert copied["title"] == exported["title"] == FULL["title"]
    expected = parse_definition(FULL)[0]
    assert exported["questions"] == expected["questions"]


def test_a_malformed_import_changes_nothing_and_lists_the_problems(questionnaire, staff_user):
    questionnaire.status = Questionnaire.Status.DRAFT
    before = export_definition(questionnaire)
    with pytest.raises(services.DefinitionError) as error:
        services.replace_definition(
            questionnaire, definition(q("x", "stars"), q("x")), acting_user=staff_user
        )
    assert len(error.value.problems) == 2
    assert export_definition(questionnaire) == before


# --------------------------------------------------------------------------------------------- building


def test_building_questions_keeps_them_in_order_and_refuses_a_condition_pointing_forward(
    campaign, staff_user
):
    questionnaire = services.create_questionnaire(campaign, "Built", ["en"], acting_user=staff_user)
    services.save_question(
        questionnaire, q("uses", "single", options=opts("yes", "no")), acting_user=staff_user
    )
    follow = services.save_question(
        questionnaire,
        q("why", "text", show_if={"question": "uses", "operator": "eq", "value": "yes"}),
        acting_user=staff_user,
    )
    services.save_question(questionnaire, q("ease"), acting_user=staff_user)
    with pytest.raises(services.DefinitionError) as error:
        services.move_question(follow, "up", acting_user=staff_user)
    assert "comes later" in error.value.problems[0]
    services.move_question(follow, "down", acting_user=staff_user)
    assert list(questionnaire.questions.values_list("key", flat=True)) == ["uses", "ease", "why"]
    uses = questionnaire.questions.get(key="uses")
    with pytest.raises(services.DefinitionError):
        services.delete_question(uses, acting_user=staff_user)  # "why" depends on it
    services.delete_question(questionnaire.questions.get(key="ease"), acting_user=staff_user)
    assert list(questionnaire.questions.values_list("key", "position")) == [("uses", 1), ("why", 2)]


def test_editing_a_question_keeps_it_and_checks_the_whole_questionnaire(campaign, staff_user):
    questionnaire = services.create_questionnaire(campaign, "Built", ["en"], acting_user=staff_user)
    first = services.save_question(questionnaire, q("a"), acting_user=staff_user)
    services.save_question(questionnaire, q("b"), acting_user=staff_user)
    with pytest.raises(services.DefinitionError) as error:
        services.save_question(questionnaire, q("b", "nps"), question=first, acting_user=staff_user)
    assert "Question 2 (“b”): the key “b” is used by an earlier question." in error.value.problems
    edited = services.save_question(questionnaire, q("c", "nps"), question=first, acting_user=staff_user)
    assert edited.pk == first.pk and edited.kind == QuestionKind.NPS
    assert list(questionnaire.questions.values_list("key", flat=True)) == ["c", "b"]


def test_opening_needs_a_question_and_questions_freeze_once_someone_answers(campaign, staff_user, take_part):
    empty = services.create_questionnaire(campaign, "Empty", ["en"], acting_user=staff_user)
    with pytest.raises(CampaignError, match="at least one question"):
        services.open_questionnaire(empty, acting_user=staff_user)
    questionnaire = services.create_questionnaire(campaign, "One", ["en"], acting_user=staff_user)
    services.save_question(questionnaire, q("ease"), acting_user=staff_user)
    services.open_questionnaire(questionnaire, acting_user=staff_user)
    services.replace_definition(questionnaire, definition(q("ease"), q("more")), acting_user=staff_user)
    person = take_part()
    services.start_response(questionnaire, person, acting_user=person.user)
    with pytest.raises(CampaignError, match="started answering"):
        services.replace_definition(questionnaire, definition(q("other")), acting_user=staff_user)
    assert list(questionnaire.questions.values_list("key", flat=True)) == ["ease", "more"]


# ------------------------------------------------------------------------------- conditional display


def test_conditional_questions_are_shown_only_when_their_condition_holds(db):
    questionnaire = QuestionnaireFactory()
    uses = QuestionFactory(questionnaire=questionnaire, key="uses", kind="single", options=opts("yes", "no"))
    why = QuestionFactory(
        questionnaire=questionnaire,
        key="why",
        kind="text",
        show_if={"question": "uses", "operator": "eq", "value": "yes"},
    )
    deeper = QuestionFactory(
        questionnaire=questionnaire, key="deeper", show_if={"question": "why", "operator": "answered"}
    )
    assert services.visible_questions(questionnaire, {}) == [uses]
    assert services.visible_questions(questionnaire, {"uses": "no", "why": "stale"}) == [uses]
    assert services.visible_questions(questionnaire, {"uses": "yes"}) == [uses, why]
    assert services.visible_questions(questionnaire, {"uses": "yes", "why": "easy"}) == [uses, why, deeper]


def test_a_hidden_required_question_does_not_block_submission_and_its_stale_answer_is_dropped(
    questionnaire, take_part
):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "yes"})
    response = answer(questionnaire, person, 2, {"why": "It reminds me.", "ease": "4"})
    assert response.answers.count() == 3
    answer(questionnaire, person, 1, {"uses": "no"})
    services.submit_response(response, acting_user=person.user)
    response.refresh_from_db()
    assert response.status == Response.Status.SUBMITTED
    assert sorted(response.answers.values_list("question__key", flat=True)) == ["ease", "uses"]


def test_a_follow_up_question_comes_on_the_page_after_the_answer_it_depends_on(questionnaire):
    pages = services.paginate_questions(questionnaire.questions.order_by("position"))
    assert [[x.key for x in page] for page in pages] == [["uses"], ["why", "ease"]]


def test_pages_hold_five_questions_and_a_sus_block_alone(db):
    questionnaire = QuestionnaireFactory()
    for key in ("a", "b", "c", "d", "e", "f"):
        QuestionFactory(questionnaire=questionnaire, key=key)
    QuestionFactory(questionnaire=questionnaire, key="sus", kind="sus")
    QuestionFactory(questionnaire=questionnaire, key="g")
    pages = services.paginate_questions(questionnaire.questions.order_by("position"))
    assert [[x.key for x in page] for page in pages] == [["a", "b", "c", "d", "e"], ["f"], ["sus"], ["g"]]


# ---------------------------------------------------------------------------------------- answering


def test_answers_are_stored_as_the_results_expect_them(campaign, staff_user, take_part):
    questionnaire = services.create_questionnaire(campaign, "All kinds", ["en"], acting_user=staff_user)
    services.replace_definition(questionnaire, FULL, acting_user=staff_user)
    services.open_questionnaire(questionnaire, acting_user=staff_user)
    person = take_part()
    answer(questionnaire, person, 1, {"uses": "yes"})
    answer(questionnaire, person, 2, {"why": "  Reminders  "})
    answer(questionnaire, person, 3, {"sus": [4, 2, 4, 1, 5, 2, 4, 2, 3, 3]})
    pages = services.paginate_questions(questionnaire.questions.order_by("position"))
    # A condition on a question of the same page starts a new page: "recommend" needs "ease" saved first.
    assert [[x.key for x in page] for page in pages][3:] == [
        ["ease", "stars"],
        ["recommend", "features", "order"],
        ["agree"],
    ]
    answer(questionnaire, person, 4, {"ease": "6", "stars": "7"})
    order = {"share": "1", "alarm": "3", "agenda": "2"}
    answer(questionnaire, person, 5, {"recommend": "9", "features": ["share", "alarm"], "order": order})
    response = answer(questionnaire, person, 6, {"agree": "5"})
    services.submit_response(response, acting_user=person.user)
    stored = {a.question.key: a for a in Answer.objects.filter(response=response).select_related("question")}
    assert stored["sus"].value == [4, 2, 4, 1, 5, 2, 4, 2, 3, 3] and stored["sus"].number == 75.0
    assert stored["ease"].number == 6 and stored["stars"].number == 7 and stored["recommend"].number == 9
    assert stored["agree"].number == 5
    assert stored["uses"].value == "yes"
    assert stored["features"].value == ["alarm", "share"]
    assert stored["order"].value == ["share", "agenda", "alarm"]
    assert stored["why"].text == "Reminders"
    response.refresh_from_db()
    assert response.code == person.code


@pytest.mark.parametrize(
    ("page", "key", "value", "message"),
    [
        (2, "ease", "8", "from 1 to 5"),
        (2, "ease", "three", "from 1 to 5"),
        (1, "uses", "maybe", "Choose one of the options"),
    ],
)
def test_answers_a_question_does_not_take_are_refused_with_the_reason(
    questionnaire, take_part, page, key, value, message
):
    person = take_part()
    with pytest.raises(services.AnswerError) as error:
        answer(questionnaire, person, page, {key: value}, advance=False)
    assert message in error.value.problems[key]
    assert not Answer.objects.filter(response__person=person).exists()


def test_a_sus_block_and_a_ranking_must_be_complete(sus_questionnaire, campaign, staff_user, take_part):
    person = take_part()
    with pytest.raises(services.AnswerError) as error:
        answer(sus_questionnaire, person, 1, {"sus": [5, 1, 5, None, 5, 1, 5, 1, 5, 1]})
    assert "all ten statements" in error.value.problems["sus"]
    ranking = services.create_questionnaire(campaign, "Rank", ["en"], acting_user=staff_user)
    services.replace_definition(
        ranking, definition(q("order", "ranking", options=opts("a", "b", "c"))), acting_user=staff_user
    )
    services.open_questionnaire(ranking, acting_user=staff_user)
    with pytest.raises(services.AnswerError) as error:
        answer(ranking, person, 1, {"order": {"a": "1", "b": "1", "c": "2"}})
    assert "different rank from 1 to 3" in error.value.problems["order"]


def test_saving_a_page_lets_the_person_resume_where_they_stopped(questionnaire, take_part):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "yes"})
    assert response.page == 2
    again = services.start_response(questionnaire, person, acting_user=person.user)
    assert again.pk == response.pk
    assert services.stored_answers(again, questionnaire.questions.all())["uses"].value == "yes"
    response = answer(questionnaire, person, 2, {"why": "Half written"}, advance=False)
    assert response.page == 2


def test_next_needs_the_required_answers_of_the_page_but_saving_for_later_does_not(questionnaire, take_part):
    person = take_part()
    with pytest.raises(services.AnswerError) as error:
        answer(questionnaire, person, 1, {})
    assert error.value.problems == {"uses": "Please answer this question."}
    response = answer(questionnaire, person, 1, {}, advance=False)
    assert response.page == 1


def test_required_questions_block_submission_with_a_clear_message(questionnaire, take_part):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "yes"})
    with pytest.raises(services.AnswerError) as error:
        services.submit_response(response, acting_user=person.user)
    assert (
        str(error.value) == "Please answer the required questions before submitting: question 2, question 3."
    )
    response.refresh_from_db()
    assert response.status == Response.Status.IN_PROGRESS


def test_submitting_copies_the_shared_attributes_and_refreshes_the_results(
    questionnaire, take_part, campaign
):
    person = take_part(year_of_birth=timezone.localdate().year - 70, region="Bretagne")
    response = answer(questionnaire, person, 1, {"uses": "no"})
    response = answer(questionnaire, person, 2, {"ease": "5"})
    version = campaign.results_version
    services.submit_response(response, acting_user=person.user)
    response.refresh_from_db()
    campaign.refresh_from_db()
    assert campaign.results_version == version + 1
    assert response.attributes == {"age_band": "65-74", "region": "Bretagne"}
    assert response.submitted_at is not None


def test_a_second_submission_and_later_changes_are_refused(questionnaire, take_part):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "no"})
    response = answer(questionnaire, person, 2, {"ease": "5"})
    services.submit_response(response, acting_user=person.user)
    with pytest.raises(
        CampaignError, match=r"You submitted your answers on .*; they can no longer be changed"
    ):
        services.submit_response(response, acting_user=person.user)
    with pytest.raises(CampaignError, match="can no longer be changed"):
        services.save_answers(response, 2, {"ease": "1"}, acting_user=person.user)
    assert Answer.objects.get(response=response, question__key="ease").number == 5


def test_answering_after_closing_is_refused(questionnaire, take_part, staff_user):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "no"})
    services.close_questionnaire(questionnaire, acting_user=staff_user)
    closed = r"This questionnaire is closed: answers are no longer accepted\."
    with pytest.raises(CampaignError, match=closed):
        services.save_answers(response, 2, {"ease": "4"}, acting_user=person.user)
    with pytest.raises(CampaignError, match="closed"):
        services.submit_response(response, acting_user=person.user)
    with pytest.raises(CampaignError, match="closed"):
        services.start_response(questionnaire, take_part(), acting_user=None)


def test_answering_after_the_closing_time_is_refused(questionnaire, take_part):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "no"})
    Questionnaire.objects.filter(pk=questionnaire.pk).update(
        closes_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    with pytest.raises(CampaignError, match="This questionnaire closed on"):
        services.save_answers(response, 2, {"ease": "4"}, acting_user=person.user)
    assert services.close_expired_questionnaires() == 1
    questionnaire.refresh_from_db()
    assert questionnaire.status == Questionnaire.Status.CLOSED


def test_people_who_do_not_take_part_cannot_answer(questionnaire, participant, take_part):
    with pytest.raises(CampaignError, match="Only people who accepted an invitation"):
        services.start_response(questionnaire, participant.person, acting_user=participant)
    with pytest.raises(CampaignError, match="accept what taking part involves"):
        services.start_response(questionnaire, take_part(agree=False), acting_user=None)
    assert not Response.objects.exists()


def test_a_participant_who_withdrew_their_consent_cannot_go_on_answering(questionnaire, take_part):
    person = take_part()
    response = answer(questionnaire, person, 1, {"uses": "no"})
    record = ConsentRecord.objects.get(person=person, purpose__code="participation")
    withdraw_consent(record, channel="online", acting_user=person.user)
    with pytest.raises(CampaignError, match="You withdrew a consent this campaign relies on"):
        services.save_answers(response, 2, {"ease": "4"}, acting_user=person.user)


def test_a_session_questionnaire_is_for_the_people_booked_in_that_session(campaign, staff_user, take_part):
    session = CampaignSessionFactory(campaign=campaign)
    questionnaire = services.create_questionnaire(
        campaign, "Debrief", ["en"], session, acting_user=staff_user
    )
    services.save_question(questionnaire, q("ease"), acting_user=staff_user)
    services.open_questionnaire(questionnaire, acting_user=staff_user)
    person = take_part()
    with pytest.raises(CampaignError, match="people who booked its session"):
        services.start_response(questionnaire, person, acting_user=person.user)
    invitation = require_participant(campaign, person)
    Booking.objects.create(
        session=session, invitation=invitation, person=person, status=Booking.Status.BOOKED
    )
    assert services.start_response(questionnaire, person, acting_user=person.user).code == person.code


# -------------------------------------------------------------------------------------------- views


@pytest.fixture
def other_firm_user(other_sme):
    return MembershipFactory(organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory()).user


@pytest.mark.parametrize(
    ("who", "status"),
    [("staff_user", 200), ("sme_admin", 200), ("other_firm_user", 403), ("participant", 403)],
)
def test_only_the_lab_and_the_requester_may_build_questionnaires(client, request, questionnaire, who, status):
    client.force_login(request.getfixturevalue(who))
    slug = questionnaire.campaign.slug
    builder = client.get(reverse("campaigns:questionnaire_builder", args=[slug, questionnaire.pk]))
    listing = client.get(reverse("campaigns:questionnaires", args=[slug]))
    export = client.get(reverse("campaigns:questionnaire_export", args=[slug, questionnaire.pk]))
    assert (builder.status_code, listing.status_code, export.status_code) == (status, status, status)
    if status == 200:
        assert "Question uses (en)" in builder.content.decode()
        assert json.loads(export.content)["questions"][0]["key"] == "uses"


def test_the_builder_creates_a_questionnaire_and_adds_a_choice_question(client, campaign, staff_user, sme):
    client.force_login(staff_user)
    response = client.post(
        reverse("campaigns:questionnaires", args=[campaign.slug]),
        {"title": "First impressions", "languages": ["en", "fr"]},
    )
    questionnaire = campaign.questionnaires.get()
    assert response.status_code == 302 and questionnaire.languages == ["en", "fr"]
    url = reverse("campaigns:questionnaire_builder", args=[campaign.slug, questionnaire.pk])
    response = client.post(
        url,
        {
            "kind": "single",
            "key": "device",
            "required": "on",
            "text_en": "Which device did you use?",
            "text_fr": "Quel appareil avez-vous utilisé ?",
            "options_en": "phone|A phone\nTablet",
            "options_fr": "Un téléphone\nUne tablette",
            "firm": sme.pk,
        },
    )
    assert response.status_code == 302
    question = questionnaire.questions.get()
    assert question.options == [
        {"value": "phone", "label": {"en": "A phone", "fr": "Un téléphone"}},
        {"value": "tablet", "label": {"en": "Tablet", "fr": "Une tablette"}},
    ]
    assert question.firm == sme and question.required
    response = client.post(
        url,
        {
            "kind": "text",
            "key": "why",
            "text_en": "Why?",
            "text_fr": "Pourquoi ?",
            "show_if_question": "device",
            "show_if_operator": "eq",
            "show_if_value": "watch",
        },
    )
    assert response.status_code == 200
    assert "is not one of the options of “device”" in response.content.decode()
    assert questionnaire.questions.count() == 1


def test_importing_a_malformed_definition_through_the_builder_lists_every_problem(
    client, campaign, staff_user
):
    client.force_login(staff_user)
    questionnaire = services.create_questionnaire(campaign, "Import", ["en"], acting_user=staff_user)
    bad = definition(q("a", "stars"), q("b", "rating", scale_max=12))
    response = client.post(
        reverse("campaigns:questionnaire_import", args=[campaign.slug, questionnaire.pk]),
        {"text": json.dumps(bad)},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Question 1 (“a”): unknown kind" in page and "Question 2 (“b”): “scale_max”" in page
    assert not questionnaire.questions.exists()
    response = client.post(
        reverse("campaigns:questionnaire_import", args=[campaign.slug, questionnaire.pk]), {"text": "{oops"}
    )
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()


def test_a_participant_answers_a_sus_questionnaire_from_start_to_finish(
    client, sus_questionnaire, take_part, campaign
):
    person = take_part()
    client.force_login(person.user)
    url = reverse("campaigns:questionnaire_answer", args=[sus_questionnaire.pk])
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "I think that I would like to use this system frequently." in html
    assert html.count("<legend>") == 11 and "<table" not in html
    data = {f"q-sus-{n}": str(v) for n, v in enumerate([4, 2, 4, 1, 5, 2, 4, 2, 3, 3], start=1)}
    response = client.post(f"{url}?page=1&lang=en", {**data, "action": "next"})
    assert response.status_code == 302 and "page=2" in response["Location"]
    page = client.get(response["Location"])
    assert "0 = not at all likely, 10 = extremely likely" in page.content.decode()
    assert 'value="submit"' in page.content.decode()
    response = client.post(
        f"{url}?page=2&lang=en", {"q-recommend": "9", "q-comments": "Clear.", "action": "submit"}
    )
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert "You submitted your answers on" in done.content.decode()
    stored = Response.objects.get(questionnaire=sus_questionnaire, person=person)
    assert stored.status == Response.Status.SUBMITTED and stored.code == person.code
    sus = stored.answers.get(question__key="sus")
    assert sus.number == 75.0 and sus.value == [4, 2, 4, 1, 5, 2, 4, 2, 3, 3]
    assert Campaign.objects.get(pk=campaign.pk).results_version == campaign.results_version + 1


def test_the_answer_page_saves_for_later_and_resumes_on_another_visit(client, questionnaire, take_part):
    person = take_part()
    client.force_login(person.user)
    url = reverse("campaigns:questionnaire_answer", args=[questionnaire.pk])
    response = client.post(f"{url}?page=1&lang=fr", {"q-uses": "yes", "action": "next"})
    assert "page=2" in response["Location"]
    client.post(f"{url}?page=2&lang=fr", {"q-why": "Pratique", "action": "save"})
    client.logout()
    client.force_login(person.user)
    page = client.get(url).content.decode()
    assert "Page 2 of 2" in page and "Pratique" in page and "Question why (fr)" in page


def test_the_answer_page_explains_missing_answers_and_refusals(
    client, questionnaire, take_part, participant, staff_user
):
    person = take_part()
    client.force_login(person.user)
    url = reverse("campaigns:questionnaire_answer", args=[questionnaire.pk])
    response = client.post(f"{url}?page=1", {"action": "next"})
    assert response.status_code == 400 and "Please answer this question." in response.content.decode()
    client.force_login(participant)
    response = client.get(url)
    assert response.status_code == 404, "someone never invited does not learn the questionnaire exists"
    assert questionnaire.campaign.title not in response.content.decode()
    services.close_questionnaire(questionnaire, acting_user=staff_user)
    client.force_login(person.user)
    assert "answers are no longer accepted" in client.get(url).content.decode()


def test_the_participant_tag_lists_what_is_left_to_answer(
    questionnaire, sus_questionnaire, take_part, campaign, django_assert_max_num_queries
):
    person = take_part()
    answer(questionnaire, person, 1, {"uses": "yes"})
    template = Template("{% load questionnaire_tags %}{% participant_questionnaires campaign person %}")
    with django_assert_max_num_queries(4):
        html = template.render(Context({"campaign": campaign, "person": person}))
    assert "resume on page 2 of 2" in html and "not started" in html
    assert "After the test" in html and "Usability" in html


def test_the_beat_task_closes_questionnaires_past_their_closing_time(questionnaire, sus_questionnaire):
    from pilots.tasks.questionnaires import close_expired_questionnaires

    Questionnaire.objects.filter(pk=questionnaire.pk).update(
        closes_at=timezone.now() - timezone.timedelta(hours=1)
    )
    assert close_expired_questionnaires.delay().get() == 1
    assert close_expired_questionnaires.delay().get() == 0
    statuses = dict(Questionnaire.objects.values_list("pk", "status"))
    assert statuses == {questionnaire.pk: "closed", sus_questionnaire.pk: "open"}


def test_the_preview_shows_every_question_and_the_builder_opens_and_closes(client, campaign, staff_user):
    client.force_login(staff_user)
    questionnaire = services.create_questionnaire(campaign, "Preview", ["en", "fr"], acting_user=staff_user)
    urls = {
        name: reverse(f"campaigns:questionnaire_{name}", args=[campaign.slug, questionnaire.pk])
        for name in ("preview", "open", "close", "builder")
    }
    client.post(urls["open"])
    questionnaire.refresh_from_db()
    assert questionnaire.status == Questionnaire.Status.DRAFT  # no question yet
    services.replace_definition(
        questionnaire,
        definition(
            q("uses", "single", languages=("en", "fr"), options=opts("yes", "no", languages=("en", "fr"))),
            q("why", "nps", languages=("en", "fr"), show_if={"question": "uses", "operator": "answered"}),
            languages=("en", "fr"),
        ),
        acting_user=staff_user,
    )
    first = client.get(urls["preview"] + "?lang=fr").content.decode()
    second = client.get(urls["preview"] + "?page=2&lang=fr").content.decode()
    assert "Question uses (fr)" in first and "yes (fr)" in first and "Page 1 of 2" in first
    assert "Question why (fr)" in second and "0 = not at all likely, 10 = extremely likely" in second
    assert 'name="action"' not in first  # a preview saves nothing
    client.post(urls["open"], {"closes_at": "2099-01-01T10:00"})
    questionnaire.refresh_from_db()
    assert questionnaire.status == Questionnaire.Status.OPEN and questionnaire.closes_at.year == 2099
    client.post(urls["close"])
    questionnaire.refresh_from_db()
    assert questionnaire.status == Questionnaire.Status.CLOSED


def test_editing_a_question_through_the_builder(client, campaign, staff_user):
    client.force_login(staff_user)
    questionnaire = services.create_questionnaire(campaign, "Edit", ["en"], acting_user=staff_user)
    question = services.save_question(questionnaire, q("ease"), acting_user=staff_user)
    url = reverse("campaigns:question_edit", args=[campaign.slug, questionnaire.pk, question.pk])
    assert "Question ease (en)" in client.get(url).content.decode()
    response = client.post(
        url, {"kind": "rating", "key": "stars", "text_en": "How many stars?", "scale_max": 4}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.key, question.kind, question.scale_max, question.required) == (
        "stars",
        "rating",
        4,
        False,
    )


def test_the_questionnaire_list_takes_a_fixed_number_of_queries(
    client, campaign, staff_user, django_assert_max_num_queries
):
    for _n in range(6):
        questionnaire = QuestionnaireFactory(campaign=campaign)
        QuestionFactory(questionnaire=questionnaire)
    client.force_login(staff_user)
    url = reverse("campaigns:questionnaires", args=[campaign.slug])
    client.get(url)
    with django_assert_max_num_queries(20) as captured:
        page = client.get(url)
    assert page.content.decode().count("1 question") == 6
    for _n in range(6):
        QuestionnaireFactory(campaign=campaign)
    with django_assert_max_num_queries(len(captured)):
        client.get(url)


def test_a_tampered_answer_is_explained_on_the_page_and_not_stored(client, questionnaire, take_part):
    person = take_part()
    client.force_login(person.user)
    url = reverse("campaigns:questionnaire_answer", args=[questionnaire.pk])
    response = client.post(f"{url}?page=1", {"q-uses": "perhaps", "action": "next"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Answer.objects.filter(response__person=person).exists()
