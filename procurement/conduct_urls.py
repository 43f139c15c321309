"""URLs of the conduct part (included by procurement/urls.py): clarifications, direct messages, the
interaction register, its exports and its public summary."""

from django.urls import path

from . import conduct_views as views

urlpatterns = [
    path("registers/", views.registers, name="registers"),
    path("<slug:slug>/clarifications/", views.clarifications, name="clarifications"),
    path("<slug:slug>/messages/", views.messages_page, name="messages"),
    path("<slug:slug>/register/", views.register, name="register"),
    path("<slug:slug>/register/summary/", views.register_summary, name="register_summary"),
    path("<slug:slug>/register/contacts.csv", views.register_csv, name="register_csv"),
    path("<slug:slug>/register/gifts.csv", views.gifts_csv, name="gifts_csv"),
    path("<slug:slug>/register/record/", views.record_interaction, name="record_interaction"),
    path("<slug:slug>/register/gifts/new/", views.declare_gift, name="declare_gift"),
]
