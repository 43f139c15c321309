"""URLs of the events part, included at ``/b2b/``: fixed words (``new/``, ``check-in/``) come before
``<slug>/``, and the services refuse those words as an event's slug."""

from django.urls import path

from . import event_views as views

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path("events/new/", views.event_create, name="event_create"),
    path("events/check-in/<str:code>/", views.ticket_check_in, name="ticket_check_in"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("events/<slug:slug>/edit/", views.event_edit, name="event_edit"),
    path("events/<slug:slug>/publish/", views.event_publish, name="event_publish"),
    path("events/<slug:slug>/cancel/", views.event_cancel, name="event_cancel"),
    path("events/<slug:slug>/register/", views.event_register, name="event_register"),
    path("events/<slug:slug>/registrations/", views.event_registrations, name="event_registrations"),
    path(
        "events/<slug:slug>/registrations.csv",
        views.event_registrations_export,
        name="event_registrations_export",
    ),
    path("events/<slug:slug>/check-in/", views.event_check_in, name="event_check_in"),
    path("events/<slug:slug>/lead-users/", views.event_lead_users, name="event_lead_users"),
    path("events/<slug:slug>/follow-up/", views.event_follow_up, name="event_follow_up"),
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/<str:code>.pdf", views.ticket_pdf, name="ticket_pdf"),
    path("tickets/<str:code>/cancel/", views.ticket_cancel, name="ticket_cancel"),
]
