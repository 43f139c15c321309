"""URLs of results: dashboards, exports, the report (see pilots/campaign_urls.py)."""

from django.urls import path

from . import results_views as views

urlpatterns: list = [
    path("<slug:slug>/results/", views.dashboard, name="results"),
    path("<slug:slug>/results/answers/", views.text_answers, name="results_answers"),
    path("<slug:slug>/results/answers/<int:pk>/tags/", views.tag_answer, name="results_tag_answer"),
    path(
        "<slug:slug>/results/answers/<int:pk>/tags/<int:tag>/remove/",
        views.untag_answer,
        name="results_untag_answer",
    ),
    path("<slug:slug>/results/files/", views.files, name="results_files"),
    path("<slug:slug>/results/files/<int:pk>/", views.file_detail, name="results_file"),
    path("<slug:slug>/results/files/<int:pk>/progress/", views.file_progress, name="results_file_progress"),
    path("<slug:slug>/results/files/<int:pk>/download/", views.file_download, name="results_file_download"),
    path("<slug:slug>/results/findings/", views.findings, name="results_findings"),
]
