"""URLs of member imports (see pilots/urls.py): a panel's imports, a new upload, the column mapping, one
import's progress and result, and its error report."""

from django.urls import path

from . import import_views as views

urlpatterns = [
    path("<slug:slug>/imports/", views.import_list, name="import_list"),
    path("<slug:slug>/imports/new/", views.import_new, name="import_new"),
    path("<slug:slug>/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("<slug:slug>/imports/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("<slug:slug>/imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("<slug:slug>/imports/<int:pk>/problems/", views.import_errors, name="import_errors"),
    path("<slug:slug>/imports/<int:pk>/problems.csv", views.import_errors_csv, name="import_errors_csv"),
]
