"""Pages of brokered introductions: asking from a match, the firm's list and the staff's queue, an
introduction's page before and after acceptance, brokering, answering, outcomes, the export and the overview
of introductions and outcomes over time (checked against hand-counted data)."""

import csv
import io
from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from livinglab.b2b.factories import IntroductionFactory, NeedFactory, OfferFactory
from livinglab.b2b.introduction_views import introduction_figures
from livinglab.b2b.models import Introduction, IntroductionAcceptance, IntroductionOutcome
from livinglab.b2b.services import introductions as services
from livinglab.models import text_hash

Status = Introduction.Status


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def requested(need, offer, buyer, buyer_user, broker):
    return services.request_introduction(
        need, offer, organisation=buyer, message="Our line 4 keeps failing.", acting_user=buyer_user
    )


@pytest.fixture
def brokered(requested, broker):
    return services.broker_introduction(
        requested, nda_required=True, nda_text="", note="A good fit.", acting_user=broker
    )


@pytest.fixture
def accepted(brokered, buyer, buyer_user, supplier, supplier_user):
    for organisation, user in ((buyer, buyer_user), (supplier, supplier_user)):
        brokered = services.accept_introduction(
            brokered, organisation=organisation, nda_sha256=brokered.nda_sha256, acting_user=user
        )
    return brokered


def page(client, user, name, *args, **params):
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    return response, response.content.decode()


def url(name, *args):
    return reverse(name, args=args)


# ----------------------------------------------------------------------------------------------- request


def test_a_firm_asks_for_an_introduction_from_a_match_and_lands_on_its_page(
    client, need, offer, buyer_user, broker, mailoutbox, mails
):
    client.force_login(buyer_user)
    with mails():
        response = client.post(
            url("b2b:introduction_request"),
            {"need": need.pk, "offer": offer.pk, "message": "Let us talk.", "nda": "on"},
        )
    introduction = Introduction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("b2b:introduction_detail", introduction.pk)
    assert introduction.requested_by.name == "Nordic Foods" and introduction.nda_required
    assert [m.to for m in mailoutbox] == [["staff@example.org"]]
    body = client.get(response["Location"]).content.decode()
    assert "Requested, waiting for the cluster" in body and "Let us talk." in body


def test_asking_twice_explains_the_introduction_is_under_way_and_goes_back(
    client, requested, need, offer, buyer_user
):
    client.force_login(buyer_user)
    back = url("b2b:need_matches", need.pk)
    response = client.post(
        url("b2b:introduction_request"), {"need": need.pk, "offer": offer.pk, "next": back}, follow=False
    )
    assert response.status_code == 302 and response["Location"] == back
    response = client.get(back)
    assert "already under way" in response.content.decode()
    assert Introduction.objects.count() == 1


def test_a_refused_request_never_goes_back_to_another_site(client, need, offer, rival_user, broker):
    client.force_login(rival_user)
    response = client.post(
        url("b2b:introduction_request"),
        {"need": need.pk, "offer": offer.pk, "next": "https://evil.example.com/"},
        HTTP_REFERER="https://evil.example.com/x",
    )
    assert response.status_code == 302 and not response["Location"].startswith("https://evil")
    assert not Introduction.objects.exists()


def test_a_request_without_a_need_or_with_an_unknown_one_is_answered_politely(client, offer, buyer_user):
    client.force_login(buyer_user)
    response = client.post(url("b2b:introduction_request"), {"offer": offer.pk}, follow=True)
    assert response.status_code == 200 and "Choose the need and the offer" in response.content.decode()
    response = client.post(url("b2b:introduction_request"), {"need": 999999, "offer": offer.pk})
    assert response.status_code == 404


def test_the_request_page_takes_posts_only(client, buyer_user):
    client.force_login(buyer_user)
    assert client.get(url("b2b:introduction_request")).status_code == 405


def test_a_newcomer_is_told_which_ground_rules_to_accept(client, newcomer, offer, broker):
    firm = newcomer.memberships.get().organisation
    own = NeedFactory(organisation=firm)
    client.force_login(newcomer)
    response = client.post(url("b2b:introduction_request"), {"need": own.pk, "offer": offer.pk}, follow=True)
    assert "Ground rules for brokered introductions" in response.content.decode()
    assert not Introduction.objects.exists()


