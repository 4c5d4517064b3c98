"""Media sources, their syncs and schedules in the API: the services the admin and `sync_media` call."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.response import Response

from api.exceptions import Conflict
from api.serializers import StrictFields
from api.views import ApiViewSet, CrudViewSet
from sources.models import MediaSource, Schedule, SyncRun
from sources.services import SourceError, next_times, schedule_check, schedule_save, schedules_changed, source_sync


class CredentialSerializer(serializers.Serializer):
    variable = serializers.CharField()
    set = serializers.BooleanField()


class MediaSourceSerializer(StrictFields, serializers.ModelSerializer):
    files = serializers.IntegerField(read_only=True, source="file_count", help_text="Media files it lists.")
    credentials = serializers.SerializerMethodField(
        help_text="Each credential's environment variable and whether the server's process has it set; never a value."
    )

    class Meta:
        model = MediaSource
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "workspace_id",
            "api_url",
            "bucket",
            "prefix",
            "endpoint_url",
            "credentials_env",
            "credentials",
            "guid_rule",
            "collection",
            "files",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    @extend_schema_field(CredentialSerializer(many=True))
    def get_credentials(self, source) -> list[dict]:
        return [{"variable": name, "set": present} for name, present in source.credentials_status()]

    def validate(self, attrs):
        candidate = MediaSource(**{**self._current(), **attrs})
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise ValidationError(get_error_detail(exc)) from None
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {field: getattr(self.instance, field) for field in self.Meta.fields if field in _EDITABLE}


_EDITABLE = {
    "name",
    "kind",
    "enabled",
    "workspace_id",
    "api_url",
    "bucket",
    "prefix",
    "endpoint_url",
    "credentials_env",
    "guid_rule",
    "collection",
}


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "source",
            "status",
            "sentence",
            "trigger",
            "started_by",
            "created_at",
            "started_at",
            "finished_at",
            "pages",
            "seen",
            "new",
            "updated",
            "unchanged",
            "missing",
            "skipped",
            "errors",
            "skipped_examples",
            "error_messages",
        ]
        read_only_fields = fields


SYNC_STARTED = inline_serializer(
    "SyncStarted",
    {
        "id": serializers.IntegerField(help_text="The sync's id: GET /api/sync-runs/{id}/ follows it."),
        "status": serializers.CharField(),
        "started": serializers.BooleanField(help_text="false: one was already running, and this is that one."),
        "sentence": serializers.CharField(),
    },
)


@extend_schema_view(
    list=extend_schema(summary="List the media sources."),
    create=extend_schema(
        summary="Add a media source (Sony Ci workspace, S3 bucket or HTTP JSON feed).",
        description="Credentials are never sent: `credentials_env` names the prefix of the environment variables "
        "that hold them on the workers.",
    ),
    retrieve=extend_schema(summary="A media source, and whether its credentials' variables are set."),
    update=extend_schema(summary="Change a media source."),
    partial_update=extend_schema(summary="Change some of a media source's fields."),
    destroy=extend_schema(summary="Delete a media source; its media files stay, with their runs."),
)
class MediaSourceViewSet(CrudViewSet):
    queryset = MediaSource.objects.annotate(file_count=Count("items")).order_by("name")
    serializer_class = MediaSourceSerializer
    action_permissions = {"sync": ["sources.change_mediasource"]}

    @extend_schema(
        summary="Sync the source now, in the background.",
        description="Answers 202 with the sync's id at once. One sync per source runs at a time: if one is "
        "already waiting or running, the answer is 202 with that one's id and `started: false`.",
        request=None,
        responses={202: SYNC_STARTED},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def sync(self, request, pk=None):
        source = self.get_object()
        try:
            asked = source_sync(source, trigger=f"API ({request.user})", user=request.user)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except SourceError as exc:
            raise Conflict(str(exc)) from None
        body = {"id": asked.sync.pk, "status": asked.sync.status, "started": asked.started, "sentence": asked.sentence}
        return Response(body, status=202)


@extend_schema_view(
    list=extend_schema(summary="List the syncs of media sources, newest first."),
    retrieve=extend_schema(summary="A sync: its status, progress, counts, and first skipped items and errors."),
)
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = SyncRun.objects.order_by("-pk")
    serializer_class = SyncRunSerializer


class ScheduleSerializer(StrictFields, serializers.ModelSerializer):
    next_runs = serializers.SerializerMethodField(
        help_text="The next three times it is due, ISO 8601 in its time zone (none while disabled)."
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "name",
            "enabled",
            "cron",
            "timezone",
            "action",
            "source",
            "collection",
            "pipeline",
            "overrides",
            "next_runs",
            "last_ran_at",
            "last_outcome",
            "last_sync",
            "last_batch",
        ]
        read_only_fields = ["last_ran_at", "last_outcome", "last_sync", "last_batch"]

    def get_next_runs(self, schedule) -> list[str]:
        return [at.isoformat() for at in next_times(schedule)] if schedule.enabled else []

    def validate(self, attrs):
        candidate = Schedule(**{**self._current(), **attrs})
        try:
            schedule_check(candidate)
        except DjangoValidationError as exc:
            raise ValidationError(get_error_detail(exc)) from None
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        names = [f for f in self.Meta.fields if f not in self.Meta.read_only_fields and f not in ("id", "next_runs")]
        return {name: getattr(self.instance, name) for name in names}

    def create(self, validated_data):
        return schedule_save(Schedule(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return schedule_save(instance)


@extend_schema_view(
    list=extend_schema(summary="List the schedules."),
    create=extend_schema(
        summary="Add a schedule: sync a source, or start the files not yet run, on a cron expression.",
        description="A bad cron expression or time zone is refused with a sentence; `next_runs` shows when it is due.",
    ),
    retrieve=extend_schema(summary="A schedule, its next runs and its last outcome."),
    update=extend_schema(summary="Change a schedule."),
    partial_update=extend_schema(summary="Change some of a schedule's fields."),
    destroy=extend_schema(summary="Delete a schedule."),
)
class ScheduleViewSet(CrudViewSet):
    queryset = Schedule.objects.order_by("name")
    serializer_class = ScheduleSerializer

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def perform_destroy(self, instance):
        instance.delete()
        schedules_changed()
