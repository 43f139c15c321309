"""URLs of invitations (see pilots/urls.py): the signed link people answer through, the signed-in
invitee's page, the staff list of a draw's invitations and the firm's pseudonymous view of a draw."""

from django.urls import path

from . import invitation_views as views

urlpatterns = [
    path("invitations/mine/<int:pk>/", views.my_invitation, name="my_invitation"),
    path("invitations/<int:pk>/participation/", views.record_participation, name="record_participation"),
    path("invitations/<str:token>/", views.invitation_answer, name="invitation_answer"),
    path("draws/<int:pk>/invitations/", views.draw_invitations, name="draw_invitations"),
    path("draws/<int:pk>/invitations/send/", views.send_draw_invitations, name="send_invitations"),
    path("draws/<int:pk>/participants/", views.draw_participants, name="draw_participants"),
]
