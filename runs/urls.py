from django.urls import path

from runs import views

app_name = "runs"

urlpatterns = [
    path("runs/<int:pk>/mmif/", views.run_mmif, name="run_mmif"),
    path("runs/<int:pk>/steps/<int:position>/<str:kind>.mmif", views.step_mmif, name="step_mmif"),
    path("batches/<int:pk>/mmif.zip", views.batch_mmif_zip, name="batch_mmif_zip"),
    path("batches/<int:pk>/live/", views.batch_live, name="batch_live"),
    path("batches/<int:pk>/<str:action>/", views.batch_action, name="batch_action"),
    path("runs/<int:pk>/live/", views.run_live, name="run_live"),
]
