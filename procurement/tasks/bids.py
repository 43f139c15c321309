"""Tasks of the bids part."""

__all__: list[str] = []
