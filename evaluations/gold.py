"""Reading gold files in the CLAMS team's formats (clamsproject/aapb-annotations), all or nothing.

Every refusal names the file and, where it can, the line: "cpb-aacip-1.csv line 4: '1:2x' is not a time…".
A zip is read as the MMIF upload reads one (runs/inputs.py): the sizes it declares are checked before anything
is unpacked, and a member is never inflated past its declared size, so a zip bomb is refused unread.
"""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings

from chowda_site.refusals import Refused
from chowda_site.text import few
from evaluations.models import GoldKind
from runs.inputs import repeated, unpacked, zip_members


class GoldError(Refused):
    """A gold file or upload that cannot be used; nothing was stored. The message names the file and line."""


@dataclass(frozen=True)
class Frame:
    start: float  # seconds
    end: float
    label: str


@dataclass(frozen=True)
class Point:
    at: float  # seconds
    label: str


@dataclass(frozen=True)
class Entity:
    start: int  # character offsets in the transcript, end exclusive (BRAT's)
    end: int
    type: str


# The columns each CSV kind needs, by the names aapb-annotations uses (and plainer ones people type).
LABEL_COLUMNS = ("scene-label", "label", "scene_label", "type-label")
TEXT_COLUMNS = ("text-transcript", "text", "transcript", "text_transcript")
# hh:mm:ss.mmm, mm:ss.mmm, or seconds.
CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
SECONDS = re.compile(r"^\d+(?:\.\d+)?$")
BRAT_ENTITY = re.compile(r"^(T\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t?(.*)$")


