"""URLs of sessions and bookings (see pilots/campaign_urls.py)."""

urlpatterns: list = []
