"""Celery beat mails to holders: the reminder before expiry and the request for feedback after use. Each
goes exactly once, to the holder or, for a minor, to the guardians."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.utils import timezone

from livinglab.factories import PersonFactory, UserFactory
from livinglab.models import Guardianship
from vouchers import services
from vouchers.factories import VoucherFactory
from vouchers.models import Voucher
from vouchers.tasks import (
    remind_expiring_vouchers,
    request_feedback,
    send_expiry_reminder,
    send_feedback_request,
)


@pytest.fixture
def my_voucher(participant, programme, solution):
    return VoucherFactory(programme=programme, holder=participant.person)


def expiring_in(voucher, days: float):
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() + timedelta(days=days))
    voucher.refresh_from_db()
    return voucher


def redeem(voucher, firm, cashier, amount="500.00"):
    return services.redeem_voucher(
        voucher.code, firm=firm, amount=Decimal(amount), idempotency_key=uuid.uuid4().hex, acting_user=cashier
    )


@pytest.fixture
def child_voucher(participant, programme):
    child = PersonFactory(
        user=UserFactory(email="child@example.org"), birth_date=date.today() - timedelta(days=12 * 366)
    )
    Guardianship.objects.create(guardian=participant.person, ward=child, relationship="parent")
    return VoucherFactory(programme=programme, holder=child)


def test_both_tasks_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"vouchers.tasks.remind_expiring_vouchers", "vouchers.tasks.request_feedback"} <= tasks


# ------------------------------------------------------------------------------------------ reminders


def test_a_holder_is_reminded_once_before_expiry_without_the_full_code(my_voucher, participant):
    expiring_in(my_voucher, 10)  # the programme reminds 14 days before

    assert remind_expiring_vouchers.delay().get() == 1
    assert remind_expiring_vouchers.delay().get() == 0

    [message] = mail.outbox
    assert message.to == [participant.email]
    assert my_voucher.formatted_code[-6:] in message.body
    assert my_voucher.code not in message.body and my_voucher.formatted_code not in message.body
    assert "500.00 EUR is still available" in message.body
    my_voucher.refresh_from_db()
    assert my_voucher.reminder_sent_at is not None


def test_a_voucher_far_from_expiry_or_used_up_is_not_reminded(my_voucher, programme, firm, cashier):
    expiring_in(my_voucher, 30)
    used = expiring_in(VoucherFactory(programme=programme), 5)
    redeem(used, firm, cashier)

    assert remind_expiring_vouchers.delay().get() == 0
    assert mail.outbox == []


def test_the_reminder_period_is_the_programmes(my_voucher, programme):
    programme.reminder_days = 3
    programme.save()
    expiring_in(my_voucher, 10)
    assert remind_expiring_vouchers.delay().get() == 0
    expiring_in(my_voucher, 2)
    assert remind_expiring_vouchers.delay().get() == 1


def test_a_minors_reminder_goes_to_the_guardian(child_voucher, participant):
    expiring_in(child_voucher, 3)
    remind_expiring_vouchers.delay().get()
    assert [m.to for m in mail.outbox] == [[participant.email]]


def test_a_second_worker_sending_the_same_reminder_sends_nothing(my_voucher):
    expiring_in(my_voucher, 3)
    assert send_expiry_reminder.delay(my_voucher.pk).get() is True
    assert send_expiry_reminder.delay(my_voucher.pk).get() is False
    assert len(mail.outbox) == 1


def test_a_failed_send_can_be_retried(my_voucher, monkeypatch):
    expiring_in(my_voucher, 3)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    with pytest.raises(Retry):  # Celery retries later, and the claim is given back for that retry
        send_expiry_reminder.apply(args=[my_voucher.pk], throw=True)
    my_voucher.refresh_from_db()
    assert my_voucher.reminder_sent_at is None
    monkeypatch.undo()
    assert send_expiry_reminder.delay(my_voucher.pk).get() is True


# ------------------------------------------------------------------------------------------ feedback


def test_a_holder_is_asked_for_feedback_once_after_using_the_voucher(my_voucher, participant, firm, cashier):
    assert request_feedback.delay().get() == 0
    redeem(my_voucher, firm, cashier)

    assert request_feedback.delay().get() == 1
    assert request_feedback.delay().get() == 0

    [message] = mail.outbox
    assert message.to == [participant.email]
    assert f"/vouchers/{my_voucher.pk}/feedback/" in message.body


def test_no_feedback_request_after_a_reversed_redemption_or_when_not_required(
    my_voucher, programme, firm, cashier
):
    entry = redeem(my_voucher, firm, cashier)
    services.reverse_redemption(entry, acting_user=cashier)
    assert request_feedback.delay().get() == 0

    programme.feedback_required = False
    programme.save()
    redeem(my_voucher, firm, cashier)
    assert request_feedback.delay().get() == 0
    assert mail.outbox == []


def test_no_feedback_request_once_feedback_was_given(my_voucher, participant, firm, cashier):
    redeem(my_voucher, firm, cashier)
    services.submit_feedback(
        my_voucher, satisfaction=5, recommend=10, solved_need=True, comment="", acting_user=participant
    )
    assert request_feedback.delay().get() == 0


def test_a_minors_feedback_request_goes_to_the_guardian(child_voucher, participant, firm, cashier):
    redeem(child_voucher, firm, cashier)
    request_feedback.delay().get()
    assert [m.to for m in mail.outbox] == [[participant.email]]


def test_two_workers_send_one_feedback_request(my_voucher, firm, cashier):
    redeem(my_voucher, firm, cashier)
    assert [send_feedback_request.delay(my_voucher.pk).get() for _ in range(2)] == [True, False]
    assert len(mail.outbox) == 1
