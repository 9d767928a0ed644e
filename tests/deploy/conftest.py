"""Every overlay, rendered by the real ``kubectl kustomize`` (tests/deploy/k8s/render.py), for every
manifest test."""

from pathlib import Path

import pytest

from .k8s.render import render

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = ["dev", "gpu", "object-storage"]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> list[dict]:
    return render(REPO / "k8s/overlays" / request.param)
