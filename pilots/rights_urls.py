"""The participant's own data under /panels/me/ (or a ward's, under /panels/me/<person>/), and erasure
receipts, open to whoever holds their reference."""

from django.urls import path

from . import rights_views as views

urlpatterns = [
    path("me/", views.my_data, name="my_data"),
    path("me/<int:person_id>/", views.my_data, name="my_data_for"),
    path("me/memberships/<int:pk>/status/", views.change_my_membership, name="change_my_membership"),
    path("me/pause-all/", views.pause_my_panels, name="pause_my_panels"),
    path("me/<int:person_id>/pause-all/", views.pause_my_panels, name="pause_panels_for"),
    path("me/contact/", views.my_contact_preferences, name="my_contact_preferences"),
    path("me/<int:person_id>/contact/", views.my_contact_preferences, name="contact_preferences_for"),
    path("me/export/", views.request_my_export, name="request_my_export"),
    path("me/<int:person_id>/export/", views.request_my_export, name="request_export_for"),
    path("me/exports/<int:pk>/", views.my_export, name="my_export"),
    path("me/exports/<int:pk>/download/", views.download_my_export, name="download_my_export"),
    path("me/erase/", views.erase_me, name="erase_me"),
    path("me/<int:person_id>/erase/", views.erase_me, name="erase_for"),
    path("erased/<uuid:reference>/", views.erasure_receipt, name="erasure_receipt"),
    path("erased/<uuid:reference>/receipt.pdf", views.erasure_receipt_pdf, name="erasure_receipt_pdf"),
]
