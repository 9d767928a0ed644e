"""``identityStrength`` on POST /generate: its default, the avatar recorded as of submission, and refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image


def upload_avatar(client, gw, headers, project_id, color) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, format="PNG")
    files = {"file": ("me.png", buffer.getvalue(), "image/png")}
    response = client.post(f"{gw.prefix}/projects/{project_id}/avatar", files=files, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def generate(client, gw, headers, project_id, pose_ids, **fields):
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:1], **fields}
    return client.post(f"{gw.prefix}/generate", json=body, headers=headers)


def generation(client, gw, headers, generation_id) -> dict:
    return client.get(f"{gw.prefix}/generations/{generation_id}", headers=headers).json()


def test_the_default_strength_applies_to_a_project_with_an_avatar(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 100)
    upload_avatar(client, gw, headers, project_id, "red")
    accepted = generate(client, gw, headers, project_id, pose_ids)
    assert accepted.status_code == 202, accepted.text
    body = generation(client, gw, headers, accepted.json()["generationId"])
    assert body["identityStrength"] == pytest.approx(0.6)
    assert body["avatarImageUrl"] is not None


def test_without_an_avatar_the_default_is_off_and_an_explicit_strength_is_refused(
    client, gw, headers, user_id, project_id, pose_ids
):
    gw.give_credits(user_id, 100)
    accepted = generate(client, gw, headers, project_id, pose_ids)
    body = generation(client, gw, headers, accepted.json()["generationId"])
    assert (body["identityStrength"], body["avatarImageUrl"]) == (0.0, None)
    refused = generate(client, gw, headers, project_id, pose_ids, identityStrength=0.5)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["field"] == "identityStrength" and "avatar" in error["message"]
    assert generate(client, gw, headers, project_id, pose_ids, identityStrength=0).status_code == 202
    assert gw.balance(user_id) == 40, "the refused request charged nothing"


@pytest.mark.parametrize("value", [-0.1, 1.5, "strong"])
def test_out_of_range_strengths_are_validation_errors(client, gw, headers, user_id, project_id, pose_ids, value):
    gw.give_credits(user_id, 100)
    upload_avatar(client, gw, headers, project_id, "blue")
    response = generate(client, gw, headers, project_id, pose_ids, identityStrength=value)
    assert response.status_code == 422 and response.json()["error"]["field"] == "identityStrength"


def test_the_generation_keeps_the_avatar_it_was_submitted_with(client, gw, headers, user_id, project_id, pose_ids):
    gw.give_credits(user_id, 100)
    first = upload_avatar(client, gw, headers, project_id, "green")
    accepted = generate(client, gw, headers, project_id, pose_ids, identityStrength=0.9)
    generation_id = accepted.json()["generationId"]
    upload_avatar(client, gw, headers, project_id, "purple")
    [row] = gw.query("SELECT identity_strength, avatar_key FROM generations WHERE id = %s", (generation_id,))
    assert row["identity_strength"] == pytest.approx(0.9)
    assert row["avatar_key"] in first["avatarImageUrl"]
    shown = generation(client, gw, headers, generation_id)["avatarImageUrl"]
    image = client.get(shown.removeprefix("http://testserver"))
    assert Image.open(io.BytesIO(image.content)).convert("RGB").getpixel((1, 1)) == (0, 128, 0)


def test_the_openapi_document_describes_the_field(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["GenerateRequest"]["properties"]
    field = schema["identityStrength"]
    assert "400" in field["description"] or "refused" in field["description"]
