import json

import pytest
from clams.app import ParameterCaster

from clams_apps.metadata import UNIVERSAL_PARAMETERS, AppMetadata
from clams_apps.parameters import UNIVERSAL_PARAMETER_SPECS, InvalidParameters, query_params, validate_parameters
from tests import clams_test_apps
from tests.factories import SEGMENTER_METADATA

VALID = {"label": "speech"}


@pytest.fixture(scope="module")
def segmenter() -> AppMetadata:
    """The metadata the Segmenter test app answers to GET /: every parameter type, a required `label`."""
    return AppMetadata.from_json(json.loads(clams_test_apps.Segmenter().appmetadata()))


@pytest.fixture
def old_segmenter() -> AppMetadata:
    """Metadata that does not list the universal parameters, as older apps answer."""
    return AppMetadata.from_json(SEGMENTER_METADATA)


def test_it_accepts_values_of_every_type(segmenter):
    values = {
        "label": "speech",
        "threshold": 0.7,
        "segments": 3,
        "mode": "accurate",
        "keepSilence": True,
        "tags": ["news", "local"],
        "labelMap": {"speech": "talk", "music": "song"},
        "pretty": True,
        "tfSamplingMode": "single",
    }
    assert validate_parameters(segmenter, values) == {}


def test_it_accepts_integers_for_numbers(segmenter):
    assert validate_parameters(segmenter, {**VALID, "threshold": 1}) == {}


def test_it_accepts_a_single_value_for_a_multivalued_parameter(segmenter):
    assert validate_parameters(segmenter, {**VALID, "tags": "news"}) == {}


def test_it_accepts_a_map_as_a_list_of_key_value_strings(segmenter):
    assert validate_parameters(segmenter, {**VALID, "labelMap": ["speech:talk", "music:song"]}) == {}


@pytest.mark.parametrize("values", [[], "label=speech", None, 3])
def test_it_refuses_anything_but_a_json_object(segmenter, values):
    errors = validate_parameters(segmenter, values)
    assert list(errors) == ["__all__"]
    assert errors["__all__"][0].startswith("Parameters must be a JSON object of names and values")


def test_it_names_the_accepted_parameters_for_an_unknown_one(segmenter):
    errors = validate_parameters(segmenter, {**VALID, "treshold": 0.4})
    assert errors == {
        "treshold": [
            (
                "Test Segmenter has no parameter 'treshold'; it accepts 'threshold', 'segments', 'mode', 'label', "
                "'keepSilence', 'tags', 'labelMap', 'pretty', 'runningTime', 'hwFetch', 'tfSamplingMode'."
            )
        ]
    }


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("segments", 2.0, "Parameter 'segments' must be a whole number (integer); got 2.0."),
        ("segments", "2", "Parameter 'segments' must be a whole number (integer); got '2'."),
        ("segments", True, "Parameter 'segments' must be a whole number (integer); got true."),
        ("threshold", "0.5", "Parameter 'threshold' must be a number; got '0.5'."),
        ("threshold", False, "Parameter 'threshold' must be a number; got false."),
        ("threshold", None, "Parameter 'threshold' must be a number; got null."),
        ("label", 7, "Parameter 'label' must be a string; got 7."),
        ("keepSilence", "false", "Parameter 'keepSilence' must be true or false; got 'false'."),
        ("keepSilence", 0, "Parameter 'keepSilence' must be true or false; got 0."),
    ],
)
def test_it_refuses_a_value_of_the_wrong_type(segmenter, name, value, message):
    assert validate_parameters(segmenter, {**VALID, name: value}) == {name: [message]}


@pytest.mark.parametrize(
    "value",
    [
        "speech",
        ["speech"],
        {"speech": 1},
        {"spe:ech": "talk"},
        [{"speech": "talk"}],
        3,
    ],
)
def test_it_refuses_a_map_that_is_not_strings_of_keys_and_values(segmenter, value):
    errors = validate_parameters(segmenter, {**VALID, "labelMap": value})
    assert errors["labelMap"][0].startswith(
        'Parameter \'labelMap\' must be a JSON object of strings, such as {"speech": "talk"}, '
        'or a list of "key:value" strings; got '
    )


def test_it_refuses_a_value_outside_the_choices(segmenter):
    errors = validate_parameters(segmenter, {**VALID, "mode": "slow"})
    assert errors == {"mode": ["Parameter 'mode' must be one of 'fast', 'accurate'; got 'slow'."]}


