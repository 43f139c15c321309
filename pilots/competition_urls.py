"""URLs of idea competitions and joint-survey partners (see pilots/campaign_urls.py)."""

from django.urls import path

from . import competition_views as views

urlpatterns = [
    path("<slug:slug>/competition/", views.competition_setup, name="competition_setup"),
    path("<slug:slug>/competition/criteria/", views.criterion_save, name="criterion_add"),
    path("<slug:slug>/competition/criteria/<int:pk>/", views.criterion_save, name="criterion_edit"),
    path(
        "<slug:slug>/competition/criteria/<int:pk>/delete/", views.criterion_delete, name="criterion_delete"
    ),
    path("<slug:slug>/competition/jury/", views.jury_save, name="competition_jury"),
    path("<slug:slug>/competition/judging/", views.judging_start, name="competition_start_judging"),
    path("<slug:slug>/competition/announce/", views.winners_announce, name="competition_announce"),
    path("<slug:slug>/competition/results/", views.competition_results, name="competition_results"),
    path("<slug:slug>/ideas/", views.my_ideas, name="competition_ideas"),
    path("<slug:slug>/ideas/<int:pk>/withdraw/", views.idea_withdraw, name="idea_withdraw"),
    path("<slug:slug>/jury/", views.jury_ideas, name="jury_ideas"),
    path("<slug:slug>/jury/ideas/<int:pk>/", views.idea_score, name="idea_score"),
    path("<slug:slug>/partners/", views.survey_partners, name="survey_partners"),
    path("<slug:slug>/partners/<int:pk>/remove/", views.survey_partner_remove, name="survey_partner_remove"),
]
