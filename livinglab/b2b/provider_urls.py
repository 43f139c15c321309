"""URLs of the provider directory, at ``/b2b/providers/``. Fixed words come before ``<slug:slug>/``."""

from django.urls import path

from . import provider_views as views

urlpatterns = [
    path("", views.provider_search, name="provider_search"),
    path("propose/", views.provider_propose, name="provider_propose"),
    path("curation/", views.provider_curation, name="provider_curation"),
    path("<slug:slug>/", views.provider_detail, name="provider_detail"),
    path("<slug:slug>/contact/", views.provider_contact, name="provider_contact"),
    path("<slug:slug>/edit/", views.provider_edit, name="provider_edit"),
    path("<slug:slug>/status/", views.provider_status, name="provider_status"),
]
