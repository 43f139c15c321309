"""URLs of the consortium part (included by procurement/urls.py)."""

urlpatterns: list = []
