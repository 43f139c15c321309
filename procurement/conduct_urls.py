"""URLs of the conduct part (included by procurement/urls.py)."""

urlpatterns: list = []
