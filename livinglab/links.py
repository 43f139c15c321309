"""Links that leave the site (in e-mails and PDFs) must be absolute: built on SITE_URL, never on a request."""

from django.conf import settings
from django.urls import reverse


def absolute_url(name: str, *args) -> str:
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse(name, args=args)
