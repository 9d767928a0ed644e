"""A node drain (`kubectl drain`, a node pool upgrade) evicts one pod of each Deployment at a time: every
PodDisruptionBudget must allow at least one eviction at the fewest replicas its Deployment may run (its
replicas, or its autoscaler's minimum), or the drain waits for ever."""

from .k8s.render import workloads
from .netpol import selects


def fewest_replicas(rendered, deployment: dict) -> int:
    name = deployment["metadata"]["name"]
    counts = [deployment["spec"].get("replicas", 1)]
    for document in rendered:
        target = document.get("spec", {}).get("scaleTargetRef", {}).get("name")
        if document["kind"] == "HorizontalPodAutoscaler" and target == name:
            counts.append(document["spec"].get("minReplicas", 1))
        elif document["kind"] == "ScaledObject" and target == name:
            counts.append(document["spec"].get("minReplicaCount", 0))
    return min(counts)


def test_every_pod_disruption_budget_lets_a_drain_evict_a_pod(rendered):
    budgets = [d for d in rendered if d["kind"] == "PodDisruptionBudget"]
    assert budgets
    for budget in budgets:
        spec = budget["spec"]
        (deployment,) = [
            w for w in workloads(rendered) if selects(spec["selector"], w["spec"]["template"]["metadata"]["labels"])
        ]
        replicas = fewest_replicas(rendered, deployment)
        allowed = spec["maxUnavailable"] if "maxUnavailable" in spec else replicas - spec["minAvailable"]
        assert isinstance(allowed, int) and allowed >= 1, (
            f"{budget['metadata']['name']}: no eviction allowed at {replicas} replica(s)"
        )