def test_staff_posting_without_a_firm_propose_the_introduction(client, need, offer, broker, cluster):
    client.force_login(broker)
    response = client.post(
        url("b2b:introduction_request"), {"need": need.pk, "offer": offer.pk, "message": "Meet"}
    )
    introduction = Introduction.objects.get()
    assert response["Location"] == url("b2b:introduction_detail", introduction.pk)
    assert introduction.status == Status.BROKERED and introduction.broker == cluster
    assert introduction.broker_note == "Meet" and introduction.requested_by is None


def test_naming_a_firm_one_does_not_act_for_is_forbidden(client, need, offer, rival_user, broker):
    client.force_login(rival_user)
    response = client.post(
        url("b2b:introduction_request"), {"need": need.pk, "offer": offer.pk, "as": "nordic-foods"}
    )
    assert response.status_code == 403


# ------------------------------------------------------------------------------------------------- lists


def test_a_firm_sees_its_introductions_with_their_status(client, brokered, supplier_user, need):
    _response, body = page(client, supplier_user, "b2b:introduction_list")
    assert f"Introduction #{brokered.pk}" in body
    assert "Brokered, waiting for both firms to accept" in body
    assert need.title in body and "Your answer is awaited" in body
    assert "Nordic Foods" not in body  # the buyer's name is withheld until both accepted


def test_the_other_firm_does_not_see_a_request_the_cluster_has_not_brokered(client, requested, supplier_user):
    response, body = page(client, supplier_user, "b2b:introduction_list")
    assert f"Introduction #{requested.pk}" not in body and "No introduction yet." in body
    response, _ = page(client, supplier_user, "b2b:introduction_detail", requested.pk)
    assert response.status_code == 404


def test_a_rival_firm_sees_nothing(client, brokered, rival_user):
    response, body = page(client, rival_user, "b2b:introduction_list")
    assert "No introduction yet." in body
    response, _ = page(client, rival_user, "b2b:introduction_detail", brokered.pk)
    assert response.status_code == 404


def test_the_staff_queue_lists_requests_first_then_brokered_then_the_rest(client, broker, cluster, buyer):
    make = lambda status, title: IntroductionFactory(  # noqa: E731
        need=NeedFactory(organisation=buyer, title=f"Need {title}"),
        offer=OfferFactory(title=f"Offer {title}"),
        broker=cluster,
        status=status,
    )
    make(Status.ACCEPTED, "accepted")
    make(Status.BROKERED, "brokered")
    make(Status.REQUESTED, "requested")
    make(Status.DECLINED, "declined")
    _response, body = page(client, broker, "b2b:introduction_list")
    assert "Brokering queue" in body
    positions = [body.index(f"Need {t}") for t in ("requested", "brokered", "accepted")]
    assert positions == sorted(positions)
    assert body.index("Need brokered") < body.index("Need declined")
    _response, body = page(client, broker, "b2b:introduction_list", status="brokered")
    assert "Need brokered" in body and "Need requested" not in body


def test_the_list_paginates(client, broker, cluster):
    for _ in range(21):
        IntroductionFactory(broker=cluster)
    _response, body = page(client, broker, "b2b:introduction_list")
    assert "Page 1 of 2" in body
    _response, body = page(client, broker, "b2b:introduction_list", page=2)
    assert "Page 2 of 2" in body


def test_the_queue_runs_a_fixed_number_of_queries(client, broker, cluster, django_assert_max_num_queries):
    for _ in range(15):
        IntroductionFactory(broker=cluster, status=Status.BROKERED, brokered_at=timezone.now())
    client.force_login(broker)
    with django_assert_max_num_queries(7):
        assert client.get(url("b2b:introduction_list")).status_code == 200


def test_a_firms_list_runs_a_fixed_number_of_queries(
    client, buyer, buyer_user, cluster, django_assert_max_num_queries
):
    for _ in range(15):
        introduction = IntroductionFactory(
            need=NeedFactory(organisation=buyer),
            broker=cluster,
            status=Status.BROKERED,
            brokered_at=timezone.now(),
        )
        IntroductionAcceptance.objects.create(
            introduction=introduction, organisation=buyer, accepted_at=timezone.now()
        )
    client.force_login(buyer_user)
    with django_assert_max_num_queries(9):
        assert client.get(url("b2b:introduction_list")).status_code == 200


# ------------------------------------------------------------------------------------------------ detail


