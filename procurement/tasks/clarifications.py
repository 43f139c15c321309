"""Tasks of the clarifications part."""

__all__: list[str] = []
