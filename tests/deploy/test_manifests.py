"""Every compose file and Kubernetes manifest, validated offline against its schema, and cross-checked
against what the code really uses: queue name, ports, probe paths, settings names and metric names."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from posegen import contracts
from posegen.settings import ExtractorSettings, GatewaySettings, RelaySettings, WorkerSettings

from .k8s.render import find, workloads
from .k8s.schemas import validate

REPO = Path(__file__).resolve().parents[2]
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}
NOT_SETTINGS = {"REDIS_ADDRESS"}  # read by KEDA's redis trigger, not by the services
LIBRARY_ENV = {"TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"}  # read by torch.compile (Inductor, Triton)
SETTINGS = {
    name.upper()
    for cls in (GatewaySettings, RelaySettings, WorkerSettings, ExtractorSettings)
    for name in cls.model_fields
}
PORTS = {"posegen-gateway": 3000, "posegen-relay": 3001, "posegen-worker": 9100, "posegen-extractor": 9101}
IMAGES = {name: f"ghcr.io/posegen/{name.removeprefix('posegen-')}" for name in PORTS}


def test_compose_file_matches_the_compose_specification():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(REPO / "compose/docker-compose.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_uses_real_settings_and_routes_the_relay_path():
    compose = yaml.safe_load((REPO / "compose/docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}) if name not in ("postgres", "redis") else {}:
            assert variable in SETTINGS | LIBRARY_ENV, f"{name} sets {variable}, which no service reads"
    nginx = (REPO / "compose/nginx.conf").read_text()
    relay = re.search(r"upstream relay \{(.*?)\}", nginx, re.S).group(1)
    assert "server relay:3001;" in relay and "hash $remote_addr consistent;" in relay, "session affinity"
    assert "server gateway:3000;" in re.search(r"upstream gateway \{(.*?)\}", nginx, re.S).group(1)
    assert f"location {contracts.RELAY_PATH}" in nginx and "proxy_pass http://relay;" in nginx
    assert "proxy_pass http://gateway;" in nginx
    assert "--appendonly" in compose["services"]["redis"]["command"]
    assert compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_every_object_validates_against_the_kubernetes_and_crd_schemas(rendered):
    """Built-in kinds against Kubernetes 1.32's schemas, ScaledObject, TriggerAuthentication, ServiceMonitor
    and PrometheusRule against their CRDs (tests/deploy/crds), unknown fields refused."""
    for document in rendered:
        validate(document)
    kinds = {document["kind"] for document in rendered}
    assert {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "NetworkPolicy",
    } <= kinds
    assert kinds >= CUSTOM_KINDS


def test_keda_scales_workers_on_the_real_queue(rendered):
    scaled = find(rendered, "ScaledObject", "posegen-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert find(rendered, "Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    triggers = {t["type"]: t["metadata"] for t in scaled["spec"]["triggers"]}
    assert triggers["redis"]["listName"] == contracts.QUEUE_LIST_KEY
    assert int(triggers["redis"]["listLength"]) >= 1
    config = find(rendered, "ConfigMap", "posegen-config")["data"]
    assert triggers["redis"]["addressFromEnv"] in config, "the redis address reaches the scale target's env"
    assert "posegen_queue_jobs" in triggers["prometheus"]["query"]
    spec = scaled["spec"]
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] and spec["fallback"]["replicas"] >= 1
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > 0


def test_workers_drain_and_reach_their_gpu(rendered):
    worker = find(rendered, "Deployment", "posegen-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] >= 60
    container = worker["containers"][0]
    assert container["lifecycle"]["preStop"]
    gpu = "nvidia.com/gpu" in container["resources"]["limits"]
    gpu_overlay = find(rendered, "ConfigMap", "posegen-config") and any(
        e["name"] == "TORCH_DEVICE" and e["value"] == "cuda" for e in container["env"]
    )
    assert gpu == gpu_overlay
    if gpu:
        assert worker["tolerations"] and worker["nodeSelector"] and worker["initContainers"]


def test_images_ports_probes_and_settings_names_are_the_codes(rendered):
    for document in workloads(rendered):
        name = document["metadata"]["name"]
        spec = document["spec"]["template"]["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["image"].rsplit(":", 1)[0] == IMAGES[name], f"{name}/{container['name']}"
        for container in spec["containers"]:
            for variable in container.get("env", []):
                assert variable["name"] in SETTINGS | LIBRARY_ENV, f"{name}: {variable['name']} is not a setting"
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert container["ports"][0]["containerPort"] == PORTS[name]
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert container[probe]["httpGet"]["path"] in ("/health", "/ready")
                assert ports[container[probe]["httpGet"]["port"]] == PORTS[name], "the port serving /health"
    config = find(rendered, "ConfigMap", "posegen-config")["data"]
    assert set(config) - NOT_SETTINGS <= SETTINGS
    assert GatewaySettings.model_fields["gateway_port"].default == PORTS["posegen-gateway"]
    assert RelaySettings.model_fields["relay_port"].default == PORTS["posegen-relay"]
    assert WorkerSettings.model_fields["worker_metrics_port"].default == PORTS["posegen-worker"]
    assert ExtractorSettings.model_fields["extractor_metrics_port"].default == PORTS["posegen-extractor"]


def test_ingress_routes_the_relay_path_to_the_relay_with_session_affinity(rendered):
    ingresses = [find(rendered, "Ingress", name) for name in ("posegen", "posegen-relay")]
    hosts = {rule["host"] for ingress in ingresses for rule in ingress["spec"]["rules"]}
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for ingress in ingresses
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert len(hosts) == 1 and paths == {contracts.RELAY_PATH: "posegen-relay", "/": "posegen-gateway"}
    relay_annotations = ingresses[1]["metadata"]["annotations"]
    assert relay_annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$remote_addr"
    assert "nginx.ingress.kubernetes.io/upstream-hash-by" not in ingresses[0]["metadata"]["annotations"]


def test_both_edges_limit_relay_connections_and_requests_per_client_address(rendered):
    """The Ingress (ingress-nginx annotations) and compose's nginx hold the same per-address limits on the
    relay's path, so one address cannot fill a relay with handshakes (issue 24)."""
    annotations = find(rendered, "Ingress", "posegen-relay")["metadata"]["annotations"]
    connections = int(annotations["nginx.ingress.kubernetes.io/limit-connections"])
    rps = int(annotations["nginx.ingress.kubernetes.io/limit-rps"])
    assert 0 < connections <= RelaySettings.model_fields["relay_max_connections_per_user"].default * 10
    assert rps > 0
    edge = (REPO / "compose/nginx.conf").read_text()
    conn_zones = set(re.findall(r"limit_conn_zone \$binary_remote_addr zone=(\w+):\d+m;", edge))
    req_zones = dict(re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):\d+m rate=(\d+)r/s;", edge))
    relay_location = edge[edge.index(f"location {contracts.RELAY_PATH}") :]
    relay_location = relay_location[: relay_location.index("}")]
    conn_zone, conn_limit = re.search(r"limit_conn (\w+) (\d+);", relay_location).groups()
    req_zone = re.search(r"limit_req zone=(\w+)", relay_location).group(1)
    assert conn_zone in conn_zones and int(conn_limit) == connections
    assert int(req_zones[req_zone]) == rps


