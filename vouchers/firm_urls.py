"""A firm's voucher pages, mounted at /vouchers/firms/. Pages of a firm take its slug; a redemption, an
API token or a solution is addressed by its id alone, and belongs to one firm."""

from django.urls import path

from . import firm_views as views

urlpatterns = [
    path("<slug:slug>/", views.firm_vouchers, name="firm_vouchers"),
    path("<slug:slug>/redeem/", views.firm_redeem, name="firm_redeem"),
    path("<slug:slug>/redemptions/", views.firm_redemptions, name="firm_redemptions"),
    path("redemptions/<int:pk>/", views.firm_redemption, name="firm_redemption"),
    path("redemptions/<int:pk>/reverse/", views.firm_redemption_reverse, name="firm_redemption_reverse"),
    path("<slug:slug>/tokens/", views.firm_tokens, name="firm_tokens"),
    path("tokens/<int:pk>/revoke/", views.firm_token_revoke, name="firm_token_revoke"),
    path("<slug:slug>/solutions/", views.firm_solutions, name="firm_solutions"),
    path("<slug:slug>/solutions/new/", views.firm_solution_new, name="firm_solution_new"),
    path("solutions/<int:pk>/edit/", views.firm_solution_edit, name="firm_solution_edit"),
    path("solutions/<int:pk>/enrol/", views.firm_solution_enrol, name="firm_solution_enrol"),
    path("<slug:slug>/aid/", views.firm_aid, name="firm_aid"),
    # The year is taken as text and checked by the view (404 unless a past or current year), so that a
    # URL with any year answers cleanly.
    path("<slug:slug>/aid/statement/<str:year>/", views.firm_aid_statement, name="firm_aid_statement"),
]
