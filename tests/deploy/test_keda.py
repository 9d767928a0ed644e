"""KEDA counts the running generations once, and reaches the same Redis as the services, with their
credentials and TLS."""

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from .conftest import REPO
from .k8s.render import find, render

GATEWAY_REPLICAS = 3


def triggers(rendered) -> dict[str, dict]:
    return {t["type"]: t for t in find(rendered, "ScaledObject", "posegen-worker")["spec"]["triggers"]}


def test_running_generations_are_counted_once_whatever_the_gateway_replicas(rendered, tmp_path):
    """Every gateway replica exports the same Redis-wide posegen_queue_jobs: a sum multiplies it by the
    replicas. promtool evaluates the trigger's query over three replicas each reporting 2 running jobs."""
    promtool = Path("/usr/bin/promtool")
    if not promtool.exists():
        pytest.skip("promtool is installed by .ci/run (Debian's prometheus package)")
    query = triggers(rendered)["prometheus"]["metadata"]["query"]
    series = [
        {"series": f'posegen_queue_jobs{{state="{state}",instance="gateway-{i}:3000",job="posegen"}}', "values": value}
        for i in range(GATEWAY_REPLICAS)
        for state, value in (("active", "2x10"), ("waiting", "7x10"))
    ]
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [{"expr": query, "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": 2}]}],
            }
        ],
    }
    (tmp_path / "keda-query.test.yml").write_text(yaml.safe_dump(test))
    result = subprocess.run(
        [str(promtool), "test", "rules", "keda-query.test.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_redis_trigger_authenticates_from_the_services_secret(rendered):
    redis = triggers(rendered)["redis"]
    auth = find(rendered, "TriggerAuthentication", redis["authenticationRef"]["name"])
    refs = {r["parameter"]: r for r in auth["spec"]["secretTargetRef"]}
    assert {"password", "username", "tls"} <= set(refs)
    assert {r["name"] for r in refs.values()} == {"posegen-secrets"}
    worker = find(rendered, "Deployment", "posegen-worker")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "posegen-secrets"}} in worker["envFrom"], "the same Secret the services read"
    assert "enableTLS" not in redis["metadata"], "KEDA refuses tls in both the trigger and its authentication"


def test_the_example_secret_and_config_describe_one_redis():
    """REDIS_URL is what the services use; KEDA gets host:port, database, password, user and TLS separately,
    and they must all describe the same server."""
    documents = render(REPO / "k8s/overlays/dev")
    secret = yaml.safe_load((REPO / "k8s/overlays/dev/secret.example.yaml").read_text())["stringData"]
    config = find(documents, "ConfigMap", "posegen-config")["data"]
    redis = triggers(documents)["redis"]["metadata"]
    auth = {
        r["parameter"]: r["key"]
        for r in find(documents, "TriggerAuthentication", "posegen-redis")["spec"]["secretTargetRef"]
    }
    url = urlsplit(secret["REDIS_URL"])
    assert config[redis["addressFromEnv"]] == f"{url.hostname}:{url.port or 6379}"
    assert redis["databaseIndex"] == (url.path.strip("/") or "0")
    assert secret[auth["password"]] == (url.password or "")
    assert secret[auth["username"]] == (url.username or "")
    assert secret[auth["tls"]] == ("enable" if url.scheme == "rediss" else "disable")
