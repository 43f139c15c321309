"""Thin Celery tasks of campaign lifecycle."""

__all__: list[str] = []
