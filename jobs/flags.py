"""A step's parameters as the flags of an app's cli.py.

clams-python's app template (``clams/develop/templates/app/cli.py.template``, since clams-python 1.2.3) builds
its argument parser from the app's metadata: every parameter is ``--name`` taking one value (``nargs=1``), a
multivalued one takes several (``nargs='+'``, ``action='extend'``), all as strings the app then casts as it
casts a query string; then come the input and output MMIF files. So the flags carry exactly what a web
service's query string carries (clams_apps/parameters.py): booleans as ``true``/``false``, a map as
``KEY:VALUE`` items.
"""

from typing import Any

from clams_apps.parameters import query_params


def cli_flags(parameters: dict[str, Any]) -> list[str]:
    """``--name value`` (``--name v1 v2`` for several values), in the order of ``parameters``.

    A value starting with "-" would be read by argparse as an option, so the values of such a parameter are
    given as ``--name=value`` (one per value, which ``action='extend'`` gathers the same way).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in query_params(None, parameters):
        grouped.setdefault(name, []).append(value)
    flags: list[str] = []
    for name, values in grouped.items():
        if any(value.startswith("-") for value in values):
            flags.extend(f"--{name}={value}" for value in values)
        else:
            flags.extend([f"--{name}", *values])
    return flags


def cli_arguments(parameters: dict[str, Any], input_path: str, output_path: str) -> list[str]:
    """The flags, then ``--`` and the input and output MMIF: what follows the app's command."""
    return [*cli_flags(parameters), "--", input_path, output_path]
