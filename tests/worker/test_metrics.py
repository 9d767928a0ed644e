import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from posegen_worker.generation import GenerationRun
from posegen_worker.metrics import MetricsServer


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_and_health_endpoints(make_runtime, scenario):
    runtime = make_runtime()
    GenerationRun(runtime, scenario.generation(poses=2, steps=3)).run()
    ready = {"value": True}
    server = MetricsServer("127.0.0.1", 0, runtime.metrics, ready=lambda: ready["value"])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, text = get(f"{base}/metrics")
        families = {family.name: family for family in text_string_to_metric_families(text)}
        assert status == 200
        images = {
            s.labels.get("status"): s.value
            for s in families["posegen_worker_images"].samples
            if s.name.endswith("_total")
        }
        assert images["completed"] == 2
        assert families["posegen_worker_step_duration_seconds"].samples
        assert families["posegen_worker_pose_duration_seconds"].samples
        assert families["posegen_worker_model_load_seconds"].samples[0].value > 0
        assert families["posegen_worker_busy"].samples[0].value == 0
        assert get(f"{base}/health")[0] == 200
        assert get(f"{base}/ready")[0] == 200
        ready["value"] = False
        assert get(f"{base}/ready")[0] == 503
    finally:
        server.stop()