def test_before_acceptance_each_firm_reads_the_others_teaser_only(client, brokered, buyer_user, offer):
    _response, body = page(client, buyer_user, "b2b:introduction_detail", brokered.pk)
    assert offer.title in body and offer.summary in body
    assert "CONFIDENTIAL-OFFER" not in body and "Breizh Sensors" not in body
    assert "supplier@example.org" not in body
    assert "Revealed after an accepted introduction" in body
    assert "CONFIDENTIAL-NEED" in body  # its own need, in full
    assert "Read the ground rules and accept" in body
    assert brokered.nda_sha256 in body


def test_after_acceptance_both_firms_read_each_others_details_and_contact(
    client, accepted, buyer_user, supplier_user
):
    _response, body = page(client, buyer_user, "b2b:introduction_detail", accepted.pk)
    assert "CONFIDENTIAL-OFFER" in body and "CONFIDENTIAL-REFERENCES" in body
    assert "Breizh Sensors" in body and "supplier@example.org" in body
    assert "Record an outcome" in body
    _response, body = page(client, supplier_user, "b2b:introduction_detail", accepted.pk)
    assert "CONFIDENTIAL-NEED" in body and "CONFIDENTIAL-BUDGET" in body
    assert "Nordic Foods" in body and "buyer@example.org" in body


def test_an_accepted_introduction_offers_to_start_a_co_development_project(client, accepted, buyer_user):
    _response, body = page(client, buyer_user, "b2b:introduction_detail", accepted.pk)
    assert f"{url('b2b:project_create')}?introduction={accepted.pk}" in body


def test_a_brokered_introduction_offers_no_project_yet(client, brokered, buyer_user):
    _response, body = page(client, buyer_user, "b2b:introduction_detail", brokered.pk)
    assert "Start a co-development project" not in body


def test_the_requesters_message_is_for_the_staff_not_the_other_firm(
    client, brokered, broker, buyer_user, supplier_user
):
    for user, sees in ((broker, True), (buyer_user, True), (supplier_user, False)):
        _response, body = page(client, user, "b2b:introduction_detail", brokered.pk)
        assert ("Our line 4 keeps failing." in body) is sees


