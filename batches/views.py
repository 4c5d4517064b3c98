from django.contrib import admin, messages
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from batches.forms import ImportMediaForm
from batches.importer import ImportResult, import_media
from batches.models import MediaFile

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
            check_destination_permissions(request, data)
            result = import_media(
                form.rows(),
                batch=data["batch"],
                new_batch_name=data["new_batch_name"] or None,
                collection=data["collection"],
                new_collection_name=data["new_collection_name"] or None,
                created_by=request.user,
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


def check_destination_permissions(request: HttpRequest, data: dict) -> None:
    needed = [
        perm
        for perm, wanted in [
            ("batches.change_batch", data["batch"]),
            ("batches.add_batch", data["new_batch_name"]),
            ("batches.change_collection", data["collection"]),
            ("batches.add_collection", data["new_collection_name"]),
        ]
        if wanted
    ]
    if not request.user.has_perms(needed):
        raise PermissionDenied


def _summary(result: ImportResult) -> str:
    """The success message, with links to the batch and collection the files were added to."""
    destinations = format_html_join(
        " and ",
        'the {} <a href="{}">{}</a>',
        (
            (kind, reverse(f"admin:batches_{kind}_change", args=[obj.pk]), obj.name)
            for kind, obj in [("batch", result.batch), ("collection", result.collection)]
            if obj
        ),
    )
    if destinations:
        destinations = format_html(" Added them to {}.", destinations)
    return format_html(
        "Imported {} media file{}: {} created, {} already existed.{}",
        result.created + result.existing,
        "" if result.created + result.existing == 1 else "s",
        result.created,
        result.existing,
        destinations,
    )
