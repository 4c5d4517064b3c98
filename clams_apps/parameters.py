"""A pipeline step's runtime parameters: checked against the app's metadata, then turned into a query string.

Parameter values are stored as a JSON object ``{name: value}``. A multivalued parameter takes a list
(or a single value); a ``map`` parameter takes an object of strings or a list of ``"key:value"`` strings.
"""

import json
from typing import Any

from clams_apps.metadata import AppMetadata, Parameter

# How clams-python 1.8 declares metadata.UNIVERSAL_PARAMETERS; used when an app's metadata does not list them.
UNIVERSAL_PARAMETER_SPECS = {
    spec.name: spec
    for spec in (
        Parameter(name="pretty", type="boolean", default=False, has_default=True),
        Parameter(name="runningTime", type="boolean", default=True, has_default=True),
        Parameter(name="hwFetch", type="boolean", default=False, has_default=True),
        Parameter(
            name="tfSamplingMode",
            type="string",
            default="representatives",
            has_default=True,
            choices=("representatives", "single", "all"),
        ),
    )
}

ALL = "__all__"

# The end of "Parameter 'x' must be ...".
TYPE_WORDS = {
    "integer": "a whole number (integer)",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
}
MAP_WORDS = 'a JSON object of strings, such as {"speech": "talk"}, or a list of "key:value" strings'
MAP_DELIMITER = ":"


class InvalidParameters(ValueError):
    """Parameter values do not fit the app's metadata; ``errors`` maps parameter names to sentences."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(message for messages in errors.values() for message in messages))


def accepted_parameters(metadata: AppMetadata) -> list[Parameter]:
    """The app's parameters in metadata order, followed by any universal parameter it does not list."""
    listed = {p.name for p in metadata.parameters}
    return [*metadata.parameters, *(spec for name, spec in UNIVERSAL_PARAMETER_SPECS.items() if name not in listed)]


def validate_parameters(metadata: AppMetadata, values: Any) -> dict[str, list[str]]:
    """Check step parameter values against the app's metadata.

    Returns the problems as full sentences keyed by parameter name (``"__all__"`` when ``values`` is not a
    JSON object at all); an empty dict means the values are fine. Unknown names, wrong types, values
    outside ``choices``, lists for single-valued parameters and missing required parameters are problems.
    """
    if not isinstance(values, dict):
        return {
            ALL: [
                (
                    'Parameters must be a JSON object of names and values, such as {"mode": "fast"}; '
                    f"got {_show(values)}."
                )
            ]
        }
    specs = {p.name: p for p in accepted_parameters(metadata)}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            accepted = ", ".join(repr(n) for n in specs)
            problems = [f"{metadata.name} has no parameter {name!r}; it accepts {accepted}."]
        else:
            problems = _value_problems(spec, value)
        if problems:
            errors[name] = problems
    for spec in specs.values():
        if spec.required and spec.name not in values:
            errors[spec.name] = [
                f"Parameter {spec.name!r} is required: give it {_type_words(spec)}, since the app has no default."
            ]
    return errors


def query_params(metadata: AppMetadata | None, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The query-string pairs that send ``values`` to a CLAMS app, in the order of ``values``.

    Booleans become ``true``/``false``, lists repeat their key, maps become ``key:value`` strings.
    With ``metadata``, the values are validated first and InvalidParameters is raised if they do not fit
    (for example after the app's metadata was refreshed); with None they are sent as they are.
    """
    if metadata is not None:
        errors = validate_parameters(metadata, values)
        if errors:
            raise InvalidParameters(errors)
    pairs = []
    for name, value in values.items():
        if isinstance(value, dict):
            items = [f"{key}{MAP_DELIMITER}{item}" for key, item in value.items()]
        elif isinstance(value, list):
            items = value
        else:
            items = [value]
        pairs.extend((name, _query_value(item)) for item in items)
    return pairs


def _value_problems(spec: Parameter, value: Any) -> list[str]:
    name = repr(spec.name)
    if spec.type == "map":
        return [] if _is_map(value) else [f"Parameter {name} must be {MAP_WORDS}; got {_show(value)}."]
    if isinstance(value, list):
        if not spec.multivalued:
            return [f"Parameter {name} takes a single value, not a list; got {_show(value)}."]
        return [
            f"Every value of parameter {name} must be {problem}; got {_show(item)}."
            for item in value
            if (problem := _scalar_problem(spec, item))
        ]
    problem = _scalar_problem(spec, value)
    return [f"Parameter {name} must be {problem}; got {_show(value)}."] if problem else []


def _scalar_problem(spec: Parameter, value: Any) -> str | None:
    """What one value should have been, as the end of "must be ...", or None if it is fine."""
    if not _has_type(spec.type, value):
        return TYPE_WORDS[spec.type]
    if spec.choices and value not in spec.choices:
        return "one of " + ", ".join(_show(choice) for choice in spec.choices)
    return None


def _has_type(ptype: str, value: Any) -> bool:
    if ptype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ptype == "string":
        return isinstance(value, str)
    return isinstance(value, bool)


def _is_map(value: Any) -> bool:
    # The app splits "key:value" at the first colon, so a key may not hold one.
    if isinstance(value, dict):
        return all(MAP_DELIMITER not in key and isinstance(item, str) for key, item in value.items())
    items = value if isinstance(value, list) else [value]
    return all(isinstance(item, str) and MAP_DELIMITER in item for item in items)


def _type_words(spec: Parameter) -> str:
    if spec.type == "map":
        return MAP_WORDS
    words = TYPE_WORDS[spec.type]
    if spec.choices:
        words = "one of " + ", ".join(_show(choice) for choice in spec.choices)
    return f"{words} or a list of them" if spec.multivalued else words


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: Any) -> str:
    """A value as the curator typed it: strings quoted, everything else as JSON."""
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
