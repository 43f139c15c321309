import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livinglab.settings.dev")

# DjangoTask gives every task ``delay_on_commit``: side effects are enqueued only once the data exists.
app = Celery("livinglab", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
