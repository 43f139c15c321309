"""Reimbursement pages under /vouchers/claims/: claims, checks, decisions, payment batches."""

from django.urls import path

from . import claim_views as views

urlpatterns = [
    path("firm/<slug:slug>/", views.firm_claims, name="firm_claims"),
    path("firm/<slug:slug>/new/<slug:programme>/", views.claim_new, name="claim_new"),
    path("<int:pk>/", views.claim_detail, name="claim_detail"),
    path("<int:pk>/invoice/", views.claim_invoice, name="claim_invoice"),
    path("<int:pk>/check/", views.claim_check, name="claim_check"),
    path("<int:pk>/approve-all/", views.claim_approve_all, name="claim_approve_all"),
    path("lines/<int:pk>/decide/", views.claim_line_decide, name="claim_line_decide"),
    path("programme/<slug:slug>/", views.programme_claims, name="programme_claims"),
    path("programme/<slug:slug>/batches/", views.payment_batches, name="payment_batches"),
    path("batches/<int:pk>/", views.payment_batch_detail, name="payment_batch_detail"),
    path("batches/<int:pk>/csv/", views.payment_batch_csv, name="payment_batch_csv"),
    path("batches/<int:pk>/sepa/", views.payment_batch_sepa, name="payment_batch_sepa"),
    path("batches/<int:pk>/paid/", views.payment_batch_paid, name="payment_batch_paid"),
]
