"""The OpenAPI description is valid, and property-based requests built from it never get a 500."""

import time

import pytest
import requests
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chowda_site.wsgi import application
from runs.models import Status
from tests.factories import (
    BatchFactory,
    ClamsAppFactory,
    CollectionFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
    RunFactory,
    StepRunFactory,
)

pytestmark = pytest.mark.django_db

# The API has over 80 operations: 10 examples each take about 15 s on a quiet 2-core machine. The budget only stops
# a run that would hold the suite for minutes; it is no speed target (CI once took 60 s here beside another suite).
EXAMPLES_PER_OPERATION = 10
TIME_BUDGET = 180  # seconds, for all operations together


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/batches/{id}/start/:" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_and_the_docs_are_served(viewer_client):
    assert viewer_client.get("/api/schema/").status_code == 200
    assert viewer_client.get("/api/docs/").status_code == 200


@pytest.fixture
def in_process_requests():
    """Let the WSGI app share the test's transaction, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def some_of_everything(settings, tmp_path, monkeypatch):
    """Objects for generated ids to hit, and apps that answer at once (no generated URL is fetched)."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"

    def refuse(url, *args, **kwargs):
        raise requests.ConnectionError("Connection refused")

    monkeypatch.setattr("clams_apps.client.requests.get", refuse)
    for _ in range(3):
        app = ClamsAppFactory()
        pipeline = PipelineFactory()
        PipelineStepFactory(pipeline=pipeline, position=1, app=app)
        media = MediaFileFactory()
        CollectionFactory(media_files=[media])
        batch = BatchFactory(pipeline=pipeline, media_files=[media, MediaFileFactory()])
        run = RunFactory(batch=batch, media_file=media, status=Status.FAILED)
        StepRunFactory(run=run, app=app, position=1, status=Status.FAILED)


def test_no_generated_request_gets_a_server_error(superuser, some_of_everything, in_process_requests):
    headers = {"Authorization": f"Token {Token.objects.create(user=superuser).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    deadline = time.monotonic() + TIME_BUDGET
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        if time.monotonic() > deadline:
            pytest.fail(f"The run took more than {TIME_BUDGET} s; lower EXAMPLES_PER_OPERATION.")

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def requests_to(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)

        requests_to()
