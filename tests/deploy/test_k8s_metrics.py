"""Prometheus scrapes each service on the port that serves its /metrics (the gateway's GATEWAY_METRICS_PORT,
the relay's own port, the workers' and extractors' metrics ports), and nothing public leads there: no Ingress
path reaches a metrics port, and the gateway's public port no longer answers /metrics."""

from posegen.settings import ExtractorSettings, GatewaySettings, RelaySettings, WorkerSettings

from .k8s.render import find
from .netpol import selects

METRICS_PORTS = {
    "posegen-gateway": GatewaySettings.model_fields["gateway_metrics_port"].default,
    "posegen-relay": RelaySettings.model_fields["relay_port"].default,
    "posegen-worker": WorkerSettings.model_fields["worker_metrics_port"].default,
    "posegen-extractor": ExtractorSettings.model_fields["extractor_metrics_port"].default,
}


def container_port(rendered, service: dict, port_name: str) -> int | None:
    """The container port a Service's named port leads to, or None when the Service has no such port."""
    port = next((p for p in service["spec"]["ports"] if p["name"] == port_name), None)
    if port is None:
        return None
    target = port.get("targetPort", port["port"])
    for deployment in (d for d in rendered if d["kind"] == "Deployment"):
        template = deployment["spec"]["template"]
        if selects({"matchLabels": service["spec"]["selector"]}, template["metadata"]["labels"]):
            for declared in template["spec"]["containers"][0]["ports"]:
                if target in (declared["name"], declared["containerPort"]):
                    return declared["containerPort"]
    raise AssertionError(f"{service['metadata']['name']}:{port_name} leads to no container port")


def test_the_gateway_serves_metrics_on_its_metrics_port(rendered):
    pod = find(rendered, "Deployment", "posegen-gateway")["spec"]["template"]
    container = pod["spec"]["containers"][0]
    port = METRICS_PORTS["posegen-gateway"]
    assert {"name": "metrics", "containerPort": port} in container["ports"]
    assert {"name": "GATEWAY_METRICS_PORT", "value": str(port)} in container["env"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)


def test_the_service_monitor_scrapes_every_service_on_its_metrics_port_only(rendered):
    monitor = find(rendered, "ServiceMonitor", "posegen")["spec"]
    services = [d for d in rendered if d["kind"] == "Service" and selects(monitor["selector"], d["metadata"]["labels"])]
    scraped = {}
    for service in services:
        for endpoint in monitor["endpoints"]:
            port = container_port(rendered, service, endpoint["port"])
            if port is not None:
                name = service["metadata"]["labels"]["app.kubernetes.io/name"]
                scraped.setdefault(name, set()).add((port, endpoint["path"]))
    assert scraped == {name: {(port, "/metrics")} for name, port in METRICS_PORTS.items()}


def test_no_ingress_path_leads_to_a_metrics_port(rendered):
    for ingress in (d for d in rendered if d["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = find(rendered, "Service", backend["name"])
                port = container_port(rendered, service, backend["port"]["name"])
                assert port != METRICS_PORTS["posegen-gateway"] and not path["path"].startswith("/metrics")
