"""Entry point: ``posegen extractor``. Pose extraction from photos on the CPU: it loads mediapipe's pose
models once (no diffusion pipeline, no torch) and works the ``pose-extraction`` queue with an RQ
``SimpleWorker``, so an extraction never waits behind a generation and a slow photo never holds a GPU."""

from __future__ import annotations

import importlib.util
import logging
import sys
from dataclasses import dataclass

from posegen.logs import configure_logging
from posegen.queue import extraction_queue
from posegen.settings import ExtractorSettings, load_settings
from posegen.storage import check_at_startup, open_storage
from posegen_worker.metrics import Metrics
from posegen_worker.rqworker import StoppingWorker
from posegen_worker.runtime import Connections, Slot

log = logging.getLogger("posegen.extractor")
SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class ExtractorMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__()
        self.extractions = self.counter(
            "posegen_extractor_extractions_total", "Extractions ended, by outcome", ["outcome"]
        )
        self.seconds = self.histogram(
            "posegen_extractor_extraction_duration_seconds",
            "Seconds from claiming a photo to its stored result",
            buckets=SECONDS_BUCKETS,
        )
        self.busy = self.gauge("posegen_extractor_busy", "1 while a photo is being processed")


@dataclass
class ExtractorRuntime(Connections):
    settings: ExtractorSettings
    detector: object
    metrics: ExtractorMetrics

    @classmethod
    def open(cls, settings: ExtractorSettings, *, detector=None) -> ExtractorRuntime:
        from posegen.extraction.detector import PoseDetector

        return cls(
            **cls.connect(settings, pool_size=2, name="extractor"),
            detector=detector if detector is not None else PoseDetector(),
            metrics=ExtractorMetrics(),
        )


slot: Slot[ExtractorRuntime] = Slot(lambda: ExtractorRuntime.open(load_settings(ExtractorSettings)))
install, current = slot.install, slot.current


def main() -> int:
    settings = load_settings(ExtractorSettings)
    configure_logging(settings.log_format, settings.log_level)
    if importlib.util.find_spec("mediapipe") is None:
        print(
            "error: mediapipe is not installed: pip install --no-deps -r requirements/no-deps.txt "
            "(`make install` does; see docs/decisions.md)",
            file=sys.stderr,
        )
        return 2
    check_at_startup(open_storage(settings), log)
    runtime = ExtractorRuntime.open(settings)
    install(runtime)
    server = runtime.serve_metrics(settings.extractor_metrics_host, settings.extractor_metrics_port)
    log.info("extractor %s ready on queue pose-extraction (metrics on :%s)", settings.extractor_name, server.port)
    return runtime.work(StoppingWorker, extraction_queue(runtime.redis), settings.extractor_name, server)
