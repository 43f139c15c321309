"""Test campaigns under /campaigns/: one URL module per part, all in the ``campaigns`` namespace."""

from django.urls import include, path

app_name = "campaigns"

urlpatterns = [
    path("", include("pilots.session_urls")),  # sessions, bookings, waiting lists, calendar files, attendance
    path("", include("pilots.questionnaire_urls")),  # the questionnaire builder, and answering
    path("", include("pilots.results_urls")),  # dashboards, exports, the PDF report, free-text tagging
    path("", include("pilots.competition_urls")),  # idea competitions and their jury
    # Last: its /campaigns/<slug>/ would otherwise catch the fixed words of the parts above.
    path("", include("pilots.request_urls")),  # requests, review, lifecycle, the participant's campaign page
]
