"""``manage.py index_findings [--batch N]`` puts in the index what succeeded steps found and is not in it yet,
resumes where it stopped, says so in sentences, and a step's indexing never runs twice."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db.models.signals import post_save

from search.models import Finding, IndexedStep
from search.selectors import Criteria, search
from tests.factories import BatchFactory
from tests.search_helpers import indexed_step

pytestmark = pytest.mark.django_db


def forget(*steps):
    """As if the steps had succeeded before search was installed."""
    IndexedStep.objects.filter(step__in=steps).delete()
    Finding.objects.filter(step__in=steps).delete()


def index_findings(*args) -> str:
    out = io.StringIO()
    call_command("index_findings", *args, stdout=out)
    return out.getvalue()


def test_the_backfill_indexes_every_step_not_indexed_and_again_does_nothing():
    steps = [indexed_step(guid=f"cpb-{n}", lines=[(0, 1000, "Selma.")], frames=[(0, 500, "slate")]) for n in range(3)]
    forget(*steps[1:])

    said = index_findings()

    assert "Indexed 2 step(s) with 4 finding(s)." in said
    assert search(Criteria(q="selma")).total_files == 3
    assert "Indexed 0 step(s) with 0 finding(s)." in index_findings()
    assert Finding.objects.count() == 6


def test_a_backfill_stopped_halfway_goes_on_where_it_stopped():
    steps = [indexed_step(guid=f"cpb-{n}", lines=[(0, 1000, "Selma.")]) for n in range(4)]
    forget(*steps)
    seen = []

    def stop_after_two(sender, instance, created, **kwargs):
        seen.append(instance.pk)
        if len(seen) == 2:
            raise KeyboardInterrupt

    post_save.connect(stop_after_two, sender=IndexedStep)
    try:
        with pytest.raises(KeyboardInterrupt):
            index_findings()
    finally:
        post_save.disconnect(stop_after_two, sender=IndexedStep)

    assert IndexedStep.objects.count() == 1  # the second was rolled back with its findings
    assert "Indexed 3 step(s) with 3 finding(s)." in index_findings()
    assert Finding.objects.count() == 4


def test_one_batch_only_and_a_batch_that_is_not_there():
    news, other = BatchFactory(name="News"), BatchFactory(name="Other")
    forget(indexed_step(batch=news, lines=[(0, 1000, "Selma.")]), indexed_step(batch=other, lines=[(0, 1, "Selma.")]))

    assert "Indexed 1 step(s) with 1 finding(s)." in index_findings("--batch", str(news.pk))
    assert [f.batch_id for f in Finding.objects.all()] == [news.pk]
    with pytest.raises(CommandError, match="There is no batch '999999': give the id of a batch"):
        index_findings("--batch", "999999")


def test_a_step_whose_mmif_is_gone_is_said_and_not_tried_again():
    step = indexed_step(lines=[(0, 1000, "Selma.")])
    forget(step)
    default_storage.delete(step.output_mmif.name)

    said = index_findings()

    assert f"The findings of step 1 of run {step.run_id} were not indexed: The stored MMIF" in said
    assert "1 could not be read" in said
    assert "Indexed 0 step(s)" in index_findings()
