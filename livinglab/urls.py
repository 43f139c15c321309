from django.conf import settings
from django.urls import include, path
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from vouchers.api import api as vouchers_api

from . import views

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("api/vouchers/", vouchers_api.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/mfa-required/", views.mfa_required, name="mfa_required"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("workspace/", views.workspace, name="workspace"),
    path("workspace/me/", views.participant_workspace, name="participant_workspace"),
    path("workspace/org/<slug:slug>/", views.organisation_workspace, name="organisation_workspace"),
    path("ground-rules/", views.ground_rules_list, name="ground_rules_list"),
    path("ground-rules/<int:pk>/", views.ground_rules_detail, name="ground_rules_detail"),
    path(
        "ground-rules/acceptances/<int:pk>/pdf/", views.ground_rules_receipt_pdf, name="ground_rules_receipt"
    ),
    path("consent/", views.consent_overview, name="consent_overview"),
    path("consent/forms/<int:pk>/", views.consent_give, name="consent_give"),
    path("consent/records/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("consent/records/<int:pk>/receipt.pdf", views.consent_receipt_pdf, name="consent_receipt"),
    path("vouchers/", include("vouchers.urls")),
    path("panels/", include("pilots.urls")),
    path("campaigns/", include("pilots.campaign_urls")),
    path("procurement/", include("procurement.urls")),
    path("b2b/", include("livinglab.b2b.urls")),
]

if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]

# Wagtail serves every other path: the public site.
urlpatterns += [path("", include(wagtail_urls))]
