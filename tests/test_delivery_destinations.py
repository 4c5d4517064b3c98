"""A curator delivers only to a destination the operator named, and a destination that cannot be used is refused
with a sentence before anything is written or recorded."""

import pytest
from django.core.management import CommandError, call_command

from deliverables.models import Delivery
from deliverables.services import DeliverablesError, batch_deliver, delivery_carry_out
from tests.factories import BatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    return BatchFactory(name="News")


def test_a_destination_that_is_neither_a_folder_nor_a_bucket_is_refused(settings, batch, curator):
    settings.DELIVERY_DESTINATIONS = {"odd": "deliveries/here"}

    with pytest.raises(DeliverablesError, match="neither an absolute folder path nor an s3://bucket/prefix URI"):
        batch_deliver(batch, "odd", [], curator)
    assert not Delivery.objects.exists()


def test_a_folder_that_cannot_be_created_is_refused_and_names_the_folder(settings, batch, curator):
    settings.DELIVERY_DESTINATIONS = {"proc": "/proc/chowda-deliveries"}

    with pytest.raises(DeliverablesError, match=r"Cannot write to the folder /proc/chowda-deliveries/batch-\d+"):
        batch_deliver(batch, "proc", [], curator)
    assert not Delivery.objects.exists()


def test_the_command_names_the_destinations_there_are(settings, batch):
    settings.DELIVERY_DESTINATIONS = {"catalog": "/srv/catalog"}

    with pytest.raises(
        CommandError, match="There is no delivery destination called 'elsewhere': choose one of catalog"
    ):
        call_command("deliver_batch", "News", "--to", "elsewhere")


def test_a_batch_without_a_pipeline_delivers_nothing(settings, tmp_path, curator):
    settings.DELIVERY_DESTINATIONS = {"catalog": str(tmp_path)}

    with pytest.raises(DeliverablesError, match="has no pipeline"):
        batch_deliver(BatchFactory(pipeline=None), "catalog", ["vtt"], curator)
    assert list(tmp_path.iterdir()) == []


def test_the_mark_final_command_says_what_it_marked(batch, capsys):
    call_command("mark_final", "News")

    assert "Batch 'News': No final MMIF was marked: no file has a successful run with a final MMIF." in (
        capsys.readouterr().out
    )


def test_a_destination_removed_before_the_worker_delivers_is_the_deliverys_failure(settings, batch, curator):
    settings.DELIVERY_DESTINATIONS = {}
    delivery = Delivery.objects.create(batch=batch, destination="catalog", target="/srv/catalog", delivered_by=curator)

    delivery_carry_out(delivery)

    delivery.refresh_from_db()
    assert delivery.finished_at is not None
    assert delivery.files_delivered == 0
    [failure] = delivery.failures
    assert failure["problem"] == (
        "There is no delivery destination called 'catalog': none is configured; ask an operator to set "
        "CHOWDA_DELIVERY_DESTINATIONS."
    )
