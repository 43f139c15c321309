"""Idea competitions and joint-survey partners: setting a competition up, its criteria and jury,
participants' ideas, the jury's scores, the ranking and the announcement of the winners (rewarded with a
voucher or a recorded prize). Jurors and firms know ideas by their pseudonymous code only."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Membership, Organisation, Person, User
from livinglab.policy import CLUSTER_ROLES

from ..errors import CampaignError
from ..models import Campaign, CampaignKind, Competition, Criterion, Idea, IdeaScore, Question
from ..tasks.competitions import send_winner_mail
from .campaign_access import require_participant

MAX_IDEAS_PER_PERSON = 3
# Campaigns that are over: nothing about their competition or partners changes any more.
FINISHED = {Campaign.Status.CLOSED, Campaign.Status.WITHDRAWN, Campaign.Status.REJECTED}
FIRM_KINDS = {Organisation.Kind.SME, Organisation.Kind.LARGE_ENTERPRISE}
# Ideas that take part in the judging.
ACTIVE_IDEAS = (Idea.Status.SUBMITTED, Idea.Status.WINNER)
# How many missing scores an error message lists before summing up the rest.
MISSING_SHOWN = 10
HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")


def _lock(competition: Competition) -> Competition:
    return (
        Competition.objects.select_for_update(no_key=True).select_related("campaign").get(pk=competition.pk)
    )


def _require_status(competition: Competition, status: str, message: str) -> None:
    if competition.status != status:
        raise CampaignError(message)


# ------------------------------------------------------------------------------------------- set-up


@transaction.atomic
def set_up_competition(
    campaign: Campaign,
    challenge: str,
    submissions_close_at: datetime,
    winners_count: int,
    prize_programme=None,
    prize_description: str = "",
    *,
    acting_user: User,
) -> Competition:
    """Create the competition of a ``competition`` campaign, or change it while ideas are still open."""
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    if campaign.kind != CampaignKind.COMPETITION:
        raise CampaignError(_("Only a campaign of the kind “idea competition” can run a competition."))
    if campaign.status in FINISHED:
        raise CampaignError(_("This campaign is over: its competition can no longer be changed."))
    competition = Competition.objects.filter(campaign=campaign).first()
    if competition is not None and competition.status != Competition.Status.OPEN:
        raise CampaignError(_("The jury has started scoring: the competition can no longer be changed."))
    if not challenge.strip():
        raise CampaignError(_("Describe the challenge: what ideas are wanted."))
    if submissions_close_at <= timezone.now():
        raise CampaignError(_("The closing time for ideas must be in the future."))
    if winners_count < 1:
        raise CampaignError(_("A competition has at least one winner."))
    if prize_programme is not None and prize_programme.operator_id != campaign.lab_id:
        raise CampaignError(
            _("The voucher programme %(programme)s is not run by %(lab)s, which hosts this campaign.")
            % {"programme": prize_programme, "lab": campaign.lab}
        )
    if prize_programme is None and not prize_description.strip():
        raise CampaignError(_("Say what the winners get: a voucher programme or a prize description."))
    values = {
        "challenge": challenge.strip(),
        "submissions_close_at": submissions_close_at,
        "winners_count": winners_count,
        "prize_programme": prize_programme,
        "prize_description": prize_description.strip(),
    }
    created = competition is None
    if created:
        competition = Competition.objects.create(campaign=campaign, **values)
    else:
        for name, value in values.items():
            setattr(competition, name, value)
        competition.save(update_fields=list(values))
    audit.record(
        "pilots.competition.create" if created else "pilots.competition.edit",
        actor=acting_user,
        obj=competition,
        organisation=campaign.lab,
        data={
            "campaign": campaign.pk,
            "closes_at": submissions_close_at.isoformat(),
            "winners": winners_count,
            "programme": prize_programme.pk if prize_programme is not None else None,
        },
    )
    return competition


@transaction.atomic
def save_criterion(
    competition: Competition,
    name: str,
    weight: Decimal,
    max_score: int,
    description: str = "",
    criterion: Criterion | None = None,
    *,
    acting_user: User,
) -> Criterion:
    """Add a criterion to the competition, or change ``criterion``, before the jury starts scoring."""
    competition = _lock(competition)
    _require_status(
        competition,
        Competition.Status.OPEN,
        _("The jury has started scoring: the criteria can no longer be changed."),
    )
    if criterion is not None and criterion.competition_id != competition.pk:
        raise CampaignError(_("This criterion belongs to another competition."))
    if not name.strip():
        raise CampaignError(_("Give the criterion a name."))
    if weight is None or weight <= 0:
        raise CampaignError(_("A criterion's weight must be above zero."))
    if not 1 <= max_score <= 100:
        raise CampaignError(_("A criterion's highest score is between 1 and 100."))
    created = criterion is None
    if created:
        criterion = Criterion(competition=competition, position=competition.criteria.count())
    criterion.name, criterion.description = name.strip(), description.strip()
    criterion.weight, criterion.max_score = weight, max_score
    criterion.save()
    audit.record(
        "pilots.competition.add_criterion" if created else "pilots.competition.edit_criterion",
        actor=acting_user,
        obj=competition,
        organisation=competition.campaign.lab,
        data={"criterion": criterion.pk, "name": criterion.name, "weight": str(weight), "max": max_score},
    )
    return criterion


@transaction.atomic
def delete_criterion(criterion: Criterion, *, acting_user: User) -> None:
    """Remove a criterion before the jury starts scoring."""
    competition = _lock(criterion.competition)
    _require_status(
        competition,
        Competition.Status.OPEN,
        _("The jury has started scoring: the criteria can no longer be changed."),
    )
    pk, name = criterion.pk, criterion.name
    Criterion.objects.filter(pk=pk).delete()
    audit.record(
        "pilots.competition.delete_criterion",
        actor=acting_user,
        obj=competition,
        organisation=competition.campaign.lab,
        data={"criterion": pk, "name": name},
    )


def eligible_jurors(campaign: Campaign):
    """Users who may sit on the jury: the lab's staff and members of the requester and partner firms."""
    firms = [campaign.requested_by_id, *campaign.partners.values_list("pk", flat=True)]
    memberships = Membership.objects.active().filter(
        Q(organisation_id=campaign.lab_id, role__in=CLUSTER_ROLES) | Q(organisation_id__in=firms)
    )
    return User.objects.filter(pk__in=memberships.values("user_id"), is_active=True).order_by("email")


