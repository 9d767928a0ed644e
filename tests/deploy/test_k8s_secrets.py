"""No overlay applies a Secret: whatever values the repository holds are public, and an applied Secret would
also override what the operator created (an object-storage key would shadow the pod's IAM role). Secrets are
created out of band (docs/deployment.md); the examples are documentation, never a resource."""

import yaml

from .conftest import REPO
from .k8s.render import containers

SECRET_SETTINGS = {
    "JWT_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}
OBJECT_STORAGE_SECRET = "posegen-object-storage"


def test_no_overlay_applies_a_secret_or_puts_one_in_a_config_map(rendered):
    assert not [d["metadata"]["name"] for d in rendered if d["kind"] == "Secret"]
    for config in (d for d in rendered if d["kind"] == "ConfigMap"):
        assert not set(config.get("data", {})) & SECRET_SETTINGS, config["metadata"]["name"]


def test_object_storage_credentials_are_optional_so_a_pod_role_works_without_them(rendered):
    for container in containers(rendered):
        for source in container.get("envFrom", []):
            if source.get("secretRef", {}).get("name") == OBJECT_STORAGE_SECRET:
                assert source["secretRef"].get("optional") is True, container["name"]
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {}).get("secretKeyRef", {})
            if reference.get("name") == OBJECT_STORAGE_SECRET:
                assert reference.get("optional") is True, container["name"]


def test_the_example_secrets_are_documentation_only():
    examples = sorted((REPO / "k8s").rglob("secret.example.yaml"))
    assert examples
    for kustomization in (REPO / "k8s").rglob("kustomization.yaml"):
        listed = yaml.safe_load(kustomization.read_text()).get("resources", [])
        assert "secret.example.yaml" not in listed, kustomization
