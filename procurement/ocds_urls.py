"""URLs of the ocds part (included by procurement/urls.py)."""

urlpatterns: list = []
