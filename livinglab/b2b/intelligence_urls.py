"""``/b2b/intelligence/``: market-intelligence reports and user-insight briefs, and the topics firms follow.
Fixed words come before ``<slug:slug>/``."""

from django.urls import path

from . import intelligence_views as views

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("new/", views.report_create, name="report_create"),
    path("topics/", views.topic_subscriptions, name="topic_subscriptions"),
    path("<slug:slug>/", views.report_detail, name="report_detail"),
    path("<slug:slug>/edit/", views.report_edit, name="report_edit"),
    path("<slug:slug>/publish/", views.report_publish, name="report_publish"),
    path("<slug:slug>/withdraw/", views.report_withdraw, name="report_withdraw"),
]
