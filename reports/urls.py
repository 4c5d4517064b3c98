from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from reports import views

app_name = "reports"

urlpatterns = [
    path("batches/<id:pk>/report/", views.batch_report, name="batch_report"),
    path("batches/<id:pk>/report.csv", views.batch_report_csv, name="batch_report_csv"),
    path("apps/statistics/", views.app_statistics_page, name="app_statistics"),
]
