"""Numbers at the edges of what the schema allows are stored as given (found by schemathesis: a guidance
scale of 5e-324 underflowed PostgreSQL's 4-byte real and answered 500)."""

import pytest


@pytest.mark.parametrize("value", [5e-324, 1e-300, 0.0, 20.0])
def test_tiny_and_edge_floats_are_accepted_and_kept(client, gw, headers, user_id, project_id, pose_ids, value):
    gw.give_credits(user_id, 100)
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:1], "guidanceScale": value, "identityStrength": 0}
    response = client.post(f"{gw.prefix}/generate", json=body, headers=headers)
    assert response.status_code == 202, response.text
    generation = client.get(f"{gw.prefix}/generations/{response.json()['generationId']}", headers=headers).json()
    assert generation["guidanceScale"] == value


@pytest.mark.parametrize("field", ["steps", "width", "seed", "variationsPerPose", "guidanceScale", "identityStrength"])
def test_a_boolean_is_not_a_number(client, gw, headers, user_id, project_id, pose_ids, field):
    """JSON's true is not 1 (found by schemathesis: a grant of `{"amount": true}` granted one credit)."""
    gw.give_credits(user_id, 100)
    body = {"projectId": project_id, "selectedPoseIds": pose_ids[:1], field: True}
    response = client.post(f"{gw.prefix}/generate", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_a_boolean_credit_grant_is_refused(client, gw, user_id):
    admin = gw.auth("boss", "admin")
    response = client.post(f"{gw.prefix}/admin/users/{user_id}/credits", json={"amount": True}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "amount"
