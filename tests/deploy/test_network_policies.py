"""Every connection the cluster makes is allowed by the NetworkPolicies, and nothing else reaches the data
stores or the services: evaluated as a policy-enforcing CNI would (tests/deploy/netpol.py), with Redis and
PostgreSQL where the example Secret puts them (this namespace) and outside the cluster (managed)."""

from urllib.parse import urlsplit

import pytest
import yaml

from posegen.settings import ExtractorSettings, GatewaySettings, RelaySettings, WorkerSettings

from .conftest import REPO
from .k8s.render import find
from .netpol import Endpoint, connection_allowed

SECRET = yaml.safe_load((REPO / "k8s/overlays/dev/secret.example.yaml").read_text())["stringData"]
REDIS_URL, DATABASE_URL = urlsplit(SECRET["REDIS_URL"]), urlsplit(SECRET["DATABASE_URL"])
REDIS_PORT, POSTGRES_PORT = REDIS_URL.port or 6379, DATABASE_URL.port or 5432
GATEWAY_PORT = GatewaySettings.model_fields["gateway_port"].default
GATEWAY_METRICS_PORT = GatewaySettings.model_fields["gateway_metrics_port"].default
RELAY_PORT = RelaySettings.model_fields["relay_port"].default
METRICS_PORT = WorkerSettings.model_fields["worker_metrics_port"].default
EXTRACTOR_METRICS_PORT = ExtractorSettings.model_fields["extractor_metrics_port"].default

KEDA = Endpoint("keda-operator", "keda", {"app": "keda-operator", "app.kubernetes.io/name": "keda-operator"})
INGRESS = Endpoint("ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
DNS = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
INTERNET = Endpoint("huggingface.co / an avatar host", external=True)
STRANGER = Endpoint("a pod of another namespace", "default", {"app": "stranger"})


def data_stores(namespace: str) -> list[tuple[Endpoint, Endpoint]]:
    """(Redis, PostgreSQL) pods as charts label them, as an operator might, and managed outside the cluster."""
    return [
        (
            Endpoint("redis", namespace, {"app.kubernetes.io/name": "redis"}),
            Endpoint("postgresql", namespace, {"app.kubernetes.io/name": "postgresql"}),
        ),
        (Endpoint("redis", namespace, {"app": "cache"}), Endpoint("postgresql", namespace, {"role": "db"})),
        (Endpoint("managed redis", external=True), Endpoint("managed postgresql", external=True)),
    ]


def pod(rendered, name: str) -> Endpoint:
    template = find(rendered, "Deployment", name)["spec"]["template"]
    return Endpoint(name, "posegen", template["metadata"]["labels"])


def flows(rendered, redis: Endpoint, postgres: Endpoint) -> tuple[list, list]:
    gateway, relay = pod(rendered, "posegen-gateway"), pod(rendered, "posegen-relay")
    worker = pod(rendered, "posegen-worker")
    extractor = pod(rendered, "posegen-extractor")
    needed = [
        (extractor, redis, REDIS_PORT),
        (extractor, postgres, POSTGRES_PORT),
        (extractor, DNS, 53),
        (PROMETHEUS, extractor, EXTRACTOR_METRICS_PORT),
        (gateway, redis, REDIS_PORT),
        (gateway, postgres, POSTGRES_PORT),
        (gateway, INTERNET, 443),
        (relay, redis, REDIS_PORT),
        (worker, redis, REDIS_PORT),
        (worker, postgres, POSTGRES_PORT),
        (worker, DNS, 53),
        (worker, INTERNET, 443),
        (KEDA, redis, REDIS_PORT),
        (INGRESS, gateway, GATEWAY_PORT),
        (INGRESS, relay, RELAY_PORT),
        (PROMETHEUS, gateway, GATEWAY_METRICS_PORT),
        (PROMETHEUS, relay, RELAY_PORT),
        (PROMETHEUS, worker, METRICS_PORT),
    ]
    refused = [
        (relay, postgres, POSTGRES_PORT),
        (KEDA, postgres, POSTGRES_PORT),
        (KEDA, gateway, GATEWAY_PORT),
        (INGRESS, redis, REDIS_PORT),
        (INGRESS, postgres, POSTGRES_PORT),
        (INGRESS, worker, METRICS_PORT),
        (INGRESS, gateway, GATEWAY_METRICS_PORT),
        (STRANGER, gateway, GATEWAY_METRICS_PORT),
        (PROMETHEUS, gateway, GATEWAY_PORT),
        (STRANGER, redis, REDIS_PORT),
        (STRANGER, postgres, POSTGRES_PORT),
        (STRANGER, gateway, GATEWAY_PORT),
        (worker, gateway, GATEWAY_PORT),
        (gateway, worker, METRICS_PORT),
        (worker, relay, RELAY_PORT),
        (extractor, gateway, GATEWAY_PORT),
        (INGRESS, extractor, EXTRACTOR_METRICS_PORT),
        (gateway, extractor, EXTRACTOR_METRICS_PORT),
        (STRANGER, extractor, EXTRACTOR_METRICS_PORT),
    ]
    return needed, refused


def test_the_example_places_the_data_stores_in_the_namespace():
    assert REDIS_URL.hostname.split(".")[1] == DATABASE_URL.hostname.split(".")[1] == "posegen"


@pytest.mark.parametrize("stores", range(3), ids=["chart-labels", "other-labels", "managed"])
def test_every_connection_the_cluster_makes_is_allowed_and_no_other(rendered, stores):
    redis, postgres = data_stores("posegen")[stores]
    needed, refused = flows(rendered, redis, postgres)
    for source, destination, port in needed:
        assert connection_allowed(rendered, source, destination, port), f"{source.name} -> {destination.name}:{port}"
    for source, destination, port in refused:
        if destination.external:
            continue  # outside the cluster, only the source's egress applies; covered above
        assert not connection_allowed(rendered, source, destination, port), (
            f"{source.name} -> {destination.name}:{port} should be refused"
        )


def test_data_stores_of_another_namespace_are_not_opened_by_these_policies(rendered):
    """The policies govern this namespace only: data stores elsewhere need their own (documented)."""
    redis, _ = data_stores("data")[0]
    assert connection_allowed(rendered, KEDA, redis, REDIS_PORT)  # no policy of ours isolates it
    assert connection_allowed(rendered, pod(rendered, "posegen-worker"), redis, REDIS_PORT)
