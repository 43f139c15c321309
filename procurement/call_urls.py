"""URLs of the calls part (included last by procurement/urls.py, because it owns ``<slug:slug>/``): the
index, the challenge and its phased call, the market consultation and the generated documents."""

from django.urls import path

from . import call_views as views

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/edit/", views.edit, name="edit"),
    path("<slug:slug>/publish/", views.publish, name="publish"),
    path("<slug:slug>/cancel/", views.cancel, name="cancel"),
    path("<slug:slug>/follow/", views.register_interest, name="register_interest"),
    path("<slug:slug>/call.pdf", views.call_pdf, name="call_pdf"),
    path("<slug:slug>/phases/", views.phase_add, name="phase_add"),
    path("<slug:slug>/phases/<int:number>/edit/", views.phase_edit, name="phase_edit"),
    path("<slug:slug>/phases/<int:number>/remove/", views.phase_remove, name="phase_remove"),
    path("<slug:slug>/phases/<int:number>/open/", views.phase_open, name="phase_open"),
    path("<slug:slug>/phases/<int:number>/criteria/", views.criterion_add, name="criterion_add"),
    path("<slug:slug>/phases/<int:number>/criteria/<int:pk>/", views.criterion_edit, name="criterion_edit"),
    path("<slug:slug>/consultation/", views.consultation, name="consultation"),
    path("<slug:slug>/consultation/open/", views.consultation_open, name="consultation_open"),
    path("<slug:slug>/consultation/events/", views.event_add, name="event_add"),
    path(
        "<slug:slug>/consultation/events/<int:pk>/attendance/",
        views.event_attendance,
        name="event_attendance",
    ),
    path("<slug:slug>/consultation/input/", views.input_submit, name="input_submit"),
    path("<slug:slug>/consultation/input/<int:pk>/used/", views.input_used, name="input_used"),
    path("<slug:slug>/consultation/input/<int:pk>/document/", views.input_document, name="input_document"),
    path("<slug:slug>/consultation/summary/", views.summary_publish, name="summary_publish"),
]
