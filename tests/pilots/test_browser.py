"""The panel journey in a real browser: an interest group enrols an older person, the person confirms and
consents from the e-mail, a coordinator draws a sample that includes them, and they accept the invitation."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from livinglab.factories import DEMO_PASSWORD, MembershipFactory, UserFactory
from livinglab.models import Role
from pilots.models import Draw, Invitation, PanelMembership
from tests.browser import fresh_totp_code, sign_in

pytestmark = pytest.mark.browser


def link_in(message, path: str) -> str:
    """The site-relative part of the link to ``path`` in a mail (mails carry the public address)."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", message.body)
    assert found, message.body
    return found.group(1)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


def test_a_club_enrols_an_older_person_who_confirms_is_drawn_and_accepts(
    page, shoot, panel, group_rep, cluster, purposes, mailoutbox
):
    coordinator = MembershipFactory(
        organisation=cluster, role=Role.LAB_COORDINATOR, user=UserFactory(email="coordinator@example.org")
    ).user
    secret = generate_totp_secret()
    TOTP.activate(coordinator, secret)

    # The seniors' club enrols Yvonne, who has an e-mail address but asks the club to help.
    sign_in(page, group_rep.email, DEMO_PASSWORD)
    page.goto(f"/panels/{panel.slug}/enrol/")
    page.get_by_label("Full name").fill("Yvonne Le Bihan")
    page.get_by_label("Year of birth").fill("1944")
    page.get_by_role("textbox", name="Region").fill("Bretagne")
    page.get_by_label("By e-mail", exact=True).check()
    page.get_by_label("E-mail address").fill("yvonne@example.org")
    page.get_by_label("Ask them to read the form and confirm by e-mail").check()
    shoot("1-club-enrols")
    page.get_by_role("button", name="Enrol", exact=True).click()
    expect(page.get_by_text("Yvonne Le Bihan is enrolled.")).to_be_visible()
    membership = PanelMembership.objects.get(person__full_name="Yvonne Le Bihan")
    assert membership.status == PanelMembership.Status.PENDING
    sign_out(page)

    # Yvonne opens the link in her mail, reads the form, consents and confirms.
    confirmation = next(m for m in mailoutbox if "yvonne@example.org" in m.to)
    page.goto(link_in(confirmation, "/panels/confirm/"))
    page.get_by_label("Taking part in studies").check()
    shoot("2-person-confirms")
    page.get_by_role("button", name="Confirm and join").click()
    expect(page.get_by_role("heading", name="You have confirmed")).to_be_visible()
    membership.refresh_from_db()
    assert membership.status == PanelMembership.Status.ACTIVE

    # The coordinator previews and draws one person aged 75 and over, which can only be Yvonne.
    sign_in(page, coordinator.email, DEMO_PASSWORD)
    page.locator("input[name=code]").fill(fresh_totp_code(secret, set()))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)
    page.goto(f"/panels/{panel.slug}/screeners/new/")
    page.locator("input[name=name]").fill("Oldest members")
    page.locator("select[name=attribute_0]").select_option("age_band")
    page.locator("select[name=operator_0]").select_option("in")
    page.locator("input[name=value_0]").fill("75 and over")
    page.get_by_role("button", name="Save screener").click()
    expect(page.get_by_text("The screener “Oldest members” was saved.")).to_be_visible()

    page.goto(f"/panels/{panel.slug}/draws/new/")
    page.locator("input[name=title]").fill("A talking kitchen timer")
    page.locator("textarea[name=involves]").fill(
        "One visit of an hour at home to try a kitchen timer that speaks. You get a 20 EUR voucher."
    )
    page.locator("select[name=screener]").select_option(label="Oldest members")
    page.get_by_label("Taking part in studies").check()
    page.locator("input[name=size]").fill("1")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("1 member is eligible.")).to_be_visible()
    shoot("3-preview")
    page.get_by_role("button", name="Draw now").click()
    expect(page.get_by_role("heading", name="A talking kitchen timer")).to_be_visible()
    draw = Draw.objects.get()
    assert list(draw.selections.values_list("membership_id", flat=True)) == [membership.pk]
    expect(page.get_by_text(draw.selections.get().code)).to_be_visible()
    shoot("4-draw")

    page.goto(f"/panels/draws/{draw.pk}/invitations/")
    page.get_by_role("button", name="Send the invitations").click()
    expect(page.get_by_text(re.compile("sent", re.I)).first).to_be_visible()
    sign_out(page)

    # Yvonne accepts from her invitation mail.
    invitation_mail = [m for m in mailoutbox if "yvonne@example.org" in m.to][-1]
    assert "A talking kitchen timer" in invitation_mail.body
    page.goto(link_in(invitation_mail, "/panels/invitations/"))
    expect(page.get_by_role("heading", name="What taking part involves")).to_be_visible()
    shoot("5-invitation")
    page.get_by_role("button", name="Yes, I will take part").click()
    expect(page.get_by_text(re.compile("accepted|thank you", re.I)).first).to_be_visible()
    shoot("6-accepted")
    assert Invitation.objects.get().status == Invitation.Status.ACCEPTED
