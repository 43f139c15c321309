"""Screeners, quotas and the seeded draw: the people chosen are the ones the rules allow, reproducibly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from livinglab import services as core
from livinglab.factories import PersonFactory
from pilots.errors import PanelError, ScreenerError
from pilots.factories import PanelMembershipFactory, ParticipantProfileFactory
from pilots.models import ContactOverride, Invitation, Participation
from pilots.services import draws
from pilots.services.draws import Spec, draw_sample, preview_draw, ranking_key, replay_draw

THIS_YEAR = timezone.localdate().year


def spec(purposes, **kwargs):
    kwargs.setdefault("conditions", {})
    kwargs.setdefault("strata", [])
    kwargs.setdefault("quotas", [])
    kwargs.setdefault("size", 3)
    return Spec(purposes=[purposes["participation"]], **kwargs)


def drawn(draw):
    return [s.membership_id for s in draw.selections.order_by("rank")]


def make(panel, spec_, staff_user, **kwargs):
    kwargs.setdefault("title", "Kitchen robot trial")
    kwargs.setdefault("involves", "Two hours at home with a prototype.")
    return draw_sample(panel, spec_, acting_user=staff_user, **kwargs)


def test_the_same_seed_draws_the_same_people(panel, member, purposes, staff_user):
    members = [member(region="Bretagne") for _ in range(12)]
    first = make(panel, spec(purposes), staff_user, seed=42)
    second = make(panel, spec(purposes), staff_user, seed=42)
    everyone = make(panel, spec(purposes, size=12), staff_user, seed=7)
    assert drawn(first) == drawn(second)
    assert len(set(drawn(first))) == 3
    assert set(drawn(everyone)) == {m.pk for m in members}
    # The keys explain the choice: the three lowest keys of the seed were drawn, in rank order.
    by_key = sorted(members, key=lambda m: (ranking_key(42, m.pk), m.pk))
    assert drawn(first) == [m.pk for m in by_key[:3]]
    assert replay_draw(first) == drawn(first)
    assert first.result_sha256 == second.result_sha256


def test_a_screener_keeps_only_matching_members(panel, member, purposes, staff_user):
    old = [member(year_of_birth=THIS_YEAR - 70, languages="|fr|") for _ in range(4)]
    member(year_of_birth=THIS_YEAR - 30, languages="|fr|")
    member(year_of_birth=THIS_YEAR - 70, languages="|en|")
    conditions = {
        "all": [
            {"attribute": "age_band", "operator": "in", "value": ["65-74"]},
            {"attribute": "languages", "operator": "any_of", "value": ["fr"]},
        ]
    }
    draw = make(panel, spec(purposes, conditions=conditions, size=4), staff_user)
    assert set(drawn(draw)) == {m.pk for m in old}


def test_quotas_take_each_cells_minimum_and_respect_its_maximum(panel, member, purposes, staff_user):
    for _ in range(6):
        member(region="Bretagne")
    for _ in range(2):
        member(region="Uusimaa")
    quotas = [
        {"cell": {"region": "Bretagne"}, "min": 1, "max": 3},
        {"cell": {"region": "Uusimaa"}, "min": 2, "max": 2},
    ]
    draw = make(panel, spec(purposes, strata=["region"], quotas=quotas, size=5), staff_user)
    regions = [s.membership.person.profile.region for s in draw.selections.all()]
    assert sorted(regions) == ["Bretagne"] * 3 + ["Uusimaa"] * 2


def test_a_draw_that_cannot_meet_its_quotas_names_the_cells_that_fall_short(
    panel, member, purposes, staff_user
):
    member(region="Bretagne")
    quotas = [{"cell": {"region": "Bretagne"}, "min": 3, "max": 5}]
    feasibility = preview_draw(panel, spec(purposes, strata=["region"], quotas=quotas, size=3))
    assert feasibility.cells[0].eligible == 1
    assert feasibility.shortfalls == ["Bretagne: needs at least 3, only 1 eligible."]
    with pytest.raises(ScreenerError) as refused:
        make(panel, spec(purposes, strata=["region"], quotas=quotas, size=3), staff_user)
    assert refused.value.problems == ["Bretagne: needs at least 3, only 1 can be drawn."]


@pytest.mark.parametrize(
    ("conditions", "strata", "quotas", "expected"),
    [
        (
            {"all": [{"attribute": "shoe_size", "operator": "gte", "value": 40}]},
            [],
            [],
            "“shoe_size” is not an attribute of this panel.",
        ),
        (
            {
                "all": [
                    {"attribute": "age", "operator": "gte", "value": 70},
                    {"attribute": "age_band", "operator": "in", "value": ["18-24"]},
                ]
            },
            [],
            [],
            "The age conditions contradict each other: no age meets them all.",
        ),
        (
            {
                "all": [
                    {"attribute": "household_type", "operator": "in", "value": ["single"]},
                    {"attribute": "household_type", "operator": "in", "value": ["family"]},
                ]
            },
            [],
            [],
            "The conditions on Household contradict each other.",
        ),
        (
            {"all": [{"attribute": "age", "operator": "between", "value": [80, 20]}]},
            [],
            [],
            "Age: the range 80–20 is empty.",
        ),
        (
            {},
            ["region"],
            [{"cell": {"region": "Bretagne"}, "min": 5, "max": 2}],
            "Bretagne: the minimum (5) is above",
        ),
        (
            {},
            ["region"],
            [{"cell": {"region": "Bretagne"}, "min": 9, "max": 9}],
            "The minimums add up to 9 people",
        ),
        ({}, ["devices"], [], "“devices” cannot be a stratum"),
        ({"any": []}, [], [], "A group of conditions is empty."),
    ],
)
def test_malformed_screeners_are_explained_before_any_draw(
    panel, purposes, conditions, strata, quotas, expected
):
    feasibility = preview_draw(panel, spec(purposes, conditions=conditions, strata=strata, quotas=quotas))
    assert any(p.startswith(expected) for p in feasibility.problems), feasibility.problems
    assert not feasibility.can_draw


def test_only_people_with_active_consent_are_drawn(panel, member, purposes, staff_user):
    consenting = member()
    member(consent=())
    withdrawn = member()
    core.withdraw_consent(
        withdrawn.person.consents.get(), channel="online", acting_user=withdrawn.person.user
    )
    assert preview_draw(panel, spec(purposes, size=1)).eligible == 1
    draw = make(panel, spec(purposes, size=1), staff_user)
    assert drawn(draw) == [consenting.pk]


def test_minors_are_drawn_only_with_their_guardians_consent(panel, purposes, consent_form, staff_user):
    parent = PersonFactory()
    teen = PersonFactory(user=None, birth_date=timezone.localdate() - timedelta(days=365 * 14))
    ParticipantProfileFactory(person=teen, year_of_birth=THIS_YEAR - 14)
    PanelMembershipFactory(panel=panel, person=teen)
    assert preview_draw(panel, spec(purposes, size=1)).eligible == 0
    core.add_guardian(teen, guardian=parent, relationship="parent", acting_user=parent.user)
    core.give_consent(
        teen,
        consent_form,
        [purposes["participation"]],
        method="online",
        acting_user=parent.user,
        guardian=parent,
    )
    assert preview_draw(panel, spec(purposes, size=1)).eligible == 1


def test_fair_contact_rules_protect_people_unless_staff_override_with_a_reason(
    panel, member, purposes, staff_user
):
    rested = member()
    resting = member()
    Participation.objects.create(
        person=resting.person,
        panel=panel,
        outcome="took_part",
        occurred_at=timezone.now() - timedelta(days=3),
    )
    draw = make(panel, spec(purposes, size=1), staff_user)
    assert drawn(draw) == [rested.pk]
    assert preview_draw(panel, spec(purposes, size=2)).eligible == 1

    draws.grant_override(resting, reason="Only wheelchair user in the panel", acting_user=staff_user)
    override_draw = make(panel, spec(purposes, size=2), staff_user)
    assert set(drawn(override_draw)) == {rested.pk, resting.pk}
    assert override_draw.selections.get(membership=resting).overridden
    assert ContactOverride.objects.get().used_by == override_draw
    # The override was used once: the next draw protects the person again.
    assert preview_draw(panel, spec(purposes, size=2)).eligible == 1


def test_an_override_needs_a_reason(member, staff_user):
    with pytest.raises(PanelError, match="Give the reason"):
        draws.grant_override(member(), reason="  ", acting_user=staff_user)


def test_invitation_limits_count_invitations_in_the_rolling_period(panel, member, purposes, staff_user):
    panel.max_invitations = 1
    panel.save()
    invited = member()
    free = member()
    draw = make(panel, spec(purposes, size=2), staff_user)
    Invitation.objects.create(
        selection=draw.selections.get(membership=invited),
        person=invited.person,
        panel=panel,
        expires_at=timezone.now() + timedelta(days=5),
    )
    later = make(panel, spec(purposes, size=1), staff_user)
    assert drawn(later) == [free.pk]


def test_one_per_household_takes_one_person_from_each_household(panel, member, purposes, staff_user):
    couple = [member(household_key="h-1") for _ in range(2)]
    single = member(household_key="")
    draw = make(panel, spec(purposes, size=2, one_per_household=True), staff_user)
    chosen = set(drawn(draw))
    assert single.pk in chosen
    assert len(chosen & {m.pk for m in couple}) == 1
    with pytest.raises(ScreenerError):
        make(panel, spec(purposes, size=3, one_per_household=True), staff_user)


def test_paused_and_protected_members_are_never_drawn(panel, member, purposes, staff_user):
    active = member()
    for status in ("paused", "opted_out", "do_not_contact", "blocked", "removed", "pending"):
        member(status=status)
    assert preview_draw(panel, spec(purposes, size=1)).eligible == 1
    assert drawn(make(panel, spec(purposes, size=1), staff_user)) == [active.pk]


def test_cancelling_a_draw_gives_its_overrides_back_and_is_refused_once_invitations_left(
    panel, member, purposes, staff_user
):
    from pilots.models import Draw

    resting = member()
    Participation.objects.create(
        person=resting.person,
        panel=panel,
        outcome="took_part",
        occurred_at=timezone.now() - timedelta(days=3),
    )
    override = draws.grant_override(resting, reason="Only member with a hearing aid", acting_user=staff_user)
    draw = make(panel, spec(purposes, size=1), staff_user)
    override.refresh_from_db()
    assert override.used_by == draw

    draws.cancel_draw(draw, acting_user=staff_user)
    override.refresh_from_db()
    assert draw.status == Draw.Status.CANCELLED and override.used_by is None
    with pytest.raises(PanelError, match="not been sent"):
        draws.cancel_draw(draw, acting_user=staff_user)
    Draw.objects.filter(pk=draw.pk).update(status=Draw.Status.INVITING)
    with pytest.raises(PanelError, match="not been sent"):
        draws.cancel_draw(draw, acting_user=staff_user)
