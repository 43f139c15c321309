"""Invitations after a draw: one mail per invitation whatever the retries, signed links that explain
themselves, expiry and one reminder, withdrawal of consent taking people out at once, who took part, and
the firm's pseudonymous view of the people drawn."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from livinglab import services as core
from livinglab.factories import DEMO_PASSWORD, MembershipFactory, PersonFactory, UserFactory
from livinglab.models import AuditEntry, Role
from pilots.errors import PanelError
from pilots.factories import PanelMembershipFactory, ParticipantProfileFactory
from pilots.models import Draw, DrawSelection, Invitation, ParticipantProfile, Participation
from pilots.services.invitations import (
    answer_invitation,
    draw_funnel,
    record_participation,
    send_invitations,
    withdraw_from_pending,
)
from pilots.tasks import expire_invitations, remind_invitations, send_invitation, send_invitation_reminder
from pilots.templatetags.invitation_tags import my_invitations
from pilots.tokens import INVITATION_SALT, invitation_token, unsign
from tests.browser import sign_in
from tests.concurrency import on_postgresql, run_together

THIS_YEAR = timezone.localdate().year
# Session, user, draw, the user's memberships, the page's count and rows, the audit entry of the look
# (savepoint, chain head twice, insert, head update, release) and the funnel's one aggregate.
PAGE_QUERIES = 13
INVOLVES = "Wear a fall-detection watch at home for two weeks, then a 45-minute interview at home."


@pytest.fixture
def make_draw(panel, purposes, sme):
    """A draw made for the SME from the given members, as the draw engine leaves it (status drawn)."""

    def _make(members, *, requested_by=sme, days=10, title="Fall-detection watch at home"):
        draw = Draw.objects.create(
            panel=panel,
            title=title,
            involves=INVOLVES,
            requested_by=requested_by,
            size=len(members),
            respond_within_days=days,
            drawn_at=timezone.now(),
        )
        draw.required_purposes.set([purposes["participation"]])
        for rank, membership in enumerate(members, 1):
            DrawSelection.objects.create(draw=draw, membership=membership, rank=rank)
        return draw

    return _make


@pytest.fixture
def invite(staff_user, django_capture_on_commit_callbacks):
    """Send a draw's invitations as its coordinator, running the mails queued on commit."""

    def _invite(draw):
        with django_capture_on_commit_callbacks(execute=True):
            return send_invitations(draw, acting_user=staff_user)

    return _invite


@pytest.fixture
def withdraw(django_capture_on_commit_callbacks):
    """A member withdraws their consent to take part, online; panels learn of it on commit."""

    def _withdraw(membership):
        record = membership.person.consents.get(purpose__code="participation")
        with django_capture_on_commit_callbacks(execute=True):
            core.withdraw_consent(record, channel="online", acting_user=membership.person.user)

    return _withdraw


@pytest.fixture
def named_member(member):
    def _named(name, email, **profile):
        person = PersonFactory(full_name=name, user=UserFactory(email=email))
        return member(person=person, **profile)

    return _named


@pytest.fixture
def firm_member(sme_admin):
    return sme_admin


@pytest.fixture
def other_firm_member(other_sme):
    return MembershipFactory(
        organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory(email="loire@example.org")
    ).user


def answer_url(invitation):
    return reverse("pilots:invitation_answer", args=[invitation_token(invitation)])


def link_in(body: str) -> str:
    """The signed link a mail carries, as a path on this site."""
    line = next(line for line in body.splitlines() if "/panels/invitations/" in line)
    return line.strip().removeprefix("http://testserver")


def invitation_of(path: str) -> int:
    token = resolve(path).kwargs["token"]
    return unsign(token, INVITATION_SALT)[0]


# ------------------------------------------------------------------------------------------- sending


