from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial

from psycopg import Connection
from pydantic.alias_generators import to_camel

from posegen import images
from posegen.db import projects as projects_db
from posegen.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, UnprocessableEntity
from posegen.membudget import MemoryBudget
from posegen.storage import Storage, UrlSigner
from posegen_gateway.context import GatewayContext
from posegen_gateway.safe_fetch import FetchForbidden, FetchRefused, FetchTooLarge
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.projects import Project, ProjectCreate, ProjectUpdate
from posegen_gateway.serving import or_404
from posegen_gateway.uploads import normalised_upload

log = logging.getLogger("posegen.gateway.projects")


def to_project(row: dict, signer: UrlSigner) -> Project:
    avatar = row["avatar_image"]
    return Project.model_validate(
        {**row, "project_name": row["name"], "avatar_image_url": signer.url(avatar) if avatar else None}
    )


def require_project(
    *, conn: Connection, user_id: str, project_id: str, for_update: bool = False, for_share: bool = False
) -> dict:
    row = projects_db.get_project(
        conn=conn, user_id=user_id, project_id=project_id, for_update=for_update, for_share=for_share
    )
    return or_404(row, "project not found")


def store_avatar(*, storage: Storage, budget: MemoryBudget, project_id: str, data: bytes, field: str = "file") -> str:
    """Decode untrusted bytes, re-encode them as PNG and store them; return the storage key."""
    png = normalised_upload(
        data, field=field, budget=budget, max_side=images.MAX_AVATAR_SIDE, normalise=images.normalise_avatar
    )
    key = f"avatars/{project_id}/{uuid.uuid4().hex}.png"
    storage.write(key, png)
    return key


def fetch_avatar(*, ctx: GatewayContext, user_id: str, project_id: str, url: str, field: str) -> str:
    """Fetch the avatar at ``url`` (only from the hosts the settings allow, within the user's rate limit and the
    fetch's one deadline) and store it like an upload."""
    ctx.user_limits.enforce("avatar-fetches", user_id)
    try:
        data = ctx.avatar_fetcher.fetch(url)
    except FetchForbidden as error:
        raise Forbidden(str(error), field=field) from None
    except FetchTooLarge as error:
        raise PayloadTooLarge(str(error), field=field) from None
    except FetchRefused as error:
        raise BadRequest(str(error), field=field) from None
    return store_avatar(storage=ctx.storage, budget=ctx.memory, project_id=project_id, data=data, field=field)


def create_project(*, ctx: GatewayContext, user_id: str, body: ProjectCreate) -> Project:
    """An avatar URL is fetched and stored before a database connection is taken (a slow URL holds none)."""
    project_id = str(uuid.uuid4())
    avatar_key = None
    if body.avatar_image_url:
        avatar_key = fetch_avatar(
            ctx=ctx, user_id=user_id, project_id=project_id, url=body.avatar_image_url, field="avatarImageUrl"
        )
    try:
        with ctx.pool.connection() as conn:
            row = projects_db.create_project(
                conn=conn,
                user_id=user_id,
                name=body.project_name,
                description=body.description,
                avatar_source=body.avatar_source or ("URL" if avatar_key else None),
                avatar_image=avatar_key,
                project_id=project_id,
            )
    except BaseException:
        if avatar_key:
            _forget_stored(avatar_key, partial(ctx.storage.delete, avatar_key))
        raise
    return to_project(row, ctx.signer)


def _forget_stored(what: str, delete: Callable[[], None]) -> None:
    """Best effort: an avatar stored for a project that is not there (never created, or deleted meanwhile)."""
    try:
        delete()
    except Exception as error:  # the request's own error is the one to report
        log.warning("could not delete %s: %s", what, error)


def list_projects(*, conn: Connection, user_id: str, page: PageQuery, signer: UrlSigner) -> Page[Project]:
    rows, total = projects_db.list_projects(conn=conn, user_id=user_id, limit=page.capped_limit, offset=page.offset)
    return Page[Project].of([to_project(row, signer) for row in rows], page, total)


def get_project(*, conn: Connection, user_id: str, project_id: str, signer: UrlSigner) -> Project:
    return to_project(require_project(conn=conn, user_id=user_id, project_id=project_id), signer)


def update_project(
    *, conn: Connection, user_id: str, project_id: str, body: ProjectUpdate, signer: UrlSigner
) -> Project:
    changes = body.model_dump(exclude_unset=True)
    nulls = [name for name in ("project_name", "status") if name in changes and changes[name] is None]
    if nulls:
        raise UnprocessableEntity(f"{to_camel(nulls[0])} cannot be null", field=to_camel(nulls[0]))
    if "project_name" in changes:
        changes["name"] = changes.pop("project_name")
    return _update(conn, user_id, project_id, changes, signer)


def _update(conn: Connection, user_id: str, project_id: str, changes: dict, signer: UrlSigner) -> Project:
    row = projects_db.update_project(conn=conn, user_id=user_id, project_id=project_id, changes=changes)
    return to_project(or_404(row, "project not found"), signer)


def delete_project(*, conn: Connection, user_id: str, project_id: str, storage: Storage) -> None:
    with conn.transaction():
        require_project(conn=conn, user_id=user_id, project_id=project_id, for_update=True)
        if projects_db.has_active_generations(conn=conn, project_id=project_id):
            raise Conflict("the project has a generation that is queued or processing; cancel it first")
        projects_db.delete_project(conn=conn, project_id=project_id)
    storage.delete_prefix(f"avatars/{project_id}")


def replace_avatar(
    *, ctx: GatewayContext, user_id: str, project_id: str, store: Callable[[], str], source: str
) -> Project:
    """``store`` writes the new avatar and returns its key; it runs once the project is known to be the caller's,
    and with no database connection held (it may fetch a URL until its deadline). The avatar it replaces is
    recorded as discarded in the same transaction and deleted right after, unless a generation still pins it."""
    with ctx.pool.connection() as conn:
        require_project(conn=conn, user_id=user_id, project_id=project_id)
    key = store()
    with ctx.pool.connection() as conn:
        with conn.transaction():
            row, discarded = projects_db.replace_avatar(
                conn=conn, user_id=user_id, project_id=project_id, key=key, source=source
            )
        if row is None:
            _forget_stored(key, partial(ctx.storage.delete, key))
            raise NotFound("project not found")
        if discarded:
            delete_discarded_avatars(conn=conn, storage=ctx.storage, keys=[discarded])
    return to_project(row, ctx.signer)


def delete_discarded_avatars(*, conn: Connection, storage: Storage, keys: list[str] | None = None) -> int:
    """Delete from storage the discarded avatars (``keys`` of them, all when None) that nothing pins any more,
    then their records; a failure leaves the record for the reconciler's next pass. Returns how many went."""
    deleted = 0
    for key in projects_db.deletable_avatars(conn=conn, keys=keys):
        try:
            storage.delete(key)
        except Exception as error:
            log.warning("could not delete the discarded avatar %s (the reconciler will retry): %s", key, error)
            continue
        projects_db.forget_discarded_avatar(conn=conn, key=key)
        deleted += 1
    return deleted
