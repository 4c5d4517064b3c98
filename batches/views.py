from django.contrib import admin, messages
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from batches.forms import ImportMediaForm
from batches.importer import ImportResult
from batches.models import MediaFile
from batches.services import media_import

FIELDSETS = [
    ("Media files", {"fields": ["guids", "csv_file"]}),
    ("Add them to (optional)", {"fields": ["batch", "new_batch_name", "collection", "new_collection_name"]}),
]


def import_media_view(request: HttpRequest) -> HttpResponse:
    """Admin page to import media files from pasted GUIDs or a CSV file; nothing is imported if a line is invalid."""
    if not request.user.has_perm("batches.add_mediafile"):
        raise PermissionDenied
    result = None
    if request.method == "POST":
        form = ImportMediaForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            result = media_import(
                form.rows(),
                batch=data["batch"],
                new_batch_name=data["new_batch_name"] or None,
                collection=data["collection"],
                new_collection_name=data["new_collection_name"] or None,
                user=request.user,
            )
            if not result.errors:
                messages.success(request, _summary(result))
                return redirect("admin:batches_mediafile_import")
            if form.files:
                # A browser cannot refill a file input, so offer the file's text for fixing in place.
                form = ImportMediaForm({**request.POST.dict(), "guids": form.input_text()})
    else:
        form = ImportMediaForm()
    return render(
        request,
        "admin/batches/mediafile/import.html",
        {
            **admin.site.each_context(request),
            "title": "Import media",
            "opts": MediaFile._meta,
            "adminform": AdminForm(form, FIELDSETS, prepopulated_fields={}),
            "result": result,
            "moved_upload": bool(result and request.FILES),
        },
    )


def _summary(result: ImportResult) -> str:
    """The result's sentence, then links to the batch and collection the files were added to."""
    links = format_html_join(
        " · ",
        '<a href="{}">Open the {} {}</a>',
        (
            (reverse(f"admin:batches_{kind}_change", args=[obj.pk]), kind, obj.name)
            for kind, obj in result.destinations()
        ),
    )
    return format_html("{} {}", result.sentence, links)


def media_thumbnail_view(request, pk: int):
    """A media file's thumbnail (PNG), for people who may view media files."""
    if not request.user.has_perm("batches.view_mediafile"):
        raise PermissionDenied
    media_file = get_object_or_404(MediaFile, pk=pk)
    if not media_file.thumbnail:
        raise Http404("This media file has no thumbnail yet.")
    return FileResponse(media_file.thumbnail.open("rb"), content_type="image/png")
