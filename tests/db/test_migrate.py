import psycopg
import pytest

from posegen.db import migrate
from posegen.db.migrate import MigrationError, apply_migrations, available_migrations

SPEC_TABLES = {
    "users",
    "credit_ledger",
    "pose_categories",
    "poses",
    "projects",
    "generations",
    "generation_poses",
    "generated_poses",
    "schema_migrations",
}


@pytest.fixture
def empty_db(fresh_database_url) -> str:
    return fresh_database_url()


def test_applies_in_order_and_second_run_is_a_no_op(empty_db):
    first = apply_migrations(empty_db)
    assert [m.version for m in first] == [m.version for m in available_migrations()]
    assert apply_migrations(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        recorded = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert recorded == [m.version for m in first]
    assert tables >= SPEC_TABLES


def test_edited_migration_is_refused(empty_db, monkeypatch):
    apply_migrations(empty_db)
    original = available_migrations()
    edited = [migrate.Migration(original[0].version, original[0].name, original[0].sql + "\n-- edit")]
    monkeypatch.setattr(migrate, "available_migrations", lambda: edited + original[1:])
    with pytest.raises(MigrationError, match="changed after it was applied"):
        apply_migrations(empty_db)


def constraint_names(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace")}


def test_named_unique_keys_and_checks_exist(database_url):
    with psycopg.connect(database_url) as conn:
        names = constraint_names(conn)
    assert {
        "credit_ledger_type_reference_key",
        "generated_poses_generation_variation_key",
        "pose_categories_slug_key",
        "poses_visibility_check",
        "poses_visibility_owner_check",
        "pose_extractions_status_check",
        "pose_requests_status_check",
        "users_role_check",
        "credit_ledger_type_check",
        "poses_difficulty_check",
        "poses_gender_suitability_check",
        "projects_avatar_source_check",
        "projects_status_check",
        "generations_status_check",
        "generations_generation_type_check",
        "generated_poses_status_check",
    } <= names


def test_every_enum_like_column_has_a_check(database_url):
    enum_columns = {
        ("users", "role"),
        ("credit_ledger", "type"),
        ("poses", "difficulty"),
        ("poses", "gender_suitability"),
        ("projects", "avatar_source"),
        ("projects", "status"),
        ("generations", "generation_type"),
        ("generations", "status"),
        ("generated_poses", "status"),
        ("poses", "visibility"),
        ("pose_extractions", "status"),
        ("pose_extractions", "error_code"),
        ("pose_requests", "status"),
    }
    with psycopg.connect(database_url) as conn:
        checked = set(
            conn.execute(
                """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
                   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                   WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace"""
            ).fetchall()
        )
    assert enum_columns <= checked


def insert_user(conn, user_id="u-check"):
    conn.execute("INSERT INTO users (id) VALUES (%s) ON CONFLICT DO NOTHING", (user_id,))


@pytest.mark.parametrize(
    ("statement", "params"),
    [
        ("UPDATE users SET role = 'root' WHERE id = %s", ("u-check",)),
        ("UPDATE users SET credit_balance = -1 WHERE id = %s", ("u-check",)),
        (
            "INSERT INTO credit_ledger (user_id, amount, balance, type, reference_type, reference_id)"
            " VALUES (%s, 10, 10, 'bonus', 'x', 'y')",
            ("u-check",),
        ),
        (
            "INSERT INTO credit_ledger (user_id, amount, balance, type, reference_type, reference_id)"
            " VALUES (%s, 10, 10, 'usage', 'x', 'y')",
            ("u-check",),
        ),
        (
            "INSERT INTO projects (id, user_id, name, status) VALUES ('p-x', %s, 'abc', 'deleted')",
            ("u-check",),
        ),
        ("INSERT INTO projects (id, user_id, name) VALUES ('p-y', %s, 'ab')", ("u-check",)),
    ],
)
def test_checks_reject_bad_rows(database_url, statement, params):
    with psycopg.connect(database_url) as conn:
        insert_user(conn)
        conn.commit()
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(statement, params)


def test_refund_can_never_happen_twice(database_url):
    row = ("u-check", 30, 30, "refund", "generation_pose", "gen-1:pose-1:0")
    sql = (
        "INSERT INTO credit_ledger (user_id, amount, balance, type, reference_type, reference_id)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    )
    with psycopg.connect(database_url) as conn:
        insert_user(conn)
        conn.execute(sql, row)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(sql, row)


def test_generation_constraints(database_url):
    with psycopg.connect(database_url) as conn:
        insert_user(conn)
        conn.execute("INSERT INTO projects (id, user_id, name) VALUES ('proj-c', 'u-check', 'Project')")
        base = (
            "INSERT INTO generations (id, project_id, user_id, generation_type, variations_per_pose,"
            " width, height,"
            " steps, guidance_scale, poses_total, credit_charged, status) VALUES"
            " (%s, 'proj-c', 'u-check', 'GALLERY_REFERENCE', 1, %s, 512, 20, 7.5, 1, 30, %s)"
        )
        conn.execute(base, ("g-ok", 512, "queued"))
        for gen_id, width, status in (("g-w", 500, "queued"), ("g-s", 512, "running")):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(base, (gen_id, width, status))
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("UPDATE generations SET credit_refunded = 60 WHERE id = 'g-ok'")
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("UPDATE generations SET poses_completed = 1, poses_failed = 1 WHERE id = 'g-ok'")
        conn.execute(
            "INSERT INTO generated_poses"
            " (id, generation_id, variation_key, status, image_key, thumbnail_key, seed)"
            " VALUES ('gp1', 'g-ok', 'v0', 'completed', 'a.png', 'a.jpg', 1)"
        )
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute(
                "INSERT INTO generated_poses (id, generation_id, variation_key, status)"
                " VALUES ('gp2', 'g-ok', 'v0', 'failed')"
            )
        conn.rollback()


def test_indexes_for_api_queries(database_url):
    with psycopg.connect(database_url) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    assert {
        "credit_ledger_user_idx",
        "poses_listing_idx",
        "poses_tags_idx",
        "pose_categories_parent_idx",
        "projects_user_idx",
        "generations_user_idx",
        "generations_project_idx",
        "generations_active_idx",
    } <= indexes


def test_library_and_private_pose_names(database_url):
    """Library names are unique per category (the seed upserts by them); private ones per owner and
    category, so two users may both have a 'Bag on the shoulder', and neither clashes with the library."""
    with psycopg.connect(database_url) as conn:
        insert_user(conn, "u-names-1")
        insert_user(conn, "u-names-2")
        library = conn.execute(
            "SELECT category_id, name, keypoints FROM poses WHERE owner_id IS NULL LIMIT 1"
        ).fetchone()
        insert = (
            "INSERT INTO poses (id, category_id, name, difficulty, gender_suitability, keypoints, owner_id, visibility)"
            " VALUES (%s, %s, %s, 'beginner', 'unisex', %s, %s, %s)"
        )
        keypoints = psycopg.types.json.Jsonb(library[2])
        for pose_id, owner in (("pv-1", "u-names-1"), ("pv-2", "u-names-2")):
            conn.execute(insert, (pose_id, library[0], library[1], keypoints, owner, "private"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("pv-3", library[0], library[1], keypoints, "u-names-1", "private"))
        conn.rollback()
        for pose_id, owner, visibility in (("pv-4", None, "private"), ("pv-5", "u-names-1", "public")):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(insert, (pose_id, library[0], "Other", keypoints, owner, visibility))
            conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, ("pv-6", library[0], library[1], keypoints, None, "public"))
        conn.rollback()
