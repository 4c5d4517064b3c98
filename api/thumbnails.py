"""Making media files' thumbnails from the API: the same service as the admin action "Make thumbnails"."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ActionView, needs
from api.serializers import MediaFileIdsField
from batches.models import MediaFile
from batches.services import media_make_thumbnails


class MakeThumbnailsSerializer(serializers.Serializer):
    media_files = MediaFileIdsField(help_text="The ids of the media files whose thumbnails to make.")


class MakeThumbnailsView(ActionView):
    # Curators may queue thumbnails; Viewers may not.
    permission_classes = [needs("batches.change_mediafile")]

    @extend_schema(
        summary="Make the thumbnails of media files in the background.",
        description="A still of video and image files, a waveform strip of audio files (text has none), made by a "
        "background task; a file's `thumbnail` link appears in the admin when it is done.",
        request=MakeThumbnailsSerializer,
        responses={
            202: inline_serializer(
                "ThumbnailsQueued", {"count": serializers.IntegerField(), "sentence": serializers.CharField()}
            )
        },
    )
    def post(self, request):
        serializer = MakeThumbnailsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = media_make_thumbnails(MediaFile.objects.filter(pk__in=serializer.validated_data["media_files"]))
        return Response({"count": result.count, "sentence": result.sentence}, status=202)
