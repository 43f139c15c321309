"""Thin Celery tasks of results: exports and reports made in the background."""

__all__: list[str] = []
