"""Fixtures of the pose-from-photo tests: each module on a database of its own (its poses never reach the
other tests), one detector per module, an extractor working the real queue, the user's event channel."""

from __future__ import annotations

import pytest

from .support import Channel, Extractor


@pytest.fixture(scope="module")
def database_url(fresh_database_url) -> str:
    from posegen.db.bootstrap import bootstrap_database

    url = fresh_database_url()
    bootstrap_database(url)
    return url


@pytest.fixture(scope="module")
def detector():
    from posegen.extraction.detector import PoseDetector

    found = PoseDetector()
    yield found
    found.close()


@pytest.fixture
def extractor(make_settings, detector):
    worker = Extractor(make_settings(), detector)
    yield worker
    worker.close()


@pytest.fixture
def channel(redis_url, user_id):
    listening = Channel(redis_url, user_id)
    yield listening
    listening.close()
