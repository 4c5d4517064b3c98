from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from runs import views

app_name = "runs"

urlpatterns = [
    path("runs/<id:pk>/mmif/", views.run_mmif, name="run_mmif"),
    path("runs/<id:pk>/steps/<int:position>/<str:kind>.mmif", views.step_mmif, name="step_mmif"),
    path("batches/<id:pk>/mmif.zip", views.batch_mmif_zip, name="batch_mmif_zip"),
    path("batches/<id:pk>/live/", views.batch_live, name="batch_live"),
    path("batches/<id:pk>/<str:action>/", views.batch_action, name="batch_action"),
    path("runs/<id:pk>/live/", views.run_live, name="run_live"),
]
