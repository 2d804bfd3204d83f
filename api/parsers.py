"""A strict JSON parser: bounded size, UTF-8 only, no NaN or Infinity, no absurd nesting.
Every failure is a 4xx (``ParseError`` 400 or ``PayloadTooLarge`` 413), never a 500."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import APIException, ParseError

from . import conf


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = conf.get("MAX_BODY_BYTES")
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            if declared and int(declared) > limit:
                raise PayloadTooLarge(_("The request body is larger than %(limit)s bytes.")
                                      % {"limit": limit})
        except ValueError:
            raise ParseError(_("Invalid Content-Length header.")) from None
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(_("The request body is larger than %(limit)s bytes.")
                                  % {"limit": limit})
        params = {}
        if media_type and ";" in media_type:
            params = dict(p.strip().partition("=")[::2] for p in media_type.split(";")[1:])
        charset = params.get("charset", "utf-8").strip('"').lower()
        if charset not in ("utf-8", "utf8"):
            raise ParseError(_("Send the body as UTF-8 JSON."))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError(_("The body is not valid UTF-8.")) from None
        try:
            data = json.loads(text, parse_constant=_no_constants)
            # "\ud800" escapes decode to lone surrogates, which nothing can store.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
        except UnicodeEncodeError:
            raise ParseError(_("The body contains an invalid Unicode escape (a lone "
                               "surrogate).")) from None
        except ValueError as exc:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
        return data
