"""Read queries over the pose library: filtered listing, one pose, the category tree.

A viewer sees the public library and its own private poses, never another user's: every query a user's
request makes takes ``viewer`` and filters with :data:`VISIBLE`. Deleted private poses are hidden too (their
rows stay for the generations that used them).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection

from posegen.db import fetch_page

_POSE_COLUMNS = """
p.id, p.category_id, p.name, p.description, p.tags, p.difficulty, p.gender_suitability,
p.is_featured, p.is_premium, p.usage_count, p.created_at, p.owner_id, p.visibility, p.source_extraction_id,
c.slug AS category_slug, c.name AS category_name, c.parent_id AS category_parent_id
"""
VISIBLE = "(p.owner_id IS NULL OR p.owner_id = %(viewer)s) AND p.deleted_at IS NULL"
"""The poses ``viewer`` may see: the public library and its own live private poses."""
PUBLIC = "p.owner_id IS NULL"


@dataclass(frozen=True, slots=True)
class PoseFilter:
    category: str | None = None
    search: str | None = None
    difficulty: str | None = None
    gender_suitability: str | None = None
    featured: bool | None = None
    premium: bool | None = None
    mine: bool = False
    """Only the viewer's own private poses."""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(filters: PoseFilter, viewer: str) -> tuple[str, dict]:
    clauses: list[str] = [VISIBLE]
    params: dict = {"viewer": viewer}
    if filters.mine:
        clauses.append("p.owner_id = %(viewer)s")
    if filters.category:
        clauses.append(
            "p.category_id IN (SELECT x.id FROM pose_categories x JOIN pose_categories f"
            " ON x.id = f.id OR x.parent_id = f.id WHERE f.id = %(category)s OR f.slug = %(category)s)"
        )
        params["category"] = filters.category
    if filters.search:
        clauses.append(
            "(p.name ILIKE %(search)s OR p.description ILIKE %(search)s"
            " OR EXISTS (SELECT 1 FROM unnest(p.tags) AS tag WHERE tag ILIKE %(search)s))"
        )
        params["search"] = _like(filters.search)
    for column, value in (
        ("difficulty", filters.difficulty),
        ("gender_suitability", filters.gender_suitability),
        ("is_featured", filters.featured),
        ("is_premium", filters.premium),
    ):
        if value is not None:
            clauses.append(f"p.{column} = %({column})s")
            params[column] = value
    return " WHERE " + " AND ".join(clauses), params


def list_poses(
    *, conn: Connection, filters: PoseFilter, viewer: str, limit: int, offset: int
) -> tuple[list[dict], int]:
    where, params = _where(filters, viewer)
    query = (
        f"SELECT {_POSE_COLUMNS}, count(*) OVER () AS total FROM poses p"
        f" JOIN pose_categories c ON c.id = p.category_id{where} ORDER BY p.is_featured DESC, p.name, p.id"
    )
    return fetch_page(conn, dict, query, params, limit=limit, offset=offset)


def get_pose(*, conn: Connection, pose_id: str, viewer: str) -> dict | None:
    return conn.execute(
        f"SELECT {_POSE_COLUMNS}, p.keypoints FROM poses p JOIN pose_categories c ON c.id = p.category_id"
        f" WHERE p.id = %(id)s AND {VISIBLE}",
        {"id": pose_id, "viewer": viewer},
    ).fetchone()


def get_keypoints(*, conn: Connection, pose_id: str, viewer: str) -> list | None:
    row = conn.execute(
        f"SELECT keypoints FROM poses p WHERE p.id = %(id)s AND {VISIBLE}", {"id": pose_id, "viewer": viewer}
    ).fetchone()
    return row["keypoints"] if row else None


def existing_pose_ids(*, conn: Connection, pose_ids: list[str], viewer: str) -> set[str]:
    """The ids among ``pose_ids`` that ``viewer`` may use: public poses and its own live private ones."""
    rows = conn.execute(
        f"SELECT id FROM poses p WHERE p.id = ANY(%(ids)s) AND {VISIBLE}", {"ids": pose_ids, "viewer": viewer}
    ).fetchall()
    return {row["id"] for row in rows}


def refresh_usage_counts(*, conn: Connection) -> int:
    """Set each pose's ``usage_count`` to the number of generations that used it; return the rows changed.

    Counting in the background instead of incrementing on every ``POST /generate`` keeps a popular pose's
    row from becoming a lock that every user's request queues on.
    """
    return conn.execute(
        "UPDATE poses p SET usage_count = c.n FROM (SELECT p2.id, count(gp.pose_id) AS n FROM poses p2"
        " LEFT JOIN generation_poses gp ON gp.pose_id = p2.id GROUP BY p2.id) c"
        " WHERE p.id = c.id AND p.usage_count <> c.n"
    ).rowcount


def category_tree(*, conn: Connection, viewer: str) -> list[dict]:
    """Root categories with their children; a parent's ``pose_count`` includes its children's poses (those
    ``viewer`` sees)."""
    rows = conn.execute(
        "SELECT c.id, c.slug, c.name, c.description, c.parent_id, c.icon, c.color, c.display_order,"
        f" (SELECT count(*) FROM poses p WHERE p.category_id = c.id AND {VISIBLE}) AS own_count"
        " FROM pose_categories c ORDER BY c.display_order, c.name",
        {"viewer": viewer},
    ).fetchall()
    nodes = {row["id"]: {**row, "children": [], "pose_count": row["own_count"]} for row in rows}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)
    for root in roots:
        root["pose_count"] = root["own_count"] + sum(child["pose_count"] for child in root["children"])
    return roots


def find_category(*, conn: Connection, category: str) -> dict | None:
    """A category by id or slug."""
    return conn.execute(
        "SELECT id, slug, name FROM pose_categories WHERE id = %(c)s OR slug = %(c)s", {"c": category}
    ).fetchone()


def poses_by_id(*, conn: Connection, pose_ids: list[str]) -> dict[str, dict]:
    """Keypoints and words of a generation's poses (already checked when it was submitted; a private pose
    deleted since is still found, so the generation can finish)."""
    rows = conn.execute("SELECT id, name, description, keypoints FROM poses WHERE id = ANY(%s)", (pose_ids,)).fetchall()
    return {row["id"]: row for row in rows}


def match_poses(*, conn: Connection, text: str, limit: int) -> list[dict]:
    """Public library poses that best match a free-text description (words found in name, tags and
    description), featured poses first when nothing matches; used to give text-mode images a body pose to
    follow. Private poses are never matched: they are their owner's alone."""
    words = [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if len(w) > 2]
    return conn.execute(
        "SELECT id, name, description, keypoints,"
        " (SELECT count(*) FROM unnest(%(words)s::text[]) w WHERE p.name ILIKE '%%' || w || '%%'"
        "   OR p.description ILIKE '%%' || w || '%%' OR w = ANY(p.tags)) AS score"
        f" FROM poses p WHERE {PUBLIC} ORDER BY score DESC, is_featured DESC, name LIMIT %(limit)s",
        {"words": words, "limit": limit},
    ).fetchall()
