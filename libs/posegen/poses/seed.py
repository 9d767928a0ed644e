"""Writes the pose library (categories and poses of :mod:`posegen.poses.catalog`) into PostgreSQL.

Idempotent: categories are upserted by slug and library poses by category + name, and a row is only written
when something in it changed, so a second run reports everything unchanged and touches no row. Private poses
(with an owner) are never touched; poses added to the library by an approved pose request are kept.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from psycopg import Connection
from psycopg.types.json import Jsonb

from posegen.poses.catalog import CATEGORIES, CategorySpec, PoseSpec, build_poses

_NAMESPACE = uuid.UUID("6f1d8c1e-8a53-4a55-9a3e-2f6f0c7b9d10")


def category_id(slug: str) -> str:
    """Stable across databases, so pose ids in clients and tests survive a re-seed."""
    return str(uuid.uuid5(_NAMESPACE, f"category/{slug}"))


def pose_id(category_slug: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"pose/{category_slug}/{name}"))


@dataclass(frozen=True, slots=True)
class SeedReport:
    categories_written: int
    poses_written: int
    categories_total: int
    poses_total: int

    @property
    def changed(self) -> bool:
        return bool(self.categories_written or self.poses_written)


def _upsert(table: str, keys: str, conflict: str, columns: str) -> str:
    """Insert a row (``id``, ``keys`` and ``columns``, comma-separated); on ``conflict`` update its ``columns``,
    but only when one of them changed, so that ``rowcount`` counts the rows really written."""
    updated = columns.split(", ")
    names = ["id", *keys.split(", "), *updated]
    return f"""
INSERT INTO {table} ({", ".join(names)}) VALUES ({", ".join(f"%({name})s" for name in names)})
ON CONFLICT {conflict} DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in updated)}, updated_at = now()
WHERE ({", ".join(f"{table}.{c}" for c in updated)}) IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in updated)})
RETURNING id
"""


_UPSERT_CATEGORY = _upsert(
    "pose_categories", "slug", "(slug)", "name, description, parent_id, icon, color, display_order"
)
_UPSERT_POSE = _upsert(
    "poses",
    "category_id, name",
    "(category_id, name) WHERE owner_id IS NULL",
    "description, tags, difficulty, gender_suitability, is_featured, is_premium, keypoints",
)


# The rows below carry the specs' other fields too (slugs); psycopg ignores keys a query does not name.
def _category_row(category: CategorySpec) -> dict:
    parent_id = category_id(category.parent_slug) if category.parent_slug else None
    return {**asdict(category), "id": category_id(category.slug), "parent_id": parent_id}


def _pose_row(spec: PoseSpec) -> dict:
    return {
        **asdict(spec),
        "id": pose_id(spec.category_slug, spec.name),
        "category_id": category_id(spec.category_slug),
        "tags": list(spec.tags),
        "keypoints": Jsonb(spec.keypoints),
    }


def seed_library(*, conn: Connection) -> SeedReport:
    """Upsert the whole library in one transaction (roots before their children)."""
    poses = build_poses()
    categories = sorted(CATEGORIES, key=lambda c: (c.parent_slug is not None, c.display_order))
    categories_written = poses_written = 0
    with conn.transaction(), conn.cursor() as cur:
        for category in categories:
            cur.execute(_UPSERT_CATEGORY, _category_row(category))
            categories_written += cur.rowcount
        for spec in poses:
            cur.execute(_UPSERT_POSE, _pose_row(spec))
            poses_written += cur.rowcount
    return SeedReport(categories_written, poses_written, len(categories), len(poses))
