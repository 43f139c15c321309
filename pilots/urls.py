"""User panels under /panels/: one URL module per part, all in the ``pilots`` namespace."""

from django.urls import include, path

app_name = "pilots"

urlpatterns = [
    path("", include("pilots.enrol_urls")),  # joining, assisted enrolment, confirmation, profiles
    path("", include("pilots.import_urls")),  # member lists from CSV / XLSX
    path("", include("pilots.invitation_urls")),  # invitations and their signed links; the firm's view
    path("", include("pilots.rights_urls")),  # the participant's own data: export and erasure
    # Last: its /panels/<slug>/ would otherwise catch the fixed words above (PanelForm reserves them).
    path("", include("pilots.panel_urls")),  # staff: panels, members, screeners, draws
]
