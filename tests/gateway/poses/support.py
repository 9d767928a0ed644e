"""What the pose-from-photo tests of this folder share: real photographs as uploads, an extractor that works
the real RQ queue in this process, and a user's event channel."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import redis
from PIL import Image

from posegen.contracts import user_channel


def photo(name: str, fmt: str = "PNG") -> bytes:
    """One of scikit-image's sample photographs, encoded as an upload."""
    from skimage import data

    pixels = getattr(data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


class Extractor:
    """``posegen extractor``'s runtime and job, on the test's database, Redis and storage, draining the real
    ``pose-extraction`` queue with RQ's SimpleWorker when asked."""

    def __init__(self, settings, detector) -> None:
        from posegen.settings import ExtractorSettings
        from posegen_worker import extractor

        extractor_settings = ExtractorSettings(
            _env_file=None,
            database_url=settings.database_url,
            redis_url=settings.redis_url,
            jwt_secret=settings.jwt_secret.get_secret_value(),
            storage_dir=settings.storage_dir,
            public_base_url=settings.public_base_url,
        )
        self.runtime = extractor.ExtractorRuntime.open(extractor_settings, detector=detector)
        extractor.install(self.runtime)

    def drain(self) -> None:
        from rq import SimpleWorker
        from rq.serializers import JSONSerializer

        from posegen.queue import extraction_queue

        queue = extraction_queue(self.runtime.redis)
        worker = SimpleWorker([queue], connection=self.runtime.redis, serializer=JSONSerializer)
        worker.work(burst=True, with_scheduler=False)

    def close(self) -> None:
        from posegen_worker import extractor

        extractor.install(None)
        self.runtime.close()


class Channel:
    """Every event published on one user's channel, read by a real Redis subscriber."""

    def __init__(self, redis_url: str, user_id: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(user_channel(user_id))
        self.events: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        time.sleep(0.1)

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.05)
            if message and message["type"] == "message":
                self.events.append(json.loads(message["data"]))

    def wait_for(self, event_type: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if event["type"] == event_type:
                    return event
            time.sleep(0.02)
        raise AssertionError(f"no {event_type} within {timeout}s; got {[e['type'] for e in self.events]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()
