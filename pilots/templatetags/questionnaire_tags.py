"""Template tags of questionnaires: the questionnaires a participant can answer in a campaign (for the
participant's campaign page)."""

from django import template
from django.db.models import Prefetch, Q

from ..models import Booking, Question, Questionnaire, Response
from ..questionnaire_forms import localized
from ..services.questionnaires import SESSION_BOOKINGS, paginate_questions

register = template.Library()


def questionnaires_for(campaign, person) -> list[dict]:
    """Open questionnaires of ``campaign`` the person can answer (campaign-wide ones, and those of sessions
    they booked or attended), each with where they are: not started, resume on page x of y, submitted.
    Three queries whatever the number of questionnaires."""
    if person is None or campaign is None:
        return []
    sessions = Booking.objects.filter(
        session__campaign=campaign, person=person, status__in=SESSION_BOOKINGS
    ).values("session_id")
    questionnaires = (
        Questionnaire.objects.filter(campaign=campaign, status=Questionnaire.Status.OPEN)
        .filter(Q(session__isnull=True) | Q(session_id__in=sessions))
        .prefetch_related(
            Prefetch(
                "questions", queryset=Question.objects.order_by("position"), to_attr="ordered_questions"
            ),
            Prefetch("responses", queryset=Response.objects.filter(person=person), to_attr="mine"),
        )
        .order_by("pk")
    )
    rows = []
    for questionnaire in questionnaires:
        response = questionnaire.mine[0] if questionnaire.mine else None
        pages = len(paginate_questions(questionnaire.ordered_questions))
        if response is None:
            state = "not_started"
        elif response.status == Response.Status.SUBMITTED:
            state = "submitted"
        else:
            state = "resume"
        language = response.language if response is not None and response.language else ""
        rows.append(
            {
                "questionnaire": questionnaire,
                "title": localized(questionnaire.title, language, questionnaire.languages),
                "state": state,
                "page": min(max(response.page, 1), pages) if response is not None else 1,
                "pages": pages,
                "closes_at": questionnaire.closes_at,
            }
        )
    return rows


@register.inclusion_tag("pilots/questionnaires/participant_questionnaires.html")
def participant_questionnaires(campaign, person):
    return {"rows": questionnaires_for(campaign, person), "campaign": campaign}
