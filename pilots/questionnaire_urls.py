"""URLs of questionnaires: the builder and answering (see pilots/campaign_urls.py)."""

from django.urls import path

from . import questionnaire_views as views

urlpatterns = [
    path("answer/<int:pk>/", views.questionnaire_answer, name="questionnaire_answer"),
    path("<slug:slug>/questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("<slug:slug>/questionnaires/<int:pk>/", views.questionnaire_builder, name="questionnaire_builder"),
    path(
        "<slug:slug>/questionnaires/<int:pk>/questions/<int:question_pk>/",
        views.question_edit,
        name="question_edit",
    ),
    path(
        "<slug:slug>/questionnaires/<int:pk>/questions/<int:question_pk>/move/",
        views.question_move,
        name="question_move",
    ),
    path(
        "<slug:slug>/questionnaires/<int:pk>/questions/<int:question_pk>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path("<slug:slug>/questionnaires/<int:pk>/export/", views.definition_export, name="questionnaire_export"),
    path("<slug:slug>/questionnaires/<int:pk>/import/", views.definition_import, name="questionnaire_import"),
    path(
        "<slug:slug>/questionnaires/<int:pk>/preview/",
        views.questionnaire_preview,
        name="questionnaire_preview",
    ),
    path("<slug:slug>/questionnaires/<int:pk>/open/", views.questionnaire_open, name="questionnaire_open"),
    path("<slug:slug>/questionnaires/<int:pk>/close/", views.questionnaire_close, name="questionnaire_close"),
]
