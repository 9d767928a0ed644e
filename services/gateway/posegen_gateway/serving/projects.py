from __future__ import annotations

import uuid
from collections.abc import Callable

from psycopg import Connection
from pydantic.alias_generators import to_camel

from posegen import images
from posegen.db import projects as projects_db
from posegen.errors import BadRequest, Conflict, Forbidden, PayloadTooLarge, UnprocessableEntity
from posegen.storage import Storage, UrlSigner
from posegen_gateway.context import GatewayContext
from posegen_gateway.safe_fetch import FetchForbidden, FetchRefused, FetchTooLarge, fetch_public_https
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.projects import Project, ProjectCreate, ProjectUpdate
from posegen_gateway.serving import or_404
from posegen_gateway.uploads import decode_upload


def to_project(row: dict, signer: UrlSigner) -> Project:
    avatar = row["avatar_image"]
    return Project.model_validate(
        {**row, "project_name": row["name"], "avatar_image_url": signer.url(avatar) if avatar else None}
    )


def require_project(*, conn: Connection, user_id: str, project_id: str, for_update: bool = False) -> dict:
    row = projects_db.get_project(conn=conn, user_id=user_id, project_id=project_id, for_update=for_update)
    return or_404(row, "project not found")


def store_avatar(*, storage: Storage, project_id: str, data: bytes, field: str = "file") -> str:
    """Decode untrusted bytes, re-encode them as PNG and store them; return the storage key."""
    image = decode_upload(data, field=field)
    key = f"avatars/{project_id}/{uuid.uuid4().hex}.png"
    storage.write(key, images.normalise_avatar(image))
    return key


def fetch_avatar(*, ctx: GatewayContext, project_id: str, url: str, field: str) -> str:
    """Fetch the avatar at ``url`` (only from the hosts the settings allow) and store it like an upload."""
    try:
        data = fetch_public_https(url, max_bytes=images.MAX_UPLOAD_BYTES, allowed_hosts=ctx.settings.avatar_hosts)
    except FetchForbidden as error:
        raise Forbidden(str(error), field=field) from None
    except FetchTooLarge as error:
        raise PayloadTooLarge(str(error), field=field) from None
    except FetchRefused as error:
        raise BadRequest(str(error), field=field) from None
    return store_avatar(storage=ctx.storage, project_id=project_id, data=data, field=field)


def create_project(*, ctx: GatewayContext, conn: Connection, user_id: str, body: ProjectCreate) -> Project:
    project_id = str(uuid.uuid4())
    avatar_key = None
    if body.avatar_image_url:
        avatar_key = fetch_avatar(ctx=ctx, project_id=project_id, url=body.avatar_image_url, field="avatarImageUrl")
    source = body.avatar_source or ("URL" if avatar_key else None)
    row = projects_db.create_project(
        conn=conn,
        user_id=user_id,
        name=body.project_name,
        description=body.description,
        avatar_source=source,
        avatar_image=avatar_key,
        project_id=project_id,
    )
    return to_project(row, ctx.signer)


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
    *, conn: Connection, user_id: str, project_id: str, store: Callable[[], str], source: str, signer: UrlSigner
) -> Project:
    """``store`` writes the new avatar and returns its key; it runs once the project is known to be the caller's."""
    require_project(conn=conn, user_id=user_id, project_id=project_id)
    return _update(conn, user_id, project_id, {"avatar_image": store(), "avatar_source": source}, signer)
