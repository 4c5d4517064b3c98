"""Request body parsers that refuse oversized bodies (413) and say plainly what is wrong with bad JSON (400).

Django limits form bodies to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` but DRF reads JSON from the raw
stream, so the same limit is applied here, before anything is read, to every content type.
"""

import codecs
import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.exceptions import too_large


def check_size(parser_context: dict | None) -> None:
    """Raise RequestTooLarge if the request says its body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = (parser_context or {}).get("request")
    if limit is None or request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise too_large(limit)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise ParseError(f"The request body is not {encoding} text; send JSON encoded as UTF-8.") from None
        except ValueError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}.") from None
        except RecursionError:
            raise ParseError("The request body is not valid JSON: it is nested too deeply.") from None


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        check_size(parser_context)
        return super().parse(stream, media_type, parser_context)
