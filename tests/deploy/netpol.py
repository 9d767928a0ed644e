"""Decides, as a NetworkPolicy-enforcing CNI would, whether one pod may open a TCP connection to another
(or to an address outside the cluster): for the tests, over the rendered manifests. It covers what these
manifests use: pod and namespace selectors (matchLabels, matchExpressions), numeric ports, ipBlock."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels) or, with ``external``, an address outside the cluster."""

    name: str
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    external: bool = False

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True


def _types(spec: dict) -> list[str]:
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def _peer_matches(peer: dict, endpoint: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return endpoint.external  # the tests' outside addresses are in any block they are checked against
    if endpoint.external:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], endpoint.namespace_labels):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], endpoint.labels)


def _port_matches(rule: dict, port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports)


def _allowed(policies: list[dict], direction: str, subject: Endpoint, peer: Endpoint, port: int) -> bool:
    """Whether ``subject``'s policies of ``direction`` admit traffic with ``peer`` on ``port``."""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    governing = [
        p
        for p in policies
        if p["metadata"]["namespace"] == subject.namespace
        and direction in _types(p["spec"])
        and selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not governing:
        return True  # no policy isolates this pod in this direction
    for policy in governing:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(x, peer, policy["metadata"]["namespace"]) for x in peers)
            if peer_ok and _port_matches(rule, port):
                return True
    return False


def connection_allowed(documents: list[dict], source: Endpoint, destination: Endpoint, port: int) -> bool:
    policies = [d for d in documents if d["kind"] == "NetworkPolicy"]
    egress = source.external or _allowed(policies, "Egress", source, destination, port)
    ingress = destination.external or _allowed(policies, "Ingress", destination, source, port)
    return egress and ingress
