"""Chowda's check of an app's answer accepts and refuses what mmif-python's MMIF schema does."""

import copy
import json

import jsonschema
import mmif
import pytest

from runs import mmif_check
from runs.app_call import post_mmif
from tests.clams_test_apps import serve

SCHEMA = json.loads(mmif.get_mmif_json_schema())
TIMEFRAME = "http://mmif.clams.ai/vocabulary/TimeFrame/v6"


def valid() -> dict:
    return {
        "metadata": {"mmif": "http://mmif.clams.ai/1.2.0"},
        "documents": [
            {
                "@type": "http://mmif.clams.ai/vocabulary/AudioDocument/v1",
                "properties": {"id": "d1", "location": "file:///a.wav", "mime": "audio/wav"},
            }
        ],
        "views": [
            {
                "id": "v1",
                "metadata": {
                    "app": "http://apps.clams.ai/segmenter/v1",
                    "timestamp": "2026-11-28T10:00:00",
                    "contains": {TIMEFRAME: {"timeUnit": "milliseconds", "document": "d1"}},
                    "parameters": {"threshold": "0.5", "labels": ["a", "b"]},
                    "appConfiguration": {"threshold": 0.5},
                    "appTags": ["audio"],
                    "appProfiling": {"runningTime": "0:00:01"},
                },
                "annotations": [
                    {"@type": TIMEFRAME, "properties": {"id": "tf1", "start": 0, "end": 10, "label": "speech"}},
                    {"@type": TIMEFRAME, "properties": {"id": "tf2", "start": 10, "end": 20, "label": "silence"}},
                ],
            },
            {"id": "v2", "metadata": {"app": "http://apps.clams.ai/noisy/v1", "warnings": ["low volume"]},
             "annotations": []},
            {"id": "v3", "metadata": {"app": "http://apps.clams.ai/broken/v1",
             "error": {"message": "boom", "stackTrace": "Traceback ..."}}, "annotations": []},
        ],
    }  # fmt: skip


def changed(path: str, value=None, *, delete: bool = False) -> dict:
    """The valid MMIF with the value at ``path`` (dot-separated, numbers index lists) replaced or removed."""
    data = copy.deepcopy(valid())
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


CASES = {
    "valid": valid(),
    "no views yet": changed("views", []),
    "no metadata": changed("metadata", delete=True),
    "no documents": changed("documents", delete=True),
    "an unknown top-level field": changed("extra", 1),
    "mmif version too short": changed("metadata.mmif", "http"),
    "documents not a list": changed("documents", {}),
    "a document without @type": changed("documents.0.@type", delete=True),
    "an empty @type": changed("documents.0.@type", ""),
    "a document without id": changed("documents.0.properties.id", delete=True),
    "an empty id": changed("views.0.annotations.1.properties.id", ""),
    "an id that is a number": changed("views.0.annotations.1.properties.id", 7),
    "an annotation with an unknown field": changed("views.0.annotations.0.extra", True),
    "properties not an object": changed("views.0.annotations.0.properties", []),
    "a view without id": changed("views.0.id", delete=True),
    "a view without annotations": changed("views.0.annotations", delete=True),
    "a view with an unknown field": changed("views.0.extra", {}),
    "a view without app": changed("views.0.metadata.app", delete=True),
    "an app too short": changed("views.0.metadata.app", "x"),
    "contains and warnings together": changed("views.1.metadata.contains", {}),
    "neither contains, warnings nor error": changed("views.1.metadata.warnings", delete=True),
    "contains keyed by a name, not a URL": changed("views.0.metadata.contains", {"TimeFrame": {}}),
    "contains with a value that is not an object": changed("views.0.metadata.contains", {TIMEFRAME: 1}),
    "an error without message": changed("views.2.metadata.error", {"stackTrace": "x"}),
    "an empty error message": changed("views.2.metadata.error.message", ""),
    "warnings that are not text": changed("views.1.metadata.warnings", [1]),
    "a parameter that is a number": changed("views.0.metadata.parameters.threshold", 0.5),
    "repeated app tags": changed("views.0.metadata.appTags", ["audio", "audio"]),
    "an empty app tag": changed("views.0.metadata.appTags", [""]),
    "an empty running time": changed("views.0.metadata.appProfiling.runningTime", ""),
    "a timestamp that is a number": changed("views.0.metadata.timestamp", 1),
    "not an object": [],
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
def test_the_check_agrees_with_mmif_pythons_schema(data):
    schema_says = jsonschema.validators.validator_for(SCHEMA)(SCHEMA).is_valid(data)

    try:
        mmif_check.check(json.dumps(data).encode())
        check_says = True
    except mmif_check.NotMmif:
        check_says = False

    assert check_says == schema_says


def test_what_is_wrong_is_said_with_where_it_is():
    with pytest.raises(mmif_check.NotMmif) as refused:
        mmif_check.check(json.dumps(changed("views.0.annotations.1.properties.id", delete=True)).encode())

    assert str(refused.value) == "Object missing required field `id` - at `$.views[0].annotations[1].properties`"


@pytest.mark.parametrize("text", [b"", b"<html>", b'{"views": [', b"\xff\xfe"])
def test_what_is_not_json_is_told_apart_from_json_that_is_not_mmif(text):
    with pytest.raises(mmif_check.NotJson):
        mmif_check.check(text)


def test_the_summary_counts_each_new_views_annotations_by_type():
    answer = mmif_check.check(json.dumps(valid()).encode())

    summary = mmif_check.summarise(answer.views, answer.views[:2])

    assert summary == {
        "views": [
            {"id": "v1", "app": "http://apps.clams.ai/segmenter/v1", "annotations": {"TimeFrame": 2}, "warnings": []},
            {"id": "v2", "app": "http://apps.clams.ai/noisy/v1", "annotations": {}, "warnings": ["low volume"]},
        ],
        "view_ids": ["v1", "v2", "v3"],
    }


def test_a_50_mb_answer_invalid_near_its_end_fails_the_step_with_the_sentence_and_where():
    """A real HTTP app answers 50 MB of MMIF whose last-but-one TimeFrame has no id."""
    frames = 360_000
    head = json.dumps(valid())[: -len("]}")]  # the views list, still open
    tail_frames = ",".join(
        json.dumps({"@type": TIMEFRAME, "properties": {"start": n, "end": n + 1, "label": "speech"} | (
            {} if n == frames - 2 else {"id": f"tf{n}"})})
        for n in range(frames)
    )  # fmt: skip
    big_view = {"id": "v9", "metadata": {"app": "http://apps.clams.ai/big/v1", "contains": {TIMEFRAME: {}}}}
    body = (head + "," + json.dumps(big_view)[:-1] + ', "annotations": [' + tail_frames + "]}]}").encode()
    assert len(body) > 50_000_000

    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    served = serve(app)
    try:
        answer = post_mmif(
            app_name="big", endpoint=served.url, timeout=60, mmif=b"{}", query=[], known_view_ids={"v1", "v2", "v3"}
        )
    finally:
        served.stop()

    assert answer.kind == "failed"
    assert answer.message == (
        f"App 'big' at {served.url} answered JSON that is not valid MMIF: Object missing required field `id` "
        f"- at `$.views[3].annotations[{frames - 2}].properties`."
    )
