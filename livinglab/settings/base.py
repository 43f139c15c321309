"""Settings shared by every profile. Everything configurable is read from the environment through
``environs``, which raises with the variable's name when a value is malformed."""

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from environs import Env
from marshmallow.validate import Range, Regexp

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = Env()
env.read_env(BASE_DIR / ".env", recurse=False)

VAR_DIR = env.path("LIVINGLAB_VAR_DIR", BASE_DIR / "var")
# The embedded SQLite file, test databases and screenshots live here; a fresh clone has no var/ yet.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", "")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "livinglab",
    "pilots",
    "vouchers",
    "procurement",
    "livinglab.b2b",
    "cms",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django_countries",
    "django_tasks",
    "rules.apps.AutodiscoverRulesConfig",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "livinglab.middleware.RequireMFAMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "livinglab.urls"
WSGI_APPLICATION = "livinglab.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "livinglab.context_processors.workspaces",
            ],
        },
    },
]

# --- Database: a URL; the embedded default is a SQLite file under var/. ---
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'livinglab.sqlite3'}", conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (live server, in-process worker) share the file; wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: rate limits and sessions need one shared by all web processes in production. ---
CACHES = {"default": env.dj_cache_url("CACHE_URL", default="locmem://livinglab")}

# --- Accounts ---
AUTH_USER_MODEL = "livinglab.User"
AUTHENTICATION_BACKENDS = [
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "workspace"
ACCOUNT_ADAPTER = "livinglab.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[livinglab] "
ACCOUNT_SIGNUP_FORM_CLASS = "livinglab.forms.SignupDetailsForm"
# allauth's defaults are on; spelled out so that nobody switches them off by accident.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
# Behind N reverse proxies, the client address is the N-th from the right in X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", "livinglab")
# The age below which a guardian must consent (GDPR Art. 8); member states may set 13 to 15.
AGE_OF_DIGITAL_CONSENT = env.int("AGE_OF_DIGITAL_CONSENT", 16, validate=Range(min=13, max=16))

# Failed voucher-code look-ups through the partner API before a lock-out (per firm, per client address).
VOUCHER_API_FAILURES_PER_FIRM = env.int("VOUCHER_API_FAILURES_PER_FIRM", 10, validate=Range(min=1))
VOUCHER_API_FAILURES_PER_ADDRESS = env.int("VOUCHER_API_FAILURES_PER_ADDRESS", 30, validate=Range(min=1))
VOUCHER_API_FAILURE_WINDOW_SECONDS = env.int(
    "VOUCHER_API_FAILURE_WINDOW_SECONDS", 900, validate=Range(min=60)
)

# --- Pre-commercial procurement ---
# The publisher's OCDS prefix ("ocds-" and six characters, registered with the Open Contracting
# Partnership); every ocid the platform publishes starts with it.
OCDS_PREFIX = env.str("OCDS_PREFIX", "ocds-lvlab0", validate=Regexp(r"^ocds-[a-z0-9]{6}$"))
# Who publishes the open contracting data, and under which licence (a URL; OCDS recommends an open one).
OCDS_PUBLISHER_NAME = env.str("OCDS_PUBLISHER_NAME", "livinglab")
OCDS_LICENSE = env.str("OCDS_LICENSE", "https://creativecommons.org/publicdomain/zero/1.0/")
# Largest bid document accepted, and the types accepted (checked on the file's content, not its name).
BID_DOCUMENT_MAX_BYTES = env.int("BID_DOCUMENT_MAX_BYTES", 20 * 1024 * 1024, validate=Range(min=1024))
BID_DOCUMENT_TYPES = ["application/pdf", "application/zip", "image/png", "image/jpeg"]

# --- Internationalisation ---
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("de", _("German")),
    ("sv", _("Swedish")),
    ("fi", _("Finnish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", "Europe/Brussels")
USE_I18N = True
USE_TZ = True

# --- Static and media files: served locally (whitenoise), never from a CDN. ---
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", BASE_DIR / "var" / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", BASE_DIR / "var" / "media")
# Private files (claim invoices) are served only through permission-checked views, never by URL. With
# several web machines, PRIVATE_MEDIA_ROOT (like MEDIA_ROOT) must be a volume they all mount.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", BASE_DIR / "var" / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- E-mail: a URL (smtp://user:pass@host:587?tls=True); the default prints to the console. ---
_email = env.dj_email_url("EMAIL_URL", default="console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or ""
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "livinglab <noreply@livinglab.localhost>")

# --- Background work: Celery over Redis when a broker is configured, else in-process. ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# PDF rendering grows a worker's memory by about 0.2 MB per document (bench/issue_pdfs.py): recycle children.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 500, validate=Range(min=1))
CELERY_TIMEZONE = TIME_ZONE
# Periodic work, run by exactly one `celery beat` process in production.
CELERY_BEAT_SCHEDULE = {
    "expire-vouchers": {"task": "vouchers.tasks.expire_due_vouchers", "schedule": 3600.0},
    "remind-expiring-vouchers": {"task": "vouchers.tasks.remind_expiring_vouchers", "schedule": 86400.0},
    "request-voucher-feedback": {"task": "vouchers.tasks.request_feedback", "schedule": 900.0},
    "expire-panel-invitations": {"task": "pilots.tasks.invitations.expire_invitations", "schedule": 3600.0},
    "remind-panel-invitations": {"task": "pilots.tasks.invitations.remind_invitations", "schedule": 86400.0},
    "forget-old-member-lists": {"task": "pilots.tasks.imports.forget_old_lists", "schedule": 86400.0},
    "remind-sessions": {"task": "pilots.tasks.sessions.remind_sessions", "schedule": 3600.0},
    "close-expired-questionnaires": {
        "task": "pilots.tasks.questionnaires.close_expired_questionnaires",
        "schedule": 900.0,
    },
    "start-due-judging": {"task": "pilots.tasks.competitions.start_due_judging", "schedule": 300.0},
    "finalise-due-awards": {"task": "procurement.tasks.awards.finalise_due_awards", "schedule": 300.0},
    "close-due-phases": {"task": "procurement.tasks.bids.close_due_phases", "schedule": 60.0},
    # Listings are re-matched when they change; the nightly run catches up with new tags and wording.
    "refresh-b2b-matches": {"task": "livinglab.b2b.tasks.matching.refresh_all_matches", "schedule": 86400.0},
    "send-topic-digests": {
        "task": "livinglab.b2b.tasks.intelligence.send_topic_digests",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
    },
    "delete-expired-data-exports": {
        "task": "pilots.tasks.rights.delete_expired_data_exports",
        "schedule": 86400.0,
    },
}
# Wagtail's own background work (search index, image renditions) goes through django-tasks;
# with a broker it is handed to the same Celery workers.
TASKS = {
    "default": {
        "BACKEND": "livinglab.tasks_backend.CeleryBackend"
        if CELERY_BROKER_URL
        else "django_tasks.backends.immediate.ImmediateBackend"
    }
}

# --- Wagtail ---
WAGTAIL_SITE_NAME = "livinglab"
WAGTAILADMIN_BASE_URL = env.str("SITE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "txt", "xlsx"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAIL_I18N_ENABLED = False
WAGTAILADMIN_LOGIN_URL = "account_login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.log_level("LOG_LEVEL", "INFO")},
    # WeasyPrint narrates every rendering step, django-tasks every task, at INFO.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools", "django_tasks")},
}
