from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.voucher_list, name="voucher_list"),
    path("<int:pk>/", views.voucher_detail, name="voucher_detail"),
    path("<int:pk>/pdf/", views.voucher_pdf_download, name="voucher_pdf"),
    # A firm's side: redeeming, partner API tokens, enrolling solutions, State aid.
    path("firms/", include("vouchers.firm_urls")),
    # Reimbursement: claims, the operator's check, the funder's decisions, payment batches.
    path("claims/", include("vouchers.claim_urls")),
    # Programme figures for the operator and the funder: dashboard, XLSX, PDF report.
    path("programmes/", include("vouchers.report_urls")),
]
