"""Background work through a real Celery worker and a real Redis server started by the test."""

import shutil
import socket
import subprocess
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.test import override_settings
from django_tasks import task

from livinglab import services
from livinglab.celery import app
from livinglab.models import ConsentRecord
from livinglab.tasks import send_consent_receipt

RAN_IN_WORKER: list[str] = []


@task
def note_ran(value: str) -> None:
    """A django-tasks task, the kind Wagtail enqueues for its own background work."""
    RAN_IN_WORKER.append(value)


@pytest.fixture(scope="session")
def redis_url():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs it (package redis-server).")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def celery_worker(redis_url, transactional_db):
    """A real worker consuming from Redis, running in a thread of this process (so it shares the test
    database and the in-memory mail outbox)."""
    previous = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    forget_connections()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
    app.conf.update(previous)
    forget_connections()


def forget_connections():
    """Drop the connection pools Celery built for the previous broker URL."""
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.services
def test_consent_receipt_is_mailed_by_a_real_worker_after_commit(celery_worker, participant, give):
    record = give(participant.person)  # transactional_db: the service's transaction commits for real
    assert wait_for(lambda: len(mail.outbox) == 1), "the worker never sent the receipt"
    assert mail.outbox[0].to == [participant.email]
    assert mail.outbox[0].attachments[0][2] == "application/pdf"
    record.refresh_from_db()
    assert record.receipt_sent_at is not None


@pytest.mark.services
def test_a_redelivered_receipt_task_sends_no_second_mail(celery_worker, participant, give):
    record = give(participant.person)
    assert wait_for(lambda: len(mail.outbox) == 1)
    send_consent_receipt.delay(record.pk)
    send_consent_receipt.delay(record.pk)
    time.sleep(1.5)
    assert len(mail.outbox) == 1
    assert ConsentRecord.objects.filter(pk=record.pk, receipt_sent_at__isnull=False).exists()


def test_without_a_broker_tasks_run_in_process(participant, give, django_capture_on_commit_callbacks):
    assert app.conf.task_always_eager
    with django_capture_on_commit_callbacks(execute=True):
        give(participant.person)
    assert len(mail.outbox) == 1


def test_a_consent_given_in_a_rolled_back_transaction_sends_nothing(
    participant, consent_form, purposes, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.give_consent(
            participant.person,
            consent_form,
            [purposes["participation"]],
            method="online",
            acting_user=participant,
        )
        raise RuntimeError("abort")
    assert callbacks == [] and mail.outbox == []


@pytest.mark.services
def test_wagtails_background_tasks_are_handed_to_the_celery_worker(celery_worker):
    with override_settings(TASKS={"default": {"BACKEND": "livinglab.tasks_backend.CeleryBackend"}}):
        result = note_ran.enqueue("reference index")
    assert result.backend == "default"
    assert wait_for(lambda: RAN_IN_WORKER == ["reference index"]), "the Celery worker never ran the task"
