from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from findings import views

app_name = "findings"

urlpatterns = [
    path("runs/<id:pk>/findings/", views.run_findings, name="run_findings"),
    path("runs/<id:pk>/findings/compare/", views.compare_runs, name="compare_runs"),
    path("compare/batches/<id:pk>/", views.compare_batches, name="compare_batches"),
    path("media-files/<id:pk>/content", views.media_content, name="media_content"),
]
