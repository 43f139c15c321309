"""``/b2b/``: one URL module per part. Within a part, fixed words (``new/``, ``export.csv``) come before
``<slug>/`` patterns."""

from django.urls import include, path

app_name = "b2b"

urlpatterns = [
    path("", include("livinglab.b2b.hub_urls")),
    path("", include("livinglab.b2b.marketplace_urls")),
    path("introductions/", include("livinglab.b2b.introduction_urls")),
    path("projects/", include("livinglab.b2b.project_urls")),
    path("", include("livinglab.b2b.event_urls")),
    path("providers/", include("livinglab.b2b.provider_urls")),
    path("intelligence/", include("livinglab.b2b.intelligence_urls")),
]