def test_network_policies_keep_workers_and_edge_apart(rendered):
    policies = {d["metadata"]["name"]: d["spec"] for d in rendered if d["kind"] == "NetworkPolicy"}
    assert policies["default-deny-ingress"]["podSelector"] == {}
    worker_egress_ports = {p["port"] for rule in policies["worker-egress"]["egress"] for p in rule["ports"]}
    assert {6379, 5432} <= worker_egress_ports and 3000 not in worker_egress_ports
    extractor_ports = {p["port"] for rule in policies["extractor-egress"]["egress"] for p in rule["ports"]}
    assert extractor_ports == {6379, 5432, 53}, "nothing to download: its models are in the image"


def test_prometheus_rule_carries_the_same_alerts_as_the_rules_file(rendered):
    rule = find(rendered, "PrometheusRule", "posegen")
    assert rule["spec"] == yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())


def exposed_metric_names(redis_client) -> set[str]:
    from posegen_gateway.metrics import GatewayMetrics
    from posegen_relay.metrics import RelayMetrics
    from posegen_worker.extractor import ExtractorMetrics
    from posegen_worker.metrics import CudaMemoryCollector, WorkerMetrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    names = set(CudaMemoryCollector.NAMES)
    registries = (
        GatewayMetrics(redis_client).registry,
        RelayMetrics().registry,
        WorkerMetrics().registry,
        ExtractorMetrics().registry,
    )
    for registry in registries:
        for family in registry.collect():
            names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def metric_names_in(text: str) -> set[str]:
    return set(re.findall(r"\b(posegen_[a-z_]+)", text))


def test_alerts_and_dashboard_use_metrics_the_services_expose(redis_client):
    exposed = exposed_metric_names(redis_client)
    alerts = (REPO / "deploy/prometheus/alerts.yml").read_text()
    dashboard = (REPO / "docs/grafana-dashboard.json").read_text()
    for text in (alerts, dashboard):
        for name in metric_names_in(text):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            assert name in exposed or base in exposed, f"{name} is not exposed by any service"


def test_alert_rules_pass_promtool():
    promtool = Path("/usr/bin/promtool")
    if not promtool.exists():
        pytest.skip("promtool is installed by .ci/run (Debian's prometheus package)")
    result = subprocess.run(
        [str(promtool), "check", "rules", str(REPO / "deploy/prometheus/alerts.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
