"""Accounts (django-allauth): mandatory verification, password reset, rate limits, MFA for staff roles."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from livinglab.factories import DEMO_PASSWORD, UserFactory
from livinglab.models import Person


def link_in(message) -> str:
    return re.search(r"http://testserver(\S+)", message.body).group(1)


def test_an_unverified_account_cannot_sign_in_and_is_sent_a_verification_mail(client, db):
    user = UserFactory(email="new@example.org", verified=False)
    response = client.post(reverse("account_login"), {"login": user.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert not client.get(reverse("participant_workspace")).wsgi_request.user.is_authenticated
    assert [m.to for m in mail.outbox] == [["new@example.org"]]


def test_sign_up_creates_the_person_and_asks_for_verification(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "ines@example.org",
            "full_name": "Inès Kervella",
            "password1": "a-long-pass-9876",
            "password2": "a-long-pass-9876",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(user__email="ines@example.org")
    assert person.full_name == "Inès Kervella"
    assert not EmailAddress.objects.get(email="ines@example.org").verified
    assert "confirm-email" in link_in(mail.outbox[0])


def test_password_reset_by_mail_sets_a_new_password(client, participant):
    client.post(reverse("account_reset_password"), {"email": participant.email})
    reset_link = link_in(mail.outbox[0])
    form_page = client.get(reset_link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset_link,
        {"password1": "brand-new-pass-2026", "password2": "brand-new-pass-2026"},
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.check_password("brand-new-pass-2026")


def test_a_tampered_password_reset_link_explains_itself(client, participant):
    client.post(reverse("account_reset_password"), {"email": participant.email})
    tampered = link_in(mail.outbox[0]).rstrip("/") + "x/"
    response = client.get(tampered, follow=True)
    assert response.status_code == 200
    assert "invalid" in response.content.decode().lower()
    participant.refresh_from_db()
    assert participant.check_password(DEMO_PASSWORD)


def test_repeated_failed_logins_are_rate_limited(client, participant):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": participant.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": participant.email, "password": DEMO_PASSWORD})
    assert response.status_code in (200, 429)
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", ["staff_user", "procurer", "funder"])
def test_privileged_roles_with_an_authenticator_are_asked_for_their_code_at_login(persona, request, client):
    user = request.getfixturevalue(persona)
    response = client.post(reverse("account_login"), {"login": user.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
