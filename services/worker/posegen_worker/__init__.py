"""The GPU worker: an RQ worker that keeps the SD1.5 + OpenPose ControlNet pipeline warm and runs one
generation per job in its own process (docs/architecture.md)."""
