"""The check of an app's answer: mmif-python's MMIF JSON schema, as typed msgspec structs.

Parsing the whole answer into dicts and walking it with jsonschema cost the worker more CPU than the
rest of a step, and six times a large MMIF's size in memory. msgspec decodes straight into these
structs: it checks every rule of the schema (required fields, types, minimum lengths, no unknown
fields where the schema forbids them) and keeps only what Chowda reads: each view's id, metadata,
and its annotations' types. An annotation's other properties are checked to be an object with an
``id`` and are never built. tests/test_mmif_check.py holds the schema and these structs to the same
answers.
"""

from collections import Counter
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

from clams_apps.metadata import short_type_name

NonEmpty = Annotated[str, Meta(min_length=1)]
Uri = Annotated[str, Meta(min_length=7)]  # the schema's "format": "uri" is not checked, as jsonschema does not
HttpKey = Annotated[str, Meta(pattern="^https?://")]


class Properties(Struct):
    id: NonEmpty


class Annotation(Struct, forbid_unknown_fields=True):
    type: NonEmpty = field(name="@type")
    properties: Properties


# Field names are the MMIF's own, camelCase included.
class ViewError(Struct):
    message: NonEmpty
    stackTrace: str | UnsetType = UNSET


class Profiling(Struct):
    runningTime: NonEmpty | UnsetType = UNSET


class ViewMetadata(Struct):
    app: Uri | UnsetType = UNSET
    contains: dict[HttpKey, dict] | UnsetType = UNSET
    warnings: list[str] | UnsetType = UNSET
    error: ViewError | UnsetType = UNSET
    timestamp: str | UnsetType = UNSET
    appTags: list[NonEmpty] | UnsetType = UNSET
    parameters: dict[str, str | list[str]] | UnsetType = UNSET
    appConfiguration: dict | UnsetType = UNSET
    appProfiling: Profiling | UnsetType = UNSET


class View(Struct, forbid_unknown_fields=True):
    id: NonEmpty
    metadata: ViewMetadata
    annotations: list[Annotation]


class MmifMetadata(Struct):
    mmif: Uri


class Mmif(Struct, forbid_unknown_fields=True):
    metadata: MmifMetadata
    documents: list[Annotation]
    views: list[View]


_decoder = msgspec.json.Decoder(Mmif)


class NotJson(ValueError):
    """The answer is not JSON at all."""


class NotMmif(ValueError):
    """The answer is JSON, but not valid MMIF; the message says where and why."""


def check(data) -> Mmif:
    """Decode and check an answer (bytes, or any buffer such as an mmap). Raises NotJson or NotMmif."""
    try:
        answer = _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise NotMmif(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise NotJson(str(exc)) from None
    for number, view in enumerate(answer.views):
        _check_view_metadata(view.metadata, f"$.views[{number}].metadata")
    return answer


def _check_view_metadata(metadata: ViewMetadata, where: str) -> None:
    """The rules of the schema's view metadata that a type cannot say."""
    if metadata.app is UNSET:
        raise NotMmif(f"Object missing required field `app` - at `{where}`")
    kinds = [name for name in ("contains", "warnings", "error") if getattr(metadata, name) is not UNSET]
    if len(kinds) != 1:
        raise NotMmif(
            f"A view's metadata must have exactly one of `contains`, `warnings` or `error`, "
            f"not {' and '.join(f'`{k}`' for k in kinds) or 'none'} - at `{where}`"
        )
    if metadata.appTags is not UNSET and len(set(metadata.appTags)) != len(metadata.appTags):
        raise NotMmif(f"Array has repeated items - at `{where}.appTags`")


def error_of(view: View) -> ViewError | None:
    error = view.metadata.error
    return None if error is UNSET else error


def summarise(
    views: list[View],
    new_views: list[View],
    *,
    documents: list[Annotation] = (),
    required_inputs: tuple[tuple[str, ...], ...] | None = None,
) -> dict:
    """What the app added: per new view its app, annotation counts by type and warnings; and every view id.

    ``required_inputs`` are the short type names the app declares it needs (``AppMetadata.required_inputs``;
    None when its metadata is unknown). When the app added no annotation at all although the input held every
    one of them, among the answer's ``documents`` or in earlier views, the summary says
    ``"found_nothing": True``: the app succeeded and found nothing, which an app that cannot read this MMIF's
    version also does.
    """
    summary = {
        "views": [
            {
                "id": view.id,
                "app": view.metadata.app,
                "annotations": _counts(view),
                "warnings": [] if view.metadata.warnings is UNSET else list(view.metadata.warnings),
            }
            for view in new_views
        ],
        "view_ids": [view.id for view in views],
    }
    if (
        required_inputs is not None
        and not any(view.annotations for view in new_views)
        and _had_inputs(views, new_views, documents, required_inputs)
    ):
        summary["found_nothing"] = True
    return summary


def _had_inputs(views, new_views, documents, required_inputs) -> bool:
    """Whether the MMIF the app was sent held one of each required input's types."""
    new_ids = {view.id for view in new_views}
    present = {short_type_name(document.type) for document in documents}
    for view in views:
        if view.id not in new_ids:
            present.update(short_type_name(a.type) for a in view.annotations)
    return all(present.intersection(alternatives) for alternatives in required_inputs)


def _counts(view: View) -> dict[str, int]:
    """Annotations by short type name (one name may stand for several versions of its type)."""
    counts: Counter = Counter()
    for at_type, n in Counter(a.type for a in view.annotations).items():
        counts[short_type_name(at_type)] += n
    return dict(counts)
