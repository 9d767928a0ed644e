def test_nul_in_path_query_or_body_is_a_422_not_a_500(client, gw, headers):
    assert client.get(f"{gw.prefix}/library?search=%00", headers=headers).status_code == 422
    assert client.get(f"{gw.prefix}/projects/abc%00def", headers=headers).status_code == 422
    response = client.post(f"{gw.prefix}/projects", json={"projectName": "bad\u0000name"}, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
