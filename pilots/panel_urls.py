"""Coordinators' pages: panels, members, screeners and draws."""

from django.urls import path

from . import panel_views as views

urlpatterns = [
    path("", views.panel_list, name="panel_list"),
    path("new/", views.panel_edit, name="panel_new"),
    path("draws/<int:pk>/", views.draw_detail, name="draw_detail"),
    path("draws/<int:pk>/cancel/", views.draw_cancel, name="draw_cancel"),
    path("<slug:slug>/", views.panel_detail, name="panel_detail"),
    path("<slug:slug>/settings/", views.panel_edit, name="panel_edit"),
    path("<slug:slug>/members/", views.member_list, name="member_list"),
    path("<slug:slug>/members/<int:pk>/", views.member_detail, name="member_detail"),
    path("<slug:slug>/members/<int:pk>/status/", views.member_status, name="member_status"),
    path("<slug:slug>/members/<int:pk>/override/", views.member_override, name="member_override"),
    path("<slug:slug>/screeners/", views.screener_list, name="screener_list"),
    path("<slug:slug>/screeners/new/", views.screener_edit, name="screener_new"),
    path("<slug:slug>/screeners/<int:pk>/", views.screener_edit, name="screener_edit"),
    path("<slug:slug>/draws/", views.draw_list, name="draw_list"),
    path("<slug:slug>/draws/new/", views.draw_new, name="draw_new"),
]
