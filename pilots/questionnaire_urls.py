"""URLs of questionnaires: the builder and answering (see pilots/campaign_urls.py)."""

urlpatterns: list = []