def test_sending_invitations_mails_each_person_once_in_plain_language(
    named_member, make_draw, invite, mailoutbox
):
    yvonne = named_member("Yvonne Le Bihan", "yvonne@example.org")
    draw = make_draw([yvonne, named_member("Paul Morvan", "paul@example.org")])
    invitations = invite(draw)

    draw.refresh_from_db()
    assert draw.status == Draw.Status.INVITING
    assert len(invitations) == 2 and len(mailoutbox) == 2
    message = next(m for m in mailoutbox if m.to == ["yvonne@example.org"])
    invitation = Invitation.objects.get(person=yvonne.person)
    assert "Fall-detection watch at home" in message.subject
    assert INVOLVES in message.body
    assert "voluntary" in message.body and "nothing changes for you" in message.body
    assert timezone.localtime(invitation.expires_at).strftime("%Y") in message.body
    assert "http://testserver/panels/invitations/" in message.body
    assert invitation_of(link_in(message.body)) == invitation.pk
    assert "Breizh Sensors will not learn your name" in message.body
    assert invitation.mailed_at is not None
    assert invitation.expires_at.date() >= (timezone.now() + timedelta(days=10)).date()


def test_a_retried_invitation_mail_sends_one_mail(member, make_draw, staff_user, mailoutbox):
    draw = make_draw([member()])
    with mock.patch("pilots.services.invitations.send_invitation.delay_on_commit"):
        send_invitations(draw, acting_user=staff_user)
    invitation = Invitation.objects.get()
    with (
        mock.patch("pilots.tasks.invitations.send_mail", side_effect=OSError("SMTP down")),
        pytest.raises(OSError),
    ):
        send_invitation(invitation.pk)  # the first attempt fails: its claim is given back
    invitation.refresh_from_db()
    assert invitation.mailed_at is None and mailoutbox == []

    assert send_invitation(invitation.pk) is True  # the retry
    assert send_invitation(invitation.pk) is False  # a duplicate delivery of the task
    assert len(mailoutbox) == 1


def test_invitations_cannot_be_sent_twice(member, make_draw, invite, staff_user, mailoutbox):
    draw = make_draw([member()])
    invite(draw)
    with pytest.raises(PanelError, match="already sent"):
        send_invitations(draw, acting_user=staff_user)
    assert Invitation.objects.count() == 1 and len(mailoutbox) == 1


def test_people_who_prefer_the_phone_get_no_mail_and_staff_see_how_to_reach_them(
    member, make_draw, invite, staff_user, client, mailoutbox
):
    caller = member(preferred_contact=ParticipantProfile.Contact.PHONE, phone="02 99 12 34 56")
    draw = make_draw([caller, member()])
    invite(draw)
    assert Invitation.objects.count() == 2 and len(mailoutbox) == 1
    assert Invitation.objects.get(person=caller.person).mailed_at is None

    client.force_login(staff_user)
    page = client.get(reverse("pilots:draw_invitations", args=[draw.pk])).content.decode()
    assert "Contact by phone: 02 99 12 34 56" in page
    assert caller.person.full_name in page


def test_a_minors_invitation_goes_to_their_guardian(panel, make_draw, invite, mailoutbox):
    parent = PersonFactory(user=UserFactory(email="parent@example.org"))
    teen = PersonFactory(
        user=None, full_name="Lou", birth_date=timezone.localdate() - timedelta(days=365 * 14)
    )
    ParticipantProfileFactory(person=teen, year_of_birth=THIS_YEAR - 14, contact_email="lou@example.org")
    core.add_guardian(teen, guardian=parent, relationship="parent", acting_user=parent.user)
    draw = make_draw([PanelMembershipFactory(panel=panel, person=teen)])
    draw.required_purposes.clear()  # the consent gate is the engine's: here only the address matters
    invite(draw)
    assert [m.to for m in mailoutbox] == [["parent@example.org"]]
    assert "Lou, for whom you are guardian" in mailoutbox[0].body


# ------------------------------------------------------------------------------------ the signed link


