"""URLs of campaign requests, review and lifecycle (see pilots/campaign_urls.py)."""

urlpatterns: list = []
