"""Validates a rendered object as the API server would with strict field validation (``kubectl apply``'s
default): built-in kinds against the Kubernetes OpenAPI schemas that kubernetes-validate carries, custom
resources against the ``openAPIV3Schema`` of their CRD, vendored under tests/deploy/crds/ (README.md there
names each file's upstream release)."""

from __future__ import annotations

import functools
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.32.0"
CRD_FOLDER = Path(__file__).resolve().parents[1] / "crds"


def validate(document: dict) -> None:
    """Raises (jsonschema's or kubernetes-validate's ``ValidationError``) with every problem found."""
    schema = crd_schemas().get((document["apiVersion"], document["kind"]))
    if schema is None:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        return
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        problems = "\n".join(f"  {'.'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors)
        raise jsonschema.ValidationError(f"{document['kind']}/{document['metadata']['name']}:\n{problems}")


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) to the strict schema of every version each vendored CRD serves."""
    schemas = {}
    for path in sorted(CRD_FOLDER.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd:
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


def _strict(schema: dict) -> dict:
    """The schema with unknown fields refused wherever the API server would prune them: objects that list
    their ``properties`` and neither allow ``additionalProperties`` nor preserve unknown fields."""
    schema = dict(schema)
    for key in ("properties", "patternProperties"):
        if key in schema:
            schema[key] = {name: _strict(sub) for name, sub in schema[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [_strict(sub) for sub in schema[key]]
    open_ended = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in schema and not open_ended:
        schema["additionalProperties"] = False
    return schema
