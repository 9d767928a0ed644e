"""What a viewer of the library sees: the public library and its own live private poses; text mode (which
picks body poses for text prompts) never picks a private pose. On a database of this module's own."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from posegen.db import custom_poses
from posegen.db import library as library_db
from posegen.db.users import ensure_user


@pytest.fixture(scope="module")
def database_url(fresh_database_url) -> str:
    from posegen.db.bootstrap import bootstrap_database

    url = fresh_database_url()
    bootstrap_database(url)
    return url


@pytest.fixture
def private_pose(conn) -> str:
    conn.autocommit = True
    for user in ("owner", "other"):
        ensure_user(conn=conn, user_id=user, role="user", email=None, starting_credits=0)
    library = conn.execute("SELECT category_id, keypoints FROM poses WHERE owner_id IS NULL LIMIT 1").fetchone()
    row = custom_poses.create_private_pose(
        conn=conn,
        owner_id="owner",
        fields={
            "category_id": library["category_id"],
            "name": f"Zygomorphic handstand {uuid.uuid4().hex[:6]}",
            "description": "",
            "tags": ["zygomorphic"],
            "difficulty": "advanced",
            "gender_suitability": "unisex",
        },
        keypoints=library["keypoints"],
        source_extraction_id=None,
    )
    return row["id"]


def test_only_the_owner_sees_and_may_use_a_private_pose(conn, private_pose):
    def ids(viewer: str, **filters) -> set[str]:
        rows, _ = library_db.list_poses(
            conn=conn, filters=library_db.PoseFilter(**filters), viewer=viewer, limit=100, offset=0
        )
        return {row["id"] for row in rows}

    assert private_pose in ids("owner", search="zygomorphic") and private_pose in ids("owner", mine=True)
    assert ids("other", search="zygomorphic") == set() and ids("other", mine=True) == set()
    assert not any(ids("owner", mine=True) & ids("other"))
    assert library_db.get_pose(conn=conn, pose_id=private_pose, viewer="other") is None
    assert library_db.get_keypoints(conn=conn, pose_id=private_pose, viewer="other") is None
    assert library_db.existing_pose_ids(conn=conn, pose_ids=[private_pose], viewer="owner") == {private_pose}
    assert library_db.existing_pose_ids(conn=conn, pose_ids=[private_pose], viewer="other") == set()


def test_text_mode_never_picks_a_private_pose(conn, private_pose):
    public = conn.execute("SELECT count(*) AS n FROM poses WHERE owner_id IS NULL").fetchone()["n"]
    picked = library_db.match_poses(conn=conn, text="a zygomorphic handstand", limit=public + 10)
    assert private_pose not in {row["id"] for row in picked}
    assert len(picked) == public, "the whole public library, best matches first, and nothing else"


def test_a_deleted_private_pose_is_hidden_but_its_generations_still_find_it(conn, private_pose):
    assert custom_poses.delete_private_pose(conn=conn, owner_id="owner", pose_id=private_pose)
    assert library_db.get_pose(conn=conn, pose_id=private_pose, viewer="owner") is None
    assert library_db.existing_pose_ids(conn=conn, pose_ids=[private_pose], viewer="owner") == set()
    assert private_pose in library_db.poses_by_id(conn=conn, pose_ids=[private_pose])
    assert not custom_poses.delete_private_pose(conn=conn, owner_id="owner", pose_id=private_pose)


def test_the_viewer_is_required(database_url):
    with psycopg.connect(database_url, row_factory=dict_row) as conn, pytest.raises(TypeError):
        library_db.get_pose(conn=conn, pose_id="x")  # type: ignore[call-arg]
