"""URLs of idea competitions (see pilots/campaign_urls.py)."""

urlpatterns: list = []
