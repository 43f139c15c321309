"""Test profile. DATABASE_URL picks SQLite (default) or the throwaway PostgreSQL the harness starts."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, STORAGES, VAR_DIR

SECRET_KEY = "test-only-key-not-secret-8d1e2f0a7b6c5d4e3f2a1b0c"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WAGTAILADMIN_BASE_URL = "http://testserver"
# Uploaded invoices of test runs stay out of the development data.
STORAGES["private"]["OPTIONS"]["location"] = VAR_DIR / "test-private"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that threads (live server, in-thread Celery worker) see the same data;
    # one per process, so that parallel runs do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
