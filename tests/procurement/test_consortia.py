"""Partner search and consortia: posts on the board, consortia formed by a lead or proposed by the
intermediary cluster, invitations and the recorded acceptance of the consortium agreement."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from livinglab.errors import GroundRulesRequired
from livinglab.models import AuditEntry, Organisation, text_hash
from procurement.errors import ProcurementError
from procurement.factories import BidFactory, ConsortiumFactory
from procurement.models import Bid, Consortium, ConsortiumMember, PartnerPost, Phase
from procurement.services import consortia as services
from procurement.tasks.bids import send_consortium_invitation

AGREEMENT = "Breizh Sensors coordinates and builds the sensors; Aalto Care Research runs the home trials."


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Call a service and run what it enqueued after commit (the e-mails)."""

    def _run(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return _run


@pytest.fixture
def homesense(call, sme, bidder):
    return services.form_consortium(call, sme, name="HomeSense", agreement_text=AGREEMENT, acting_user=bidder)


# ------------------------------------------------------------------------------------------ partner search


def test_a_firm_posts_its_capabilities_and_the_board_shows_them_with_its_name(client, call, sme, bidder):
    client.force_login(bidder)
    response = client.post(
        reverse("procurement:partners", args=[call.slug]),
        {
            "action": "post",
            "organisation": sme.pk,
            "kind": "capability",
            "title": "Radar fall detection",
            "text": "Contact-free radar sensors, tested in 40 flats.",
        },
    )
    assert response.status_code == 302
    post = PartnerPost.objects.get(procurement=call)
    assert (post.organisation, post.kind, post.posted_by) == (sme, "capability", bidder)
    page = client.get(reverse("procurement:partners", args=[call.slug])).content.decode()
    assert "Radar fall detection" in page and "Breizh Sensors" in page and "We offer" in page
    assert AuditEntry.objects.filter(action="procurement.partnerpost.post").count() == 1


def test_the_partner_board_filters_by_kind_paginates_and_never_names_the_poster(
    client, call, sme, bidder, django_assert_max_num_queries
):
    for i in range(25):
        PartnerPost.objects.create(
            procurement=call,
            organisation=sme,
            posted_by=bidder,
            kind="capability",
            title=f"Offer {i}",
            text="x",
        )
    PartnerPost.objects.create(
        procurement=call,
        organisation=sme,
        posted_by=bidder,
        kind="need",
        title="Need a care provider",
        text="y",
    )
    url = reverse("procurement:partners", args=[call.slug])
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert "26 open posts" in page and "Page 1 of 2" in page
    assert "bidder@example.org" not in page
    needs = client.get(url, {"kind": "need"}).content.decode()
    assert "Need a care provider" in needs and "Offer 3" not in needs
    client.force_login(bidder)
    with django_assert_max_num_queries(20):
        client.get(url, {"page": 2})


def test_closing_a_post_takes_it_off_the_board_and_only_its_organisation_may_close_it(
    client, call, sme, bidder, rival
):
    post = services.post_partner_search(
        call,
        sme,
        kind="need",
        title="Looking for a nursing partner",
        text="Home-care visits.",
        acting_user=bidder,
    )
    with pytest.raises(ProcurementError, match="Only the organisation that posted it"):
        services.close_partner_post(post, acting_user=rival)
    client.force_login(bidder)
    url = reverse("procurement:partners", args=[call.slug])
    response = client.post(url, {"action": "close", "post": post.pk})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.closed_at is not None
    page = client.get(url).content.decode()
    assert f'id="post-{post.pk}"' not in page and "0 open posts" in page
    with pytest.raises(ProcurementError, match="already closed"):
        services.close_partner_post(post, acting_user=bidder)


def test_intermediary_staff_post_for_their_cluster_but_not_for_a_firm(call, cluster, sme, intermediary):
    post = services.post_partner_search(
        call,
        cluster,
        kind="need",
        title="Care providers wanted",
        text="For three consortia.",
        acting_user=intermediary,
    )
    assert post.organisation == cluster
    with pytest.raises(ProcurementError, match="cannot post for Breizh Sensors"):
        services.post_partner_search(call, sme, kind="need", title="t", text="x", acting_user=intermediary)


def test_posting_before_accepting_the_ground_rules_shows_the_rules_to_accept(client, call, newcomer):
    client.force_login(newcomer)
    firm = Organisation.objects.get(slug="newcomer-oy")
    response = client.post(
        reverse("procurement:partners", args=[call.slug]),
        {
            "action": "post",
            "organisation": firm.pk,
            "kind": "capability",
            "title": "Hello",
            "text": "We build apps.",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Accept the ground rules first" in page and "Ground rules for public procurement contacts" in page
    assert not PartnerPost.objects.exists()


# ------------------------------------------------------------------------------------------- consortia


def test_forming_a_consortium_records_the_leads_acceptance_of_the_agreement(homesense, sme, bidder):
    lead = homesense.members.get()
    assert (lead.organisation, lead.role, lead.status) == (sme, "lead", "accepted")
    assert lead.accepted_by == bidder and lead.responded_at is not None
    assert lead.agreement_sha256 == text_hash(AGREEMENT) == homesense.agreement_sha256
    # A firm bidding alone is a consortium of one: nobody else to wait for.
    assert homesense.status == Consortium.Status.FORMED
    entry = AuditEntry.objects.get(action="procurement.consortium.form")
    assert entry.data["agreement_sha256"] == text_hash(AGREEMENT)


def test_an_invited_partner_is_emailed_and_its_acceptance_forms_the_consortium(
    homesense, partner_firm, partner_user, bidder, run_on_commit, mailoutbox
):
    member = run_on_commit(services.invite_partner, homesense, partner_firm, acting_user=bidder)
    homesense.refresh_from_db()
    assert homesense.status == Consortium.Status.FORMING
    assert [m.to for m in mailoutbox] == [["partner@example.org"]]
    assert "HomeSense" in mailoutbox[0].subject
    assert reverse("procurement:consortium", args=[homesense.pk]) in mailoutbox[0].body
    assert homesense.agreement_sha256 in mailoutbox[0].body

    before = timezone.now()
    member = services.answer_invitation(
        member, accept=True, acting_user=partner_user, shown_sha256=homesense.agreement_sha256
    )
    homesense.refresh_from_db()
    assert member.status == "accepted" and member.accepted_by == partner_user
    assert member.agreement_sha256 == text_hash(AGREEMENT)
    assert member.responded_at >= before
    assert homesense.status == Consortium.Status.FORMED
    assert set(homesense.member_organisations()) == {homesense.lead, partner_firm}


def test_the_consortium_forms_when_every_invited_organisation_has_answered_even_with_a_no(
    homesense, partner_firm, partner_user, other_sme, rival, bidder
):
    yes = services.invite_partner(homesense, partner_firm, acting_user=bidder)
    no = services.invite_partner(homesense, other_sme, acting_user=bidder)
    services.answer_invitation(yes, accept=True, acting_user=partner_user)
    homesense.refresh_from_db()
    assert homesense.status == Consortium.Status.FORMING  # Loire Mobile has not answered yet
    services.answer_invitation(no, accept=False, acting_user=rival)
    homesense.refresh_from_db()
    no.refresh_from_db()
    assert no.status == "declined" and no.agreement_sha256 == ""
    assert homesense.status == Consortium.Status.FORMED
    assert other_sme not in homesense.member_organisations()


def test_changing_the_agreement_asks_every_partner_to_accept_the_new_text(
    homesense, partner_firm, partner_user, bidder, run_on_commit, mailoutbox
):
    member = services.invite_partner(homesense, partner_firm, acting_user=bidder)
    services.answer_invitation(member, accept=True, acting_user=partner_user)
    mailoutbox.clear()
    new_text = AGREEMENT + " Liability is shared in proportion to the work share."
    run_on_commit(services.change_consortium_agreement, homesense, new_text, acting_user=bidder)
    homesense.refresh_from_db()
    member.refresh_from_db()
    assert homesense.agreement_sha256 == text_hash(new_text)
    assert homesense.status == Consortium.Status.FORMING
    assert member.status == "invited" and member.agreement_sha256 == "" and member.accepted_by is None
    assert homesense.members.get(role="lead").agreement_sha256 == text_hash(new_text)
    assert len(mailoutbox) == 1 and text_hash(new_text) in mailoutbox[0].body

    # The partner read the old text: accepting it now is refused.
    with pytest.raises(ProcurementError, match="changed while you were reading it"):
        services.answer_invitation(
            member, accept=True, acting_user=partner_user, shown_sha256=text_hash(AGREEMENT)
        )
    services.answer_invitation(
        member, accept=True, acting_user=partner_user, shown_sha256=text_hash(new_text)
    )
    homesense.refresh_from_db()
    member.refresh_from_db()
    assert member.agreement_sha256 == text_hash(new_text)
    assert homesense.status == Consortium.Status.FORMED


def test_an_organisation_takes_part_in_one_consortium_per_procurement(
    call, homesense, rival_consortium, partner_firm, partner_user, bidder, rival
):
    mine = services.invite_partner(homesense, partner_firm, acting_user=bidder)
    theirs = services.invite_partner(rival_consortium, partner_firm, acting_user=rival)
    services.answer_invitation(mine, accept=True, acting_user=partner_user)
    with pytest.raises(ProcurementError, match="already takes part in the consortium “HomeSense”"):
        services.answer_invitation(theirs, accept=True, acting_user=partner_user)
    with pytest.raises(ProcurementError, match="one consortium per procurement"):
        services.form_consortium(
            call, partner_firm, name="Aalto alone", agreement_text="x", acting_user=partner_user
        )


def test_a_lead_cannot_invite_a_public_authority_or_an_organisation_twice(
    homesense, authority, partner_firm, bidder
):
    with pytest.raises(ProcurementError, match="Only firms and research organisations"):
        services.invite_partner(homesense, authority, acting_user=bidder)
    services.invite_partner(homesense, partner_firm, acting_user=bidder)
    with pytest.raises(ProcurementError, match="already invited"):
        services.invite_partner(homesense, partner_firm, acting_user=bidder)


def test_only_the_lead_invites_partners_and_changes_the_agreement(homesense, other_sme, partner_user):
    with pytest.raises(ProcurementError, match="Only the consortium's lead"):
        services.invite_partner(homesense, other_sme, acting_user=partner_user)
    with pytest.raises(ProcurementError, match="Only the consortium's lead"):
        services.change_consortium_agreement(homesense, "New text", acting_user=partner_user)


def test_the_cluster_proposes_a_consortium_that_its_lead_confirms_before_partners_are_invited(
    call, cluster, sme, partner_firm, intermediary, bidder, partner_user, run_on_commit, mailoutbox
):
    proposal = run_on_commit(
        services.propose_consortium,
        call,
        cluster=cluster,
        name="Espoo Home Alliance",
        lead=sme,
        partners=[partner_firm],
        agreement_text=AGREEMENT,
        acting_user=intermediary,
    )
    assert proposal.status == Consortium.Status.PROPOSED and proposal.proposed_by == cluster
    assert set(proposal.members.values_list("status", flat=True)) == {"proposed"}
    # Only the proposed lead hears about it; partners are invited once the lead confirms.
    assert [m.to for m in mailoutbox] == [["bidder@example.org"]]
    assert "Espoo Home Alliance" in mailoutbox[0].subject
    with pytest.raises(ProcurementError, match="There is no open invitation"):
        services.answer_invitation(
            proposal.members.get(organisation=partner_firm), accept=True, acting_user=partner_user
        )

    mailoutbox.clear()
    run_on_commit(services.confirm_consortium_proposal, proposal, acting_user=bidder)
    proposal.refresh_from_db()
    lead = proposal.members.get(role="lead")
    partner = proposal.members.get(organisation=partner_firm)
    assert proposal.status == Consortium.Status.FORMING
    assert lead.status == "accepted" and lead.accepted_by == bidder
    assert lead.agreement_sha256 == proposal.agreement_sha256
    assert partner.status == "invited"
    assert [m.to for m in mailoutbox] == [["partner@example.org"]]
    services.answer_invitation(partner, accept=True, acting_user=partner_user)
    proposal.refresh_from_db()
    assert proposal.status == Consortium.Status.FORMED


def test_only_intermediary_staff_propose_consortia(call, sme, partner_firm, bidder, cluster):
    with pytest.raises(ProcurementError, match="Only the intermediary cluster organisations"):
        services.propose_consortium(
            call,
            cluster=cluster,
            name="X",
            lead=sme,
            partners=[partner_firm],
            agreement_text="x",
            acting_user=bidder,
        )


def test_a_proposed_lead_may_turn_the_proposal_down(call, cluster, sme, partner_firm, intermediary, bidder):
    proposal = services.propose_consortium(
        call,
        cluster=cluster,
        name="Alliance",
        lead=sme,
        partners=[partner_firm],
        agreement_text="x",
        acting_user=intermediary,
    )
    services.dissolve_consortium(proposal, acting_user=bidder)
    proposal.refresh_from_db()
    assert proposal.status == Consortium.Status.DISSOLVED
    with pytest.raises(ProcurementError, match="no longer a proposal"):
        services.confirm_consortium_proposal(proposal, acting_user=bidder)


def test_leaving_or_dissolving_is_refused_while_a_submitted_bid_is_live(
    consortium, phase1, bidder, partner_user, pass_deadline
):
    partner = consortium.members.get(role="partner")
    bid = BidFactory(phase=phase1, consortium=consortium)
    with pytest.raises(ProcurementError, match="Withdraw the bid first"):
        services.leave_consortium(partner, acting_user=partner_user)
    with pytest.raises(ProcurementError, match="Withdraw the bid first"):
        services.dissolve_consortium(consortium, acting_user=bidder)
    with pytest.raises(ProcurementError, match="Withdraw the bid first"):
        services.change_consortium_agreement(consortium, "Another text", acting_user=bidder)
    # Once the phase is decided the bid is no longer in play.
    Phase.objects.filter(pk=phase1.pk).update(status=Phase.Status.AWARDED)
    services.leave_consortium(partner, acting_user=partner_user)
    partner.refresh_from_db()
    assert partner.status == "left"
    assert Bid.objects.get(pk=bid.pk).status == "submitted"


def test_a_partner_leaves_and_the_lead_dissolves_when_no_bid_is_live(consortium, bidder, partner_user):
    partner = consortium.members.get(role="partner")
    with pytest.raises(ProcurementError, match="The lead cannot leave"):
        services.leave_consortium(consortium.members.get(role="lead"), acting_user=bidder)
    services.leave_consortium(partner, acting_user=partner_user)
    services.dissolve_consortium(consortium, acting_user=bidder)
    consortium.refresh_from_db()
    assert consortium.status == Consortium.Status.DISSOLVED
    assert AuditEntry.objects.filter(
        action="procurement.consortium.dissolve", object_id=str(consortium.pk)
    ).exists()


def test_every_consortium_act_needs_the_ground_rules_accepted(call, newcomer, homesense, bidder):
    firm = Organisation.objects.get(slug="newcomer-oy")
    with pytest.raises(GroundRulesRequired) as refused:
        services.form_consortium(call, firm, name="Newcomers", agreement_text="x", acting_user=newcomer)
    assert refused.value.pending
    member = services.invite_partner(homesense, firm, acting_user=bidder)
    with pytest.raises(GroundRulesRequired):
        services.answer_invitation(member, accept=True, acting_user=newcomer)
    member.refresh_from_db()
    assert member.status == "invited"


def test_a_retried_invitation_task_mails_once(homesense, partner_firm, partner_user, bidder, mailoutbox):
    member = services.invite_partner(homesense, partner_firm, acting_user=bidder)
    assert send_consortium_invitation(member.pk) is True
    assert send_consortium_invitation(member.pk) is False
    assert len(mailoutbox) == 1


def test_consortia_close_with_the_procurement(homesense, partner_firm, bidder, call):
    type(call).objects.filter(pk=call.pk).update(status="completed")
    homesense.refresh_from_db()
    with pytest.raises(ProcurementError, match="partner search and consortia are closed"):
        services.invite_partner(homesense, partner_firm, acting_user=bidder)


# ------------------------------------------------------------------------------------------------ pages


def test_the_consortia_page_lists_mine_and_my_invitations_with_a_fixed_number_of_queries(
    client, call, sme, partner_firm, partner_user, django_assert_max_num_queries
):
    for i in range(25):
        consortium = ConsortiumFactory(procurement=call, name=f"Consortium {i:02}")
        ConsortiumMember.objects.create(consortium=consortium, organisation=partner_firm, status="invited")
    ConsortiumFactory(procurement=call, name="Not mine")
    client.force_login(partner_user)
    url = reverse("procurement:consortia", args=[call.slug])
    with django_assert_max_num_queries(25) as captured:
        page = client.get(url).content.decode()
    first = len(captured)
    assert "Consortium 00" in page and "Not mine" not in page
    assert "answer the invitation" in page and "Page 1 of 2" in page
    with django_assert_max_num_queries(first):
        client.get(url, {"page": 2})


def test_a_firm_forms_a_consortium_on_the_consortia_page(client, call, sme, bidder):
    client.force_login(bidder)
    response = client.post(
        reverse("procurement:consortia", args=[call.slug]),
        {"action": "form", "lead": sme.pk, "name": "HomeSense", "agreement_text": AGREEMENT},
    )
    consortium = Consortium.objects.get(name="HomeSense")
    assert response.status_code == 302 and response["Location"] == reverse(
        "procurement:consortium", args=[consortium.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert consortium.agreement_sha256 in page and "Invite a partner" in page


def test_the_intermediary_proposes_a_consortium_on_the_consortia_page(
    client, call, cluster, sme, partner_firm, intermediary
):
    client.force_login(intermediary)
    response = client.post(
        reverse("procurement:consortia", args=[call.slug]),
        {
            "action": "propose",
            "cluster": cluster.pk,
            "name": "Espoo Home Alliance",
            "lead": sme.pk,
            "partners": [partner_firm.pk],
            "agreement_text": AGREEMENT,
        },
    )
    assert response.status_code == 302
    assert Consortium.objects.get(name="Espoo Home Alliance").status == "proposed"


def test_an_invited_organisation_accepts_on_the_consortium_page(
    client, homesense, partner_firm, partner_user, bidder
):
    services.invite_partner(homesense, partner_firm, acting_user=bidder)
    client.force_login(partner_user)
    url = reverse("procurement:consortium", args=[homesense.pk])
    page = client.get(url).content.decode()
    assert "Accept the invitation and the agreement" in page and AGREEMENT in page
    response = client.post(
        url, {"action": "answer", "decision": "accept", "shown_sha256": homesense.agreement_sha256}
    )
    assert response.status_code == 302
    member = homesense.members.get(organisation=partner_firm)
    assert member.status == "accepted" and member.accepted_by == partner_user


def test_a_rival_firm_cannot_open_another_consortiums_page(client, consortium, rival):
    client.force_login(rival)
    response = client.get(reverse("procurement:consortium", args=[consortium.pk]))
    assert response.status_code == 404


def test_a_refused_leave_explains_why_on_the_page(client, consortium, phase1, partner_user):
    BidFactory(phase=phase1, consortium=consortium, submitted_at=timezone.now() - timedelta(hours=1))
    client.force_login(partner_user)
    response = client.post(reverse("procurement:consortium", args=[consortium.pk]), {"action": "leave"})
    assert response.status_code == 200
    assert "Withdraw the bid first" in response.content.decode()
    assert consortium.members.get(organisation__slug="aalto-care-research").status == "accepted"
