"""``/b2b/introductions/``: a firm's introductions and the staff's brokering queue, one introduction and its
answers, the CSV export and the overview over time."""

from django.urls import path

from . import introduction_views as views

urlpatterns = [
    path("", views.introduction_list, name="introduction_list"),
    path("request/", views.introduction_request, name="introduction_request"),
    path("export.csv", views.introduction_export, name="introduction_export"),
    path("overview/", views.introduction_overview, name="introduction_overview"),
    path("<int:pk>/", views.introduction_detail, name="introduction_detail"),
    path("<int:pk>/broker/", views.introduction_broker, name="introduction_broker"),
    path("<int:pk>/refuse/", views.introduction_refuse, name="introduction_refuse"),
    path("<int:pk>/withdraw/", views.introduction_withdraw, name="introduction_withdraw"),
    path("<int:pk>/decline/", views.introduction_decline, name="introduction_decline"),
    path("<int:pk>/accept/", views.introduction_accept, name="introduction_accept"),
    path("<int:pk>/outcome/", views.introduction_outcome, name="introduction_outcome"),
]
