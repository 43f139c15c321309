"""URLs of the consortium part (included by procurement/urls.py)."""

from django.urls import path

from . import consortium_views as views

urlpatterns = [
    path("<slug:slug>/partners/", views.partners, name="partners"),
    path("<slug:slug>/consortia/", views.consortia, name="consortia"),
    path("consortia/<int:pk>/", views.consortium_detail, name="consortium"),
]
