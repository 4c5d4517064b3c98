"""Reading an import of media files: a pasted GUID list or a CSV file, checked line by line.

Parsing turns text into ``ImportRow``s and never raises: a line it cannot read
becomes a row carrying an ``error``. ``check_rows`` then checks every row against
the database; ``batches.services.media_import`` writes everything or nothing.
"""

import csv
import mimetypes
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from batches.models import Batch, Collection, DocumentType, MediaFile, validate_guid, validate_location

CSV_COLUMNS = ("guid", "location", "mime")
GUID_SEPARATORS = re.compile(r"[\s,;]+")
# SQLite allows 999 variables per query; stay under it when looking GUIDs up.
LOOKUP_CHUNK = 900


@dataclass(frozen=True)
class ImportRow:
    """One media file as written in the input; ``error`` is set when the line could not be read."""

    line: int
    text: str
    guid: str
    location: str = ""
    mime: str = ""
    error: str = ""


@dataclass(frozen=True)
class LineError:
    """Why one line cannot be imported; ``line`` is None for a problem with the input as a whole."""

    line: int | None
    text: str
    reason: str


@dataclass
class ImportResult:
    """What an import did, or, when ``errors`` is not empty, what it would have done (nothing was written)."""

    created: int
    existing: int
    errors: list[LineError]
    batch: Batch | None = None
    collection: Collection | None = None

    @property
    def sentence(self) -> str:
        """What happened, as every door (admin, API, command) says it."""
        if self.errors:
            lines = len(self.errors)
            return (
                f"Nothing was imported: {lines} line{'s are' if lines != 1 else ' is'} invalid. "
                "Fix them and import everything again."
            )
        total = self.created + self.existing
        said = (
            f"Imported {total} media file{'' if total == 1 else 's'}: "
            f"{self.created} created, {self.existing} already existed."
        )
        destinations = [f"{kind} '{obj.name}'" for kind, obj in self.destinations()]
        if destinations:
            said += f" Added them to {' and '.join(destinations)}."
        return said

    def destinations(self) -> list[tuple[str, Batch | Collection]]:
        """The batch and the collection the files were added to, as (kind, object) pairs."""
        return [(kind, obj) for kind, obj in [("batch", self.batch), ("collection", self.collection)] if obj]


@dataclass(frozen=True)
class Resolved:
    """A valid row, with its location, MIME type and document type filled in."""

    row: ImportRow
    location: str
    mime: str
    document_type: str


@dataclass
class CheckedRows:
    """Every row checked: the accepted files by GUID, those of them already known, and the invalid lines."""

    accepted: dict[str, Resolved]
    known: dict[str, MediaFile]
    errors: list[LineError]

    @property
    def existing(self) -> int:
        return sum(1 for guid in self.accepted if guid in self.known)

    @property
    def created(self) -> int:
        return len(self.accepted) - self.existing


def parse_guid_text(text: str) -> list[ImportRow]:
    """GUIDs one per line or separated by commas, spaces or semicolons; each row keeps its line number."""
    rows = []
    for number, line in enumerate(_lines(text), start=1):
        rows.extend(ImportRow(line=number, text=guid, guid=guid) for guid in GUID_SEPARATORS.split(line) if guid)
    return rows


def parse_csv(text: str) -> list[ImportRow]:
    """CSV whose first line is a header naming the columns ``guid`` and optionally ``location`` and ``mime``.

    Header names are case-insensitive. A bad header gives a single row carrying
    the error for line 1; a line with more values than the header has columns
    gives a row carrying an error. Blank lines are skipped; blank text gives no rows.
    """
    lines = _lines(text)
    if not text.strip():
        return []
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        return [_unreadable(lines, 1, error)]
    header_error = _header_error(header)
    if header_error:
        return [ImportRow(line=1, text=lines[0].rstrip("\r\n") if lines else "", guid="", error=header_error)]

    rows = []
    previous_end = reader.line_num
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            rows.append(_unreadable(lines, reader.line_num, error))
            break
        if cells is None:
            break
        start, previous_end = previous_end + 1, reader.line_num
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        raw = "".join(lines[start - 1 : previous_end]).rstrip("\r\n")
        if len(cells) > len(header):
            rows.append(
                ImportRow(
                    line=start,
                    text=raw,
                    guid=cells[0],
                    error=f"This line has {len(cells)} values but the header names only {len(header)} columns "
                    f"({', '.join(header)}); quote values that contain commas.",
                )
            )
            continue
        values = dict(zip(header, cells, strict=False))
        rows.append(
            ImportRow(
                line=start,
                text=raw,
                guid=values["guid"],
                location=values.get("location", ""),
                mime=values.get("mime", ""),
            )
        )
    return rows


