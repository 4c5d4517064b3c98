"""``GET /api/search/``: the search page's results as JSON, with the same criteria and the same permissions."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.base import ActionView, needs
from api.schema import ERRORS
from search.forms import SearchForm
from search.selectors import search
from search.views import SEARCH_PERMISSIONS


def _parameter(name: str, kind, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, kind, description=description)


HIT_FIELDS = {
    "kind": serializers.ChoiceField(choices=["text", "label"]),
    "type": serializers.CharField(help_text="TextDocument, TimeFrame or TimePoint."),
    "label": serializers.CharField(),
    "snippet": serializers.CharField(help_text="HTML: the text around the matched words, escaped, in <mark>."),
    "start": serializers.FloatField(allow_null=True, help_text="Seconds into the media."),
    "end": serializers.FloatField(allow_null=True),
    "app": serializers.CharField(),
    "app_version": serializers.CharField(),
    "view": serializers.CharField(),
    "run": serializers.IntegerField(),
    "step": serializers.IntegerField(help_text="The step's position in its run."),
    "batch": serializers.IntegerField(),
    "pipeline": serializers.IntegerField(allow_null=True),
    "url": serializers.CharField(help_text="The findings viewer at this moment."),
}


class SearchView(ActionView):
    permission_classes = [needs(*SEARCH_PERMISSIONS)]

    @extend_schema(
        summary="Search what the apps found.",
        description="Texts (transcripts, OCR, summaries) and TimeFrame/TimePoint labels that succeeded steps added, "
        "across the archive. Files best first, each with its best hits (at most 5) and its count; paged by file "
        "(20 a page). Runs superseded by a retry are left out.",
        parameters=[
            _parameter("q", OpenApiTypes.STR, 'Words: "a phrase" in quotes, -word to leave out, or between either.'),
            _parameter("label", OpenApiTypes.STR, "A TimeFrame or TimePoint label, exactly."),
            _parameter("app", OpenApiTypes.STR, "The app's name, exactly."),
            _parameter("pipeline", OpenApiTypes.INT, "A pipeline's id."),
            _parameter("batch", OpenApiTypes.INT, "A batch's id."),
            _parameter("since", OpenApiTypes.DATE, "Found on or after this day."),
            _parameter("until", OpenApiTypes.DATE, "Found on or before this day."),
            _parameter("final", OpenApiTypes.BOOL, "Only the MMIF marked as their file's final."),
            _parameter("start_from", OpenApiTypes.NUMBER, "Hits starting at or after this second of the media."),
            _parameter("start_to", OpenApiTypes.NUMBER, "Hits starting at or before this second of the media."),
            _parameter("page", OpenApiTypes.INT, "The page of files (from 1)."),
        ],
        responses={
            400: ERRORS["400"],
            200: inline_serializer(
                "SearchResults",
                {
                    "hits": serializers.IntegerField(help_text="Hits in all files."),
                    "files": serializers.IntegerField(help_text="Files with a hit."),
                    "page": serializers.IntegerField(),
                    "pages": serializers.IntegerField(),
                    "results": inline_serializer(
                        "SearchFile",
                        {
                            "media_file": serializers.IntegerField(),
                            "guid": serializers.CharField(),
                            "hits": serializers.IntegerField(),
                            "best": inline_serializer("SearchHit", HIT_FIELDS, many=True),
                        },
                        many=True,
                    ),
                },
            ),
        },
    )
    def get(self, request):
        form = SearchForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({"detail": form.problems()})
        if not form.asks_something():
            raise ValidationError(
                {"detail": "Say what to search for: give q (words) or a filter such as label, app or batch."}
            )
        results = search(form.criteria(), page=form.cleaned_data["page"] or 1)
        return Response(
            {
                "hits": results.total_hits,
                "files": results.total_files,
                "page": results.page,
                "pages": results.pages,
                "results": [
                    {
                        "media_file": file.media_file_id,
                        "guid": file.guid,
                        "hits": file.total,
                        "best": [as_json(hit, request) for hit in file.hits],
                    }
                    for file in results.files
                ],
            }
        )


def as_json(hit, request) -> dict:
    return {
        "kind": hit.kind,
        "type": hit.annotation_type,
        "label": hit.label,
        "snippet": str(hit.snippet),
        "start": hit.start,
        "end": hit.end,
        "app": hit.app,
        "app_version": hit.app_version,
        "view": hit.view_id,
        "run": hit.run_id,
        "step": hit.step_position,
        "batch": hit.batch_id,
        "pipeline": hit.pipeline_id,
        "url": request.build_absolute_uri(hit.url),
    }
