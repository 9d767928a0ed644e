"""The object-storage overlay: images in a bucket, no ReadWriteMany volume anywhere, credentials from a
Secret (optional, for pod roles), and NetworkPolicies that let exactly the storage's clients reach its
endpoint, evaluated as a policy-enforcing CNI would (tests/deploy/netpol.py)."""

from urllib.parse import urlsplit

import pytest
import yaml

from posegen.settings import CommonSettings

from .conftest import REPO
from .k8s.render import find, pod_specs, render
from .netpol import Endpoint, connection_allowed

OVERLAY = REPO / "k8s/overlays/object-storage"
STORAGE_CLIENTS = ("posegen-gateway", "posegen-worker", "posegen-extractor")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return render(OVERLAY)


def config(rendered) -> dict[str, str]:
    return find(rendered, "ConfigMap", "posegen-config")["data"]


def endpoint_port(data: dict[str, str]) -> int:
    url = urlsplit(data.get("S3_ENDPOINT_URL") or "https://s3.amazonaws.com")
    return url.port or (443 if url.scheme == "https" else 80)


def pod(rendered, name: str) -> Endpoint:
    return Endpoint(name, "posegen", find(rendered, "Deployment", name)["spec"]["template"]["metadata"]["labels"])


def test_the_services_are_configured_for_a_bucket(rendered):
    data = config(rendered)
    assert "STORAGE_DIR" not in data
    settings = CommonSettings(
        _env_file=None, **{k.lower(): v for k, v in data.items() if k.lower() in CommonSettings.model_fields}
    )
    assert settings.storage_backend == "s3" and settings.s3_bucket


def test_no_volume_is_shared_between_pods(rendered):
    assert not [d for d in rendered if d["kind"] == "PersistentVolumeClaim"]
    for spec in pod_specs(rendered):
        for volume in spec.get("volumes", []):
            assert "persistentVolumeClaim" not in volume, volume
            if "ephemeral" in volume:
                assert volume["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"] == ["ReadWriteOnce"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert all(m["mountPath"] != "/data/storage" for m in container.get("volumeMounts", []))


def test_storage_clients_read_credentials_from_an_optional_secret(rendered):
    secret = yaml.safe_load((OVERLAY / "secret.example.yaml").read_text())
    assert set(secret["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    for name in STORAGE_CLIENTS:
        container = find(rendered, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        refs = [e["secretRef"] for e in container["envFrom"] if "secretRef" in e]
        assert {"name": secret["metadata"]["name"], "optional": True} in refs, name
        assert {"name": "posegen-secrets"} in refs, name


def test_the_storage_endpoint_is_reachable_by_its_clients_only(rendered):
    port = endpoint_port(config(rendered))
    store = Endpoint("the object store", external=True)
    for name in STORAGE_CLIENTS:
        assert connection_allowed(rendered, pod(rendered, name), store, port), name
    extractor = pod(rendered, "posegen-extractor")
    assert not connection_allowed(rendered, extractor, Endpoint("elsewhere", external=True), 80)
    # Without this overlay's policy the extractors could not reach it: the policy is what opens it.
    gpu = render(REPO / "k8s/overlays/gpu")
    assert not connection_allowed(gpu, pod(gpu, "posegen-extractor"), store, port)


def test_an_in_cluster_store_on_another_port_needs_the_documented_patch(rendered):
    """SeaweedFS or MinIO in the namespace (8333, 9000) is not opened by the overlay as shipped."""
    seaweedfs = Endpoint("seaweedfs", "posegen", {"app.kubernetes.io/name": "seaweedfs"})
    assert not connection_allowed(rendered, pod(rendered, "posegen-worker"), seaweedfs, 8333)
