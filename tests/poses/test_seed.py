import psycopg

from posegen.poses.catalog import CATEGORIES, build_poses
from posegen.poses.seed import category_id, pose_id, seed_library


def test_seed_is_idempotent(fresh_database_url):
    from posegen.db.migrate import apply_migrations

    url = fresh_database_url()
    apply_migrations(url)
    with psycopg.connect(url) as conn:
        first = seed_library(conn=conn)
        snapshot = conn.execute("SELECT id, xmin::text FROM poses ORDER BY id").fetchall()
        second = seed_library(conn=conn)
        assert conn.execute("SELECT id, xmin::text FROM poses ORDER BY id").fetchall() == snapshot
    assert first.changed and (first.categories_written, first.poses_written) == (
        len(CATEGORIES),
        len(build_poses()),
    )
    assert not second.changed


def test_library_shape(conn):
    roots = conn.execute("SELECT count(*) AS n FROM pose_categories WHERE parent_id IS NULL").fetchone()["n"]
    subs = conn.execute("SELECT count(*) AS n FROM pose_categories WHERE parent_id IS NOT NULL").fetchone()["n"]
    poses = conn.execute("SELECT count(*) AS n FROM poses").fetchone()["n"]
    assert (roots, subs) == (6, 22)
    assert poses >= 84


def test_poses_live_in_sub_categories_with_18_keypoints(conn):
    rows = conn.execute(
        "SELECT p.keypoints, c.parent_id FROM poses p JOIN pose_categories c ON c.id = p.category_id"
    ).fetchall()
    assert all(row["parent_id"] is not None for row in rows)
    assert all(len(row["keypoints"]) == 18 for row in rows)


def test_ids_are_stable():
    assert category_id("sports") == category_id("sports")
    assert pose_id("a", "b") != pose_id("a", "c")
