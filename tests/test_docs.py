"""The repository describes itself: docs/api.md lists every operation of the OpenAPI document and
docs/events.md every event type and field of the shared schema, so neither can drift from the code."""

import re
import typing
from pathlib import Path

import pytest
from pydantic.alias_generators import to_camel

from posegen import contracts
from posegen.contracts import API_PREFIX

DOCS = Path(__file__).resolve().parent.parent / "docs"

JWT_SECRET = "AhvWJZnBZE0iUx-1_cigdCfD0LEQI3Uj0ZnJY-LlwNZ56Ek2"


def test_every_operation_of_the_openapi_document_is_in_api_md():
    from posegen.settings import GatewaySettings
    from posegen_gateway.app import create_app

    app = create_app(GatewaySettings(_env_file=None, jwt_secret=JWT_SECRET), run_reconciler=False)
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if f"`{method.upper()} {path.removeprefix(API_PREFIX)}" not in text
    ]
    assert missing == []


def event_models():
    union = typing.get_args(contracts.Event)[0]
    return typing.get_args(union)


@pytest.mark.parametrize("model", event_models(), ids=lambda m: m.__name__)
def test_every_event_type_and_field_is_in_events_md(model):
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    event_type = model.model_fields["type"].default
    row = next((line for line in text.splitlines() if line.startswith(f"| `{event_type}` |")), None)
    assert row is not None, f"{event_type} has no row"
    common = {"id", "type", "generation_id", "user_id", "timestamp"}
    subject = "generation_id" if "generation_id" in model.model_fields else None
    missing = [to_camel(name) for name in model.model_fields if name not in common and f"`{to_camel(name)}`" not in row]
    assert missing == []
    for name in common - ({"generation_id"} if subject is None else set()):
        assert re.search(rf"`{to_camel(name)}`", text), name
