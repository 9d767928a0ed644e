"""Decides, as kube-scheduler's filters would, whether a rendered pod fits a node: ``nodeSelector``, the
required node affinity, taints against tolerations, and extended resources (``nvidia.com/gpu``) against
the node's allocatable."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    name: str
    labels: dict[str, str]
    taints: tuple[dict, ...] = ()
    allocatable: dict[str, int] = field(default_factory=dict)


def fits(pod: dict, node: Node) -> bool:
    return (
        all(node.labels.get(k) == v for k, v in (pod.get("nodeSelector") or {}).items())
        and _affinity_allows(pod, node.labels)
        and all(_tolerated(taint, pod.get("tolerations") or []) for taint in node.taints)
        and all(node.allocatable.get(name, 0) >= count for name, count in _extended_requests(pod).items())
    )


def _affinity_allows(pod: dict, labels: dict[str, str]) -> bool:
    required = pod.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    return any(
        all(_matches(expression, labels) for expression in term.get("matchExpressions", []))
        for term in required["nodeSelectorTerms"]
    )


def _matches(expression: dict, labels: dict[str, str]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
    value = labels.get(key)
    if operator in ("Gt", "Lt"):
        if value is None or not value.isdigit():
            return False
        return int(value) > int(values[0]) if operator == "Gt" else int(value) < int(values[0])
    return {
        "In": value in values,
        "NotIn": value not in values,
        "Exists": value is not None,
        "DoesNotExist": value is None,
    }[operator]


def _tolerated(taint: dict, tolerations: list[dict]) -> bool:
    if taint["effect"] == "PreferNoSchedule":
        return True
    for toleration in tolerations:
        if toleration.get("effect") not in (None, "", taint["effect"]):
            continue
        if toleration.get("operator") == "Exists" and toleration.get("key") in (None, taint["key"]):
            return True
        if toleration.get("key") == taint["key"] and toleration.get("value") == taint.get("value"):
            return True
    return False


def _extended_requests(pod: dict) -> dict[str, int]:
    requests: dict[str, int] = {}
    for container in pod["containers"]:
        for name, count in container.get("resources", {}).get("limits", {}).items():
            if "/" in name:
                requests[name] = requests.get(name, 0) + int(count)
    return requests
