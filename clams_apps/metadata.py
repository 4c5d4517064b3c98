"""CLAMS app metadata (the JSON an app answers to ``GET /``), read into typed objects."""

import re
from dataclasses import dataclass, field
from typing import Any

from mmif import DocumentTypes

PARAMETER_TYPES = ("integer", "number", "string", "boolean", "map")

# clams-python appends these to every app's parameter list; older apps may not list them.
UNIVERSAL_PARAMETERS = ("pretty", "runningTime", "hwFetch", "tfSamplingMode")

# clams-python always writes these; it leaves out an empty input, output or parameter list.
REQUIRED_KEYS = ("name", "identifier", "mmif_version")

# What clams-python writes as an app's version (in app_version, and at the end of its identifier) when it
# cannot tell it: an app run from a source checkout without tags, or without CLAMS_APP_VERSION.
UNRESOLVED_VERSION = "unresolvable"


# The one map from a media file's document type (batches' choices) to the MMIF type its document has.
MMIF_DOCUMENT_TYPES = {
    "video": DocumentTypes.VideoDocument,
    "audio": DocumentTypes.AudioDocument,
    "image": DocumentTypes.ImageDocument,
    "text": DocumentTypes.TextDocument,
}


class NotClamsMetadata(ValueError):
    """The JSON is not CLAMS app metadata; the message says what is missing."""


def short_type_name(at_type: str) -> str:
    """``TimeFrame`` for ``http://clams.ai/vocabulary/type/TimeFrame/v6``: versions are ignored when matching."""
    parts = [p for p in at_type.rstrip("/").split("/") if p]
    if len(parts) >= 2 and parts[-1][:1] == "v" and parts[-1][1:].isdigit():
        return parts[-2]
    return parts[-1] if parts else at_type


def known_version(version: str) -> str:
    """The version as given, or "" when the app could not tell it (clams-python's "unresolvable")."""
    return "" if version == UNRESOLVED_VERSION else version


def split_identifier(identifier: str) -> tuple[str, str]:
    """An app identifier without its version, and the version ("" when it has none, or an unknown one):
    ``http://apps.clams.ai/whisper-wrapper/v10`` gives ``("http://apps.clams.ai/whisper-wrapper", "v10")``,
    ``http://apps.clams.ai/tonedetection/unresolvable`` gives ``("http://apps.clams.ai/tonedetection", "")``."""
    head, _, last = (identifier or "").rstrip("/").rpartition("/")
    if head and (last == UNRESOLVED_VERSION or last[:1].isdigit() or (last[:1] == "v" and last[1:2].isdigit())):
        return head, known_version(last)
    return identifier or "", ""


def identifier_label(identifier: str) -> str:
    """A short name for an app known only by its identifier: its last part before the version."""
    return split_identifier(identifier)[0].rstrip("/").rsplit("/", 1)[-1]


def mmif_release(version: str) -> tuple[int, int] | None:
    """The MMIF specification's major and minor version (``(1, 2)`` for ``1.2.0`` or ``http://mmif.clams.ai/1.2.0``);
    None when it does not read as one. Releases that differ only in the patch number read each other's MMIF."""
    match = re.search(r"(\d+)\.(\d+)(?:\.\d+)?/?$", version or "")
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str = ""
    default: Any = None
    has_default: bool = False
    choices: tuple = ()
    multivalued: bool = False

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class IOType:
    """One input or output entry: an annotation or document type URI, and whether it is required."""

    at_type: str
    required: bool = True

    @property
    def short_name(self) -> str:
        return short_type_name(self.at_type)


@dataclass(frozen=True)
class AppMetadata:
    name: str
    identifier: str
    version: str
    description: str
    # Each input is a list of alternatives: any one of them satisfies it.
    inputs: tuple[tuple[IOType, ...], ...]
    outputs: tuple[IOType, ...]
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    # The MMIF specification version the app was built for, such as "1.0.4".
    mmif_version: str = ""

    @classmethod
    def from_json(cls, data: Any) -> "AppMetadata":
        """Parse the JSON of ``GET /``. Raises NotClamsMetadata naming what is wrong."""
        if not isinstance(data, dict):
            raise NotClamsMetadata(f"expected a JSON object, got {type(data).__name__}")
        missing = [key for key in REQUIRED_KEYS if key not in data]
        if missing:
            raise NotClamsMetadata(f"the JSON has no {', '.join(repr(k) for k in missing)}")
        lists = {key: data.get(key, []) for key in ("input", "output", "parameters")}
        for key, value in lists.items():
            if not isinstance(value, list):
                raise NotClamsMetadata(f"{key!r} must be a list")
        try:
            inputs = tuple(
                tuple(_io(alt) for alt in entry) if isinstance(entry, list) else (_io(entry),)
                for entry in lists["input"]
            )
            outputs = tuple(_io(entry) for entry in lists["output"])
            parameters = tuple(_parameter(p) for p in lists["parameters"])
        except (TypeError, KeyError) as exc:
            raise NotClamsMetadata(f"malformed input, output or parameter entry ({exc})") from exc
        return cls(
            name=str(data["name"]),
            identifier=str(data["identifier"]),
            version=known_version(str(data.get("app_version", ""))),
            description=str(data.get("description", "")),
            inputs=inputs,
            outputs=outputs,
            parameters=parameters,
            mmif_version=str(data["mmif_version"]),
        )

    @property
    def required_inputs(self) -> tuple[tuple[str, ...], ...]:
        """The short type names of each input the app needs (any one of an entry's names will do); optional
        inputs are left out."""
        return tuple(
            tuple(io.short_name for io in alternatives)
            for alternatives in self.inputs
            if any(io.required for io in alternatives)
        )

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def _io(entry: dict) -> IOType:
    if not isinstance(entry, dict) or "@type" not in entry:
        raise TypeError(f"{entry!r} has no '@type'")
    return IOType(at_type=str(entry["@type"]), required=bool(entry.get("required", True)))


def _parameter(entry: dict) -> Parameter:
    if not isinstance(entry, dict):
        raise TypeError(f"parameter {entry!r} is not an object")
    ptype = entry["type"]
    if ptype not in PARAMETER_TYPES:
        raise TypeError(f"parameter {entry.get('name')!r} has unknown type {ptype!r}")
    return Parameter(
        name=str(entry["name"]),
        type=ptype,
        description=str(entry.get("description", "")),
        default=entry.get("default"),
        has_default="default" in entry,
        choices=tuple(entry.get("choices") or ()),
        multivalued=bool(entry.get("multivalued", False)) or ptype == "map",
    )
