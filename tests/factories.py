import factory
from django.contrib.auth import get_user_model

from batches.models import Batch, Collection, DocumentType, MediaFile
from clams_apps.models import ClamsApp, Health
from pipelines.models import Pipeline, PipelineStep
from runs.models import Run, Status, StepRun

SEGMENTER_METADATA = {
    "name": "Segmenter",
    "description": "Splits audio into segments.",
    "app_version": "v1",
    "mmif_version": "1.2.0",
    "identifier": "http://apps.chowda.test/segmenter/v1",
    "url": "http://apps.chowda.test/segmenter",
    "input": [
        [
            {"@type": "http://clams.ai/vocabulary/type/AudioDocument/v2", "required": True},
            {"@type": "http://clams.ai/vocabulary/type/VideoDocument/v2", "required": True},
        ]
    ],
    "output": [{"@type": "http://clams.ai/vocabulary/type/TimeFrame/v6"}],
    "parameters": [
        {"name": "threshold", "type": "number", "default": 0.5, "multivalued": False, "description": ""},
        {
            "name": "mode",
            "type": "string",
            "default": "fast",
            "choices": ["fast", "accurate"],
            "multivalued": False,
            "description": "",
        },
    ],
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@archive.test")
    password = factory.django.Password("correct horse battery staple")
    is_staff = True


class ClamsAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClamsApp

    name = factory.Sequence(lambda n: f"app-{n}")
    endpoint = factory.Sequence(lambda n: f"http://127.0.0.1:{5000 + n}/")
    metadata = factory.LazyFunction(lambda: dict(SEGMENTER_METADATA))
    metadata_fetched_at = factory.Faker("date_time", tzinfo=__import__("datetime").timezone.utc)
    health = Health.OK


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"pipeline-{n}")


class PipelineStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PipelineStep

    pipeline = factory.SubFactory(PipelineFactory)
    position = factory.Sequence(lambda n: n + 1)
    app = factory.SubFactory(ClamsAppFactory)
    parameters = factory.LazyFunction(dict)


class MediaFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaFile

    guid = factory.Sequence(lambda n: f"cpb-aacip-{n:06d}")
    location = factory.LazyAttribute(lambda m: f"file:///media/{m.guid}.mp4")
    mime_type = "video/mp4"
    document_type = DocumentType.VIDEO


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"collection-{n}")

    @factory.post_generation
    def media_files(self, create, extracted, **kwargs):
        if create and extracted:
            self.media_files.add(*extracted)


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"batch-{n}")
    pipeline = factory.SubFactory(PipelineFactory)

    @factory.post_generation
    def media_files(self, create, extracted, **kwargs):
        if create and extracted:
            self.media_files.add(*extracted)


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    batch = factory.SubFactory(BatchFactory)
    media_file = factory.SubFactory(MediaFileFactory)
    status = Status.QUEUED


class StepRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StepRun

    run = factory.SubFactory(RunFactory)
    position = factory.Sequence(lambda n: n + 1)
    app = factory.SubFactory(ClamsAppFactory)
    app_name = factory.LazyAttribute(lambda s: s.app.name)
    status = Status.QUEUED
