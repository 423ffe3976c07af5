"""Reading requests: JSON bodies (size-limited, optionally gzip) and query parameters."""

from __future__ import annotations

import json
import re
import zlib
from typing import Any, TypeVar

import pydantic_core
from flask import current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from lineage.store.writer import validation_reason

M = TypeVar("M", bound=BaseModel)


def _limit() -> int | None:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return int(limit) if limit else None


def _gunzip(data: bytes, limit: int | None) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        if limit is None:
            body = inflater.decompress(data)
        else:
            body = inflater.decompress(data, limit + 1)
            if len(body) > limit or inflater.unconsumed_tail:
                raise RequestEntityTooLarge(
                    f"the body is larger than {limit} bytes once decompressed: send smaller batches"
                )
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid gzip: {exc}") from exc
    if not inflater.eof:
        raise BadRequest("the gzip body is truncated")
    return body


def raw_body() -> bytes:
    """The request body as sent, gunzipped when ``Content-Encoding: gzip``.

    Raises:
        RequestEntityTooLarge: (413) beyond ``MAX_CONTENT_LENGTH``, before or after gzip.
        UnsupportedMediaType: (415) a ``Content-Encoding`` other than gzip.
        BadRequest: (400) an empty body or broken gzip.
    """
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    data = request.get_data(cache=False)
    if encoding == "gzip":
        data = _gunzip(data, _limit())
    elif encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported: send the body plain or as gzip"
        )
    if not data.strip():
        raise BadRequest("the body is empty: send a JSON document")
    return data


def decode_json(data: bytes) -> Any:
    """``data`` decoded as JSON, else 400 saying why."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("the body is not JSON this tracker reads: nested too deeply") from exc


# A JSON string (escapes included) or one of the characters that shape an array.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")
_QUOTE, _COMMA = ord('"'), ord(",")


def json_items(data: bytes) -> list[bytes]:
    """The items of a JSON array body as their own texts, or the whole body when no array.

    Used when the body as a whole did not validate, so that each item is judged on its own
    (one item nested too deeply, holding an unpaired surrogate or not JSON at all never
    hides the others). Only the array's own commas and brackets are looked at: the items
    themselves are left to the JSON parser.

    Raises:
        BadRequest: (400) a body that is no JSON array and no JSON document, an array that
            never closes, or text after it.
    """
    body = data.strip()
    if body[:1] != b"[":
        try:
            pydantic_core.from_json(body)
        except ValueError as exc:
            raise BadRequest(f"the body is not JSON: {exc}") from exc
        return [body]
    depth = 0
    items: list[bytes] = []
    start = 1
    for token in _TOKENS.finditer(body):
        char = body[token.start()]
        if char == _QUOTE:
            continue
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
            if depth == 0:
                end = token.start()
                if body[token.end() :].strip():
                    raise BadRequest("the body is not JSON: text after the closing ]")
                items.append(body[start:end])
                if len(items) == 1 and not items[0].strip():
                    return []
                return items
        elif char == _COMMA and depth == 1:
            items.append(body[start : token.start()])
            start = token.end()
    raise BadRequest("the body is not JSON: the array never closes")


def json_body() -> Any:
    """The request body decoded as JSON (see :func:`raw_body` for the errors)."""
    return decode_json(raw_body())


def query_args(model: type[M]) -> M:
    """The query string validated into ``model`` (field aliases are the parameter names).

    Raises:
        BadRequest: (400) a missing or malformed parameter, named.
    """
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise BadRequest(f"bad query parameters: {validation_reason(exc)}") from exc
