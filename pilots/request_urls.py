"""URLs of campaign requests, review and lifecycle (see pilots/campaign_urls.py)."""

from django.urls import path

from . import request_views as views

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_new, name="campaign_new"),
    path("reviews/", views.review_queue, name="review_queue"),
    path("<slug:slug>/", views.campaign_detail, name="campaign_detail"),
    path("<slug:slug>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<slug:slug>/submit/", views.campaign_submit, name="campaign_submit"),
    path("<slug:slug>/review/", views.campaign_review, name="campaign_review"),
    path("<slug:slug>/move/", views.campaign_move, name="campaign_move"),
    path("<slug:slug>/take-part/", views.campaign_take_part, name="campaign_take_part"),
]
