"""URLs of the awards part (included by procurement/urls.py)."""

from django.urls import path

from . import award_views as views

urlpatterns = [
    path("<slug:slug>/phases/<int:number>/award/", views.award, name="award"),
    path("contracts/<int:pk>/", views.contract, name="contract"),
]
