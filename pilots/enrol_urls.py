"""URLs of this part of user panels (see pilots/urls.py)."""

urlpatterns = []
