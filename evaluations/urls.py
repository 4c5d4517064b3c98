from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from evaluations import views

app_name = "evaluations"

urlpatterns = [
    path("<id:pk>/", views.evaluation_page, name="evaluation"),
    path("<id:pk>/status/", views.evaluation_status, name="status"),
    path("<id:pk>/files.csv", views.evaluation_csv, name="csv"),
    path("<id:pk>/files/<id:file_pk>/", views.gold_viewer, name="gold_viewer"),
    path("<id:pk>/compare/", views.compare_page, name="compare"),
]
