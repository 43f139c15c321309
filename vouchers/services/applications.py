"""End-users' applications for vouchers: the eligibility check, first-come issuance, withdrawal and the
seeded, reproducible lottery."""

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, Person, User

from ..errors import VoucherError
from ..models import Application, HouseholdType, Programme, Voucher
from ..tasks import send_not_selected
from .common import _user
from .ledger import issue_voucher

# ------------------------------------------------------------------------------------------- wording


def or_list(items) -> str:
    """``A``, ``A or B``, ``A, B or C``: a list as a sentence reads it."""
    items = [str(item) for item in items]
    if len(items) <= 1:
        return "".join(items)
    return _("%(first)s or %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}


def _household_label(value: str) -> str:
    """A household type in quotes (some labels contain commas, and lists of them are joined by commas)."""
    try:
        label = str(HouseholdType(value).label).lower()
    except ValueError:
        label = value
    return _("“%(label)s”") % {"label": label}


def _day(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")


def _moment(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def age_rule(programme: Programme) -> str | None:
    """The programme's age condition in plain words, or None."""
    low, high = programme.min_age, programme.max_age
    if low is not None and high is not None:
        return _("people aged %(min)s to %(max)s") % {"min": low, "max": high}
    if low is not None:
        return _("people aged %(min)s or over") % {"min": low}
    if high is not None:
        return _("people aged %(max)s or under") % {"max": high}
    return None


def eligibility_summary(programme: Programme) -> list[str]:
    """Who can apply, one plain sentence per rule, for the public page and the application form."""
    lines = []
    if programme.eligible_regions:
        lines.append(_("You live in %(regions)s.") % {"regions": or_list(programme.eligible_regions)})
    if programme.eligible_household_types:
        lines.append(
            _("Your household is: %(types)s.")
            % {"types": or_list(_household_label(t) for t in programme.eligible_household_types)}
        )
    ages = age_rule(programme)
    if ages:
        lines.append(_("The programme is for %(ages)s.") % {"ages": ages})
    if programme.first_time_only:
        lines.append(
            _("You have not had a voucher from %(funder)s before.") % {"funder": programme.funder.name}
        )
    if not lines:
        lines.append(_("Everyone can apply: there is no condition on region, household or age."))
    lines.append(_("One voucher per person."))
    if programme.selection == Programme.Selection.LOTTERY:
        lines.append(
            _(
                "Vouchers are drawn by lottery among the eligible applicants after applications close "
                "on %(day)s."
            )
            % {"day": _day(programme.closes_at)}
        )
    else:
        lines.append(_("Vouchers are given in the order people apply, while the budget lasts."))
    return lines


# ----------------------------------------------------------------------------------------- eligibility


def _age_on(birth_date: date, day: date) -> int:
    return Person(birth_date=birth_date).age_on(day)


def eligibility_problems(
    programme: Programme,
    person: Person,
    *,
    region: str,
    household_type: str,
    birth_date: date | None,
    at: datetime,
) -> list[str]:
    """Every reason ``person`` may not have a voucher of ``programme``, each a sentence they understand.
    An empty list means eligible."""
    problems = []
    if not programme.accepts_applications(at):
        if programme.status == Programme.Status.OPEN and at < programme.opens_at:
            problems.append(
                _("Applications open on %(day)s; please come back then.")
                % {"day": _moment(programme.opens_at)}
            )
        else:
            problems.append(_("Applications to this programme are closed."))
    if Application.objects.filter(programme=programme, applicant=person).exists():
        problems.append(_("%(person)s has already applied to this programme.") % {"person": person})
    elif Voucher.objects.filter(programme=programme, holder=person).exists():
        problems.append(
            _("%(person)s already has a voucher of this programme: one voucher per person.")
            % {"person": person}
        )
    region = (region or "").strip()
    regions = programme.eligible_regions or []
    if regions and region.casefold() not in {r.strip().casefold() for r in regions}:
        problems.append(
            _("This programme is for people living in %(regions)s; you told us you live in %(region)s.")
            % {"regions": or_list(regions), "region": region or _("no region")}
        )
    types = programme.eligible_household_types or []
    if types and household_type not in types:
        problems.append(
            _(
                "This programme is for households of these kinds: %(types)s; you told us your household "
                "is: %(yours)s."
            )
            % {
                "types": or_list(_household_label(t) for t in types),
                "yours": _household_label(household_type),
            }
        )
    ages = age_rule(programme)
    if ages:
        born = person.birth_date or birth_date
        if born is None:
            problems.append(
                _("This programme is for %(ages)s: we need the date of birth to check it.") % {"ages": ages}
            )
        else:
            age = _age_on(born, timezone.localdate(at))
            too_young = programme.min_age is not None and age < programme.min_age
            too_old = programme.max_age is not None and age > programme.max_age
            if too_young or too_old:
                problems.append(
                    _("This programme is for %(ages)s; you told us you are %(age)s.")
                    % {"ages": ages, "age": age}
                )
    if programme.first_time_only:
        earlier = (
            Voucher.objects.filter(holder=person, programme__funder_id=programme.funder_id)
            .exclude(programme=programme)
            .select_related("programme")
            .order_by("issued_at")
            .first()
        )
        if earlier is not None:
            problems.append(
                _(
                    "This programme is for people who have not had a voucher from %(funder)s before; "
                    "%(person)s had one in “%(other)s”."
                )
                % {"funder": programme.funder.name, "person": person, "other": earlier.programme.title}
            )
    return problems


# ----------------------------------------------------------------------------------------- application


def _check_may_apply(programme: Programme, person: Person, acting_user, nominated_by) -> None:
    if acting_user is None or not acting_user.is_authenticated:
        raise VoucherError(_("Please sign in to apply."))
    if nominated_by is not None:
        if nominated_by.pk != programme.operator_id or not acting_user.has_perm(
            "vouchers.run_programme", programme
        ):
            raise VoucherError(
                _("Only the staff of the organisation running the programme can nominate people.")
            )
    elif not acting_user.has_perm("vouchers.apply_for", person):
        raise VoucherError(_("You can apply only for yourself or for a person in your care."))


def _already_applied(person: Person) -> VoucherError:
    return VoucherError(
        _("%(person)s has already applied to this programme: one application per person.")
        % {"person": person}
    )


@transaction.atomic
def apply_for_voucher(
    programme: Programme,
    person: Person,
    *,
    region: str,
    postcode: str,
    household_type: str,
    birth_date: date | None = None,
    acting_user: User,
    nominated_by: Organisation | None = None,
) -> Application:
    """Record ``person``'s application; refuse it with every reason, issue a voucher at once (first come,
    first served) or keep it for the lottery. A refused application is stored and returned, not raised."""
    _check_may_apply(programme, person, acting_user, nominated_by)
    region = (region or "").strip()
    postcode = (postcode or "").strip()
    if not region or len(region) > 100:
        raise VoucherError(_("Please tell us your region (at most 100 characters)."))
    if len(postcode) > 12:
        raise VoucherError(_("A postcode has at most 12 characters."))
    if household_type not in HouseholdType.values:
        raise VoucherError(_("Please choose a household type from the list."))
    now = timezone.now()
    if birth_date is not None and (birth_date > timezone.localdate(now) or birth_date.year < 1900):
        raise VoucherError(_("Please check the date of birth."))

    # The programme lock orders this application with issuance and with the lottery draw.
    programme = (
        Programme.objects.select_for_update(no_key=True)
        .select_related("funder", "operator")
        .get(pk=programme.pk)
    )
    if Application.objects.filter(programme=programme, applicant=person).exists():
        raise _already_applied(person)
    stored_birth_date = False
    if birth_date is not None and person.birth_date is None and (programme.min_age or programme.max_age):
        stored_birth_date = (
            Person.objects.filter(pk=person.pk, birth_date__isnull=True).update(birth_date=birth_date) == 1
        )
        person.birth_date = birth_date

    application = Application(
        programme=programme,
        applicant=person,
        region=region,
        postcode=postcode,
        household_type=household_type,
        submitted_at=now,
        submitted_by=_user(acting_user),
        nominated_by=nominated_by,
    )
    problems = eligibility_problems(
        programme, person, region=region, household_type=household_type, birth_date=birth_date, at=now
    )
    if problems:
        application.status, application.refusal_reasons, application.decided_at = (
            Application.Status.REFUSED,
            problems,
            now,
        )
    elif programme.selection == Programme.Selection.FIRST_COME:
        try:
            with transaction.atomic():
                application.voucher = issue_voucher(programme, person, acting_user=acting_user)
            application.status, application.decided_at = Application.Status.ISSUED, now
        except VoucherError as refusal:  # the budget is used up
            application.status, application.refusal_reasons, application.decided_at = (
                Application.Status.REFUSED,
                [refusal.message],
                now,
            )
    else:
        application.status = Application.Status.WAITING
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        raise _already_applied(person) from None
    audit.record(
        "vouchers.application.submit",
        actor=_user(acting_user),
        obj=application,
        organisation=programme.operator,
        data={
            "programme": programme.pk,
            "status": application.status,
            "reasons": len(application.refusal_reasons),
            "voucher": application.voucher_id,
            "nominated_by": nominated_by.pk if nominated_by else None,
            "birth_date_stored": stored_birth_date,
        },
    )
    return application


@transaction.atomic
def withdraw_application(application: Application, *, acting_user: User) -> Application:
    """The applicant (or their guardian) withdraws an application still waiting for the lottery."""
    application = Application.objects.select_related("applicant", "programme").get(pk=application.pk)
    if acting_user is None or not acting_user.has_perm("vouchers.apply_for", application.applicant):
        raise VoucherError(_("Only the applicant or their guardian can withdraw this application."))
    now = timezone.now()
    withdrawn = Application.objects.filter(pk=application.pk, status=Application.Status.WAITING).update(
        status=Application.Status.WITHDRAWN, decided_at=now
    )
    if withdrawn != 1:
        raise VoucherError(_("Only an application waiting for the lottery can be withdrawn."))
    application.status, application.decided_at = Application.Status.WITHDRAWN, now
    audit.record(
        "vouchers.application.withdraw",
        actor=_user(acting_user),
        obj=application,
        organisation=application.programme.operator,
        data={"programme": application.programme_id},
    )
    return application


# ---------------------------------------------------------------------------------------------- lottery


@dataclass(frozen=True)
class LotteryResult:
    seed: str
    drawn_at: datetime
    entrants: int
    issued: int
    not_selected: int
    refused: int


def lottery_ranking(seed: str, application_ids) -> list[int]:
    """The draw: the applications' ids in ascending order, shuffled by a generator seeded with ``seed``.
    Anyone with the seed and the list of entrants gets the same ranking (first = drawn first)."""
    ranking = sorted(application_ids)
    random.Random(seed).shuffle(ranking)
    return ranking


def replay_lottery(programme: Programme) -> list[int]:
    """Recompute a drawn lottery's ranking from its stored seed and entrants, to show how people were
    chosen. Equal to the stored ranks unless something was changed after the draw."""
    seed = Programme.objects.filter(pk=programme.pk).values_list("lottery_seed", flat=True).first()
    if not seed:
        return []
    entrants = Application.objects.filter(programme=programme, lottery_rank__isnull=False).values_list(
        "pk", flat=True
    )
    return lottery_ranking(seed, entrants)


def stored_ranking(programme: Programme) -> list[int]:
    return list(
        Application.objects.filter(programme=programme, lottery_rank__isnull=False)
        .order_by("lottery_rank")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def draw_lottery(programme: Programme, *, acting_user: User, seed: str | None = None) -> LotteryResult:
    """Draw a lottery programme's vouchers once, after the window has closed: rank the waiting
    applications from a random seed (stored), issue vouchers in rank order while the budget covers one
    more, and tell the rest they were not selected."""
    if acting_user is None or not acting_user.has_perm("vouchers.run_programme", programme):
        raise VoucherError(
            _("Only the staff of the organisation running the programme can draw its lottery.")
        )
    now = timezone.now()
    programme = (
        Programme.objects.select_for_update(no_key=True).select_related("operator").get(pk=programme.pk)
    )
    if programme.selection != Programme.Selection.LOTTERY:
        raise VoucherError(_("This programme gives vouchers in the order people apply: there is no lottery."))
    if programme.lottery_drawn_at is not None:
        raise VoucherError(
            _("The lottery was already drawn on %(when)s; it is drawn only once.")
            % {"when": _moment(programme.lottery_drawn_at)}
        )
    if now < programme.closes_at:
        raise VoucherError(
            _("The lottery can be drawn only after applications close (%(when)s).")
            % {"when": _moment(programme.closes_at)}
        )
    if programme.status not in (Programme.Status.OPEN, Programme.Status.CLOSED):
        raise VoucherError(
            _("A programme that is %(status)s cannot draw its lottery.")
            % {"status": programme.get_status_display().lower()}
        )
    seed = (seed or secrets.token_hex(16)).strip()
    if not seed or len(seed) > 64:
        raise VoucherError(_("A lottery seed has 1 to 64 characters."))
    # Compare-and-set: whoever sets the draw time first draws; anyone else is refused above or here.
    claimed = Programme.objects.filter(pk=programme.pk, lottery_drawn_at__isnull=True).update(
        lottery_seed=seed, lottery_drawn_at=now
    )
    if claimed != 1:
        raise VoucherError(_("The lottery has already been drawn."))

    applications = Application.objects.filter(
        programme=programme, status=Application.Status.WAITING
    ).select_related("applicant")
    by_pk = {application.pk: application for application in applications}
    ranking = lottery_ranking(seed, by_pk)
    value = programme.voucher_value
    remaining = programme.remaining_budget()
    issued = refused = 0
    for rank, pk in enumerate(ranking, start=1):
        application = by_pk[pk]
        application.lottery_rank, application.decided_at = rank, now
        application.status = Application.Status.NOT_SELECTED
        if remaining >= value:
            try:
                with transaction.atomic():
                    application.voucher = issue_voucher(
                        programme, application.applicant, acting_user=acting_user, drawn_in_lottery=True
                    )
            except VoucherError as refusal:  # e.g. the person was given a voucher by hand meanwhile
                application.status = Application.Status.REFUSED
                application.refusal_reasons = [refusal.message]
                refused += 1
            else:
                application.status = Application.Status.ISSUED
                remaining -= value
                issued += 1
    Application.objects.bulk_update(
        by_pk.values(), ["lottery_rank", "decided_at", "status", "voucher", "refusal_reasons"]
    )
    for application in by_pk.values():
        if application.status == Application.Status.NOT_SELECTED:
            send_not_selected.delay_on_commit(application.pk)
    result = LotteryResult(
        seed=seed,
        drawn_at=now,
        entrants=len(ranking),
        issued=issued,
        not_selected=len(ranking) - issued - refused,
        refused=refused,
    )
    audit.record(
        "vouchers.programme.draw_lottery",
        actor=_user(acting_user),
        obj=programme,
        organisation=programme.operator,
        data={
            "seed": seed,
            "entrants": result.entrants,
            "issued": issued,
            "not_selected": result.not_selected,
            "refused": refused,
        },
    )
    return result