def test_an_invitee_accepts_through_the_signed_link(member, make_draw, invite, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = Invitation.objects.get()

    page = client.get(answer_url(invitation))
    assert page.status_code == 200
    text = page.content.decode()
    assert INVOLVES in text and "Taking part is voluntary" in text
    assert "Share my name and contact details with Breizh Sensors for this study" in text
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.OPENED and invitation.opened_at is not None

    answered = client.post(answer_url(invitation), {"answer": "accept", "share_identity": "on"}, follow=True)
    assert "You accepted this invitation on" in answered.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED and invitation.share_identity
    assert AuditEntry.objects.filter(action="pilots.invitation.accept").count() == 1


def test_declining_never_shares_an_identity(member, make_draw, invite, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = Invitation.objects.get()
    client.post(answer_url(invitation), {"answer": "decline", "share_identity": "on"})
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED and not invitation.share_identity


def test_a_replayed_link_explains_itself(member, make_draw, invite, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = Invitation.objects.get()
    client.post(answer_url(invitation), {"answer": "accept"})

    replay = client.post(answer_url(invitation), {"answer": "decline"})
    assert replay.status_code == 409
    assert "You already accepted this invitation on" in replay.content.decode()
    reopened = client.get(answer_url(invitation))
    assert reopened.status_code == 200 and "You accepted this invitation on" in reopened.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    with pytest.raises(PanelError, match="already accepted"):
        answer_invitation(invitation, False, acting_user=None)


def test_an_expired_link_explains_itself(member, make_draw, invite, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    page = client.get(answer_url(invitation))
    assert page.status_code == 410
    assert "This invitation expired: the answer was due by" in page.content.decode()
    assert client.post(answer_url(invitation), {"answer": "accept"}).status_code == 409
    invitation.refresh_from_db()
    assert invitation.status in Invitation.OPEN and invitation.responded_at is None


@pytest.mark.parametrize(
    "alter", [lambda t: t[:-3] + "abc", lambda t: t.replace(":", "x", 1), lambda t: "nonsense"]
)
def test_an_altered_link_gets_a_clear_page_not_an_error(member, make_draw, invite, client, alter):
    draw = make_draw([member()])
    invite(draw)
    page = client.get(
        reverse("pilots:invitation_answer", args=[alter(invitation_token(Invitation.objects.get()))])
    )
    assert page.status_code == 400
    assert "This link does not work" in page.content.decode()


def test_a_link_for_an_invitation_whose_nonce_changed_is_refused(member, make_draw, invite, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = Invitation.objects.get()
    url = answer_url(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(nonce="another")
    assert client.get(url).status_code == 400


def test_the_signed_in_invitee_answers_from_their_own_page_and_nobody_else_can(
    member, make_draw, invite, client, participant
):
    invited = member()
    draw = make_draw([invited])
    invite(draw)
    invitation = Invitation.objects.get()
    url = reverse("pilots:my_invitation", args=[invitation.pk])

    client.force_login(participant)
    assert client.get(url).status_code == 403
    client.force_login(invited.person.user)
    assert client.get(url).status_code == 200
    client.post(url, {"answer": "decline"})
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED


# ---------------------------------------------------------------------------------- expiry, reminders


def test_the_expiry_task_expires_open_invitations_past_their_date_only(member, make_draw, invite):
    draw = make_draw([member(), member(), member()])
    invite(draw)
    late, answered, current = Invitation.objects.order_by("pk")
    answer_invitation(answered, True, acting_user=None)
    past = timezone.now() - timedelta(minutes=1)
    Invitation.objects.filter(pk__in=[late.pk, answered.pk]).update(expires_at=past)

    assert expire_invitations() == 1
    assert expire_invitations() == 0
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {late.pk: "expired", answered.pk: "accepted", current.pk: "sent"}
    assert draw_funnel(draw)["expired"] == 1


def test_a_reminder_is_sent_once_a_few_days_before_the_answer_by_date(member, make_draw, invite, mailoutbox):
    draw = make_draw([member(), member()])
    invite(draw)
    due, answered = Invitation.objects.order_by("pk")
    answer_invitation(answered, False, acting_user=None)
    Invitation.objects.update(
        mailed_at=timezone.now() - timedelta(days=5), expires_at=timezone.now() + timedelta(days=2)
    )
    mailoutbox.clear()

    assert remind_invitations() == 1
    assert remind_invitations() == 0
    assert send_invitation_reminder(due.pk) is False
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.startswith("Reminder: please answer by")
    assert invitation_of(link_in(mailoutbox[0].body)) == due.pk


def test_no_reminder_for_an_invitation_just_mailed(member, make_draw, invite, mailoutbox):
    draw = make_draw([member()], days=1)
    invite(draw)
    assert remind_invitations() == 0


# ---------------------------------------------------------------------------------- consent withdrawal


def test_withdrawing_consent_removes_the_person_from_a_pending_draw_and_their_open_invitation(
    member, make_draw, invite, withdraw
):
    leaving, staying = member(), member()
    invited_draw = make_draw([leaving, staying], title="Smart pill box")
    invite(invited_draw)
    pending_draw = make_draw([leaving, staying], title="Tablet video calls")

    withdraw(leaving)

    removed = pending_draw.selections.get(membership=leaving)
    assert removed.removed_at is not None and "Consent withdrawn" in removed.removal_reason
    assert pending_draw.selections.get(membership=staying).removed_at is None
    assert Invitation.objects.get(person=leaving.person).status == Invitation.Status.WITHDRAWN
    assert Invitation.objects.get(person=staying.person).status == Invitation.Status.SENT
    assert AuditEntry.objects.filter(action="pilots.draw.withdraw_person").count() == 2

    # Sending the pending draw now invites only the person who still consents.
    assert [i.person_id for i in invite(pending_draw)] == [staying.person_id]


def test_withdrawal_leaves_alone_draws_that_do_not_need_the_purpose(member, make_draw, purposes):
    person = member(consent=("participation", "recording"))
    draw = make_draw([person])
    draw.required_purposes.set([purposes["participation"]])
    assert withdraw_from_pending(person.person, purposes["recording"]) == (0, 0)
    assert draw.selections.get().removed_at is None


def test_an_accepted_invitation_is_withdrawn_and_its_identity_no_longer_shared(
    member, make_draw, invite, purposes, withdraw
):
    person = member()
    draw = make_draw([person])
    invite(draw)
    invitation = answer_invitation(Invitation.objects.get(), True, True, acting_user=None)
    assert withdraw_from_pending(person.person, purposes["participation"]) == (0, 0)  # still consents
    withdraw(person)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.WITHDRAWN and not invitation.share_identity


# ------------------------------------------------------------------------------------ participation


def test_staff_record_who_took_part_and_can_correct_it(member, make_draw, invite, staff_user, client):
    came, declined = member(), member()
    draw = make_draw([came, declined])
    invite(draw)
    accepted = answer_invitation(Invitation.objects.get(person=came.person), True, acting_user=None)
    answer_invitation(Invitation.objects.get(person=declined.person), False, acting_user=None)

    client.force_login(staff_user)
    url = reverse("pilots:record_participation", args=[accepted.pk])
    client.post(url, {"outcome": "no_show"})
    client.post(url, {"outcome": "took_part"})
    participation = Participation.objects.get()
    assert participation.outcome == "took_part" and participation.person == came.person
    assert participation.recorded_by == staff_user
    with pytest.raises(PanelError, match="Only people who accepted"):
        record_participation(declined.person.invitations.get(), "took_part", acting_user=staff_user)


def test_only_the_panels_staff_record_participation(member, make_draw, invite, other_cluster_staff, client):
    draw = make_draw([member()])
    invite(draw)
    invitation = answer_invitation(Invitation.objects.get(), True, acting_user=None)
    client.force_login(other_cluster_staff)
    url = reverse("pilots:record_participation", args=[invitation.pk])
    assert client.post(url, {"outcome": "took_part"}).status_code == 403
    assert not Participation.objects.exists()


# ------------------------------------------------------------------------------------------- funnel


def test_the_funnel_counts_each_step_of_a_draw(member, make_draw, invite, client, withdraw):
    people = [member() for _ in range(5)]
    draw = make_draw(people)
    invite(draw)
    first, second, third, *_rest = Invitation.objects.order_by("pk")
    client.get(answer_url(first))
    answer_invitation(first, True, acting_user=None)
    answer_invitation(second, False, acting_user=None)
    Invitation.objects.filter(pk=third.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expire_invitations()
    withdraw(people[3])

    assert draw_funnel(draw) == {
        "invited": 5,
        "opened": 2,
        "accepted": 1,
        "declined": 1,
        "expired": 1,
        "withdrawn": 1,
    }


def test_the_staff_list_shows_the_funnel_and_pins_its_query_count(
    member, make_draw, invite, staff_user, client
):
    client.force_login(staff_user)

    def queries(size):
        draw = make_draw([member() for _ in range(size)], title=f"Study of {size}")
        invite(draw)
        for invitation in Invitation.objects.filter(selection__draw=draw)[:2]:
            answer_invitation(invitation, True, acting_user=None)
        url = reverse("pilots:draw_invitations", args=[draw.pk])
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        assert page.status_code == 200
        assert "Opened the link" in page.content.decode()
        return len(captured)

    assert queries(2) == queries(7) == PAGE_QUERIES + 1  # staff: and the authenticator check under /panels/


def test_the_send_button_sends_the_invitations(member, make_draw, staff_user, client, mailoutbox):
    draw = make_draw([member()])
    client.force_login(staff_user)
    page = client.get(reverse("pilots:draw_invitations", args=[draw.pk])).content.decode()
    assert "Send the invitations" in page
    with mock.patch("pilots.services.invitations.send_invitation.delay_on_commit") as enqueue:
        client.post(reverse("pilots:send_invitations", args=[draw.pk]))
    draw.refresh_from_db()
    assert draw.status == Draw.Status.INVITING and enqueue.call_count == 1


# ------------------------------------------------------------------------------------ the firm's view


def test_a_firm_sees_codes_and_shared_attributes_but_no_identity_unless_opted_in(
    named_member, make_draw, invite, firm_member, client
):
    hidden = named_member(
        "Yvonne Le Bihan",
        "yvonne@example.org",
        year_of_birth=THIS_YEAR - 70,
        phone="02 99 11 11 11",
        digital_skills="basic",
    )
    shared = named_member("Paul Morvan", "paul@example.org", year_of_birth=THIS_YEAR - 40)
    pending = named_member("Anne Guivarc'h", "anne.g@example.org")
    draw = make_draw([hidden, shared, pending])
    invite(draw)
    answer_invitation(Invitation.objects.get(person=hidden.person), True, False, acting_user=None)
    answer_invitation(Invitation.objects.get(person=shared.person), True, True, acting_user=None)

    client.force_login(firm_member)
    page = client.get(reverse("pilots:draw_participants", args=[draw.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for selection in draw.selections.all():
        assert selection.code in html
    for secret in ("Yvonne", "Le Bihan", "yvonne@example.org", "02 99 11 11 11", "Anne Guivarc", "anne.g@"):
        assert secret not in html
    assert "Paul Morvan" in html and "paul@example.org" in html
    assert "65 to 74" in html and "Bretagne" in html  # age band and region are shared by default
    assert "Basic: with help from others" not in html  # digital skills are not shared
    assert AuditEntry.objects.filter(action="pilots.draw.view_participants", actor=firm_member).exists()


def test_a_firm_of_another_organisation_is_refused(member, make_draw, other_firm_member, client):
    draw = make_draw([member()])
    client.force_login(other_firm_member)
    assert client.get(reverse("pilots:draw_participants", args=[draw.pk])).status_code == 403
    assert client.get(reverse("pilots:draw_invitations", args=[draw.pk])).status_code == 403


def test_a_firm_cannot_open_the_staff_list(member, make_draw, firm_member, client):
    draw = make_draw([member()])
    client.force_login(firm_member)
    assert client.get(reverse("pilots:draw_invitations", args=[draw.pk])).status_code == 403


def test_the_firms_view_reads_a_constant_number_of_queries(member, make_draw, invite, firm_member, client):
    client.force_login(firm_member)

    def queries(size):
        draw = make_draw([member() for _ in range(size)], title=f"Study of {size}")
        invite(draw)
        for invitation in Invitation.objects.filter(selection__draw=draw):
            answer_invitation(invitation, True, True, acting_user=None)
        url = reverse("pilots:draw_participants", args=[draw.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    assert queries(2) == queries(8) == PAGE_QUERIES


# ------------------------------------------------------------------------------------ the workspace


def test_my_invitations_lists_open_ones_first_then_recent_answers(member, make_draw, invite):
    person = member()
    answered_draw = make_draw([person], title="Earlier study")
    invite(answered_draw)
    answer_invitation(Invitation.objects.get(), False, acting_user=None)
    open_draw = make_draw([person], title="New study")
    invite(open_draw)

    context = my_invitations(person.person)
    assert [i.selection.draw.title for i in context["open"]] == ["New study"]
    assert [i.selection.draw.title for i in context["recent"]] == ["Earlier study"]
    assert my_invitations(None) == {"open": [], "recent": []}


# ------------------------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_the_invitation_page_and_the_firms_view_in_a_browser(
    page, shoot, named_member, make_draw, staff_user, firm_member, mailoutbox
):
    yvonne = named_member("Yvonne Le Bihan", "yvonne@example.org", year_of_birth=THIS_YEAR - 70)
    draw = make_draw([yvonne, named_member("Paul Morvan", "paul@example.org")])
    send_invitations(draw, acting_user=staff_user)
    invitation_mail = next(m for m in mail.outbox if m.to == ["yvonne@example.org"] and "study" in m.subject)
    page.goto(link_in(invitation_mail.body))
    page.get_by_role("heading", level=1, name="Fall-detection watch at home").wait_for()
    shoot("1-invitation")
    page.get_by_label("Share my name and contact details with Breizh Sensors for this study").check()
    page.get_by_role("button", name="Yes, I will take part").click()
    page.get_by_text("You accepted this invitation on").wait_for()
    shoot("2-accepted")

    sign_in(page, firm_member.email, DEMO_PASSWORD)
    page.goto(reverse("pilots:draw_participants", args=[draw.pk]))
    page.get_by_role("heading", level=1, name="Fall-detection watch at home").wait_for()
    shoot("3-firm-view")
    html = page.content()
    assert "Yvonne Le Bihan" in html and "Paul Morvan" not in html


@pytest.mark.browser
def test_the_staff_list_of_a_draws_invitations_in_a_browser(
    page, shoot, live_server, named_member, make_draw, staff_user
):
    came = named_member("Yvonne Le Bihan", "yvonne@example.org")
    caller = named_member(
        "Jean Riou",
        "jean@example.org",
        preferred_contact=ParticipantProfile.Contact.PHONE,
        phone="02 99 12 34 56",
    )
    draw = make_draw([came, caller, named_member("Paul Morvan", "paul@example.org")])
    send_invitations(draw, acting_user=staff_user)
    answer_invitation(Invitation.objects.get(person=came.person), True, acting_user=None)
    client = Client()
    client.force_login(staff_user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(reverse("pilots:draw_invitations", args=[draw.pk]))
    page.get_by_text("Contact by phone: 02 99 12 34 56").wait_for()
    page.get_by_role("button", name=re.compile("^Took part")).click()
    page.get_by_text("Recorded for").wait_for()
    shoot("1-staff-list")
    assert Participation.objects.get().outcome == "took_part"


# ----------------------------------------------------------------------- concurrency (PostgreSQL only)


@on_postgresql
def test_answers_sent_at_the_same_moment_record_one(transactional_db, member, make_draw, staff_user):
    draw = make_draw([member()])
    with mock.patch("pilots.services.invitations.send_invitation.delay_on_commit"):
        send_invitations(draw, acting_user=staff_user)
    invitation = Invitation.objects.get()

    results = run_together(lambda i: answer_invitation(invitation, i % 2 == 0, acting_user=None), 6)

    assert len([r for r in results if isinstance(r, Invitation)]) == 1, results
    assert all("already" in str(r) for r in results if isinstance(r, PanelError))
    assert (
        AuditEntry.objects.filter(
            action__in=["pilots.invitation.accept", "pilots.invitation.decline"]
        ).count()
        == 1
    )


@on_postgresql
def test_concurrent_sends_and_mail_deliveries_mail_each_person_once(
    transactional_db, member, make_draw, staff_user, mailoutbox
):
    draw = make_draw([member(), member()])
    mailoutbox.clear()  # the consent receipts
    results = run_together(lambda i: send_invitations(draw, acting_user=staff_user), 3)
    assert len([r for r in results if isinstance(r, list)]) == 1, results
    assert Invitation.objects.count() == 2 and len(mailoutbox) == 2
    Invitation.objects.update(mailed_at=None)
    mailoutbox.clear()

    invitation = Invitation.objects.first()
    assert sum(run_together(lambda i: send_invitation(invitation.pk), 4)) == 1
    assert len(mailoutbox) == 1


@on_postgresql
def test_a_withdrawal_racing_the_sending_leaves_no_open_invitation(
    transactional_db, member, make_draw, staff_user, purposes
):
    leaving = member()
    draw = make_draw([leaving, member()])
    record = leaving.person.consents.get(purpose__code="participation")

    def worker(i):
        if i == 0:
            with mock.patch("pilots.services.invitations.send_invitation.delay_on_commit"):
                return send_invitations(draw, acting_user=staff_user)
        return core.withdraw_consent(record, channel="online", acting_user=leaving.person.user)

    run_together(worker, 2)

    assert not Invitation.objects.filter(person=leaving.person, status__in=Invitation.OPEN).exists()
    selection = draw.selections.get(membership=leaving)
    assert selection.removed_at is not None or selection.invitation.status == Invitation.Status.WITHDRAWN
