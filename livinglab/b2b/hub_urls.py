"""``/b2b/``: the channel's start page."""

from django.urls import path

from . import hub_views

urlpatterns = [
    path("", hub_views.home, name="home"),
]
