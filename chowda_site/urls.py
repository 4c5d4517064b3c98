from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from chowda_site.health import healthz
from sso import views as sso_views

admin.site.site_header = "Chowda"
admin.site.site_title = "Chowda"
admin.site.index_title = "Pipelines of CLAMS apps over archive media"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # The admin's logout, which after a single sign-on session goes on to the identity provider's logout.
    path("admin/logout/", sso_views.logout),
    path("admin/", admin.site.urls),
    path("sso/", include("sso.urls")),
    path("healthz", healthz, name="healthz"),
    path("api/", include("api.urls")),
    path("", include("runs.urls")),
    path("", include("findings.urls")),
    path("", include("deliverables.urls")),
    path("reports/", include("reports.urls")),
    path("", include("search.urls")),
    path("evaluations/", include("evaluations.urls")),
]