def test_an_unknown_introduction_is_not_found(client, buyer_user):
    response, _ = page(client, buyer_user, "b2b:introduction_detail", 424242)
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, brokered):
    response = client.get(url("b2b:introduction_detail", brokered.pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ------------------------------------------------------------------------------------------------ broker


def test_the_broker_form_prefills_the_default_nda_when_the_firm_asked_for_one(
    client, need, offer, buyer, buyer_user, broker, mailoutbox, mails
):
    introduction = services.request_introduction(
        need, offer, organisation=buyer, message="", acting_user=buyer_user, nda_requested=True
    )
    response, body = page(client, broker, "b2b:introduction_broker", introduction.pk)
    assert "Mutual non-disclosure agreement" in body and "CONFIDENTIAL-OFFER" in body
    with mails():
        response = client.post(
            url("b2b:introduction_broker", introduction.pk),
            {"nda_required": "on", "nda_text": "Keep it secret.", "note": "Meet."},
        )
    assert response.status_code == 302
    introduction.refresh_from_db()
    assert introduction.status == Status.BROKERED and introduction.nda_sha256 == text_hash("Keep it secret.")
    assert sorted(m.to[0] for m in mailoutbox) == ["buyer@example.org", "supplier@example.org"]


def test_firms_cannot_open_the_broker_form(client, requested, buyer_user):
    response, _ = page(client, buyer_user, "b2b:introduction_broker", requested.pk)
    assert response.status_code == 403
    client.post(url("b2b:introduction_broker", requested.pk), {"note": "x"})
    requested.refresh_from_db()
    assert requested.status == Status.REQUESTED


def test_brokering_twice_shows_why_instead_of_failing(client, brokered, broker):
    client.force_login(broker)
    response = client.post(url("b2b:introduction_broker", brokered.pk), {"note": "again"})
    assert response.status_code == 200 and "can no longer be brokered" in response.content.decode()


def test_staff_refuse_a_request_with_a_reason(client, requested, broker):
    client.force_login(broker)
    response = client.post(url("b2b:introduction_refuse", requested.pk), {"reason": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(
        url("b2b:introduction_refuse", requested.pk), {"reason": "Too early."}, follow=True
    )
    assert "Not brokered by the cluster" in response.content.decode()
    requested.refresh_from_db()
    assert requested.status == Status.REFUSED and requested.reason == "Too early."


def test_the_firm_that_asked_withdraws_its_request(client, requested, buyer_user):
    _response, body = page(client, buyer_user, "b2b:introduction_withdraw", requested.pk)
    assert "Withdraw the introduction" in body
    client.post(url("b2b:introduction_withdraw", requested.pk), {"reason": ""})
    requested.refresh_from_db()
    assert requested.status == Status.WITHDRAWN


# ------------------------------------------------------------------------------------------------ answer


def test_the_accept_page_shows_the_nda_and_its_fingerprint_in_a_hidden_field(client, brokered, supplier_user):
    _response, body = page(client, supplier_user, "b2b:introduction_accept", brokered.pk)
    assert "Mutual non-disclosure agreement" in body
    assert f'name="nda_sha256" value="{brokered.nda_sha256}"' in body
    client.post(url("b2b:introduction_accept", brokered.pk), {"nda_sha256": brokered.nda_sha256})
    assert IntroductionAcceptance.objects.filter(introduction=brokered).count() == 1


def test_the_accept_page_lists_the_ground_rules_still_to_accept_with_links(
    client, need, cluster, broker, newcomer, b2b_rules
):
    firm = newcomer.memberships.get().organisation
    introduction = services.propose_introduction(
        need,
        OfferFactory(organisation=firm),
        broker=cluster,
        note="",
        nda_required=False,
        nda_text="",
        acting_user=broker,
    )
    response, body = page(client, newcomer, "b2b:introduction_accept", introduction.pk)
    assert "Ground rules for brokered introductions" in body
    assert url("ground_rules_detail", b2b_rules.pk) in body
    response = client.post(url("b2b:introduction_accept", introduction.pk), {"nda_sha256": ""})
    assert (
        response.status_code == 200 and "Please accept these ground rules first" in response.content.decode()
    )
    assert not IntroductionAcceptance.objects.exists()


def test_accepting_a_changed_nda_text_is_refused_on_the_page(client, brokered, supplier_user):
    client.force_login(supplier_user)
    response = client.post(url("b2b:introduction_accept", brokered.pk), {"nda_sha256": text_hash("old")})
    assert response.status_code == 200 and "changed while you were reading" in response.content.decode()


def test_the_second_acceptance_reveals_the_details(client, brokered, buyer, buyer_user, supplier_user):
    services.accept_introduction(
        brokered, organisation=buyer, nda_sha256=brokered.nda_sha256, acting_user=buyer_user
    )
    client.force_login(supplier_user)
    response = client.post(
        url("b2b:introduction_accept", brokered.pk), {"nda_sha256": brokered.nda_sha256}, follow=True
    )
    body = response.content.decode()
    assert "Both firms accepted" in body and "CONFIDENTIAL-NEED" in body and "Nordic Foods" in body


def test_a_firm_declines(client, brokered, supplier_user):
    client.force_login(supplier_user)
    response = client.post(
        url("b2b:introduction_decline", brokered.pk), {"reason": "No capacity."}, follow=True
    )
    assert "Declined by a firm" in response.content.decode()
    brokered.refresh_from_db()
    assert brokered.status == Status.DECLINED


# ----------------------------------------------------------------------------------------------- outcome


def test_an_outcome_is_recorded_on_an_accepted_introduction(client, accepted, supplier_user):
    client.force_login(supplier_user)
    response = client.post(
        url("b2b:introduction_outcome", accepted.pk),
        {
            "kind": "codevelopment",
            "occurred_on": timezone.localdate().isoformat(),
            "note": "Prototype in May.",
        },
        follow=True,
    )
    assert "Co-development started" in response.content.decode()
    assert accepted.outcomes.get().note == "Prototype in May."


def test_no_outcome_before_acceptance(client, brokered, buyer_user):
    response, _body = page(client, buyer_user, "b2b:introduction_outcome", brokered.pk)
    assert response.status_code == 302
    client.post(
        url("b2b:introduction_outcome", brokered.pk),
        {"kind": "meeting", "occurred_on": timezone.localdate().isoformat()},
    )
    assert not IntroductionOutcome.objects.exists()


# ------------------------------------------------------------------------------------------------ export


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_staff_export_one_row_per_introduction_with_its_outcome(client, accepted, broker):
    services.record_outcome(
        accepted, kind="meeting", occurred_on=date(2025, 3, 4), note="", acting_user=broker
    )
    client.force_login(broker)
    rows = read_csv(client.get(url("b2b:introduction_export")))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(accepted.pk) and row["status"] == "accepted"
    assert row["outcome"] == "meeting" and row["outcome_on"] == "2025-03-04"
    assert row["need_organisation"] == "Nordic Foods" and row["offer_organisation"] == "Breizh Sensors"


def test_firms_cannot_export_introductions(client, accepted, buyer_user):
    response, _ = page(client, buyer_user, "b2b:introduction_export")
    assert response.status_code == 403


def test_the_export_never_starts_a_cell_with_a_formula(client, broker, cluster, buyer):
    IntroductionFactory(need=NeedFactory(organisation=buyer, title="=HYPERLINK(1)"), broker=cluster)
    client.force_login(broker)
    rows = read_csv(client.get(url("b2b:introduction_export")))
    assert rows[0]["need_title"] == "'=HYPERLINK(1)"


# ---------------------------------------------------------------------------------------------- overview


def at(day: str):
    return timezone.make_aware(datetime.fromisoformat(f"{day}T12:00"))


@pytest.fixture
def history(cluster):
    """Hand-made: January 2025: 3 requested (one brokered in January, one in February), February: 1
    requested; accepted: one in February, one in March. Outcomes: a meeting in February, a co-development
    and a no-fit in April. One introduction was declined, one is still requested."""
    a = IntroductionFactory(
        broker=cluster, status=Status.ACCEPTED, brokered_at=at("2025-01-20"), accepted_at=at("2025-02-03")
    )
    b = IntroductionFactory(
        broker=cluster, status=Status.ACCEPTED, brokered_at=at("2025-02-10"), accepted_at=at("2025-03-15")
    )
    c = IntroductionFactory(broker=cluster, status=Status.DECLINED, brokered_at=None)
    d = IntroductionFactory(broker=cluster, status=Status.REQUESTED)
    for introduction, day in ((a, "2025-01-05"), (b, "2025-01-18"), (c, "2025-01-30"), (d, "2025-02-14")):
        Introduction.objects.filter(pk=introduction.pk).update(created_at=at(day))
    IntroductionOutcome.objects.create(introduction=a, kind="meeting", occurred_on=date(2025, 2, 20))
    IntroductionOutcome.objects.create(introduction=a, kind="codevelopment", occurred_on=date(2025, 4, 2))
    IntroductionOutcome.objects.create(introduction=b, kind="no_fit", occurred_on=date(2025, 4, 28))
    return a, b, c, d


def test_the_overview_figures_match_the_hand_counted_history(history, django_assert_num_queries):
    with django_assert_num_queries(2):
        figures = introduction_figures(Introduction.objects.all())
    months = figures["months"]
    assert list(months) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
    table = {
        day.month: (
            row["requested"],
            row["brokered"],
            row["accepted"],
            row["meeting"],
            row["codevelopment"],
            row["no_fit"],
        )
        for day, row in months.items()
    }
    assert table == {
        1: (3, 1, 0, 0, 0, 0),
        2: (1, 1, 1, 1, 0, 0),
        3: (0, 0, 1, 0, 0, 0),
        4: (0, 0, 0, 0, 1, 1),
    }
    assert figures["by_status"] == {
        "requested": 1,
        "brokered": 0,
        "accepted": 2,
        "declined": 1,
        "refused": 0,
        "withdrawn": 0,
    }


def test_the_overview_page_shows_the_charts_and_their_data_tables(client, history, broker):
    response, body = page(client, broker, "b2b:introduction_overview")
    assert response.status_code == 200
    assert "Introductions per month" in body and "Outcomes per month" in body
    assert "Introductions by status" in body and "<svg" in body
    assert "4 introductions so far" in body and "3 outcomes recorded" in body
    # The data table of the first chart: January 2025 with 3 requested, 1 brokered, 0 accepted.
    cells = "".join(f'<td class="number">{n}</td>' for n in (3, 1, 0))
    assert f'<th scope="row">January 2025</th>{cells}' in body


def test_the_overview_is_for_staff(client, buyer_user):
    response, _ = page(client, buyer_user, "b2b:introduction_overview")
    assert response.status_code == 403
