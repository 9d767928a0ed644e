"""Where the scheduler may place a worker pod, evaluated over the rendered pod (tests/deploy/k8s/scheduling.py)
against nodes labelled as NVIDIA's GPU feature discovery labels them (``nvidia.com/gpu.memory`` in MiB) and
tainted as GPU node pools usually are: every H100 and H200 variant takes a GPU worker; a small GPU or a node
without one does not. The dev overlay's CPU worker goes anywhere."""

import pytest

from .k8s.render import find
from .k8s.scheduling import Node, fits

GPU_TAINT = ({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},)


def gpu_node(product: str, memory_mib: int) -> Node:
    labels = {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": product,
        "nvidia.com/gpu.memory": str(memory_mib),
        "nvidia.com/gpu.count": "8",
    }
    return Node(product, labels, GPU_TAINT, {"nvidia.com/gpu": 8})


LARGE_GPUS = [
    gpu_node("NVIDIA-H100-80GB-HBM3", 81559),
    gpu_node("NVIDIA-H100-PCIe", 81559),
    gpu_node("NVIDIA-H100-NVL", 95830),
    gpu_node("NVIDIA-H200", 143771),
]
SMALL_GPU = gpu_node("NVIDIA-L4", 23034)
CPU_NODE = Node("cpu", {"kubernetes.io/os": "linux"}, (), {})


def worker(rendered) -> dict:
    return find(rendered, "Deployment", "posegen-worker")["spec"]["template"]["spec"]


def test_gpu_workers_fit_every_h100_and_h200_and_nothing_smaller(rendered):
    pod = worker(rendered)
    if "nvidia.com/gpu" not in pod["containers"][0]["resources"].get("limits", {}):
        assert fits(pod, CPU_NODE), "the dev overlay's CPU worker"
        return
    pending = [node.name for node in LARGE_GPUS if not fits(pod, node)]
    assert not pending, f"a GPU worker stays Pending on {pending}"
    assert not fits(pod, SMALL_GPU) and not fits(pod, CPU_NODE)


@pytest.mark.parametrize("node", [SMALL_GPU, CPU_NODE], ids=lambda n: n.name)
def test_the_evaluator_refuses_a_node_without_the_gpu_resource(node):
    pod = {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}], "tolerations": [{"operator": "Exists"}]}
    assert fits(pod, node) == (node is SMALL_GPU)
