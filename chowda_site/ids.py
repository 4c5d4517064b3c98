"""Object ids as the database stores them: whole numbers from 1 to 2^63 - 1.

A larger number cannot even be sent to the database (SQLite raises ``OverflowError``, PostgreSQL an
out-of-range error), so every door that reads an id from a person checks it here first.
"""

from django.urls import register_converter

MAX_ID = 2**63 - 1


class IdConverter:
    """``<id:pk>`` in a URL: like ``<int:pk>``, but an id no object can have does not match, so it is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value} is not an id.")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
