"""Every container of every overlay mounts exactly the folders its process reads or writes: images under
STORAGE_DIR on the local backend only, the models under MODEL_DIR, torch.compile's kernels where
TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR point, and /tmp where the root file system is read-only and the
process writes temporary files. A mount too few fails at run time; one too many is a volume nobody uses."""

import os

from .k8s.render import find, workloads

TMP = "/tmp"
COMPILE_CACHE = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
USES = {
    # Starlette spools an upload (avatar, photo) over 1 MiB to tempfile.gettempdir().
    "gateway": ("STORAGE_DIR", TMP),
    "relay": (),
    "worker": ("STORAGE_DIR", "MODEL_DIR", COMPILE_CACHE),
    "extractor": ("STORAGE_DIR",),
    "models": ("MODEL_DIR",),
    "migrate": (),
}


def environment(rendered, container: dict) -> dict[str, str]:
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= find(rendered, "ConfigMap", source["configMapRef"]["name"])["data"]
    return env | {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def needed_paths(rendered, container: dict) -> set[str]:
    env = environment(rendered, container)
    paths = set()
    for use in USES[container["name"]]:
        if use == "STORAGE_DIR" and env.get("STORAGE_BACKEND", "local") == "local":
            paths.add(env["STORAGE_DIR"])
        elif use == "MODEL_DIR":
            paths.add(env["MODEL_DIR"])
        elif use == COMPILE_CACHE and COMPILE_CACHE[0] in env:
            paths.add(os.path.commonpath([env[name] for name in COMPILE_CACHE]))
        elif use == TMP and container.get("securityContext", {}).get("readOnlyRootFilesystem"):
            paths.add(TMP)
    return paths


def test_every_container_mounts_exactly_the_folders_its_process_uses(rendered):
    for workload in workloads(rendered):
        spec = workload["spec"]["template"]["spec"]
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for container in spec["containers"] + spec.get("initContainers", []):
            where = f"{workload['metadata']['name']}/{container['name']}"
            mounts = container.get("volumeMounts", [])
            assert {m["name"] for m in mounts} <= volumes, f"{where} mounts a volume the pod does not have"
            # The `volumes` init step prepares exactly the folders it is given (tests/deploy/test_pods.py).
            expected = set(container["args"]) if container["name"] == "volumes" else needed_paths(rendered, container)
            assert {m["mountPath"] for m in mounts} == expected, where
