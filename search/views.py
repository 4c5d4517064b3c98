from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from batches.models import Batch
from pipelines.models import Pipeline
from search.forms import SearchForm
from search.selectors import search

# Who may read the findings viewer (runs) and its media files may search them: Curators and Viewers.
SEARCH_PERMISSIONS = ("runs.view_run", "batches.view_mediafile")


@login_required
@permission_required(SEARCH_PERMISSIONS, raise_exception=True)
def search_page(request):
    """The query box and filters; the files found, best first, each with its best hits linking to the moment."""
    form = SearchForm(request.GET or None)
    context = {
        **admin.site.each_context(request),
        "title": "Search what the apps found",
        "form": form,
        "results": None,
        "pipelines": Pipeline.objects.order_by("name").values_list("pk", "name"),
        "batches": Batch.objects.order_by("-pk").values_list("pk", "name")[:200],
    }
    if form.is_bound and not form.is_valid():
        context["problem"] = form.problems()
        return render(request, "search/search.html", context, status=400)
    if form.is_bound and form.asks_something():
        results = search(form.criteria(), page=form.cleaned_data["page"] or 1)
        query = request.GET.copy()
        query.pop("page", None)
        context.update(results=results, query=query.urlencode())
    return render(request, "search/search.html", context)
