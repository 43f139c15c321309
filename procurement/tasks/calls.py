"""Tasks of the calls part."""

__all__: list[str] = []
