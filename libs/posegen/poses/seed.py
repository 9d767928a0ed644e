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


_UPSERT_CATEGORY = """
INSERT INTO pose_categories (id, slug, name, description, parent_id, icon, color, display_order)
VALUES (%(id)s, %(slug)s, %(name)s, %(description)s, %(parent_id)s, %(icon)s, %(color)s, %(display_order)s)
ON CONFLICT (slug) DO UPDATE SET
    name = EXCLUDED.name, description = EXCLUDED.description, parent_id = EXCLUDED.parent_id,
    icon = EXCLUDED.icon, color = EXCLUDED.color, display_order = EXCLUDED.display_order, updated_at = now()
WHERE (pose_categories.name, pose_categories.description, pose_categories.parent_id, pose_categories.icon,
       pose_categories.color, pose_categories.display_order)
   IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.parent_id, EXCLUDED.icon,
                     EXCLUDED.color, EXCLUDED.display_order)
RETURNING id
"""

_UPSERT_POSE = """
INSERT INTO poses (id, category_id, name, description, tags, difficulty, gender_suitability,
                   is_featured, is_premium, keypoints)
VALUES (%(id)s, %(category_id)s, %(name)s, %(description)s, %(tags)s, %(difficulty)s,
        %(gender_suitability)s, %(is_featured)s, %(is_premium)s, %(keypoints)s)
ON CONFLICT (category_id, name) WHERE owner_id IS NULL DO UPDATE SET
    description = EXCLUDED.description, tags = EXCLUDED.tags, difficulty = EXCLUDED.difficulty,
    gender_suitability = EXCLUDED.gender_suitability, is_featured = EXCLUDED.is_featured,
    is_premium = EXCLUDED.is_premium, keypoints = EXCLUDED.keypoints, updated_at = now()
WHERE (poses.description, poses.tags, poses.difficulty, poses.gender_suitability, poses.is_featured,
       poses.is_premium, poses.keypoints)
   IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.tags, EXCLUDED.difficulty, EXCLUDED.gender_suitability,
                     EXCLUDED.is_featured, EXCLUDED.is_premium, EXCLUDED.keypoints)
RETURNING id
"""


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
