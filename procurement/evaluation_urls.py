"""URLs of the evaluation part (included by procurement/urls.py)."""

urlpatterns: list = []
