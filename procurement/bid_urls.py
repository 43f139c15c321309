"""URLs of the bid part (included by procurement/urls.py)."""

urlpatterns: list = []
