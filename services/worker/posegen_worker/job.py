"""The RQ job function, named by the dotted string ``posegen_worker.job.run_generation`` (docs/events.md)."""

from __future__ import annotations

from posegen_worker import runtime
from posegen_worker.generation import GenerationRun


def run_generation(generation_id: str) -> str:
    return GenerationRun(runtime.current(), generation_id).run().value
