"""A release: the overlay applied again with every image at a new tag (``kustomize edit set image`` in a
pipeline, then ``kubectl apply -k``), over the objects the previous release created. The API server refuses
a change to an immutable field, so none may differ; and the new gateway migrates the database before it
serves (``posegen migrate`` holds a PostgreSQL advisory lock, so replicas starting together are safe)."""

import os

import pytest
import yaml

from posegen_cli.main import build_parser

from .conftest import OVERLAYS, REPO
from .k8s.render import containers, find, render
from .test_pods import posegen_commands

NEW_TAG = "0.2.0"
IMMUTABLE = {
    "Job": [("spec", "template"), ("spec", "selector")],
    "Deployment": [("spec", "selector")],
    "PersistentVolumeClaim": [("spec", "accessModes"), ("spec", "storageClassName")],
}


def release(overlay, folder) -> list[dict]:
    images = sorted({c["image"].rsplit(":", 1)[0] for c in containers(render(overlay))})
    kustomization = {
        "resources": [os.path.relpath(overlay, folder)],
        "images": [{"name": image, "newTag": NEW_TAG} for image in images],
    }
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return render(folder)


def field(document: dict, path: tuple[str, ...]):
    for key in path:
        document = document.get(key, {})
    return document


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_applying_a_new_image_tag_changes_no_immutable_field(overlay, tmp_path):
    previous = render(REPO / "k8s/overlays" / overlay)
    new = release(REPO / "k8s/overlays" / overlay, tmp_path)
    assert all(c["image"].endswith(f":{NEW_TAG}") for c in containers(new))
    for document in new:
        kind, name = document["kind"], document["metadata"]["name"]
        try:
            old = find(previous, kind, name)
        except KeyError:
            continue
        for path in IMMUTABLE.get(kind, []):
            assert field(document, path) == field(old, path), f"{kind}/{name}: {'.'.join(path)} is immutable"


def test_the_new_gateway_migrates_the_database_before_it_serves(rendered):
    pod = find(rendered, "Deployment", "posegen-gateway")["spec"]["template"]["spec"]
    gateway = pod["containers"][0]
    (migrate,) = [c for c in pod["initContainers"] if c["name"] == "migrate"]
    commands = [build_parser().parse_args(c[1:]).command for c in posegen_commands(migrate)]
    assert commands == ["migrate", "seed"] and "&&" in migrate["command"][2]
    assert migrate["image"] == gateway["image"] and all(s in gateway["envFrom"] for s in migrate["envFrom"])
    assert not [d for d in rendered if d["kind"] == "Job"], "a Job's pod template cannot change on the next release"
