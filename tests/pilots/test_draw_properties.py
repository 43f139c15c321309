"""Property-based: whatever the panel, the quotas and the protections, a draw either keeps every quota and
fair-contact rule and draws exactly the number asked, or refuses because the panel really cannot meet them."""

import itertools
from datetime import timedelta

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livinglab import services as core
from livinglab.factories import ConsentDocumentVersionFactory, OrganisationFactory, PersonFactory
from livinglab.models import Organisation
from pilots.errors import ScreenerError
from pilots.factories import PanelFactory, PanelMembershipFactory, ParticipantProfileFactory
from pilots.models import Draw, DrawSelection, Invitation, Participation
from pilots.services.draws import Spec, draw_sample

_numbers = itertools.count()
THIS_YEAR = timezone.localdate().year
REGIONS = ["Bretagne", "Uusimaa", "Limburg"]
BANDS = {"25-34": 30, "65-74": 70}

# Each member: (region, band, consents, protection)
members = st.lists(
    st.tuples(
        st.sampled_from(REGIONS),
        st.sampled_from(list(BANDS)),
        st.booleans(),
        st.sampled_from(["none", "none", "none", "resting", "invited", "paused"]),
    ),
    min_size=1,
    max_size=18,
)
quota = st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 5)))


def build(people, purpose_holder):
    n = next(_numbers)
    cluster = OrganisationFactory(name=f"Lab {n}", kind=Organisation.Kind.CLUSTER)
    version = ConsentDocumentVersionFactory(purposes=[purpose_holder["purpose"]])
    panel = PanelFactory(
        owner=cluster, name=f"Panel {n}", consent_document=version.document, max_invitations=1
    )
    rows = []
    for region, band, consents, protection in people:
        person = PersonFactory(birth_date=None)
        ParticipantProfileFactory(person=person, region=region, year_of_birth=THIS_YEAR - BANDS[band])
        membership = PanelMembershipFactory(
            panel=panel, person=person, status="paused" if protection == "paused" else "active"
        )
        if consents:
            core.give_consent(
                person,
                version,
                [purpose_holder["purpose"]],
                method="online",
                acting_user=person.user,
                send_receipt=False,
            )
        if protection == "resting":
            Participation.objects.create(
                person=person,
                panel=panel,
                outcome="took_part",
                occurred_at=timezone.now() - timedelta(days=2),
            )
        rows.append((membership, region, band, consents and protection == "none"))
    if any(p == "invited" for *_rest, p in people):
        # Invitations need a draw to hang on: one earlier draw of the "invited" members.
        earlier = Draw.objects.create(
            panel=panel, title="Earlier", involves="x", size=1, drawn_at=timezone.now()
        )
        for (membership, *_r), (*_p, protection) in zip(rows, people, strict=True):
            if protection == "invited":
                selection = DrawSelection.objects.create(
                    draw=earlier, membership=membership, rank=1, code=f"P-{membership.pk}"
                )
                Invitation.objects.create(
                    selection=selection,
                    person=membership.person,
                    panel=panel,
                    expires_at=timezone.now() + timedelta(days=3),
                )
    return panel, rows


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=members,
    quotas=st.lists(quota, min_size=3, max_size=3),
    size=st.integers(1, 8),
    seed=st.integers(0, 2**31 - 1),
)
def test_a_draw_keeps_every_quota_and_rule_or_refuses_for_a_real_reason(
    staff_user, purposes, people, quotas, size, seed
):
    holder = {"purpose": purposes["participation"]}
    panel, rows = build(people, holder)
    cells = [
        {"cell": {"region": r}, "min": low, "max": high}
        for r, (low, high) in zip(REGIONS, quotas, strict=True)
    ]
    cells = [c for c in cells if c["max"] is None or c["max"] >= c["min"]]
    spec = Spec(
        conditions={},
        strata=["region"] if cells else [],
        quotas=cells,
        size=size,
        purposes=[holder["purpose"]],
    )
    eligible = {m.pk: region for m, region, _band, ok in rows if ok}
    available = {r: sum(1 for reg in eligible.values() if reg == r) for r in REGIONS}
    try:
        draw = draw_sample(panel, spec, title="T", involves="I", seed=seed, acting_user=staff_user)
    except ScreenerError:
        # Refused: a minimum no cell can meet, or not enough eligible people within the maximums.
        if not cells:
            assert len(eligible) < size
            return
        short = any(available[c["cell"]["region"]] < c["min"] for c in cells)
        capacity = sum(
            min(available[c["cell"]["region"]], c["max"] if c["max"] is not None else size) for c in cells
        )
        assert short or capacity < size or sum(c["min"] for c in cells) > size
        return
    chosen = list(draw.selections.values_list("membership_id", flat=True))
    assert len(chosen) == size == len(set(chosen))
    assert set(chosen) <= set(eligible), "someone protected, paused or without consent was drawn"
    for c in cells:
        n = sum(1 for pk in chosen if eligible[pk] == c["cell"]["region"])
        assert n >= c["min"]
        assert c["max"] is None or n <= c["max"]
    if cells:
        assert {eligible[pk] for pk in chosen} <= {c["cell"]["region"] for c in cells}
