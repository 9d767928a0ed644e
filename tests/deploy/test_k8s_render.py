"""Each overlay renders with the kustomize that ``kubectl apply -k`` runs (kubectl 1.32, kustomize 5.5)."""

import pytest

from .conftest import OVERLAYS, REPO
from .k8s.render import render


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubectl_kustomize_renders_the_overlay(overlay):
    documents = render(REPO / "k8s/overlays" / overlay)
    assert {d["kind"] for d in documents} >= {"Namespace", "Deployment", "ScaledObject"}
