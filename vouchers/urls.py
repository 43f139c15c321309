from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.voucher_list, name="voucher_list"),
    path("<int:pk>/", views.voucher_detail, name="voucher_detail"),
    path("<int:pk>/pdf/", views.voucher_pdf_download, name="voucher_pdf"),
    path("<int:pk>/feedback/", views.voucher_feedback, name="voucher_feedback"),
    # Applying for a voucher, following the application, and the operator's list with the lottery.
    path("apply/<slug:slug>/", views.voucher_apply, name="voucher_apply"),
    path("applications/<int:pk>/", views.voucher_application, name="voucher_application"),
    path(
        "applications/<int:pk>/withdraw/",
        views.voucher_application_withdraw,
        name="voucher_application_withdraw",
    ),
    path("applications/programme/<slug:slug>/", views.programme_applications, name="programme_applications"),
    path(
        "applications/programme/<slug:slug>/draw/",
        views.programme_lottery_draw,
        name="programme_lottery_draw",
    ),
    # A firm's side: redeeming, partner API tokens, enrolling solutions, State aid.
    path("firms/", include("vouchers.firm_urls")),
    # Reimbursement: claims, the operator's check, the funder's decisions, payment batches.
    path("claims/", include("vouchers.claim_urls")),
    # Programme figures for the operator and the funder: dashboard, XLSX, PDF report.
    path("programmes/", include("vouchers.report_urls")),
]
