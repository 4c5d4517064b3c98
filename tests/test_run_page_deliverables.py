"""The live run page offers a run's deliverables only once it has a final MMIF to make them from."""

import re

import pytest
from django.urls import reverse

from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def run_one_file(runner_apps, parameters):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"), parameters=parameters)
    batch = BatchFactory(pipeline=pipeline, media_files=[MediaFileFactory()])
    batch_start(batch)
    [run] = wait_until_finished(batch)
    return run


def deliverables_links(page: str) -> re.Match:
    return re.search(r'<span class="deliverables" id="deliverables-links"( hidden)?>(.*?)</span>', page, re.S)


def test_a_failed_runs_page_offers_no_deliverables(idle_runner_apps, viewer_client):
    run = run_one_file(idle_runner_apps, {"explode": True})
    assert run.status == Status.FAILED

    page = viewer_client.get(reverse("runs:run_live", args=[run.pk])).content.decode()

    links = deliverables_links(page)
    assert links[1] == " hidden"
    for href in re.findall(r'href="([^"]+)"', links[2]):
        assert viewer_client.get(href).status_code == 404  # what the links answered when they were shown
    assert '<span id="no-deliverables"></span>' in page  # the page's script says why there are none


def test_a_succeeded_runs_page_offers_its_deliverables(idle_runner_apps, viewer_client):
    run = run_one_file(idle_runner_apps, {})
    assert run.status == Status.SUCCEEDED

    page = viewer_client.get(reverse("runs:run_live", args=[run.pk])).content.decode()

    links = deliverables_links(page)
    assert links[1] is None
    assert reverse("deliverables:run_deliverable", args=[run.pk, "timeframes"]) in links[2]