def looks_like_csv(text: str, name: str = "") -> bool:
    """True if ``name`` ends with .csv or the first non-blank line is a header naming a ``guid`` column."""
    if name.lower().endswith(".csv"):
        return True
    first = next((line for line in _lines(text) if line.strip()), "")
    return "guid" in (cell.strip().lower() for cell in first.split(","))


def parse_rows(text: str, *, filename: str = "", as_csv: bool = False) -> list[ImportRow]:
    """The one choice of parser: CSV if asked, if ``filename`` ends with .csv or the text has a guid header;
    else a GUID list."""
    return parse_csv(text) if as_csv or looks_like_csv(text, filename) else parse_guid_text(text)


def check_rows(rows: list[ImportRow]) -> CheckedRows:
    """Check every row against the database (read only).

    GUIDs already in the database are accepted as they are; a missing location or MIME
    type of a new file comes from ``settings.MEDIA_LOCATION_TEMPLATE`` and the location's
    file name. A GUID given twice with different values is an error on its second line.
    """
    if not rows:
        return CheckedRows({}, {}, [LineError(None, "", "No GUIDs were given.")])
    known = existing_files({row.guid for row in rows})
    errors: list[LineError] = []
    accepted: dict[str, Resolved] = {}
    for row in rows:
        try:
            resolved = _resolve(row, known.get(row.guid))
        except ValidationError as error:
            errors.append(LineError(row.line, row.text, error.messages[0]))
            continue
        first = accepted.setdefault(row.guid, resolved)
        if (first.location, first.mime) != (resolved.location, resolved.mime):
            errors.append(
                LineError(
                    row.line,
                    row.text,
                    f"GUID {row.guid!r} is also on line {first.row.line} with a different location or MIME type "
                    f"({first.location}, {first.mime}); keep only one of the two lines.",
                )
            )
    return CheckedRows(accepted, known, errors)


def _lines(text: str) -> list[str]:
    # Files saved by spreadsheet programs often start with a byte order mark.
    return text.removeprefix("\ufeff").splitlines(keepends=True)


def _header_error(header: list[str]) -> str:
    shown = ", ".join(header) or "nothing"
    if "guid" not in header:
        return (
            f"The first line must be a header naming the columns guid and optionally location and mime; "
            f"it says: {shown}."
        )
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        return f"Unknown column(s) {', '.join(map(repr, unknown))}: the columns are guid, location and mime."
    if len(set(header)) < len(header):
        return f"The header names a column twice: {shown}."
    return ""


def _unreadable(lines: list[str], line: int, error: csv.Error) -> ImportRow:
    text = lines[line - 1].rstrip("\r\n") if 0 < line <= len(lines) else ""
    return ImportRow(line=line, text=text, guid="", error=f"This line is not valid CSV ({error}).")


def existing_files(guids: set[str]) -> dict[str, MediaFile]:
    """The media files with these GUIDs that are already in the database, by GUID."""
    ordered = sorted(guids)
    found = {}
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        files = MediaFile.objects.filter(guid__in=chunk).only("guid", "location", "mime_type")
        found.update((media.guid, media) for media in files)
    return found


def _resolve(row: ImportRow, known: MediaFile | None) -> Resolved:
    """Check one row and fill in its location, MIME type and document type; raises ValidationError.

    A GUID already in the database takes missing values from its record.
    """
    if row.error:
        raise ValidationError(row.error)
    if not row.guid:
        raise ValidationError("This line has no GUID.")
    validate_guid(row.guid)
    if row.location:
        validate_location(row.location)
        location = row.location
    elif known:
        location = known.location
    else:
        location = _location_from_template(row.guid)
    mime = row.mime.lower() or (known.mime_type if known else _guess_mime(location))
    document_type = DocumentType.for_mime(mime) if "/" in mime else None
    if document_type is None:
        raise ValidationError(
            f"MIME type {mime!r} is not one Chowda imports: only video, audio, image and text files "
            "(such as video/mp4, audio/mpeg, image/jpeg, text/plain)."
        )
    return Resolved(row, location, mime, document_type)


def _location_from_template(guid: str) -> str:
    template = settings.MEDIA_LOCATION_TEMPLATE
    if not template:
        raise ValidationError(
            f"No location was given for {guid!r} and no default is configured: add a location column, "
            "or set CHOWDA_MEDIA_LOCATION_TEMPLATE (for example file:///media/{guid}.mp4)."
        )
    location = template.replace("{guid}", guid)
    try:
        validate_location(location)
    except ValidationError as error:
        raise ValidationError(f"{error.messages[0]} (built from CHOWDA_MEDIA_LOCATION_TEMPLATE)") from None
    return location


def _guess_mime(location: str) -> str:
    mime = mimetypes.guess_type(urlsplit(location).path)[0]
    if not mime:
        raise ValidationError(
            f"Cannot tell the MIME type of {location!r} from its name: add a mime column (for example video/mp4)."
        )
    return mime.lower()
