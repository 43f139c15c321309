"""Tasks of the awards part."""

__all__: list[str] = []
