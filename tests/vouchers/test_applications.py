"""Applying for a voucher: every eligibility reason, one application per person, first-come issuance until
the budget runs out, withdrawal, the seeded lottery, and the applicant's and operator's pages."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import AuditEntry, Guardianship, Organisation, Person
from tests.concurrency import on_postgresql, run_together
from vouchers import services, tasks
from vouchers.errors import VoucherError
from vouchers.factories import ProgrammeFactory, VoucherFactory
from vouchers.models import Application, HouseholdType, Programme, Voucher
from vouchers.services.applications import lottery_ranking, stored_ranking

NOW = timezone.now


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def born_years_ago(years: int, days: int = 10) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=days)


@pytest.fixture
def breton_programme(programme):
    """Only households in Finistère or Morbihan, families or single parents, aged 18 to 64."""
    programme.eligible_regions = ["Finistère", "Morbihan"]
    programme.eligible_household_types = [HouseholdType.FAMILY, HouseholdType.SINGLE_PARENT]
    programme.min_age, programme.max_age = 18, 64
    programme.save()
    return programme


@pytest.fixture
def applicant(participant):
    person = participant.person
    person.birth_date = born_years_ago(40)
    person.save()
    return person


def apply(programme, person, user, **overrides):
    data = {"region": "Finistère", "postcode": "29200", "household_type": HouseholdType.FAMILY}
    data.update(overrides)
    return services.apply_for_voucher(programme, person, acting_user=user, **data)


def problems(programme, person, **overrides):
    data = {"region": "Finistère", "household_type": HouseholdType.FAMILY, "birth_date": None, "at": NOW()}
    data.update(overrides)
    return services.eligibility_problems(programme, person, **data)


@pytest.fixture
def lottery(cluster, agency):
    """A lottery programme whose window has just closed: budget for exactly three 500 EUR vouchers."""
    return ProgrammeFactory(
        title="Solar lottery",
        operator=cluster,
        funder=agency,
        selection=Programme.Selection.LOTTERY,
        total_budget=Decimal("1500.00"),
        opens_at=NOW() - timedelta(days=30),
        closes_at=NOW() + timedelta(days=1),
    )


def waiting_applicants(programme, count: int) -> list[Application]:
    applications = []
    for n in range(count):
        user = UserFactory(email=f"applicant{n}@example.org")
        person = PersonFactory(user=user, full_name=f"Applicant {n}")
        applications.append(apply(programme, person, user))
    assert all(a.status == Application.Status.WAITING for a in applications)
    return applications


def close_window(programme):
    Programme.objects.filter(pk=programme.pk).update(closes_at=NOW() - timedelta(minutes=1))
    programme.refresh_from_db()


# ----------------------------------------------------------------------------------------- eligibility


def test_an_eligible_person_has_no_problems(breton_programme, applicant):
    assert problems(breton_programme, applicant) == []


def test_a_region_outside_the_programme_is_explained_with_both_regions(breton_programme, applicant):
    assert problems(breton_programme, applicant, region="Loire-Atlantique") == [
        "This programme is for people living in Finistère or Morbihan; you told us you live in "
        "Loire-Atlantique."
    ]


def test_the_region_matches_whatever_the_case_and_spaces(breton_programme, applicant):
    assert problems(breton_programme, applicant, region="  morbihan ") == []


def test_a_household_type_outside_the_programme_is_explained(breton_programme, applicant):
    [reason] = problems(breton_programme, applicant, household_type=HouseholdType.SINGLE)
    assert "“adults with children” or “single parent with children”" in reason
    assert "you told us your household is: “one adult”" in reason


def test_too_young_and_too_old_are_refused_with_the_age(breton_programme, applicant):
    applicant.birth_date = born_years_ago(17)
    assert problems(breton_programme, applicant) == [
        "This programme is for people aged 18 to 64; you told us you are 17."
    ]
    applicant.birth_date = born_years_ago(65)
    assert problems(breton_programme, applicant) == [
        "This programme is for people aged 18 to 64; you told us you are 65."
    ]


def test_the_age_counts_on_the_day_of_the_application(breton_programme, applicant):
    today = timezone.localdate()
    applicant.birth_date = today.replace(year=today.year - 18) + timedelta(days=1)  # 18 tomorrow
    assert problems(breton_programme, applicant)
    assert problems(breton_programme, applicant, at=NOW() + timedelta(days=2)) == []


def test_an_age_rule_needs_a_date_of_birth(breton_programme, applicant):
    applicant.birth_date = None
    assert problems(breton_programme, applicant) == [
        "This programme is for people aged 18 to 64: we need the date of birth to check it."
    ]
    assert problems(breton_programme, applicant, birth_date=born_years_ago(30)) == []


def test_first_time_only_refuses_a_person_who_had_a_voucher_of_the_same_funder(programme, applicant, agency):
    programme.first_time_only = True
    programme.save()
    VoucherFactory(programme=ProgrammeFactory(title="Warm homes 2025", funder=agency), holder=applicant)
    VoucherFactory(programme=ProgrammeFactory(title="Other funder's programme"), holder=PersonFactory())
    [reason] = problems(programme, applicant)
    assert "not had a voucher from Bretagne Innovation Agency before" in reason
    assert "“Warm homes 2025”" in reason


def test_first_time_only_ignores_vouchers_of_other_funders(programme, applicant):
    programme.first_time_only = True
    programme.save()
    VoucherFactory(programme=ProgrammeFactory(title="Someone else's"), holder=applicant)
    assert problems(programme, applicant) == []


def test_a_closed_window_is_a_reason(programme, applicant):
    assert problems(programme, applicant, at=programme.closes_at) == [
        "Applications to this programme are closed."
    ]


def test_several_reasons_are_all_given_at_once(breton_programme, applicant):
    applicant.birth_date = born_years_ago(70)
    reasons = problems(breton_programme, applicant, region="Gironde", household_type=HouseholdType.COUPLE)
    assert len(reasons) == 3
    assert (
        "Gironde" in reasons[0]
        and "“two or more adults, no children”" in reasons[1]
        and "you are 70" in reasons[2]
    )


# ------------------------------------------------------------------------------------- applying


def test_a_first_come_application_issues_a_voucher_at_once_and_mails_it(
    programme, applicant, participant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = apply(programme, applicant, participant)

    assert application.status == Application.Status.ISSUED
    assert application.voucher.holder == applicant
    assert programme.remaining_budget() == Decimal("9500.00")
    assert [m.to for m in mail.outbox] == [[participant.email]]
    assert AuditEntry.objects.filter(action="vouchers.application.submit").count() == 1


def test_a_refused_application_is_stored_with_every_reason_and_issues_nothing(
    breton_programme, applicant, participant
):
    application = apply(breton_programme, applicant, participant, region="Gironde", household_type="single")

    application.refresh_from_db()
    assert application.status == Application.Status.REFUSED
    assert len(application.refusal_reasons) == 2
    assert not Voucher.objects.exists()


def test_one_application_per_person_per_programme(programme, applicant, participant):
    apply(programme, applicant, participant)
    with pytest.raises(VoucherError, match="already applied"):
        apply(programme, applicant, participant)
    assert Application.objects.count() == 1 and Voucher.objects.count() == 1


def test_a_refused_person_cannot_apply_again_either(breton_programme, applicant, participant):
    apply(breton_programme, applicant, participant, region="Gironde")
    with pytest.raises(VoucherError, match="already applied"):
        apply(breton_programme, applicant, participant)


def test_when_the_budget_is_used_up_the_application_is_refused_with_that_reason(cluster, agency, participant):
    programme = ProgrammeFactory(operator=cluster, funder=agency, total_budget=Decimal("1000.00"))
    VoucherFactory(programme=programme)
    VoucherFactory(programme=programme)

    application = apply(programme, participant.person, participant)

    assert application.status == Application.Status.REFUSED
    assert application.refusal_reasons == [
        "The programme's budget is fully committed: a voucher is worth 500.00 EUR and only 0.00 EUR is left."
    ]
    assert programme.remaining_budget() == Decimal("0.00")


def test_a_date_of_birth_given_for_an_age_rule_is_kept_on_the_person(breton_programme, participant):
    person = participant.person
    Person.objects.filter(pk=person.pk).update(birth_date=None)
    person.refresh_from_db()

    application = apply(breton_programme, person, participant, birth_date=born_years_ago(30))

    assert application.status == Application.Status.ISSUED
    person.refresh_from_db()
    assert person.birth_date == born_years_ago(30)


def test_nobody_applies_for_a_stranger(programme, participant, holder):
    with pytest.raises(VoucherError, match="only for yourself"):
        apply(programme, holder, participant)
    assert not Application.objects.exists()


def test_a_guardian_applies_for_a_ward(programme, participant):
    child = PersonFactory(user=None, full_name="Lou Le Goff", birth_date=born_years_ago(12))
    Guardianship.objects.create(guardian=participant.person, ward=child, relationship="parent")
    application = apply(programme, child, participant)
    assert application.status == Application.Status.ISSUED and application.voucher.holder == child


def test_the_operators_staff_can_nominate_a_person_others_cannot(programme, holder, staff_user, cluster):
    application = apply(programme, holder, staff_user, nominated_by=cluster)
    assert application.status == Application.Status.ISSUED and application.nominated_by == cluster

    other_cluster = OrganisationFactory(kind=Organisation.Kind.CLUSTER)
    with pytest.raises(VoucherError, match="nominate"):
        apply(programme, PersonFactory(), staff_user, nominated_by=other_cluster)


def test_a_lottery_application_waits(lottery, participant):
    application = apply(lottery, participant.person, participant)
    assert application.status == Application.Status.WAITING
    assert not Voucher.objects.exists()


def test_withdrawing_a_waiting_application(lottery, participant):
    application = apply(lottery, participant.person, participant)
    services.withdraw_application(application, acting_user=participant)
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    with pytest.raises(VoucherError, match="Only an application waiting"):
        services.withdraw_application(application, acting_user=participant)


def test_only_the_applicant_withdraws(lottery, participant, staff_user):
    application = apply(lottery, participant.person, participant)
    with pytest.raises(VoucherError):
        services.withdraw_application(application, acting_user=staff_user)
    application.refresh_from_db()
    assert application.status == Application.Status.WAITING


# ---------------------------------------------------------------------------------------------- lottery


def test_the_lottery_is_refused_before_the_window_closes(lottery, staff_user):
    waiting_applicants(lottery, 2)
    with pytest.raises(VoucherError, match="after applications close"):
        services.draw_lottery(lottery, acting_user=staff_user)
    lottery.refresh_from_db()
    assert lottery.lottery_drawn_at is None and not Voucher.objects.exists()


def test_the_lottery_issues_within_the_budget_and_tells_the_rest_they_were_not_selected(lottery, staff_user):
    applications = waiting_applicants(lottery, 5)
    close_window(lottery)

    result = services.draw_lottery(lottery, acting_user=staff_user, seed="demo-seed")

    assert (result.entrants, result.issued, result.not_selected) == (5, 3, 2)
    assert lottery.committed_budget() == Decimal("1500.00") <= lottery.total_budget
    ranked = Application.objects.filter(pk__in=[a.pk for a in applications]).order_by("lottery_rank")
    assert [a.lottery_rank for a in ranked] == [1, 2, 3, 4, 5]
    assert [a.status for a in ranked] == ["issued"] * 3 + ["not_selected"] * 2
    assert all(a.voucher is not None for a in ranked[:3])
    lottery.refresh_from_db()
    assert lottery.lottery_seed == "demo-seed" and lottery.lottery_drawn_at is not None


def test_the_lottery_mails_the_vouchers_drawn_and_tells_the_others_once(
    lottery, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    waiting_applicants(lottery, 5)
    close_window(lottery)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.draw_lottery(lottery, acting_user=staff_user, seed="demo-seed")

    drawn = [m for m in mailoutbox if m.attachments]
    not_drawn = [m for m in mailoutbox if not m.attachments]
    assert len(drawn) == 3 and len(not_drawn) == 2
    losers = Application.objects.filter(programme=lottery, status=Application.Status.NOT_SELECTED)
    assert sorted(m.to[0] for m in not_drawn) == sorted(a.applicant.user.email for a in losers)
    assert all("was not drawn" in m.body and "/vouchers/applications/" in m.body for m in not_drawn)
    # A retried task sends nothing more.
    assert not any(tasks.send_not_selected(a.pk) for a in losers)
    assert len(mailoutbox) == 5


def test_the_lottery_follows_its_seed_and_replaying_it_matches_the_stored_ranks(lottery, staff_user):
    applications = waiting_applicants(lottery, 6)
    close_window(lottery)

    services.draw_lottery(lottery, acting_user=staff_user, seed="0123456789abcdef")

    ids = sorted(a.pk for a in applications)
    assert stored_ranking(lottery) == lottery_ranking("0123456789abcdef", ids)
    assert services.replay_lottery(lottery) == stored_ranking(lottery)
    assert lottery_ranking("another seed", ids) != lottery_ranking("0123456789abcdef", ids)


def test_the_lottery_draws_a_random_seed_when_none_is_given(lottery, staff_user):
    waiting_applicants(lottery, 2)
    close_window(lottery)
    result = services.draw_lottery(lottery, acting_user=staff_user)
    assert len(result.seed) == 32
    assert services.replay_lottery(lottery) == stored_ranking(lottery)


def test_the_lottery_is_drawn_only_once(lottery, staff_user):
    waiting_applicants(lottery, 2)
    close_window(lottery)
    services.draw_lottery(lottery, acting_user=staff_user, seed="first")
    with pytest.raises(VoucherError, match="already drawn"):
        services.draw_lottery(lottery, acting_user=staff_user, seed="second")
    lottery.refresh_from_db()
    assert lottery.lottery_seed == "first" and Voucher.objects.count() == 2


def test_withdrawn_applications_are_not_in_the_draw(lottery, staff_user):
    first, _second = waiting_applicants(lottery, 2)
    services.withdraw_application(first, acting_user=first.applicant.user)
    close_window(lottery)
    result = services.draw_lottery(lottery, acting_user=staff_user)
    assert result.entrants == 1
    first.refresh_from_db()
    assert first.status == Application.Status.WITHDRAWN and first.lottery_rank is None


def test_only_the_operator_draws_the_lottery(lottery, funder, participant):
    close_window(lottery)
    for user in (funder, participant):
        with pytest.raises(VoucherError, match="Only the staff"):
            services.draw_lottery(lottery, acting_user=user)


def test_a_first_come_programme_has_no_lottery(programme, staff_user):
    close_window(programme)
    with pytest.raises(VoucherError, match="no lottery"):
        services.draw_lottery(programme, acting_user=staff_user)


# ------------------------------------------------------------------------------------------------ pages


def test_the_application_form_issues_a_voucher_and_shows_the_application(programme, participant):
    client = signed_in(participant)
    data = {"region": "Finistère", "postcode": "29200", "household_type": "family"}

    response = client.post(reverse("voucher_apply", args=[programme.slug]), data)

    application = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "voucher_application", args=[application.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "Voucher issued" in page and reverse("voucher_detail", args=[application.voucher_id]) in page


def test_a_double_submit_creates_one_application(programme, participant):
    client = signed_in(participant)
    data = {"region": "Finistère", "postcode": "29200", "household_type": "family"}
    first = client.post(reverse("voucher_apply", args=[programme.slug]), data)
    second = client.post(reverse("voucher_apply", args=[programme.slug]), data)
    assert Application.objects.count() == 1 and Voucher.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_form_offers_the_programmes_regions_and_asks_a_missing_date_of_birth(
    breton_programme, participant
):
    Person.objects.filter(pk=participant.person.pk).update(birth_date=None)
    client = signed_in(participant)

    response = client.post(
        reverse("voucher_apply", args=[breton_programme.slug]),
        {"region": "Morbihan", "postcode": "56000", "household_type": "family"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="Morbihan" selected>' in html and "Another region" in html
    assert "Please give the date of birth: this programme has an age limit." in html
    assert not Application.objects.exists()


def test_another_region_is_refused_with_the_region_named(breton_programme, participant):
    client = signed_in(participant)
    response = client.post(
        reverse("voucher_apply", args=[breton_programme.slug]),
        {"region": "__other__", "other_region": "Gironde", "postcode": "33000", "household_type": "family"},
        follow=True,
    )
    html = response.content.decode()
    assert "Not eligible" in html
    assert "you told us you live in Gironde." in html


def test_a_refused_application_page_lists_every_reason(breton_programme, participant):
    application = apply(
        breton_programme, participant.person, participant, region="Gironde", household_type="single"
    )
    html = signed_in(participant).get(reverse("voucher_application", args=[application.pk])).content.decode()
    for reason in application.refusal_reasons:
        assert f"<li>{reason}</li>" in html.replace("&#x27;", "'")


def test_another_participant_cannot_open_an_application(programme, participant):
    application = apply(programme, participant.person, participant)
    neighbour = PersonFactory(user=UserFactory(email="neighbour@example.org")).user
    response = signed_in(neighbour).get(reverse("voucher_application", args=[application.pk]))
    assert response.status_code == 403


def test_a_closed_programme_shows_no_form(programme, participant):
    close_window(programme)
    response = signed_in(participant).get(reverse("voucher_apply", args=[programme.slug]))
    assert "Applications are closed" in response.content.decode() and response.context["is_open"] is False
    signed_in(participant).post(
        reverse("voucher_apply", args=[programme.slug]),
        {"region": "Finistère", "postcode": "29200", "household_type": "family"},
    )
    assert not Application.objects.exists()


def test_the_workspace_lists_waiting_and_refused_applications(breton_programme, lottery, participant):
    refused = apply(breton_programme, participant.person, participant, region="Gironde")
    waiting = apply(lottery, participant.person, participant)
    html = signed_in(participant).get(reverse("participant_workspace")).content.decode()
    assert reverse("voucher_application", args=[refused.pk]) in html
    assert reverse("voucher_application", args=[waiting.pk]) in html


def test_the_operator_sees_counts_draws_the_lottery_and_sees_it_verified(lottery, staff_user):
    waiting_applicants(lottery, 4)
    close_window(lottery)
    client = signed_in(staff_user)
    url = reverse("programme_applications", args=[lottery.slug])
    assert "Draw the lottery" in client.get(url).content.decode()

    client.post(reverse("programme_lottery_draw", args=[lottery.slug]), {"confirm": "on"})

    response = client.get(url)
    html = response.content.decode()
    lottery.refresh_from_db()
    assert lottery.lottery_seed in html
    assert response.context["replay_matches"] is True
    assert "Repeating the draw from the seed gives the same ranking." in html
    assert dict(response.context["counts"])["Voucher issued"] == 3
    assert "Draw the lottery" not in html


def test_the_lottery_needs_the_confirmation_box(lottery, staff_user):
    waiting_applicants(lottery, 1)
    close_window(lottery)
    signed_in(staff_user).post(reverse("programme_lottery_draw", args=[lottery.slug]), {})
    lottery.refresh_from_db()
    assert lottery.lottery_drawn_at is None


def test_the_operators_list_filters_by_status(lottery, staff_user, participant):
    waiting_applicants(lottery, 2)
    services.withdraw_application(apply(lottery, participant.person, participant), acting_user=participant)
    response = signed_in(staff_user).get(
        reverse("programme_applications", args=[lottery.slug]), {"status": "withdrawn"}
    )
    assert [a.applicant for a in response.context["applications"]] == [participant.person]


def test_people_outside_the_operator_cannot_see_the_programmes_applications(lottery, funder, participant):
    url = reverse("programme_applications", args=[lottery.slug])
    assert signed_in(funder).get(url).status_code == 403
    assert signed_in(participant).get(url).status_code == 403
    assert (
        signed_in(participant)
        .post(reverse("programme_lottery_draw", args=[lottery.slug]), {"confirm": "on"})
        .status_code
        == 403
    )


# ------------------------------------------------------------------------------------------------ admin


def test_the_admin_saves_eligibility_rules_one_region_per_line(staff_user, programme):
    client = signed_in(staff_user)
    edit = reverse("programme:edit", args=[programme.pk])
    form = client.get(edit).context["form"]
    data = {
        name: field.value()
        for name, field in ((n, form[n]) for n in form.fields)
        if field.value() is not None
    }
    data.update(
        {
            "eligible_regions": "Finistère\r\n\r\nMorbihan\r\nfinistère\r\n",
            "eligible_household_types": ["family", "single_parent"],
            "min_age": "18",
            "max_age": "64",
            "first_time_only": "on",
            "selection": "lottery",
            "reminder_days": "7",
        }
    )
    data.pop("feedback_required", None)
    for key in ("opens_at", "closes_at"):
        data[key] = timezone.localtime(getattr(programme, key)).strftime("%Y-%m-%d %H:%M")

    response = client.post(edit, data)

    assert response.status_code == 302, response.context["form"].errors
    programme.refresh_from_db()
    assert programme.eligible_regions == ["Finistère", "Morbihan"]
    assert programme.eligible_household_types == ["family", "single_parent"]
    assert (programme.min_age, programme.max_age, programme.first_time_only) == (18, 64, True)
    assert (programme.selection, programme.feedback_required, programme.reminder_days) == (
        "lottery",
        False,
        7,
    )
    assert "Finistère\nMorbihan" in client.get(edit).content.decode()


def test_staff_see_applications_in_the_admin_without_names(staff_user, lottery, participant):
    application = apply(lottery, participant.person, participant)
    response = signed_in(staff_user).get(reverse("application:index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"person #{application.applicant_id}" in html and participant.person.full_name not in html


def test_a_guardian_chooses_a_ward_on_the_form_and_each_person_applies_once(programme, participant):
    child = PersonFactory(user=None, full_name="Lou Le Goff", birth_date=born_years_ago(12))
    Guardianship.objects.create(guardian=participant.person, ward=child, relationship="parent")
    client = signed_in(participant)
    url = reverse("voucher_apply", args=[programme.slug])
    data = {"region": "Finistère", "postcode": "29200", "household_type": "family"}
    assert "Myself (" in client.get(url).content.decode()

    client.post(url, {**data, "for_person": str(child.pk)})
    client.post(url, {**data, "for_person": str(child.pk)})  # a double submit

    assert [a.applicant for a in Application.objects.all()] == [child]
    form = client.get(url).context["form"]  # only the guardian is left to apply: no choice to make
    assert form.candidates == [participant.person] and "for_person" not in form.fields


def test_the_operators_list_asks_the_same_number_of_queries_for_2_or_10_applications(lottery, staff_user):
    client = signed_in(staff_user)
    url = reverse("programme_applications", args=[lottery.slug])
    client.get(url)  # warm caches

    def queries_with(count: int) -> int:
        for n in range(Application.objects.count(), count):
            user = UserFactory(email=f"more{n}@example.org")
            apply(lottery, PersonFactory(user=user), user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert len(response.context["applications"]) == count
        return len(queries)

    assert queries_with(2) == queries_with(10)


# ------------------------------------------------------------------------ concurrency (PostgreSQL only)


@on_postgresql
def test_the_same_application_sent_at_once_is_recorded_once(transactional_db, programme, participant):
    results = run_together(lambda i: apply(programme, participant.person, participant), 5)

    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert all(isinstance(r, (Application, VoucherError)) for r in results), results
    assert Application.objects.count() == 1 and Voucher.objects.count() == 1


@on_postgresql
def test_two_staff_drawing_the_lottery_at_once_draw_it_once(transactional_db, lottery, staff_user):
    waiting_applicants(lottery, 6)
    close_window(lottery)

    results = run_together(
        lambda i: services.draw_lottery(lottery, acting_user=staff_user, seed=f"seed-{i}"), 4
    )

    draws = [r for r in results if not isinstance(r, Exception)]
    assert len(draws) == 1 and all(isinstance(r, VoucherError) for r in results if r not in draws), results
    lottery.refresh_from_db()
    assert lottery.lottery_seed == draws[0].seed
    assert Voucher.objects.filter(programme=lottery).count() == 3
    assert lottery.committed_budget() == lottery.total_budget
