"""URLs of results: dashboards, exports, the report (see pilots/campaign_urls.py)."""

urlpatterns: list = []
