from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from posegen.contracts import API_PREFIX
from posegen_gateway.deps import ConnDep, ContextDep, IdPath, UserDep, json_response, with_connection
from posegen_gateway.errors import error_responses
from posegen_gateway.idempotency import Idempotency, KeyHeader
from posegen_gateway.openapi import links
from posegen_gateway.schemas.common import Page, PageQuery
from posegen_gateway.schemas.generations import (
    CancelResult,
    GenerateAccepted,
    GenerateRequest,
    Generation,
    GenerationStatus,
    GenerationSummary,
    Results,
)
from posegen_gateway.serving import generate, generations

router = APIRouter(prefix=API_PREFIX, tags=["generations"], responses=error_responses())
RATE_HEADERS = {
    name: {"schema": {"type": "string"}, "description": description}
    for name, description in {
        "X-RateLimit-Limit": "requests allowed per window",
        "X-RateLimit-Remaining": "requests left in the current window",
        "X-RateLimit-Reset": "Unix time when the window has room again",
    }.items()
}


@router.post(
    "/generate",
    status_code=202,
    response_model=GenerateAccepted,
    responses={
        202: {
            "headers": RATE_HEADERS,
            "links": links(
                "generation_id", "generationId", "getGeneration", "getResults", "cancelGeneration", "exportGeneration"
            ),
        },
        **error_responses(400, 402, 409, 422, 429, 503),
    },
)
async def create_generation(user: UserDep, ctx: ContextDep, body: GenerateRequest, key: KeyHeader = None) -> Response:
    """Charges ``CREDITS_PER_POSE`` x images with the generation in one transaction, then enqueues it. With an
    ``Idempotency-Key``, a retry within 24 hours gets the first answer and is not charged again."""
    idempotency = Idempotency.of(key, user_id=user.user_id, route="generate", request=body.model_dump(mode="json"))
    accepted, headers = await with_connection(
        ctx, generate.create_generation, ctx=ctx, user=user, body=body, idempotency=idempotency
    )
    return json_response(accepted, status_code=202, headers=headers)


@router.get("/generations", response_model=Page[GenerationSummary])
def list_generations(
    user: UserDep,
    ctx: ContextDep,
    conn: ConnDep,
    page: Annotated[PageQuery, Query()],
    project_id: Annotated[str | None, Query(alias="projectId", max_length=64)] = None,
    status: GenerationStatus | None = None,
) -> Page[GenerationSummary]:
    """The caller's history, newest first, with a thumbnail each; filters ``projectId`` and ``status``."""
    return generations.list_generations(
        conn=conn, user_id=user.user_id, project_id=project_id, status=status, page=page, signer=ctx.signer
    )


@router.get("/generations/{generation_id}", response_model=Generation)
async def get_generation(user: UserDep, ctx: ContextDep, generation_id: IdPath) -> Response:
    generation = await with_connection(
        ctx, generations.get_generation, ctx=ctx, user_id=user.user_id, generation_id=generation_id
    )
    return json_response(generation)


@router.get("/generations/{generation_id}/results", response_model=Results)
def get_results(user: UserDep, ctx: ContextDep, conn: ConnDep, generation_id: IdPath) -> Results:
    return generations.get_results(conn=conn, user_id=user.user_id, generation_id=generation_id, signer=ctx.signer)


@router.post("/generations/{generation_id}/cancel", response_model=CancelResult)
def cancel_generation(user: UserDep, ctx: ContextDep, conn: ConnDep, generation_id: IdPath) -> CancelResult:
    return generations.cancel_generation(ctx=ctx, conn=conn, user_id=user.user_id, generation_id=generation_id)
