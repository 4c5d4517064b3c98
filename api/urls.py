from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import SimpleRouter

from api import views
from api.deliverables import (
    BatchDeliverableView,
    BatchDeliverView,
    BatchMarkFinalView,
    DeliveryList,
    RunDeliverableView,
    RunMarkFinalView,
)
from api.evaluations import EvaluationViewSet, GoldSetViewSet
from api.inputs import BatchFromLatestView, BatchFromRunsView, BatchInputsUploadView
from api.reports import AppStatisticsView, BatchReportView
from api.search import SearchView
from api.sources import MediaSourceViewSet, ScheduleViewSet, SyncRunViewSet
from api.thumbnails import MakeThumbnailsView

app_name = "api"

router = SimpleRouter()
router.register("apps", views.ClamsAppViewSet, basename="app")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("media-files", views.MediaFileViewSet, basename="media-file")
router.register("collections", views.CollectionViewSet, basename="collection")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("runs", views.RunViewSet, basename="run")
router.register("media-sources", MediaSourceViewSet, basename="media-source")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("gold-sets", GoldSetViewSet, basename="gold-set")
router.register("evaluations", EvaluationViewSet, basename="evaluation")

# The schema maps every endpoint, field and filter: like the rest of the API, it is for people who may
# use it. Token first, so that an anonymous request is answered 401 with a challenge (as in api/views.py);
# the Swagger page is for a browser, which is sent to the login page instead.
schema = SpectacularAPIView.as_view(
    authentication_classes=[TokenAuthentication, SessionAuthentication], permission_classes=[IsAuthenticated]
)
docs = login_required(SpectacularSwaggerView.as_view(url_name="api:schema"))

urlpatterns = [
    path("schema/", schema, name="schema"),
    path("batches/from-runs/", BatchFromRunsView.as_view(), name="batch-from-runs"),
    path("batches/from-latest-mmif/", BatchFromLatestView.as_view(), name="batch-from-latest"),
    re_path(r"^batches/(?P<pk>[^/.]+)/inputs/$", BatchInputsUploadView.as_view(), name="batch-inputs"),
    path("docs/", docs, name="docs"),
    # The router would add a slash after the file name.
    re_path(
        r"^batches/(?P<pk>[^/.]+)/mmif\.zip$",
        views.BatchViewSet.as_view({"get": "mmif_zip"}, renderer_classes=[JSONRenderer, views.ZipRenderer]),
        name="batch-mmif-zip",
    ),
    # Before the router's, whose app detail route would take "statistics" for an app's id.
    path("apps/statistics/", AppStatisticsView.as_view(), name="app-statistics"),
    re_path(r"^batches/(?P<pk>[^/.]+)/report/$", BatchReportView.as_view(), name="batch-report"),
    re_path(r"^runs/(?P<pk>[^/.]+)/mark-final/$", RunMarkFinalView.as_view(), name="run-mark-final"),
    re_path(r"^batches/(?P<pk>[^/.]+)/mark-final/$", BatchMarkFinalView.as_view(), name="batch-mark-final"),
    re_path(r"^batches/(?P<pk>[^/.]+)/deliver/$", BatchDeliverView.as_view(), name="batch-deliver"),
    path("deliveries/", DeliveryList.as_view(), name="delivery-list"),
    path("search/", SearchView.as_view(), name="search"),
    re_path(
        r"^runs/(?P<pk>[^/.]+)/deliverables/(?P<kind>[a-z]+)/$", RunDeliverableView.as_view(), name="run-deliverable"
    ),
    re_path(
        r"^batches/(?P<pk>[^/.]+)/deliverables/(?P<kind>[a-z]+)\.zip$",
        BatchDeliverableView.as_view(),
        name="batch-deliverable-zip",
    ),
    # Before the router's, whose media file detail route would take "thumbnails" for an id.
    path("media-files/thumbnails/", MakeThumbnailsView.as_view(), name="media-file-thumbnails"),
    *router.urls,
    # Anything else under /api/ is answered in JSON too, never with Django's HTML page.
    re_path(r"^.*$", views.no_such_endpoint),
]
