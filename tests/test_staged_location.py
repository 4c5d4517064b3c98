"""A staged copy's location is swapped in a MMIF as it streams, only where it is a whole JSON string."""

import io
import json

import pytest

from runs.staging import StagedLocation

OWN = "http://archive.example/tapes/tape é 1.wav"
STAGED = "file:///srv/scratch/7-cpb-aacip-1/tape_1.wav"


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 64, 100_000])
def test_the_apps_answer_names_the_files_own_location_however_it_is_cut_into_chunks(size):
    answer = json.dumps({"documents": [{"properties": {"location": STAGED}}], "views": [{"id": "v1"}]}).encode()

    kept = b"".join(StagedLocation(OWN, STAGED).answer(chunked(answer, size)))

    assert json.loads(kept) == {"documents": [{"properties": {"location": OWN}}], "views": [{"id": "v1"}]}


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_the_app_is_sent_the_staged_copy_however_the_stored_mmif_spells_the_location(ensure_ascii):
    stored = json.dumps({"documents": [{"properties": {"location": OWN}}]}, ensure_ascii=ensure_ascii).encode()

    with StagedLocation(OWN, STAGED).app_input(io.BytesIO(stored)) as sent:
        assert json.loads(sent.read()) == {"documents": [{"properties": {"location": STAGED}}]}


def test_an_escaped_slash_is_swapped_too_and_a_longer_string_is_left_alone():
    escaped = json.dumps(STAGED).replace("/", "\\/")
    answer = f'{{"a": {escaped}, "b": "{STAGED}.json", "c": "see {STAGED}"}}'.encode()

    kept = json.loads(b"".join(StagedLocation(OWN, STAGED).answer([answer])))

    assert kept == {"a": OWN, "b": f"{STAGED}.json", "c": f"see {STAGED}"}
