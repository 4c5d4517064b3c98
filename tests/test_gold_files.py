"""Gold files are read in aapb-annotations' formats, all or nothing: each refusal names the file and line."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations.gold import Entity, Frame, GoldError, Point, parse_gold, parse_time
from evaluations.models import GoldFile, GoldSet
from evaluations.services import gold_files_add, gold_set_create
from tests.factories import MediaFileFactory


def zipped(files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return SimpleUploadedFile("gold.zip", buffer.getvalue())


def test_times_are_clock_times_or_seconds():
    assert parse_time("00:01:02.500") == 62.5
    assert parse_time("01:02.5") == 62.5
    assert parse_time("62.5") == 62.5
    with pytest.raises(ValueError, match="'1:2x' is not a time"):
        parse_time("1:2x")


def test_each_kind_is_parsed():
    assert parse_gold("timeframes", "a.csv", "start,end,scene-label\n00:00:01.000,00:00:02.500,S\n3,4,B\n") == [
        Frame(1.0, 2.5, "S"),
        Frame(3.0, 4.0, "B"),
    ]
    assert parse_gold("timepoints", "a.csv", "at,scene-label\n00:00:03.000,bars\n") == [Point(3.0, "bars")]
    assert parse_gold("ocr", "a.csv", "at,text-transcript\n2,CHOWDA\n") == [(Frame(2.0, 2.0, ""), "CHOWDA")]
    brat = "T1\tPER 0 4\tJohn\n#1\tAnnotatorNotes T1\tok\nT2\tLOC 9 15;16 20\tNew York\n"
    assert parse_gold("ner", "a.ann", brat) == [
        Entity(0, 4, "PER"),
        Entity(9, 20, "LOC"),
    ]
    assert parse_gold("transcript", "a.txt", "the cat sat") == "the cat sat"


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        ("timeframes", "start,end,scene-label\n1,2,S\n00:00:0x,3,S\n", "a.csv line 3: '00:00:0x' is not a time"),
        ("timeframes", "start,scene-label\n1,S\n", "a.csv line 1: the column 'end' is missing"),
        ("timeframes", "start,end,scene-label\n5,2,S\n", "a.csv line 2: it ends (2) before it starts (5)"),
        ("timepoints", "at,scene-label\n1\n", "a.csv line 2: it has 1 column(s)"),
        ("ner", "T1\tPER zero 4\tJohn\n", "a.csv line 1: 'T1\tPER zero 4\tJohn' is not a BRAT entity"),
        ("transcript", "  \n", "a.csv is empty"),
    ],
)
def test_a_bad_line_is_named_with_its_file_and_line(kind, text, said):
    with pytest.raises(GoldError) as refused:
        parse_gold(kind, "a.csv", text)
    assert said in str(refused.value)


@pytest.mark.django_db
def test_a_zip_of_gold_files_makes_a_gold_set():
    one, two = MediaFileFactory(), MediaFileFactory()
    upload = zipped(
        {f"{one.guid}.csv": b"start,end,scene-label\n0,1,S\n", f"{two.guid}.csv": b"start,end,scene-label\n2,3,S\n"}
    )
    added = gold_set_create(name="Slates", kind="timeframes", upload=upload)
    assert added.sentence == "Gold set 'Slates' created with 2 file(s)."
    assert sorted(added.gold_set.files.values_list("media_file__guid", flat=True)) == sorted([one.guid, two.guid])


@pytest.mark.django_db
def test_an_unknown_guid_a_bad_time_and_non_utf8_are_each_named_and_nothing_is_stored():
    known = MediaFileFactory()
    other = MediaFileFactory()
    upload = zipped(
        {
            "cpb-aacip-nobody.csv": b"start,end,scene-label\n0,1,S\n",
            f"{known.guid}.csv": b"start,end,scene-label\n0,1,S\n1,x,S\n",
            f"{other.guid}.csv": b"start,end,scene-label\n0,1,caf\xe9\n",
        }
    )
    with pytest.raises(GoldError) as refused:
        gold_set_create(name="Slates", kind="timeframes", upload=upload)
    said = str(refused.value)
    assert said.startswith("Nothing was stored.")
    assert "cpb-aacip-nobody.csv: Chowda has no media file cpb-aacip-nobody" in said
    assert f"{known.guid}.csv line 3: 'x' is not a time" in said
    assert f"{other.guid}.csv line 2: the file is not UTF-8 text" in said
    assert not GoldSet.objects.exists() and not GoldFile.objects.exists()


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_unread(settings):
    settings.INPUT_UPLOAD_MAX_BYTES = 10_000
    media_file = MediaFileFactory()
    gold_set = GoldSet.objects.create(name="Transcripts", kind="transcript")
    bomb = zipped({f"{media_file.guid}.txt": b"a" * 1_000_000})
    assert bomb.size < 10_000  # small on the wire, a megabyte unpacked
    with pytest.raises(GoldError, match="unpacks to more than 10,000 bytes"):
        gold_files_add(gold_set, bomb)
    assert not GoldFile.objects.exists()


@pytest.mark.django_db
def test_one_file_at_a_time_replaces_the_files_earlier_gold():
    media_file = MediaFileFactory()
    gold_set = GoldSet.objects.create(name="Transcripts", kind="transcript")
    gold_files_add(gold_set, SimpleUploadedFile(f"{media_file.guid}.txt", b"first"))
    added = gold_files_add(gold_set, SimpleUploadedFile(f"{media_file.guid}.txt", b"second"))
    assert added.sentence == "1 gold file(s) stored in gold set 'Transcripts'."
    assert list(gold_set.files.values_list("content", flat=True)) == ["second"]
