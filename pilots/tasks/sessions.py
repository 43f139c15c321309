"""Thin Celery tasks of sessions: reminders and calendar mails."""

__all__: list[str] = []
