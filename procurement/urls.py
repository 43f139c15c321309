"""``/procurement/``: one module per part. ``call_urls`` comes last because it owns ``<slug:slug>/``; every
other part's patterns start with a fixed word or with ``<slug:slug>/<fixed word>/``."""

from django.urls import include, path

app_name = "procurement"

urlpatterns = [
    path("", include("procurement.ocds_urls")),
    path("", include("procurement.conduct_urls")),
    path("", include("procurement.consortium_urls")),
    path("", include("procurement.bid_urls")),
    path("", include("procurement.evaluation_urls")),
    path("", include("procurement.award_urls")),
    path("", include("procurement.call_urls")),
]
