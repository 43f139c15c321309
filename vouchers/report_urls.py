from django.urls import path

from . import report_views

urlpatterns = [
    path("", report_views.programme_list, name="programme_list"),
    path("<slug:slug>/", report_views.programme_dashboard, name="programme_dashboard"),
    path("<slug:slug>/report.xlsx", report_views.programme_report_xlsx, name="programme_report_xlsx"),
    path("<slug:slug>/report.pdf", report_views.programme_report_pdf, name="programme_report_pdf"),
]
