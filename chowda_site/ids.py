"""Object ids as the database stores them: whole numbers from 1 to 2^63 - 1.

A larger number cannot even be sent to the database (SQLite raises ``OverflowError``, PostgreSQL an
out-of-range error), so every door that reads an id from a person checks it here first.
"""

from django.urls import register_converter

MAX_ID = 2**63 - 1


def id_number(text) -> int | None:
    """The id a person typed (a path, a query, a command line), or None when no object can have it."""
    text = str(text).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


class IdConverter:
    """``<id:pk>`` in a URL: like ``<int:pk>``, but an id no object can have does not match, so it is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = id_number(value)
        if number is None:
            raise ValueError(f"{value} is not an id.")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
