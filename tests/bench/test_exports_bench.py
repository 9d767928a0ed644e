"""The ZIP case of ``bench-gateway`` runs end to end against the real gateway app (a small generation, two
formats), so the benchmark cannot rot unnoticed between its runs."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from posegen.auth import mint_token
from posegen.db import credits
from posegen.db.users import ensure_user
from posegen.settings import GatewaySettings
from posegen_gateway.app import create_app

from .scripts import load_script

SECRET = "SxClI90F7MgilydtG_xAXhU5BkSJ4e7jnH1LJM1Kq2TWaOYQ"


def test_the_zip_case_renders_then_serves_what_it_stored(database_url, redis_url, tmp_path):
    bench = load_script("exports_bench")
    storage = tmp_path / "storage"
    settings = GatewaySettings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=SECRET,
        storage_dir=str(storage),
        public_base_url="http://testserver",
    )
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        ensure_user(conn=conn, user_id="bench-user", role="user", email=None, starting_credits=0)
        credits.grant(conn=conn, user_id="bench-user", amount=10_000, reference_type="test", reference_id="bench")
    token = mint_token(user_id="bench-user", secret=SECRET, algorithm="HS256")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, run_reconciler=False)) as http:
        project = http.post(bench.PREFIX + "/projects", json={"projectName": "Bench"}, headers=auth).json()["id"]
        case = bench.run_zip_case(
            http,
            auth,
            project=project,
            database_url=database_url,
            storage_dir=str(storage),
            images_count=3,
            formats="instagram_feed,original",
        )
    assert case["images"] == 3 and case["kept"] == 6 and case["same_size"]
    assert case["bytes"] > 0 and case["first_seconds"] > 0 and case["second_seconds"] > 0
    report = tmp_path / "gateway.md"
    bench.write_zip_section(report, case)
    bench.write_zip_section(report, case)
    assert report.read_text().count(bench.BEGIN) == 1
