from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from deliverables import views

app_name = "deliverables"

urlpatterns = [
    path("runs/<id:pk>/deliverables/<str:kind>", views.run_deliverable, name="run_deliverable"),
    path("batches/<id:pk>/deliverables/<str:kind>.zip", views.batch_deliverable, name="batch_deliverable"),
]
