"""Tasks of the ocds part."""

__all__: list[str] = []
