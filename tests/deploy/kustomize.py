"""Renders this repository's kustomizations for the tests, offline: resources, strategic-merge patches
(maps merged, lists of named items merged by name, ``null`` and ``$patch: delete`` delete, a whole
resource too), ``labels``, ``namespace`` and ``images``. It implements the part of kustomize these
manifests use; operators run ``kubectl apply -k``."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def render(folder: Path) -> list[dict]:
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    documents: list[dict] = []
    for resource in spec.get("resources", []):
        path = (folder / resource).resolve()
        documents += render(path) if path.is_dir() else [d for d in yaml.safe_load_all(path.read_text()) if d]
    for patch_ref in spec.get("patches", []):
        for patch in yaml.safe_load_all((folder / patch_ref["path"]).read_text()):
            target = find(documents, patch["kind"], patch["metadata"]["name"])
            if patch.get("$patch") == "delete":
                documents.remove(target)
                continue
            merge(target, {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")})
    for pair in spec.get("labels", []):
        for document in documents:
            document.setdefault("metadata", {}).setdefault("labels", {}).update(pair["pairs"])
    if "namespace" in spec:
        for document in documents:
            if document["kind"] not in CLUSTER_SCOPED:
                document["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for container in containers(documents):
            if container["image"] == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return documents


def find(documents: list[dict], kind: str, name: str) -> dict:
    for document in documents:
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise KeyError(f"{kind}/{name} is not in the rendered resources")


def merge(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        elif _named_list(value) and _named_list(target.get(key)):
            for item in value:
                existing = next((t for t in target[key] if t["name"] == item["name"]), None)
                if item.get("$patch") == "delete":
                    target[key] = [t for t in target[key] if t["name"] != item["name"]]
                elif existing is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    merge(existing, item)
        else:
            target[key] = copy.deepcopy(value)


def _named_list(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "name" in v for v in value)


def pod_specs(documents: list[dict]) -> list[dict]:
    specs = []
    for document in documents:
        template = document.get("spec", {}).get("template")
        if document["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet") and template:
            specs.append(template["spec"])
    return specs


def containers(documents: list[dict]) -> list[dict]:
    return [c for spec in pod_specs(documents) for c in spec.get("containers", []) + spec.get("initContainers", [])]
