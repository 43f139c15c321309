"""A django-tasks backend that hands Wagtail's background work to our Celery workers."""

from celery import shared_task
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskResult, TaskResultStatus
from django_tasks.utils import get_random_id


@shared_task(acks_late=True)
def run_django_task(func_path: str, args: list, kwargs: dict) -> None:
    import_string(func_path).call(*args, **kwargs)


class CeleryBackend(BaseTaskBackend):
    supports_defer = False
    supports_async_task = False
    supports_get_result = False

    def enqueue(self, task: Task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        run_django_task.apply_async((task.module_path, list(args), dict(kwargs)), queue=task.queue_name)
        return result
