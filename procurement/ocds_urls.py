"""URLs of the ocds part (included by procurement/urls.py): open contracting data, public and anonymous."""

from django.urls import path

from . import ocds_views

urlpatterns = [
    path("ocds/", ocds_views.ocds_index, name="ocds_index"),
    # Before ``ocds/<str:ocid>/…``: "releases.json" is not an ocid.
    path("ocds/releases.json", ocds_views.ocds_bulk, name="ocds_bulk"),
    path("ocds/<str:ocid>/releases.json", ocds_views.ocds_releases, name="ocds_releases"),
    path("ocds/<str:ocid>/record.json", ocds_views.ocds_record, name="ocds_record"),
]
