"""URLs of this part of user panels (see pilots/urls.py): joining, assisted enrolment, confirmation,
profiles, a panel's own questions and what interest groups see of their recruits."""

from django.urls import path

from . import enrol_views as views

urlpatterns = [
    path("recruit/", views.recruiting_panels, name="recruiting_panels"),
    path("confirm/<str:token>/", views.confirm, name="confirm_membership"),
    path("me/profile/", views.edit_profile, name="edit_profile"),
    path("me/profile/<int:person_id>/", views.edit_profile, name="edit_ward_profile"),
    path("members/<int:pk>/consent/", views.record_consent, name="record_consent"),
    path("consent-scans/<int:pk>/", views.consent_scan, name="consent_scan"),
    path("<slug:slug>/join/", views.join, name="join_panel"),
    path("<slug:slug>/enrol/", views.enrol, name="enrol_participant"),
    path("<slug:slug>/recruits/", views.recruits, name="recruit_counts"),
    path("<slug:slug>/attributes/", views.panel_attributes, name="panel_attributes"),
    path("<slug:slug>/attributes/new/", views.attribute_form, name="attribute_add"),
    path("<slug:slug>/attributes/<int:pk>/", views.attribute_form, name="attribute_edit"),
    path("<slug:slug>/attributes/<int:pk>/delete/", views.attribute_delete, name="attribute_delete"),
]
