"""URLs of the call part (included by procurement/urls.py)."""

urlpatterns: list = []
