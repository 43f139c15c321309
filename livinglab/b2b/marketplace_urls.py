"""URLs of the marketplace part (included at ``/b2b/`` by livinglab/b2b/urls.py): needs, offers, their
suggested matches, and the staff's table of every suggestion. Needs and offers share the views; ``kind``
says which."""

from django.urls import path

from . import marketplace_views as views


def listing_patterns(kind: str, prefix: str) -> list:
    kinds = {"kind": kind}
    return [
        path(f"{prefix}/", views.listing_list, kinds, name=f"{kind}_list"),
        path(f"{prefix}/new/", views.listing_create, kinds, name=f"{kind}_create"),
        path(f"{prefix}/<int:pk>/", views.listing_detail, kinds, name=f"{kind}_detail"),
        path(f"{prefix}/<int:pk>/edit/", views.listing_edit, kinds, name=f"{kind}_edit"),
        path(f"{prefix}/<int:pk>/publish/", views.listing_publish, kinds, name=f"{kind}_publish"),
        path(f"{prefix}/<int:pk>/close/", views.listing_close, kinds, name=f"{kind}_close"),
        path(f"{prefix}/<int:pk>/matches/", views.listing_matches, kinds, name=f"{kind}_matches"),
        path(
            f"{prefix}/<int:pk>/matches.csv",
            views.listing_matches_export,
            kinds,
            name=f"{kind}_matches_export",
        ),
    ]


urlpatterns = [
    *listing_patterns("need", "needs"),
    *listing_patterns("offer", "offers"),
    path("matches/", views.match_list, name="match_list"),
]
