"""The findings index answers words, phrases, labels in a time range, final MMIF only, and forgets a deleted
batch, with the same answers on PostgreSQL and on SQLite (run this file on both)."""

import pytest

from deliverables.models import FinalMmif
from runs.models import Run
from search.models import Finding
from search.selectors import Criteria, fts5_query, search
from tests.factories import BatchFactory
from tests.search_helpers import indexed_step

pytestmark = pytest.mark.django_db


def guids(results) -> list[str]:
    return [file.guid for file in results.files]


@pytest.fixture
def archive(db):
    batch = BatchFactory(name="News")
    watergate = indexed_step(
        guid="cpb-watergate",
        batch=batch,
        lines=[(0, 4000, "Good evening."), (4000, 9000, "The Watergate hearings resumed today in the Senate.")],
        frames=[(1000, 2000, "slate"), (400_000, 401_000, "slate"), (500_000, 510_000, "chyron")],
    )
    selma = indexed_step(
        guid="cpb-selma",
        batch=batch,
        lines=[(2000, 5000, "Marchers crossed the bridge at Selma."), (5000, 8000, "The hearings are next week.")],
        frames=[(10_000, 11_000, "slate")],
    )
    return {"batch": batch, "watergate": watergate, "selma": selma}


def test_a_word_finds_the_files_whose_text_has_it_with_the_time_the_text_covers(archive):
    results = search(Criteria(q="Watergate"))

    assert (results.total_files, results.total_hits, guids(results)) == (1, 1, ["cpb-watergate"])
    hit = results.files[0].hits[0]
    assert (hit.annotation_type, hit.start, hit.end, hit.app) == ("TextDocument", 4.0, 9.0, "whisper")
    assert "<mark>Watergate</mark>" in hit.snippet


def test_a_word_in_another_form_still_matches_and_both_files_come_back_with_their_count(archive):
    results = search(Criteria(q="hearing"))

    assert sorted(guids(results)) == ["cpb-selma", "cpb-watergate"]
    assert results.total_hits == 2


def test_a_phrase_matches_only_its_words_in_that_order(archive):
    assert guids(search(Criteria(q='"Watergate hearings"'))) == ["cpb-watergate"]
    assert guids(search(Criteria(q='"hearings Watergate"'))) == []


def test_either_word_and_leaving_a_word_out(archive):
    assert sorted(guids(search(Criteria(q="Selma or Watergate")))) == ["cpb-selma", "cpb-watergate"]
    assert guids(search(Criteria(q="hearings -week"))) == ["cpb-watergate"]  # the text, not the file, lacks it


def test_a_label_after_minute_five_finds_only_the_late_slate(archive):
    results = search(Criteria(label="slate", start_from=300))

    assert guids(results) == ["cpb-watergate"]
    assert [(hit.label, hit.start) for hit in results.files[0].hits] == [("slate", 400.0)]
    assert search(Criteria(label="slate", start_to=60)).total_hits == 2


def test_text_label_and_pipeline_together(archive):
    pipeline = archive["batch"].pipeline_id
    assert guids(search(Criteria(q="chyron", pipeline=pipeline))) == ["cpb-watergate"]
    assert search(Criteria(q="chyron", pipeline=pipeline + 1000)).total_hits == 0
    assert search(Criteria(label="chyron", app="whisper")).total_hits == 1  # the step's app, whichever view


def test_only_final_mmif_keeps_the_files_whose_run_was_marked_final(archive):
    assert search(Criteria(q="hearings", final=True)).total_hits == 0
    run = archive["selma"].run
    FinalMmif.objects.create(media_file=run.media_file, pipeline=run.batch.pipeline, run=run)

    assert guids(search(Criteria(q="hearings", final=True))) == ["cpb-selma"]


def test_a_deleted_batch_leaves_nothing_to_find(archive):
    other = indexed_step(guid="cpb-other", lines=[(0, 1000, "Watergate again.")])
    archive["batch"].delete()

    assert guids(search(Criteria(q="Watergate"))) == ["cpb-other"]
    assert search(Criteria(label="slate")).total_hits == 0
    other.run.delete()
    assert search(Criteria(q="Watergate")).total_hits == 0
    assert not Finding.objects.exists()


def test_a_retried_run_is_found_until_its_retry_is_indexed_then_only_the_retry(archive):
    first = indexed_step(guid="cpb-retried", lines=[(0, 1000, "Selma before the retry.")])
    Run.objects.filter(pk=first.run_id).update(superseded=True)
    assert search(Criteria(q="retry")).total_hits == 1

    retry = indexed_step(
        batch=first.run.batch, media_file=first.run.media_file, lines=[(0, 1000, "Selma after the retry.")]
    )

    results = search(Criteria(q="retry"))
    assert [hit.run_id for file in results.files for hit in file.hits] == [retry.run_id]


def test_results_are_paged_by_file_with_the_totals_of_every_page(archive):
    for number in range(5):
        indexed_step(guid=f"cpb-page-{number}", lines=[(0, 1000, "Senate news.")])

    first = search(Criteria(q="Senate"), page=1, per_page=4)
    second = search(Criteria(q="Senate"), page=2, per_page=4)

    assert (first.total_files, first.pages, len(first.files), len(second.files)) == (6, 2, 4, 2)
    assert not set(guids(first)) & set(guids(second))
    past = search(Criteria(q="Senate"), page=9, per_page=4)
    assert (past.page, past.total_files, guids(past)) == (2, 6, guids(second))


def test_a_query_of_only_punctuation_finds_nothing_and_raises_nothing(archive):
    assert search(Criteria(q='"" - or ()*:')).total_hits == 0


def test_websearch_syntax_becomes_quoted_fts5_terms():
    assert fts5_query('watergate "senate hearings" -nixon') == '"watergate" AND "senate hearings" NOT "nixon"'
    assert fts5_query("selma or watergate news") == '("selma" OR "watergate") AND "news"'
    assert fts5_query('near* "x') == '"near" AND "x"'
