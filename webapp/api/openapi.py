"""``GET /api/v1/openapi.json``: the API described, generated from the models.

Each view declares its operation with one decorator line; the document lists every route the
app serves (undeclared routes with a bare description), so it cannot drift from the code::

    @bp.get("/trace")
    @operation("A value's path back to its origin", query=TraceQuery, response=Trace)
    def trace() -> ...:
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from . import bp
from .models import ErrorAnswer, MarquezError

F = TypeVar("F", bound=Callable[..., Any])
_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@dataclass(frozen=True)
class Operation:
    """What a view takes and answers, for the OpenAPI document."""

    summary: str
    query: type[BaseModel] | None = None
    body: Any = None
    response: Any = None
    status: int = 200
    media_type: str = "application/json"
    errors: Mapping[int, str | tuple[str, Any]] = field(default_factory=dict)
    description: str | None = None


def operation(
    summary: str,
    *,
    query: type[BaseModel] | None = None,
    body: Any = None,
    response: Any = None,
    status: int = 200,
    media_type: str = "application/json",
    errors: Mapping[int, str | tuple[str, Any]] | None = None,
    description: str | None = None,
) -> Callable[[F], F]:
    """Declare a view's operation: its query model, body type, answer type and errors.

    Args:
        summary: one line for people.
        query: a pydantic model of the query parameters (aliases are the parameter names).
        body: the type of the JSON body (anything :class:`pydantic.TypeAdapter` takes).
        response: the type of the answer (``str`` for text such as SVG or DOT).
        status: the success status code.
        media_type: the answer's media type.
        errors: other status codes the view answers, with why; ``(why, type)`` when the body
            is not ``{"error": "..."}`` but that type (a 422 naming each bad event).
        description: more words when the summary is not enough.
    """

    def mark(view: F) -> F:
        view.openapi = Operation(  # type: ignore[attr-defined]
            summary, query, body, response, status, media_type, dict(errors or {}), description
        )
        return view

    return mark


_HOST = "The Host header names no host the tracker answers to (LINEAGE_ALLOWED_HOSTS)."
_WRITES = frozenset({"post", "put", "patch", "delete"})


def _path(rule: str) -> str:
    return _PARAM.sub(r"{\1}", rule)


class _Schemas:
    """Collects every type to describe, then makes all their JSON Schemas in one pass so
    shared models land once in ``components`` (with Input/Output variants where they differ)."""

    def __init__(self) -> None:
        self.inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
        self.done: dict[tuple[int, JsonSchemaMode], dict[str, Any]] = {}
        self.defs: dict[str, Any] = {}

    def want(self, tp: Any, mode: JsonSchemaMode) -> tuple[int, JsonSchemaMode]:
        key = (len(self.inputs), mode)
        self.inputs.append((key[0], mode, TypeAdapter(tp)))
        return key

    def build(self) -> None:
        if not self.inputs:
            return
        done, top = TypeAdapter.json_schemas(self.inputs, ref_template=_REF)
        self.done = dict(done)
        self.defs = dict(top.get("$defs", {}))

    def get(self, key: tuple[int, JsonSchemaMode]) -> dict[str, Any]:
        return self.done[key]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            resolved: Mapping[str, Any] = self.defs[ref.rsplit("/", 1)[1]]
            return resolved
        return schema


def _content(media_type: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {media_type: {"schema": dict(schema)}}


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route ``app`` serves."""
    schemas = _Schemas()
    error_key = schemas.want(ErrorAnswer, "serialization")
    marquez_key = schemas.want(MarquezError, "serialization")
    planned: list[tuple[str, str, str, Any, Operation | None, dict[str, Any]]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(view, "openapi", None)
        keys: dict[str, Any] = {}
        if op is not None:
            if op.query is not None:
                keys["query"] = schemas.want(op.query, "validation")
            if op.body is not None:
                keys["body"] = schemas.want(op.body, "validation")
            if op.response is not None:
                keys["response"] = schemas.want(op.response, "serialization")
            for code, why in op.errors.items():
                if isinstance(why, tuple):
                    keys[f"error {code}"] = schemas.want(why[1], "serialization")
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            planned.append((_path(rule.rule), method.lower(), rule.endpoint, view, op, keys))
    schemas.build()

    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint, view, op, keys in planned:
        paths.setdefault(path, {})[method] = _operation(
            path,
            method,
            endpoint=endpoint,
            view=view,
            op=op,
            keys=keys,
            schemas=schemas,
            error_schema=schemas.get(
                marquez_key if getattr(view, "marquez_errors", False) else error_key
            ),
            several=len([p for p in planned if p[2] == endpoint]) > 1,
        )
    try:
        release = version("lineage")
    except PackageNotFoundError:
        release = "0"
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "lineage",
            "version": release,
            "description": "Value-level data lineage and golden-record tracker: record events, "
            'OpenLineage in, lineage graphs out. Errors are {"error": "..."}; on the paths '
            'of Marquez\'s read API, {"code": N, "message": "..."} as Marquez answers.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas.defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    return spec


def _operation(
    path: str,
    method: str,
    *,
    endpoint: str,
    view: Any,
    op: Operation | None,
    keys: Mapping[str, Any],
    schemas: _Schemas,
    error_schema: Mapping[str, Any],
    several: bool,
) -> dict[str, Any]:
    operation_id = endpoint.replace(".", "_") + (f"_{method}" if several else "")
    api = path.startswith("/api/")
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(path.replace("{", "<").replace("}", ">"))
    ]
    if op is None:
        media = "application/json" if api else "text/html"
        plain: dict[str, Any] = {
            "200": {"description": "OK", "content": {media: {}}},
            "400": {"description": _HOST, "content": _failure(api, error_schema)},
        }
        if parameters:
            plain["404"] = {
                "description": "Nothing is known by that name.",
                "content": _failure(api, error_schema),
            }
        plain["503"] = _unavailable(api, error_schema)
        bare: dict[str, Any] = {
            "operationId": operation_id,
            "summary": (view.__doc__ or endpoint).strip().splitlines()[0],
            "responses": plain,
        }
        if parameters:
            bare["parameters"] = parameters
        return bare
    answer: dict[str, Any] = {"operationId": operation_id, "summary": op.summary}
    if op.description:
        answer["description"] = op.description
    if "query" in keys:
        model = schemas.resolve(schemas.get(keys["query"]))
        required = set(model.get("required", ()))
        for name, prop in model.get("properties", {}).items():
            schema = {k: v for k, v in prop.items() if k not in ("description", "title")}
            parameter = {
                "name": name,
                "in": "query",
                # a page without parameters is its empty form
                "required": api and name in required,
                "schema": schema,
            }
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
    if parameters:
        answer["parameters"] = parameters
    if "body" in keys:
        answer["requestBody"] = {
            "required": True,
            "content": _content("application/json", schemas.get(keys["body"])),
        }
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if "response" in keys:
        success["content"] = _content(op.media_type, schemas.get(keys["response"]))
    responses: dict[str, Any] = {str(op.status): success}
    errors: dict[int, str | tuple[str, Any]] = dict(op.errors)
    if parameters or "body" in keys:
        errors.setdefault(400, f"The body or a parameter is malformed. {_HOST}")
    errors.setdefault(400, _HOST)
    if method in _WRITES:
        errors.setdefault(403, "Without a token: a write from a web page on another origin.")
        errors.setdefault(
            415,
            "A Content-Encoding other than gzip; without a token, a body that is not JSON.",
        )
    if "body" in keys:
        errors.setdefault(413, "The body is larger than the configured limit.")
    if getattr(view, "requires_token", False):
        errors.setdefault(401, "A valid 'Authorization: Bearer <token>' header is needed.")
        answer["security"] = [{"bearer": []}]
    errors.pop(503, None)  # the same for every view: below
    for code, why in sorted(errors.items()):
        if str(code) in responses:
            continue
        if isinstance(why, tuple):
            responses[str(code)] = {
                "description": why[0],
                "content": _content("application/json", schemas.get(keys[f"error {code}"])),
            }
        else:
            responses[str(code)] = {"description": why, "content": _failure(api, error_schema)}
    responses["503"] = _unavailable(api, error_schema)
    answer["responses"] = responses
    return answer


def _failure(api: bool, error_schema: Mapping[str, Any]) -> dict[str, Any]:
    """An error's content: ``{"error": "..."}`` under /api, an HTML page elsewhere."""
    if api:
        return _content("application/json", error_schema)
    return _content("text/html", {"type": "string"})


def _unavailable(api: bool, error_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The 503 of a store that cannot be read (JSON under /api, plain text elsewhere)."""
    content = _content("application/json", error_schema) if api else {"text/plain": {}}
    return {"description": "The store is unavailable; try again later.", "content": content}


@bp.get("/openapi.json")
@operation("This document: the API described (OpenAPI 3.1)", response=dict[str, Any])
def openapi_document() -> Response:
    # Routes are fixed once the app serves, so the document is made once per app.
    cached = current_app.extensions.get("lineage.openapi")
    if cached is None:
        cached = current_app.extensions["lineage.openapi"] = document(current_app)
    return jsonify(cached)