@transaction.atomic
def set_jury(competition: Competition, users, *, acting_user: User) -> Competition:
    """Make ``users`` the jury: the lab's staff and members of the requester or partner firms only."""
    competition = _lock(competition)
    if competition.status == Competition.Status.ANNOUNCED:
        raise CampaignError(_("The winners are announced: the jury can no longer change."))
    users = list(users)
    if not users and competition.status == Competition.Status.JUDGING:
        raise CampaignError(_("The jury is scoring: it needs at least one juror."))
    allowed = set(eligible_jurors(competition.campaign).values_list("pk", flat=True))
    refused = [user for user in users if user.pk not in allowed]
    if refused:
        raise CampaignError(
            _(
                "%(people)s cannot sit on this jury: jurors are the living lab's staff and members of "
                "the firms the campaign is run for."
            )
            % {"people": ", ".join(sorted(str(user.email or user) for user in refused))}
        )
    competition.jury.set(users)
    audit.record(
        "pilots.competition.set_jury",
        actor=acting_user,
        obj=competition,
        organisation=competition.campaign.lab,
        data={"jurors": sorted(user.pk for user in users)},
    )
    return competition


# -------------------------------------------------------------------------------------------- ideas


def _same_title(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@transaction.atomic
def submit_idea(
    competition: Competition, person: Person | None, title: str, description: str, *, acting_user: User
) -> Idea:
    """A participant's idea, under their participant code; three at most, before the closing time."""
    competition = _lock(competition)
    invitation = require_participant(competition.campaign, person)
    if competition.status != Competition.Status.OPEN or timezone.now() >= competition.submissions_close_at:
        raise CampaignError(_("Ideas are no longer accepted: the competition closed for submissions."))
    title, description = title.strip(), description.strip()
    if not title or not description:
        raise CampaignError(_("Give your idea a title and describe it."))
    mine = list(
        competition.ideas.filter(person=person, status__in=ACTIVE_IDEAS).values_list("title", flat=True)
    )
    if any(_same_title(title, existing) for existing in mine):
        raise CampaignError(_("You already submitted an idea with this title."))
    if len(mine) >= MAX_IDEAS_PER_PERSON:
        raise CampaignError(
            _("You can submit at most %(count)s ideas. Withdraw one to submit another.")
            % {"count": MAX_IDEAS_PER_PERSON}
        )
    idea = Idea.objects.create(
        competition=competition,
        person=person,
        code=invitation.selection.code,
        title=title,
        description=description,
    )
    audit.record(
        "pilots.idea.submit",
        actor=acting_user,
        obj=idea,
        organisation=competition.campaign.lab,
        data={"competition": competition.pk, "code": idea.code},
    )
    return idea


@transaction.atomic
def withdraw_idea(idea: Idea, person: Person | None, *, acting_user: User) -> Idea:
    """The author takes their idea back, before the jury starts scoring."""
    competition = _lock(idea.competition)
    if person is None or idea.person_id != person.pk:
        raise CampaignError(_("Only the author of an idea can withdraw it."))
    if competition.status != Competition.Status.OPEN:
        raise CampaignError(_("The jury has started scoring: ideas can no longer be withdrawn."))
    changed = Idea.objects.filter(pk=idea.pk, status=Idea.Status.SUBMITTED).update(
        status=Idea.Status.WITHDRAWN
    )
    if changed != 1:
        raise CampaignError(_("This idea was already withdrawn."))
    idea.status = Idea.Status.WITHDRAWN
    audit.record(
        "pilots.idea.withdraw",
        actor=acting_user,
        obj=idea,
        organisation=competition.campaign.lab,
        data={"competition": competition.pk, "code": idea.code},
    )
    return idea


# ------------------------------------------------------------------------------------------ judging


@transaction.atomic
def start_judging(competition: Competition, *, acting_user: User | None) -> Competition:
    """Close submissions and open scoring; needs at least one criterion and one juror."""
    competition = _lock(competition)
    _require_status(
        competition, Competition.Status.OPEN, _("The jury has already started scoring this competition.")
    )
    if not competition.criteria.exists():
        raise CampaignError(_("Add at least one criterion before the jury starts scoring."))
    if not competition.jury.exists():
        raise CampaignError(_("Name at least one juror before the jury starts scoring."))
    early = timezone.now() < competition.submissions_close_at
    Competition.objects.filter(pk=competition.pk).update(status=Competition.Status.JUDGING)
    competition.status = Competition.Status.JUDGING
    audit.record(
        "pilots.competition.start_judging",
        actor=acting_user,
        obj=competition,
        organisation=competition.campaign.lab,
        data={"before_closing_time": early},
    )
    return competition


def start_due_judging() -> list[int]:
    """Start scoring competitions whose closing time has passed and that have criteria and a jury."""
    due = Competition.objects.filter(
        status=Competition.Status.OPEN,
        submissions_close_at__lte=timezone.now(),
        criteria__isnull=False,
        jury__isnull=False,
    ).distinct()
    started = []
    for competition in due:
        try:
            start_judging(competition, acting_user=None)
        except CampaignError:
            continue  # started by hand meanwhile
        started.append(competition.pk)
    return started


@transaction.atomic
def score_idea(
    idea: Idea, criterion: Criterion, juror: User, score: int, comment: str, *, acting_user: User
) -> IdeaScore:
    """A juror's score of an idea on a criterion, with a justification; changeable until the announcement."""
    competition = _lock(idea.competition)
    if not competition.jury.filter(pk=juror.pk).exists():
        raise CampaignError(_("Only members of this competition's jury can score its ideas."))
    if competition.status != Competition.Status.JUDGING:
        raise CampaignError(
            _("The winners are announced: scores can no longer change.")
            if competition.status == Competition.Status.ANNOUNCED
            else _("The jury has not started scoring yet.")
        )
    if criterion.competition_id != competition.pk:
        raise CampaignError(_("This criterion belongs to another competition."))
    if idea.status not in ACTIVE_IDEAS:
        raise CampaignError(_("This idea was withdrawn by its author."))
    if score is None or not 0 <= score <= criterion.max_score:
        raise CampaignError(
            _("A score on “%(criterion)s” is between 0 and %(max)s.")
            % {"criterion": criterion.name, "max": criterion.max_score}
        )
    comment = (comment or "").strip()
    if not comment:
        raise CampaignError(_("Justify your score in a few words."))
    row, created = IdeaScore.objects.update_or_create(
        idea=idea, criterion=criterion, juror=juror, defaults={"score": score, "comment": comment[:500]}
    )
    audit.record(
        "pilots.idea.score" if created else "pilots.idea.rescore",
        actor=acting_user,
        obj=idea,
        organisation=competition.campaign.lab,
        data={"criterion": criterion.pk, "juror": juror.pk, "score": score},
    )
    return row


# ------------------------------------------------------------------------------------------ ranking


@dataclass
class RankedIdea:
    idea: Idea
    total: Decimal | None  # 0–100, weighted over the criteria scored so far
    per_criterion: dict[int, Decimal | None] = field(default_factory=dict)  # criterion pk → 0–100
    scores_given: int = 0
    scores_needed: int = 0

    @property
    def complete(self) -> bool:
        return self.scores_needed > 0 and self.scores_given >= self.scores_needed


def _score_rows(competition: Competition, jurors: set[int]):
    return IdeaScore.objects.filter(
        idea__competition=competition, idea__status__in=ACTIVE_IDEAS, juror_id__in=jurors
    ).values_list("idea_id", "criterion_id", "juror_id", "score")


def ranking(competition: Competition) -> list[RankedIdea]:
    """Active ideas best first. Per criterion: the jurors' mean of score / highest score × 100; the total
    is the criteria's weighted mean. Incomplete ideas are ranked on what is scored; ties go to the idea
    submitted first. A fixed number of queries, whatever the number of ideas."""
    criteria = list(competition.criteria.all())
    jurors = set(competition.jury.values_list("pk", flat=True))
    ideas = list(competition.ideas.filter(status__in=ACTIVE_IDEAS).order_by("submitted_at", "pk"))
    given: dict[tuple[int, int], list[int]] = defaultdict(list)
    for idea_id, criterion_id, _juror_id, score in _score_rows(competition, jurors):
        given[idea_id, criterion_id].append(score)
    ranked = []
    for idea in ideas:
        row = RankedIdea(idea=idea, total=None, scores_needed=len(criteria) * len(jurors))
        weighted, weights = Decimal(0), Decimal(0)
        for criterion in criteria:
            scores = given.get((idea.pk, criterion.pk), [])
            row.scores_given += len(scores)
            if not scores:
                row.per_criterion[criterion.pk] = None
                continue
            mean = sum(Decimal(s) for s in scores) / len(scores) / criterion.max_score * HUNDRED
            row.per_criterion[criterion.pk] = mean.quantize(TWO_PLACES, ROUND_HALF_UP)
            weighted += mean * criterion.weight
            weights += criterion.weight
        if weights:
            row.total = (weighted / weights).quantize(TWO_PLACES, ROUND_HALF_UP)
        ranked.append(row)
    # Stable sort: ideas are already in submission order, so equal totals keep the earlier idea first.
    ranked.sort(key=lambda r: -(r.total if r.total is not None else Decimal(-1)))
    return ranked


def missing_scores(competition: Competition) -> list[str]:
    """What the jury still has to score, one line per juror and idea: "juror — idea code: criteria"."""
    criteria = list(competition.criteria.all())
    jurors = list(competition.jury.order_by("email"))
    ideas = list(competition.ideas.filter(status__in=ACTIVE_IDEAS).order_by("submitted_at", "pk"))
    done = {
        (idea_id, criterion_id, juror_id)
        for idea_id, criterion_id, juror_id, _score in _score_rows(competition, {j.pk for j in jurors})
    }
    lines = []
    for juror in jurors:
        for idea in ideas:
            names = [c.name for c in criteria if (idea.pk, c.pk, juror.pk) not in done]
            if names:
                lines.append(
                    _("%(juror)s — idea %(code)s: %(criteria)s")
                    % {"juror": juror.email or juror, "code": idea.code, "criteria": ", ".join(names)}
                )
    return lines


def _listed(lines: list[str]) -> str:
    shown = "; ".join(lines[:MISSING_SHOWN])
    if len(lines) > MISSING_SHOWN:
        shown += " " + _("(and %(count)s more)") % {"count": len(lines) - MISSING_SHOWN}
    return shown


@transaction.atomic
def announce_winners(competition: Competition, *, acting_user: User) -> list[Idea]:
    """Rank every idea, name the top ``winners_count`` winners and reward them — all or nothing."""
    from vouchers.errors import VoucherError
    from vouchers.services.ledger import issue_voucher

    competition = _lock(competition)
    _require_status(
        competition,
        Competition.Status.JUDGING,
        _("The winners are already announced.")
        if competition.status == Competition.Status.ANNOUNCED
        else _("The jury has not started scoring yet."),
    )
    if not competition.criteria.exists() or not competition.jury.exists():
        raise CampaignError(_("The competition needs at least one criterion and one juror."))
    if not competition.ideas.filter(status__in=ACTIVE_IDEAS).exists():
        raise CampaignError(_("No ideas were submitted: there is nobody to announce."))
    missing = missing_scores(competition)
    if missing:
        raise CampaignError(
            _("Every juror must score every idea on every criterion first. Missing: %(missing)s")
            % {"missing": _listed(missing)}
        )
    ranked = ranking(competition)
    winners, problems = [], []
    for position, row in enumerate(ranked, start=1):
        idea = row.idea
        idea.rank = position
        if position > competition.winners_count:
            idea.save(update_fields=["rank"])
            continue
        idea.status = Idea.Status.WINNER
        if competition.prize_programme_id is None:
            idea.prize_note = competition.prize_description[:300]
        elif idea.person_id is None:
            problems.append(
                _("idea %(code)s: its author has left the panel, so no voucher can be issued")
                % {"code": idea.code}
            )
        else:
            try:
                idea.prize_voucher = issue_voucher(
                    competition.prize_programme, idea.person, acting_user=acting_user
                )
            except VoucherError as error:
                problems.append(_("idea %(code)s: %(reason)s") % {"code": idea.code, "reason": error.message})
                continue
            idea.prize_note = _("Voucher of %(programme)s") % {"programme": competition.prize_programme}
        idea.save(update_fields=["rank", "status", "prize_voucher", "prize_note"])
        winners.append(idea)
    if problems:
        # Raising rolls back every voucher, rank and status set above: nothing is half announced.
        raise CampaignError(
            _("The winners were not announced: a voucher could not be issued for %(problems)s.")
            % {"problems": _listed(problems)}
        )
    now = timezone.now()
    Competition.objects.filter(pk=competition.pk).update(
        status=Competition.Status.ANNOUNCED, announced_at=now
    )
    competition.status, competition.announced_at = Competition.Status.ANNOUNCED, now
    for idea in winners:
        send_winner_mail.delay_on_commit(idea.pk)
    audit.record(
        "pilots.competition.announce",
        actor=acting_user,
        obj=competition,
        organisation=competition.campaign.lab,
        data={
            "winners": [idea.code for idea in winners],
            "vouchers": [idea.prize_voucher_id for idea in winners if idea.prize_voucher_id],
        },
    )
    return winners


# -------------------------------------------------------------------------------------- joint surveys


def _require_joint_survey(campaign: Campaign) -> None:
    if campaign.kind != CampaignKind.JOINT_SURVEY:
        raise CampaignError(_("Only a joint survey is run for several partner firms."))
    if campaign.status in FINISHED:
        raise CampaignError(_("This campaign is over: its partners can no longer change."))


@transaction.atomic
def add_survey_partner(campaign: Campaign, organisation: Organisation, *, acting_user: User) -> None:
    """Run the joint survey for one more firm: it sees its own and the shared questions' results."""
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    _require_joint_survey(campaign)
    if organisation.kind not in FIRM_KINDS:
        raise CampaignError(
            _("%(organisation)s is not a firm: a joint survey is run for firms only.")
            % {"organisation": organisation}
        )
    if organisation.pk == campaign.requested_by_id:
        raise CampaignError(
            _("%(organisation)s requested this survey already.") % {"organisation": organisation}
        )
    if campaign.partners.filter(pk=organisation.pk).exists():
        raise CampaignError(
            _("%(organisation)s is already a partner of this survey.") % {"organisation": organisation}
        )
    campaign.partners.add(organisation)
    audit.record(
        "pilots.campaign.add_partner",
        actor=acting_user,
        obj=campaign,
        organisation=campaign.lab,
        data={"partner": organisation.pk},
    )


@transaction.atomic
def remove_survey_partner(campaign: Campaign, organisation: Organisation, *, acting_user: User) -> None:
    """Stop running the joint survey for a firm that has no questions of its own in it."""
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign.pk)
    _require_joint_survey(campaign)
    if not campaign.partners.filter(pk=organisation.pk).exists():
        raise CampaignError(
            _("%(organisation)s is not a partner of this survey.") % {"organisation": organisation}
        )
    owned = Question.objects.filter(questionnaire__campaign=campaign, firm=organisation).count()
    if owned:
        raise CampaignError(
            _(
                "%(organisation)s has %(count)s questions of its own in this survey: remove or share "
                "them first, then remove the partner."
            )
            % {"organisation": organisation, "count": owned}
        )
    campaign.partners.remove(organisation)
    audit.record(
        "pilots.campaign.remove_partner",
        actor=acting_user,
        obj=campaign,
        organisation=campaign.lab,
        data={"partner": organisation.pk},
    )
