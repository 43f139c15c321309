"""URLs of the bid part (included by procurement/urls.py)."""

from django.urls import path

from . import bid_views as views

urlpatterns = [
    path("<slug:slug>/phases/<int:number>/bid/", views.bid, name="bid"),
    path("bids/<int:pk>/", views.bid_detail, name="bid_detail"),
    path("bids/<int:pk>/receipt.pdf", views.bid_receipt, name="bid_receipt"),
    path("bids/<int:pk>/documents/<int:document_pk>/", views.bid_document, name="bid_document"),
]
