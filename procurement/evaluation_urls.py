"""URLs of the evaluation part (included by procurement/urls.py)."""

from django.urls import path

from . import evaluation_views as views

urlpatterns = [
    path("<slug:slug>/phases/<int:number>/evaluation/", views.evaluation_overview, name="evaluation"),
    path("evaluation/", views.my_evaluations, name="my_evaluations"),
    path("evaluation/panels/<int:pk>/", views.evaluation_bids, name="evaluation_bids"),
    path("evaluation/bids/<int:pk>/", views.evaluate_bid, name="evaluate_bid"),
    path(
        "evaluation/bids/<int:pk>/documents/<int:document>/",
        views.evaluation_document,
        name="evaluation_document",
    ),
]
