"""``/b2b/projects/``: the list, starting a project, and one project's pages. ``new/`` comes before the
``<slug>/`` patterns."""

from django.urls import path

from . import project_views as views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("new/", views.project_create, name="project_create"),
    path("<slug:slug>/", views.project_detail, name="project_detail"),
    path("<slug:slug>/edit/", views.project_edit, name="project_edit"),
    path("<slug:slug>/partners/", views.project_partners, name="project_partners"),
    path("<slug:slug>/milestones/", views.project_milestone_add, name="project_milestone_add"),
    path(
        "<slug:slug>/milestones/<int:pk>/done/", views.project_milestone_done, name="project_milestone_done"
    ),
    path("<slug:slug>/documents/", views.project_document_upload, name="project_document_upload"),
    path("<slug:slug>/documents/<int:pk>/", views.project_document, name="project_document"),
    path("<slug:slug>/test-campaign/", views.project_launch_test, name="project_launch_test"),
    path("<slug:slug>/close/", views.project_close, name="project_close"),
]
