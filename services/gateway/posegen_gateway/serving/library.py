from __future__ import annotations

from functools import lru_cache
from typing import TypeVar

from psycopg import Connection

from posegen.contracts import API_PREFIX
from posegen.db import library as library_db
from posegen_gateway.context import GatewayContext
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.library import CategoryRef, CategoryTree, PoseDetail, PoseSummary
from posegen_gateway.serving import or_404

P = TypeVar("P", bound=PoseSummary)


def _pose(model: type[P], row: dict, base_url: str) -> P:
    category = CategoryRef(
        id=row["category_id"], slug=row["category_slug"], name=row["category_name"], parent_id=row["category_parent_id"]
    )
    return model.model_validate(
        {
            **row,
            "category": category,
            "skeleton_url": f"{base_url}{API_PREFIX}/library/{row['id']}/skeleton.png",
            "is_private": row["visibility"] == "private",
        }
    )


def listing_key(filters: library_db.PoseFilter, page: PageQuery, viewer: str) -> tuple | None:
    """The cache key of a page as ``viewer`` sees it (its own private poses are in it), or None: the
    viewer's own poses alone (``mine``) are always read fresh."""
    return None if filters.mine else (viewer, filters, page.page, page.capped_limit)


def load_listing_json(*, ctx: GatewayContext, filters: library_db.PoseFilter, page: PageQuery, viewer: str) -> bytes:
    """Query one page of the library as JSON and keep it in the context's short-lived cache."""
    with ctx.pool.connection() as conn:
        result = list_poses(conn=conn, filters=filters, page=page, base_url=ctx.settings.public_base_url, viewer=viewer)
    body = result.model_dump_json(by_alias=True).encode()
    key = listing_key(filters, page, viewer)
    if key is not None:
        ctx.library_cache.put(key, body)
    return body


def forget_listings(ctx: GatewayContext, viewer: str | None = None) -> None:
    """Drop this process's cached pages of ``viewer`` (after it changed its own poses), or every page (after
    the public library changed). Other gateway processes catch up within the cache's 10 seconds."""
    ctx.library_cache.discard(lambda key: viewer is None or key[0] == viewer)


def list_poses(
    *, conn: Connection, filters: library_db.PoseFilter, page: PageQuery, base_url: str, viewer: str
) -> Page[PoseSummary]:
    rows, total = library_db.list_poses(
        conn=conn, filters=filters, viewer=viewer, limit=page.capped_limit, offset=page.offset
    )
    return Page[PoseSummary].of([_pose(PoseSummary, row, base_url) for row in rows], page, total)


def pose_detail(*, conn: Connection, pose_id: str, base_url: str, viewer: str) -> PoseDetail:
    row = or_404(library_db.get_pose(conn=conn, pose_id=pose_id, viewer=viewer), "pose not found")
    return _pose(PoseDetail, row, base_url)


def skeleton_png(*, conn: Connection, pose_id: str, size: int, viewer: str) -> bytes:
    keypoints = or_404(library_db.get_keypoints(conn=conn, pose_id=pose_id, viewer=viewer), "pose not found")
    return _render(tuple(tuple(p) if p else None for p in keypoints), size)


@lru_cache(maxsize=512)
def _render(keypoints: tuple, size: int) -> bytes:
    from posegen.poses.render import render_skeleton_png

    return render_skeleton_png([list(p) if p else None for p in keypoints], size, size)


def category_tree(*, conn: Connection, viewer: str) -> CategoryTree:
    return CategoryTree(categories=library_db.category_tree(conn=conn, viewer=viewer))
