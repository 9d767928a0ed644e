"""Renders a kustomization with the real ``kubectl kustomize`` (the kustomize that ``kubectl apply -k`` runs),
and finds objects in what it prints."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

KUSTOMIZE_MAJOR = 5
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
WORKLOAD_KINDS = ("Deployment", "Job", "StatefulSet", "DaemonSet")


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not installed: the Kubernetes tests render k8s/ with `kubectl kustomize`")
    version = subprocess.run([found, "version", "--client"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Kustomize Version: v(\d+)", version)
    if match is None or int(match.group(1)) < KUSTOMIZE_MAJOR:
        pytest.fail(f"kubectl must bundle kustomize {KUSTOMIZE_MAJOR} or newer:\n{version}")
    return found


@functools.cache
def _kustomize(folder: str) -> str:
    result = subprocess.run([kubectl(), "kustomize", folder], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize {folder} failed:\n{result.stderr[:1500]}")
    return result.stdout


def render(folder: Path) -> list[dict]:
    """The objects ``kubectl apply -k folder`` would send (a fresh copy each call)."""
    return [d for d in yaml.safe_load_all(_kustomize(str(folder.resolve()))) if d]


def find(documents: list[dict], kind: str, name: str) -> dict:
    for document in documents:
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise KeyError(f"{kind}/{name} is not in the rendered resources")


def workloads(documents: list[dict]) -> list[dict]:
    return [d for d in documents if d["kind"] in WORKLOAD_KINDS]


def pod_specs(documents: list[dict]) -> list[dict]:
    return [d["spec"]["template"]["spec"] for d in workloads(documents)]


def containers(documents: list[dict]) -> list[dict]:
    return [c for spec in pod_specs(documents) for c in spec["containers"] + spec.get("initContainers", [])]
