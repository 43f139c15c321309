"""URLs of sessions and bookings (see pilots/campaign_urls.py)."""

from django.urls import path

from . import session_views as views

urlpatterns = [
    path("<slug:slug>/sessions/", views.session_list, name="session_list"),
    path("<slug:slug>/sessions/new/", views.session_create, name="session_create"),
    path("<slug:slug>/sessions/book/", views.session_book, name="session_book"),
    path("<slug:slug>/sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("<slug:slug>/sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("<slug:slug>/sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("<slug:slug>/sessions/<int:pk>/book/", views.session_book_place, name="session_book_place"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("bookings/<int:pk>/attendance/", views.booking_attendance, name="booking_attendance"),
    path("bookings/<int:pk>/calendar.ics", views.booking_calendar, name="booking_calendar"),
]
