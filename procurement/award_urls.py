"""URLs of the award part (included by procurement/urls.py)."""

urlpatterns: list = []
