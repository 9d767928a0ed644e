"""What a pod needs before its main container starts, in both overlays: volumes it can write, whole models,
and a compile cache that outlives it."""

import shlex
from pathlib import PurePosixPath

from posegen.inference.download import load_manifest
from posegen_cli.main import build_parser

from .k8s.render import CLUSTER_SCOPED, find

SERVICE_UID = 10001


def workloads(rendered):
    return [d for d in rendered if d["kind"] in ("Deployment", "Job")]


def claimed_mounts(spec: dict) -> set[str]:
    """Mount paths of persistent (or per-pod ephemeral) volumes in the pod's main containers."""
    claims = {v["name"] for v in spec.get("volumes", []) if "persistentVolumeClaim" in v or "ephemeral" in v}
    return {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] in claims}


def posegen_commands(container: dict) -> list[list[str]]:
    """The ``posegen`` command lines a container runs (directly or in ``sh -c a && b``)."""
    command = container.get("command", []) + container.get("args", [])
    if command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&") if part.split()[0] == "posegen"]
    return [command] if command and command[0] == "posegen" else []


def test_every_namespaced_resource_lands_in_the_namespace(rendered):
    """kustomize's namespace in the base does not reach an overlay's own resources (a PVC, a policy)."""
    for document in rendered:
        if document["kind"] not in CLUSTER_SCOPED:
            assert document["metadata"].get("namespace") == "posegen", f"{document['kind']}/{document['metadata']}"


def test_pods_prepare_every_shared_volume_before_running_as_uid_10001(rendered):
    """Many CSI drivers skip fsGroup on ReadWriteMany volumes: a root init step with CAP_CHOWN gives each
    volume's folder to uid 10001 first, for every persistent volume the pod's containers write."""
    for document in workloads(rendered):
        spec = document["spec"]["template"]["spec"]
        mounts = claimed_mounts(spec)
        if not mounts:
            continue
        assert spec["securityContext"]["runAsUser"] == SERVICE_UID
        first = spec["initContainers"][0]
        (command,) = posegen_commands(first)
        args = build_parser().parse_args(command[1:])
        assert (args.command, args.volumes_command, args.owner) == ("volumes", "prepare", (SERVICE_UID, SERVICE_UID))
        assert set(args.paths) == mounts, f"{document['metadata']['name']}: prepares {args.paths}, mounts {mounts}"
        assert {m["mountPath"] for m in first["volumeMounts"]} == mounts
        context = first["securityContext"]
        assert context["runAsUser"] == 0 and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "FOWNER"]}


def test_gpu_workers_start_only_on_whole_models(rendered):
    worker = find(rendered, "Deployment", "posegen-worker")["spec"]["template"]["spec"]
    config = find(rendered, "ConfigMap", "posegen-config")["data"]
    env = {e["name"]: e.get("value") for e in worker["containers"][0]["env"]}
    model_base = env.get("MODEL_BASE", config["MODEL_BASE"])
    if not model_base:
        return  # the tiny model, built on start
    specs = {spec.role: spec for spec in load_manifest()}
    model_dir = PurePosixPath(config["MODEL_DIR"])
    assert PurePosixPath(model_base) == model_dir / specs["base"].folder
    assert (
        PurePosixPath(env.get("MODEL_CONTROLNET", config["MODEL_CONTROLNET"])) == model_dir / specs["controlnet"].folder
    )
    assert PurePosixPath(env.get("IP_ADAPTER", config["IP_ADAPTER"])) == model_dir / specs["ip_adapter"].folder
    init = {c["name"]: c for c in worker["initContainers"]}["models"]
    commands = [build_parser().parse_args(c[1:]) for c in posegen_commands(init)]
    assert [(c.command, c.models_command) for c in commands] == [("models", "download"), ("models", "verify")]
    assert "&&" in init["command"][2], "verify runs only after the download succeeded"
    assert "model_index.json" not in " ".join(init["command"]), "a present model_index.json proves nothing"
    assert {m["mountPath"] for m in init["volumeMounts"]} == {str(model_dir)}


def test_compiled_workers_keep_their_kernels_on_a_shared_volume(rendered):
    deployment = find(rendered, "Deployment", "posegen-worker")
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    if env.get("WORKER_TORCH_COMPILE") != "true":
        return
    volumes = {v["name"]: v for v in spec["volumes"]}
    for variable in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        mount = next(
            m
            for m in container["volumeMounts"]
            if PurePosixPath(m["mountPath"]) in PurePosixPath(env[variable]).parents
        )
        volume = volumes[mount["name"]]
        if "ephemeral" in volume:
            # The object-storage overlay has no ReadWriteMany volume: the kernels outlive a container restart
            # on the pod's own volume, and a new pod compiles once during its warm-up (docs/deployment.md).
            assert volume["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"] == ["ReadWriteOnce"]
            continue
        claim = volume["persistentVolumeClaim"]["claimName"]
        pvc = find(rendered, "PersistentVolumeClaim", claim)
        assert deployment["spec"]["replicas"] == 1 or pvc["spec"]["accessModes"] == ["ReadWriteMany"]
