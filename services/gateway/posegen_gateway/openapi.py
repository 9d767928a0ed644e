"""The OpenAPI document as the server behaves. FastAPI describes each route from its models; this adds what
is enforced for every route at once: no text may hold a NUL character (PostgreSQL cannot store one; the
guard and the request models refuse it), a body that cannot be parsed is a 400, and models that only a
hand-written request body names (the avatar route's) are in the components."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

NO_NUL = "^[^\x00]*$"
_REF_PREFIX = "#/components/schemas/"


def operation_id(route: APIRoute) -> str:
    """Operation ids are the handlers' names in camelCase (``createGeneration``): what generated clients call."""
    return to_camel(route.name)


def links(parameter: str, source: str, *operations: str) -> dict:
    """OpenAPI links from a response to the operations that take one of its fields as a path parameter."""
    return {op: {"operationId": op, "parameters": {parameter: f"$response.body#/{source}"}} for op in operations}


BINARY = {"type": "string", "format": "binary"}


def request_body(content: dict) -> dict:
    """``openapi_extra`` of a route that reads its body itself: a required body in one of these media types."""
    return {"requestBody": {"required": True, "content": content}}


def form(required: str, **properties: dict) -> dict:
    """The schema of a ``multipart/form-data`` body with these fields."""
    return {"type": "object", "required": [required], "properties": properties}


def install_openapi(app: FastAPI, *, extra_models: tuple[type[BaseModel], ...] = ()) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, extra_models)
        return app.openapi_schema

    app.openapi = openapi


def build(app: FastAPI, extra_models: tuple[type[BaseModel], ...]) -> dict:
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in extra_models:
        schema = model.model_json_schema(ref_template=_REF_PREFIX + "{model}", by_alias=True)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    seen: set[str] = set()
    for operation in _operations(document):
        for parameter in operation.get("parameters", []):
            _forbid_nul(parameter.get("schema", {}), components, seen)
        if "requestBody" in operation:
            operation["responses"].setdefault(
                "400",
                {
                    "description": "the body could not be parsed (not JSON, or a broken multipart form)",
                    "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + "ErrorEnvelope"}}},
                },
            )
            for media in operation["requestBody"].get("content", {}).values():
                _forbid_nul(media.get("schema", {}), components, seen)
    return document


def _operations(document: dict) -> Iterator[dict]:
    for path_item in document.get("paths", {}).values():
        yield from (op for method, op in path_item.items() if method in {"get", "put", "post", "delete", "patch"})


def _forbid_nul(schema: dict, components: dict, seen: set[str]) -> None:
    """Give every free-text string in ``schema``, and in the models it refers to (each once), the no-NUL pattern."""
    if "$ref" in schema and (name := schema["$ref"].removeprefix(_REF_PREFIX)) not in seen:
        seen.add(name)
        _forbid_nul(components.get(name, {}), components, seen)
    if schema.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & schema.keys()):
        schema["pattern"] = NO_NUL
    for key in ("anyOf", "allOf", "oneOf"):
        for option in schema.get(key, []):
            _forbid_nul(option, components, seen)
    for child in schema.get("properties", {}).values():
        _forbid_nul(child, components, seen)
    if isinstance(schema.get("items"), dict):
        _forbid_nul(schema["items"], components, seen)
