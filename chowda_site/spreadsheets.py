"""CSV that a spreadsheet opens as text: a cell an app or a curator wrote never runs as a formula.

Excel, LibreOffice and Google Sheets take a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in
some versions, a tab or a carriage return) for a formula: an app's label ``=HYPERLINK(...)`` would become a
link, ``+1+cmd|' /C calc'!A0`` a command. Such a cell gets a leading ``'``, which the spreadsheet shows as
text (OWASP's advice for CSV injection). Numbers, negative ones included, are left as they are.
"""

import csv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """The value as a spreadsheet should read it: text that could start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


class writer:
    """``csv.writer`` whose rows go through ``cell``: every CSV Chowda hands out is written with it."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)
