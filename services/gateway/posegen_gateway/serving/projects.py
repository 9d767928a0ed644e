from __future__ import annotations

import uuid

from psycopg import Connection
from pydantic.alias_generators import to_camel

from posegen import images
from posegen.db import projects as projects_db
from posegen.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, UnprocessableEntity
from posegen.storage import Storage, UrlSigner
from posegen_gateway.safe_fetch import FetchForbidden, FetchRefused, FetchTooLarge, fetch_public_https
from posegen_gateway.schemas.common import Page, PageQuery, Pagination
from posegen_gateway.schemas.projects import Project, ProjectCreate, ProjectUpdate

AVATAR_FETCH_TIMEOUT_SECONDS = 10.0


def to_project(row: dict, signer: UrlSigner) -> Project:
    avatar = row["avatar_image"]
    return Project(
        id=row["id"],
        project_name=row["name"],
        description=row["description"],
        avatar_source=row["avatar_source"],
        avatar_image_url=signer.url(avatar) if avatar else None,
        status=row["status"],
        generation_count=row.get("generation_count"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _owned(conn: Connection, user_id: str, project_id: str, *, for_update: bool = False) -> dict:
    row = projects_db.get_project(conn=conn, user_id=user_id, project_id=project_id, for_update=for_update)
    if row is None:
        raise NotFound("project not found")
    return row


def store_avatar(*, storage: Storage, project_id: str, data: bytes) -> str:
    """Decode untrusted bytes, re-encode them as PNG and store them; return the storage key."""
    try:
        image = images.decode_image(data)
    except images.ImageRejected as error:
        if len(data) > images.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(str(error), field="file") from None
        raise BadRequest(str(error), field="file") from None
    key = f"avatars/{project_id}/{uuid.uuid4().hex}.png"
    storage.write(key, images.normalise_avatar(image))
    return key


def fetch_avatar(*, storage: Storage, project_id: str, url: str, field: str, allowed_hosts: tuple[str, ...]) -> str:
    try:
        data = fetch_public_https(
            url,
            max_bytes=images.MAX_UPLOAD_BYTES,
            timeout_seconds=AVATAR_FETCH_TIMEOUT_SECONDS,
            allowed_hosts=allowed_hosts,
        )
    except FetchForbidden as error:
        raise Forbidden(str(error), field=field) from None
    except FetchTooLarge as error:
        raise PayloadTooLarge(str(error), field=field) from None
    except FetchRefused as error:
        raise BadRequest(str(error), field=field) from None
    try:
        return store_avatar(storage=storage, project_id=project_id, data=data)
    except BadRequest as error:
        raise BadRequest(error.message, field=field) from None
    except PayloadTooLarge as error:
        raise PayloadTooLarge(error.message, field=field) from None


def create_project(
    *,
    conn: Connection,
    user_id: str,
    body: ProjectCreate,
    storage: Storage,
    signer: UrlSigner,
    avatar_hosts: tuple[str, ...] = (),
) -> Project:
    project_id = str(uuid.uuid4())
    avatar_key = None
    if body.avatar_image_url:
        avatar_key = fetch_avatar(
            storage=storage,
            project_id=project_id,
            url=body.avatar_image_url,
            field="avatarImageUrl",
            allowed_hosts=avatar_hosts,
        )
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
    return to_project(row, signer)


def list_projects(*, conn: Connection, user_id: str, page: PageQuery, signer: UrlSigner) -> Page[Project]:
    rows, total = projects_db.list_projects(conn=conn, user_id=user_id, limit=page.capped_limit, offset=page.offset)
    return Page[Project](
        items=[to_project(row, signer) for row in rows],
        pagination=Pagination.of(page=page.page, limit=page.capped_limit, total=total),
    )


def get_project(*, conn: Connection, user_id: str, project_id: str, signer: UrlSigner) -> Project:
    return to_project(_owned(conn, user_id, project_id), signer)


def update_project(
    *, conn: Connection, user_id: str, project_id: str, body: ProjectUpdate, signer: UrlSigner
) -> Project:
    changes = body.model_dump(exclude_unset=True)
    nulls = [name for name in ("project_name", "status") if name in changes and changes[name] is None]
    if nulls:
        raise UnprocessableEntity(f"{to_camel(nulls[0])} cannot be null", field=to_camel(nulls[0]))
    if "project_name" in changes:
        changes["name"] = changes.pop("project_name")
    row = projects_db.update_project(conn=conn, user_id=user_id, project_id=project_id, changes=changes)
    if row is None:
        raise NotFound("project not found")
    return to_project(row, signer)


def delete_project(*, conn: Connection, user_id: str, project_id: str, storage: Storage) -> None:
    with conn.transaction():
        _owned(conn, user_id, project_id, for_update=True)
        if projects_db.has_active_generations(conn=conn, project_id=project_id):
            raise Conflict("the project has a generation that is queued or processing; cancel it first")
        projects_db.delete_project(conn=conn, project_id=project_id)
    storage.delete_prefix(f"avatars/{project_id}")


def set_avatar(*, conn: Connection, user_id: str, project_id: str, key: str, source: str, signer: UrlSigner) -> Project:
    row = projects_db.update_project(
        conn=conn,
        user_id=user_id,
        project_id=project_id,
        changes={"avatar_image": key, "avatar_source": source},
    )
    if row is None:
        raise NotFound("project not found")
    return to_project(row, signer)


def require_project(*, conn: Connection, user_id: str, project_id: str) -> dict:
    return _owned(conn, user_id, project_id)
