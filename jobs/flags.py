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
    """One ``--name=value`` per value, in the order of ``parameters``: argparse reads it as ``--name value``, and
    several of a multivalued parameter as ``--name v1 v2`` (its ``action='extend'`` gathers them).

    Written with "=", a value is never taken for something else: one starting with "-" is not read as an
    option, and a flag the app does not take (its metadata changed since it was registered) cannot swallow
    the next word as the input file, so argparse's error names the flag.
    """
    return [f"--{name}={value}" for name, value in query_params(None, parameters)]


def cli_arguments(parameters: dict[str, Any], input_path: str, output_path: str) -> list[str]:
    """The flags, then ``--`` and the input and output MMIF: what follows the app's command."""
    return [*cli_flags(parameters), "--", input_path, output_path]