def parse_time(text: str) -> float:
    """``hh:mm:ss.mmm`` (or ``mm:ss.mmm``) or plain seconds, as seconds; raises ValueError with a sentence."""
    value = text.strip()
    if SECONDS.match(value):
        return float(value)
    clock = CLOCK.match(value)
    if clock is None:
        raise ValueError(f"'{value}' is not a time: write hh:mm:ss.mmm (as 00:01:02.500) or seconds (as 62.5)")
    hours, minutes, seconds = clock.groups()
    if (int(minutes) >= 60 and hours is not None) or float(seconds) >= 60:
        raise ValueError(f"'{value}' is not a time: minutes and seconds go up to 59")
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def decoded(filename: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise GoldError(
            f"{filename} line {line}: the file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
            "save it as UTF-8 and upload it again."
        ) from None


def _rows(filename: str, text: str, needed: list[tuple[str, tuple[str, ...]]]) -> list[tuple[int, dict]]:
    """(line number, {role: cell}) of each data row of a CSV whose header names the ``needed`` columns (each a
    role and the names it may go by)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise GoldError(f"{filename} is empty: it needs a header line and one line per item.") from None
    except csv.Error as exc:
        raise GoldError(f"{filename} line 1: {exc}.") from None
    where = {}
    for role, names in needed:
        found = next((header.index(name) for name in names if name in header), None)
        if found is None:
            raise GoldError(
                f"{filename} line 1: the column '{names[0]}' is missing (the header is {','.join(header) or 'empty'}); "
                f"the first line must name the columns {','.join(names[0] for _, names in needed)}."
            )
        where[role] = found
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            line = reader.line_num
            if len(cells) <= max(where.values()):
                raise GoldError(
                    f"{filename} line {line}: it has {len(cells)} column(s) where the header names "
                    f"{max(where.values()) + 1}; give every line all the columns."
                )
            rows.append((line, {role: cells[index].strip() for role, index in where.items()}))
    except csv.Error as exc:
        raise GoldError(f"{filename} line {reader.line_num}: {exc}.") from None
    return rows


def _time(filename: str, line: int, value: str) -> float:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise GoldError(f"{filename} line {line}: {exc}.") from None


def parse_frames(filename: str, text: str) -> list[Frame]:
    frames = []
    for line, row in _rows(filename, text, [("start", ("start",)), ("end", ("end",)), ("label", LABEL_COLUMNS)]):
        start, end = _time(filename, line, row["start"]), _time(filename, line, row["end"])
        if end < start:
            raise GoldError(f"{filename} line {line}: it ends ({row['end']}) before it starts ({row['start']}).")
        frames.append(Frame(start, end, row["label"]))
    return frames


def parse_points(filename: str, text: str) -> list[Point]:
    return [
        Point(_time(filename, line, row["at"]), row["label"])
        for line, row in _rows(filename, text, [("at", ("at",)), ("label", LABEL_COLUMNS)])
    ]


def parse_ocr(filename: str, text: str) -> list[tuple[Frame, str]]:
    """Each gold text with the time it is shown: a frame, or a point (a frame of no length)."""
    first = next(csv.reader(io.StringIO(text)), [])
    if "at" in [cell.strip().lower() for cell in first]:
        return [
            (Frame(at, at, ""), row["text"])
            for line, row in _rows(filename, text, [("at", ("at",)), ("text", TEXT_COLUMNS)])
            for at in [_time(filename, line, row["at"])]
        ]
    items = []
    for line, row in _rows(filename, text, [("start", ("start",)), ("end", ("end",)), ("text", TEXT_COLUMNS)]):
        start, end = _time(filename, line, row["start"]), _time(filename, line, row["end"])
        if end < start:
            raise GoldError(f"{filename} line {line}: it ends ({row['end']}) before it starts ({row['start']}).")
        items.append((Frame(start, end, ""), row["text"]))
    return items


def parse_brat(filename: str, text: str) -> list[Entity]:
    """The text-bound annotations (``T`` lines) of a BRAT standoff file; its other lines (attributes, relations,
    notes) say nothing an entity-level score reads. A discontinuous entity counts from its first to last offset."""
    entities = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.startswith("T"):
            continue
        match = BRAT_ENTITY.match(content)
        if match is None:
            raise GoldError(
                f"{filename} line {line}: '{content[:80]}' is not a BRAT entity; write it as "
                "T1<tab>TYPE START END<tab>text."
            )
        offsets = [int(n) for n in re.split(r"[ ;]", match.group(3))]
        start, end = min(offsets), max(offsets)
        if end <= start:
            raise GoldError(f"{filename} line {line}: the entity ends ({end}) where or before it starts ({start}).")
        entities.append(Entity(start, end, match.group(2)))
    return entities


def parse_gold(kind: str, filename: str, text: str):
    """The gold of one file, parsed for its ``kind``; raises GoldError naming the file and line."""
    if kind == GoldKind.TIMEFRAMES:
        return parse_frames(filename, text)
    if kind == GoldKind.TIMEPOINTS:
        return parse_points(filename, text)
    if kind == GoldKind.OCR:
        return parse_ocr(filename, text)
    if kind == GoldKind.NER:
        return parse_brat(filename, text)
    if not text.strip():
        raise GoldError(f"{filename} is empty: a transcript's gold is its text.")
    return text


def upload_entries(upload) -> list[tuple[str, str, bytes]]:
    """(GUID, file name, content) of each gold file in ``upload``: one ``<GUID>.<ext>`` file or a zip of them."""
    name = PurePosixPath(upload.name or "").name
    limit = settings.INPUT_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise GoldError(
            f"Nothing was stored: {name} is {upload.size:,} bytes, more than the {limit:,} an upload may have "
            "(CHOWDA_INPUT_UPLOAD_MAX_BYTES). Split it into smaller zips."
        )
    content = upload.read()
    if not name.lower().endswith(".zip"):
        return [(_guid(name), name, content)]
    archive, members = zip_members(name, content, limit, error=GoldError)
    members = [  # what a Mac's zip adds beside the files
        m for m in members if not m.filename.startswith("__MACOSX/") and PurePosixPath(m.filename).name[:1] != "."
    ]
    if not members:
        raise GoldError(f"Nothing was stored: {name} holds no gold file.")
    guids = [_guid(PurePosixPath(m.filename).name) for m in members]
    twice = repeated(guids)
    if twice:
        raise GoldError(f"Nothing was stored: {name} holds more than one gold file for {few(twice)}.")
    return [
        (guid, m.filename, unpacked(archive, m, name, error=GoldError, what="the gold"))
        for guid, m in zip(guids, members, strict=True)
    ]


def _guid(filename: str) -> str:
    """``cpb-aacip-1.csv`` → ``cpb-aacip-1``: the name up to its last extension."""
    return PurePosixPath(filename).stem
