"""The schema checks refuse what the API server refuses: a misspelt field in each custom resource (its CRD's
openAPIV3Schema) and in a built-in kind (Kubernetes 1.32's schema), whatever overlay it comes from."""

import jsonschema
import kubernetes_validate
import pytest

from .conftest import REPO
from .k8s.render import render
from .k8s.schemas import crd_schemas, validate

CUSTOM_KINDS = ("ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule")


@pytest.fixture(scope="module")
def gpu() -> list[dict]:
    return render(REPO / "k8s/overlays/gpu")


@pytest.mark.parametrize("kind", CUSTOM_KINDS)
def test_a_custom_resource_is_checked_against_its_crd(gpu, kind):
    document = next(d for d in gpu if d["kind"] == kind)
    assert (document["apiVersion"], kind) in crd_schemas()
    validate(document)
    document["spec"]["replicas"] = 2
    with pytest.raises(jsonschema.ValidationError, match="'replicas' was unexpected"):
        validate(document)


def test_a_builtin_kind_is_checked_strictly(gpu):
    deployment = next(d for d in gpu if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["nodeSelecter"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
