"""Periodic voucher work run by Celery beat."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from livinglab.celery import app
from vouchers import services
from vouchers.models import Voucher
from vouchers.tasks import expire_due_vouchers


def test_the_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_the_hourly_expiry_task_expires_overdue_vouchers_and_releases_their_budget(
    programme, holder, staff_user
):
    voucher = services.issue_voucher(programme, holder, acting_user=staff_user, send_mail=False)
    committed = programme.committed_budget()
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert expire_due_vouchers.delay().get() == 1
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.EXPIRED
    assert programme.committed_budget() == committed - voucher.face_value
    assert expire_due_vouchers.delay().get() == 0  # a second run finds nothing to do