def test_it_refuses_a_list_for_a_single_valued_parameter(segmenter):
    errors = validate_parameters(segmenter, {**VALID, "mode": ["fast"]})
    assert errors == {"mode": ["Parameter 'mode' takes a single value, not a list; got [\"fast\"]."]}


def test_it_checks_every_item_of_a_multivalued_parameter(segmenter):
    errors = validate_parameters(segmenter, {**VALID, "tags": ["news", 3, None]})
    assert errors == {
        "tags": [
            "Every value of parameter 'tags' must be a string; got 3.",
            "Every value of parameter 'tags' must be a string; got null.",
        ]
    }


def test_it_checks_a_single_value_of_a_multivalued_parameter(segmenter):
    errors = validate_parameters(segmenter, {**VALID, "tags": 3})
    assert errors == {"tags": ["Parameter 'tags' must be a string; got 3."]}


def test_it_asks_for_a_required_parameter(segmenter):
    errors = validate_parameters(segmenter, {"mode": "fast"})
    assert errors == {"label": ["Parameter 'label' is required: give it a string, since the app has no default."]}


def test_it_reports_every_problem_at_once(segmenter):
    errors = validate_parameters(segmenter, {"mode": "slow", "segments": "many", "colour": "red"})
    assert set(errors) == {"mode", "segments", "colour", "label"}


def test_it_accepts_universal_parameters_that_the_metadata_does_not_list(old_segmenter):
    values = {"pretty": True, "runningTime": False, "hwFetch": True, "tfSamplingMode": "all"}
    assert validate_parameters(old_segmenter, values) == {}


def test_it_checks_universal_parameters_by_their_known_types(old_segmenter):
    errors = validate_parameters(old_segmenter, {"pretty": "yes", "tfSamplingMode": "every"})
    assert errors == {
        "pretty": ["Parameter 'pretty' must be true or false; got 'yes'."],
        "tfSamplingMode": [
            "Parameter 'tfSamplingMode' must be one of 'representatives', 'single', 'all'; got 'every'."
        ],
    }


def test_it_knows_every_universal_parameter():
    assert set(UNIVERSAL_PARAMETER_SPECS) == set(UNIVERSAL_PARAMETERS)


def test_query_params_writes_values_as_clams_reads_them(segmenter):
    values = {
        "label": "speech",
        "threshold": 0.25,
        "segments": 3,
        "keepSilence": False,
        "pretty": True,
        "tags": ["news", "local"],
        "labelMap": {"speech": "talk", "music": "song:loud"},
    }
    assert query_params(segmenter, values) == [
        ("label", "speech"),
        ("threshold", "0.25"),
        ("segments", "3"),
        ("keepSilence", "false"),
        ("pretty", "true"),
        ("tags", "news"),
        ("tags", "local"),
        ("labelMap", "speech:talk"),
        ("labelMap", "music:song:loud"),
    ]


def test_query_params_passes_key_value_lists_and_single_values_through(segmenter):
    values = {"label": "speech", "labelMap": ["speech:talk"], "tags": "news"}
    assert query_params(segmenter, values) == [("label", "speech"), ("labelMap", "speech:talk"), ("tags", "news")]


def test_query_params_refuses_values_that_no_longer_fit_the_metadata(segmenter):
    with pytest.raises(InvalidParameters) as raised:
        query_params(segmenter, {"label": "speech", "mode": "slow"})
    assert raised.value.errors == {"mode": ["Parameter 'mode' must be one of 'fast', 'accurate'; got 'slow'."]}
    assert str(raised.value) == "Parameter 'mode' must be one of 'fast', 'accurate'; got 'slow'."


def test_query_params_sends_values_as_they_are_without_metadata():
    assert query_params(None, {"whatever": True, "n": [1, 2]}) == [("whatever", "true"), ("n", "1"), ("n", "2")]


def test_query_params_round_trips_through_the_clams_parameter_caster(segmenter):
    """The pairs, read back by clams-python the way its HTTP server does, give the values we stored."""
    values = {"label": "speech", "threshold": 0.25, "keepSilence": True, "tags": ["a", "b"], "labelMap": {"x": "y"}}
    spec = {p.name: (p.type, p.multivalued) for p in segmenter.parameters}
    args: dict[str, list[str]] = {}
    for key, value in query_params(segmenter, values):
        args.setdefault(key, []).append(value)
    assert ParameterCaster(spec).cast(args) == values
