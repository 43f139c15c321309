"""Idea competitions: ideas, the jury, the ranking, the announcement, its rewards; joint-survey partners."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, OrganisationFactory, PersonFactory, UserFactory
from livinglab.models import AuditEntry, Organisation, Role
from pilots.errors import CampaignError
from pilots.factories import CampaignFactory, QuestionFactory, QuestionnaireFactory
from pilots.models import Competition, Idea, IdeaScore
from pilots.services import competitions as services
from vouchers.models import Voucher


@pytest.fixture
def contest(cluster, sme, panel, purposes):
    """A running idea competition of ``sme`` at ``cluster``, recruiting from ``panel``."""
    c = CampaignFactory(
        lab=cluster,
        requested_by=sme,
        panel=panel,
        title="Ideas for ageing at home",
        kind="competition",
        status="running",
    )
    c.required_purposes.add(purposes["participation"])
    return c


@pytest.fixture
def competition(contest, staff_user):
    return services.set_up_competition(
        contest,
        "How could a sensor help someone live at home longer?",
        timezone.now() + timedelta(days=14),
        2,
        prize_description="A weekend at the seaside",
        acting_user=staff_user,
    )


@pytest.fixture
def entrant(contest, take_part):
    """Make a participant of ``contest``."""

    def _entrant(**profile):
        return take_part(of=contest, **profile)

    return _entrant


@pytest.fixture
def other_firm_user(other_sme):
    user = MembershipFactory(
        organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory(email="loire@example.org")
    ).user
    PersonFactory(user=user)
    return user


def submit(competition, person, title="Smart doormat", description="Notices a fall at the door."):
    return services.submit_idea(competition, person, title, description, acting_user=person.user)


def judging(competition, staff_user, jurors, criteria=(("Usefulness", "1", 10),)):
    """Criteria and a jury, then close submissions."""
    made = [
        services.save_criterion(competition, name, Decimal(weight), top, acting_user=staff_user)
        for name, weight, top in criteria
    ]
    services.set_jury(competition, jurors, acting_user=staff_user)
    services.start_judging(competition, acting_user=staff_user)
    competition.refresh_from_db()
    return made


def score_all(competition, jurors, value=7):
    for idea in competition.ideas.filter(status="submitted"):
        for criterion in competition.criteria.all():
            for juror in jurors:
                services.score_idea(idea, criterion, juror, value, "Clear and useful.", acting_user=juror)


# ------------------------------------------------------------------------------------------- set-up


def test_set_up_competition_refuses_a_campaign_that_is_not_a_competition(campaign, staff_user):
    with pytest.raises(CampaignError, match="idea competition"):
        services.set_up_competition(
            campaign,
            "Ideas?",
            timezone.now() + timedelta(days=3),
            1,
            prize_description="A mug",
            acting_user=staff_user,
        )
    assert not Competition.objects.exists()


def test_set_up_competition_cannot_change_once_judging_started(competition, staff_user, entrant):
    submit(competition, entrant())
    judging(competition, staff_user, [staff_user])
    with pytest.raises(CampaignError, match="no longer be changed"):
        services.set_up_competition(
            competition.campaign,
            "Other",
            timezone.now() + timedelta(days=3),
            5,
            prize_description="x",
            acting_user=staff_user,
        )
    competition.refresh_from_db()
    assert competition.winners_count == 2
    assert AuditEntry.objects.filter(action="pilots.competition.create").count() == 1


# -------------------------------------------------------------------------------------------- ideas


def test_submit_idea_refuses_someone_who_is_not_a_participant(competition, member):
    outsider = member().person  # in the panel, never invited to this competition
    with pytest.raises(CampaignError, match="accepted an invitation"):
        submit(competition, outsider)
    assert not competition.ideas.exists()


def test_submit_idea_is_filed_under_the_participant_code(competition, entrant):
    person = entrant()
    idea = submit(competition, person)
    assert idea.code == person.code
    assert AuditEntry.objects.filter(action="pilots.idea.submit", object_id=str(idea.pk)).exists()


def test_submit_idea_refuses_after_the_closing_time(competition, entrant):
    person = entrant()
    Competition.objects.filter(pk=competition.pk).update(submissions_close_at=timezone.now() - timedelta(1))
    competition.refresh_from_db()
    with pytest.raises(CampaignError, match="no longer accepted"):
        submit(competition, person)
    assert not competition.ideas.exists()


def test_submit_idea_refuses_a_fourth_idea_and_a_repeated_title(competition, entrant):
    person = entrant()
    for title in ("Smart doormat", "Talking kettle", "Night light path"):
        submit(competition, person, title)
    with pytest.raises(CampaignError, match="at most 3"):
        submit(competition, person, "Fourth idea")
    services.withdraw_idea(competition.ideas.get(title="Talking kettle"), person, acting_user=person.user)
    with pytest.raises(CampaignError, match="already submitted an idea with this title"):
        submit(competition, person, "  smart   DOORMAT ")
    submit(competition, person, "Fourth idea")  # a withdrawn idea frees its place
    assert competition.ideas.filter(person=person, status="submitted").count() == 3


def test_withdraw_idea_only_by_its_author_and_before_judging(competition, entrant, staff_user):
    author, someone_else = entrant(), entrant()
    idea = submit(competition, author)
    with pytest.raises(CampaignError, match="Only the author"):
        services.withdraw_idea(idea, someone_else, acting_user=someone_else.user)
    other = submit(competition, author, "Second")
    judging(competition, staff_user, [staff_user])
    with pytest.raises(CampaignError, match="no longer be withdrawn"):
        services.withdraw_idea(other, author, acting_user=author.user)
    idea.refresh_from_db()
    assert idea.status == Idea.Status.SUBMITTED


# -------------------------------------------------------------------------------------------- jury


def test_set_jury_refuses_someone_outside_the_lab_and_the_firms(
    competition, staff_user, sme_admin, other_firm_user
):
    with pytest.raises(CampaignError, match=r"loire@example\.org cannot sit on this jury"):
        services.set_jury(competition, [staff_user, other_firm_user], acting_user=staff_user)
    assert not competition.jury.exists()
    services.set_jury(competition, [staff_user, sme_admin], acting_user=staff_user)
    assert set(competition.jury.all()) == {staff_user, sme_admin}


def test_start_judging_needs_a_criterion_and_a_juror(competition, staff_user):
    with pytest.raises(CampaignError, match="criterion"):
        services.start_judging(competition, acting_user=staff_user)
    services.save_criterion(competition, "Usefulness", Decimal("1"), 10, acting_user=staff_user)
    with pytest.raises(CampaignError, match="juror"):
        services.start_judging(competition, acting_user=staff_user)
    services.set_jury(competition, [staff_user], acting_user=staff_user)
    assert services.start_judging(competition, acting_user=staff_user).status == "judging"


def test_score_idea_refuses_an_outsider_an_out_of_range_score_and_a_missing_comment(
    competition, entrant, staff_user, sme_admin
):
    idea = submit(competition, entrant())
    (criterion,) = judging(competition, staff_user, [staff_user])
    with pytest.raises(CampaignError, match="Only members of this competition's jury"):
        services.score_idea(idea, criterion, sme_admin, 5, "Fine", acting_user=sme_admin)
    with pytest.raises(CampaignError, match="between 0 and 10"):
        services.score_idea(idea, criterion, staff_user, 11, "Great", acting_user=staff_user)
    with pytest.raises(CampaignError, match="Justify"):
        services.score_idea(idea, criterion, staff_user, 6, "  ", acting_user=staff_user)
    assert not IdeaScore.objects.exists()
    services.score_idea(idea, criterion, staff_user, 6, "Solid", acting_user=staff_user)
    services.score_idea(idea, criterion, staff_user, 8, "On reflection, better", acting_user=staff_user)
    assert IdeaScore.objects.get().score == 8  # edited, not duplicated


# ----------------------------------------------------------------------------------------- ranking


def test_ranking_orders_ideas_by_weighted_normalised_scores_with_ties_to_the_earlier_idea(
    competition, entrant, staff_user, sme_admin
):
    x, y, z, w = (submit(competition, entrant(), title) for title in "XYZW")
    feasible, fun = judging(
        competition, staff_user, [staff_user, sme_admin], criteria=(("Feasible", "2", 10), ("Fun", "1", 5))
    )
    given = {  # idea: (Feasible by each juror, Fun by each juror)
        x: ((8, 6), (5, 5)),
        y: ((10, 10), (1, 2)),
        z: ((9, 7), (2, 3)),
        w: ((7, 9), (3, 2)),
    }
    for idea, (feasible_scores, fun_scores) in given.items():
        for juror, a, b in zip((staff_user, sme_admin), feasible_scores, fun_scores, strict=True):
            services.score_idea(idea, feasible, juror, a, "ok", acting_user=juror)
            services.score_idea(idea, fun, juror, b, "ok", acting_user=juror)
    # By hand: per criterion the jurors' mean of score / max × 100, then weighted (2 and 1) mean.
    # X: Feasible (80 + 60) / 2 = 70, Fun (100 + 100) / 2 = 100 → (2×70 + 100) / 3 = 80.00
    # Y: Feasible 100, Fun (20 + 40) / 2 = 30                  → (200 + 30) / 3 = 76.67
    # Z: Feasible (90 + 70) / 2 = 80, Fun (40 + 60) / 2 = 50   → (160 + 50) / 3 = 70.00
    # W: Feasible (70 + 90) / 2 = 80, Fun (60 + 40) / 2 = 50   → 70.00, a tie: Z was submitted first.
    ranked = services.ranking(competition)
    assert [(r.idea.title, r.total) for r in ranked] == [
        ("X", Decimal("80.00")),
        ("Y", Decimal("76.67")),
        ("Z", Decimal("70.00")),
        ("W", Decimal("70.00")),
    ]
    assert ranked[1].per_criterion == {feasible.pk: Decimal("100.00"), fun.pk: Decimal("30.00")}
    assert all(r.complete for r in ranked)


def test_ranking_flags_ideas_the_jury_has_not_fully_scored(competition, entrant, staff_user, sme_admin):
    idea = submit(competition, entrant())
    (criterion,) = judging(competition, staff_user, [staff_user, sme_admin])
    services.score_idea(idea, criterion, staff_user, 5, "ok", acting_user=staff_user)
    (row,) = services.ranking(competition)
    assert not row.complete and (row.scores_given, row.scores_needed) == (1, 2)
    assert row.total == Decimal("50.00")


# ------------------------------------------------------------------------------------- announcement


def test_announce_winners_refuses_while_scores_are_missing_and_lists_them(
    competition, entrant, staff_user, sme_admin
):
    first, second = submit(competition, entrant(), "A"), submit(competition, entrant(), "B")
    judging(competition, staff_user, [staff_user, sme_admin])
    score_all(competition, [staff_user])
    with pytest.raises(CampaignError) as refused:
        services.announce_winners(competition, acting_user=staff_user)
    message = str(refused.value)
    assert f"sme@example.org — idea {first.code}: Usefulness" in message
    assert f"sme@example.org — idea {second.code}: Usefulness" in message
    assert "staff@example.org" not in message
    competition.refresh_from_db()
    assert competition.status == "judging"
    assert not competition.ideas.filter(rank__isnull=False).exists()


def test_announce_winners_without_a_programme_records_the_prize_and_mails_winners(
    competition, entrant, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    people = [entrant() for _ in range(3)]
    ideas = [submit(competition, person, f"Idea {n}") for n, person in enumerate(people)]
    (criterion,) = judging(competition, staff_user, [staff_user])
    for idea, value in zip(ideas, (4, 9, 6), strict=True):
        services.score_idea(idea, criterion, staff_user, value, "ok", acting_user=staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        winners = services.announce_winners(competition, acting_user=staff_user)
    with django_capture_on_commit_callbacks(execute=True):  # a repeated task mails nobody twice
        from pilots.tasks.competitions import send_winner_mail

        assert send_winner_mail(winners[0].pk) is False
    assert [w.title for w in winners] == ["Idea 1", "Idea 2"]
    ranks = dict(competition.ideas.values_list("title", "rank"))
    assert ranks == {"Idea 1": 1, "Idea 2": 2, "Idea 0": 3}
    assert set(competition.ideas.filter(status="winner").values_list("prize_note", flat=True)) == {
        "A weekend at the seaside"
    }
    assert competition.ideas.get(title="Idea 0").status == "submitted"
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.profile.contact_address() for p in people[1:])
    assert "Idea 1" in next(m.body for m in mailoutbox if m.to[0] == people[1].profile.contact_address())
    competition.refresh_from_db()
    assert competition.status == "announced" and competition.announced_at is not None
    with pytest.raises(CampaignError, match="scores can no longer change"):
        services.score_idea(ideas[0], criterion, staff_user, 10, "late", acting_user=staff_user)


@pytest.fixture
def voucher_competition(competition, programme, staff_user):
    return services.set_up_competition(
        competition.campaign,
        competition.challenge,
        competition.submissions_close_at,
        2,
        prize_programme=programme,
        acting_user=staff_user,
    )


def test_announce_winners_with_a_programme_issues_each_winner_a_voucher(
    voucher_competition, entrant, staff_user, programme, mailoutbox, django_capture_on_commit_callbacks
):
    competition = voucher_competition
    people = [entrant() for _ in range(3)]
    for n, person in enumerate(people):
        submit(competition, person, f"Idea {n}")
    (criterion,) = judging(competition, staff_user, [staff_user])
    for idea in competition.ideas.all():
        value = {"Idea 0": 9, "Idea 1": 3, "Idea 2": 7}[idea.title]
        services.score_idea(idea, criterion, staff_user, value, "ok", acting_user=staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.announce_winners(competition, acting_user=staff_user)
    winner_mail = next(m for m in mailoutbox if "Idea 0" in m.body)
    assert "voucher of the programme" in winner_mail.body and "Warm homes Bretagne" in winner_mail.body
    holders = set(Voucher.objects.filter(programme=programme).values_list("holder_id", flat=True))
    assert holders == {people[0].pk, people[2].pk}
    winner = competition.ideas.get(title="Idea 0")
    assert winner.prize_voucher.holder_id == people[0].pk
    assert winner.prize_voucher.face_value == Decimal("500.00")


def test_announce_winners_refuses_all_when_one_winner_cannot_get_a_voucher(
    voucher_competition, entrant, staff_user, programme
):
    from vouchers.services.ledger import issue_voucher

    competition = voucher_competition
    lucky, already = entrant(), entrant()
    submit(competition, lucky, "Lucky")
    submit(competition, already, "Already")
    issue_voucher(programme, already, acting_user=staff_user, send_mail=False)
    judging(competition, staff_user, [staff_user])
    score_all(competition, [staff_user])
    with pytest.raises(CampaignError) as refused:
        services.announce_winners(competition, acting_user=staff_user)
    assert f"idea {already.code}" in str(refused.value)
    assert "one voucher per person" in str(refused.value)
    # Nothing half done: no voucher for the other winner, no ranks, still judging.
    assert list(Voucher.objects.filter(programme=programme).values_list("holder_id", flat=True)) == [
        already.pk
    ]
    assert not competition.ideas.filter(status="winner").exists()
    competition.refresh_from_db()
    assert competition.status == "judging"


# ------------------------------------------------------------------------------------- joint surveys


@pytest.fixture
def joint_survey(cluster, sme, panel):
    return CampaignFactory(lab=cluster, requested_by=sme, panel=panel, kind="joint_survey", status="running")


def test_add_survey_partner_takes_firms_only_on_joint_surveys(
    joint_survey, campaign, other_sme, authority, staff_user
):
    with pytest.raises(CampaignError, match="not a firm"):
        services.add_survey_partner(joint_survey, authority, acting_user=staff_user)
    with pytest.raises(CampaignError, match="Only a joint survey"):
        services.add_survey_partner(campaign, other_sme, acting_user=staff_user)
    with pytest.raises(CampaignError, match="requested this survey"):
        services.add_survey_partner(joint_survey, joint_survey.requested_by, acting_user=staff_user)
    services.add_survey_partner(joint_survey, other_sme, acting_user=staff_user)
    assert list(joint_survey.partners.all()) == [other_sme]
    with pytest.raises(CampaignError, match="already a partner"):
        services.add_survey_partner(joint_survey, other_sme, acting_user=staff_user)
    assert AuditEntry.objects.filter(action="pilots.campaign.add_partner").count() == 1


def test_remove_survey_partner_refuses_a_firm_with_its_own_questions(joint_survey, other_sme, staff_user):
    services.add_survey_partner(joint_survey, other_sme, acting_user=staff_user)
    QuestionFactory(questionnaire=QuestionnaireFactory(campaign=joint_survey), firm=other_sme)
    with pytest.raises(CampaignError, match="1 questions of its own"):
        services.remove_survey_partner(joint_survey, other_sme, acting_user=staff_user)
    assert joint_survey.partners.filter(pk=other_sme.pk).exists()
    joint_survey.questionnaires.all().delete()
    services.remove_survey_partner(joint_survey, other_sme, acting_user=staff_user)
    assert not joint_survey.partners.exists()


# -------------------------------------------------------------------------------------------- views


def test_jury_page_shows_ideas_by_code_never_by_name(client, competition, entrant, staff_user, sme_admin):
    person = entrant()
    person.full_name = "Maëlle Kergoat"
    person.save()
    idea = submit(competition, person, "Smart doormat")
    judging(competition, staff_user, [sme_admin])
    client.force_login(sme_admin)
    page = client.get(reverse("campaigns:jury_ideas", args=[competition.campaign.slug]))
    html = page.content.decode()
    assert page.status_code == 200
    assert idea.code in html and "Smart doormat" in html
    assert "Maëlle" not in html and "Kergoat" not in html


def test_jury_page_query_count_does_not_grow_with_ideas(
    client, competition, entrant, staff_user, django_assert_max_num_queries
):
    for n in range(8):
        submit(competition, entrant(), f"Idea {n}")
    judging(competition, staff_user, [staff_user], criteria=(("A", "1", 10), ("B", "2", 5)))
    score_all(competition, [staff_user], value=3)
    client.force_login(staff_user)
    url = reverse("campaigns:jury_ideas", args=[competition.campaign.slug])
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_juror_scores_through_the_jury_page(client, competition, entrant, staff_user):
    idea = submit(competition, entrant())
    (criterion,) = judging(competition, staff_user, [staff_user])
    client.force_login(staff_user)
    url = reverse("campaigns:idea_score", args=[competition.campaign.slug, idea.pk])
    prefix = f"idea{idea.pk}-"
    response = client.post(
        url, {prefix + f"score_{criterion.pk}": "12", prefix + f"comment_{criterion.pk}": "x"}
    )
    assert response.status_code == 302 and not IdeaScore.objects.exists()
    client.post(url, {prefix + f"score_{criterion.pk}": "7", prefix + f"comment_{criterion.pk}": "Good"})
    assert IdeaScore.objects.get().score == 7


def test_other_firm_and_participants_cannot_open_the_lab_or_jury_pages(
    client, competition, entrant, other_firm_user, staff_user
):
    person = entrant()
    judging(competition, staff_user, [staff_user])
    slug = competition.campaign.slug
    for user in (other_firm_user, person.user):
        client.force_login(user)
        for name in ("competition_setup", "jury_ideas", "competition_results"):
            assert client.get(reverse(f"campaigns:{name}", args=[slug])).status_code == 403, (user, name)
    client.force_login(other_firm_user)
    assert client.get(reverse("campaigns:competition_ideas", args=[slug])).status_code == 403


def test_requester_sees_the_ranking_only_after_the_announcement(
    client, competition, entrant, staff_user, sme_admin
):
    submit(competition, entrant(), "Smart doormat")
    judging(competition, staff_user, [staff_user])
    score_all(competition, [staff_user])
    url = reverse("campaigns:competition_results", args=[competition.campaign.slug])
    client.force_login(sme_admin)
    assert client.get(url).status_code == 403
    services.announce_winners(competition, acting_user=staff_user)
    page = client.get(url)
    assert page.status_code == 200 and "Smart doormat" in page.content.decode()


def test_participant_submits_withdraws_and_sees_winners_by_title_only(
    client, competition, entrant, staff_user
):
    person, rival = entrant(), entrant()
    rival.full_name = "Yann Le Gall"
    rival.save()
    client.force_login(person.user)
    url = reverse("campaigns:competition_ideas", args=[competition.campaign.slug])
    client.post(url, {"title": "Talking kettle", "description": "Reminds you to drink."})
    idea = competition.ideas.get(person=person)
    client.post(reverse("campaigns:idea_withdraw", args=[competition.campaign.slug, idea.pk]))
    idea.refresh_from_db()
    assert idea.status == "withdrawn"
    submit(competition, rival, "Night light path")
    judging(competition, staff_user, [staff_user])
    score_all(competition, [staff_user])
    services.announce_winners(competition, acting_user=staff_user)
    html = client.get(url).content.decode()
    assert "Night light path" in html
    assert "Yann" not in html and rival.code not in html


def test_lab_sets_up_a_competition_and_its_criteria_through_the_pages(client, contest, staff_user, sme_admin):
    client.force_login(sme_admin)
    url = reverse("campaigns:competition_setup", args=[contest.slug])
    assert client.get(url).status_code == 403
    client.force_login(staff_user)
    close = (timezone.localtime() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url,
        {
            "challenge": "Help people sleep",
            "submissions_close_at": close,
            "winners_count": "1",
            "prize_description": "A lamp",
        },
    )
    assert response.status_code == 302
    competition = Competition.objects.get(campaign=contest)
    client.post(
        reverse("campaigns:criterion_add", args=[contest.slug]),
        {"new-name": "Originality", "new-weight": "1.5", "new-max_score": "5"},
    )
    assert competition.criteria.get().weight == Decimal("1.50")
    client.post(reverse("campaigns:competition_jury", args=[contest.slug]), {"jurors": [sme_admin.pk]})
    assert list(competition.jury.all()) == [sme_admin]
    assert "Originality" in client.get(url).content.decode()


def test_partners_page_is_for_the_lab_and_adds_a_firm(client, joint_survey, other_sme, staff_user, sme_admin):
    url = reverse("campaigns:survey_partners", args=[joint_survey.slug])
    client.force_login(sme_admin)
    assert client.get(url).status_code == 403
    client.force_login(staff_user)
    client.post(url, {"organisation": other_sme.pk})
    assert list(joint_survey.partners.all()) == [other_sme]
    OrganisationFactory(kind=Organisation.Kind.SME, name="Third firm")
    html = client.get(url).content.decode()
    assert "Loire Mobile" in html and "Third firm" in html
