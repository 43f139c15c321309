"""Thin Celery tasks of questionnaires."""

__all__: list[str] = []
