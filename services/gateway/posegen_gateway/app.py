"""The FastAPI application factory; connections open in the lifespan, never at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from posegen import __version__
from posegen.settings import GatewaySettings
from posegen_gateway import health
from posegen_gateway.context import GatewayContext
from posegen_gateway.errors import install_error_handlers
from posegen_gateway.guards import RejectNulMiddleware
from posegen_gateway.metrics import MetricsMiddleware, metrics_server
from posegen_gateway.openapi import install_openapi, operation_id
from posegen_gateway.reconcile import Reconciler
from posegen_gateway.routers import (
    credits,
    exports,
    files,
    generations,
    library,
    pose_requests,
    poses,
    projects,
    stats,
)
from posegen_gateway.schemas.projects import AvatarUrl
from posegen_gateway.web import install_web

log = logging.getLogger("posegen.gateway")

DESCRIPTION = """Turns a person's avatar and a library of body poses into images (Stable Diffusion 1.5 with an
OpenPose ControlNet). Every route but the health routes and signed file URLs needs
`Authorization: Bearer <JWT>`. Errors use one envelope: `{success: false, error: {message, code, statusCode,
field?}, timestamp}`. Live progress comes over the WebSocket relay at `/pose-generator-ws`. The repository's
docs/api.md, docs/events.md and docs/websocket.md describe the same contract in prose."""


def create_app(settings: GatewaySettings, *, run_reconciler: bool = True, metrics_port: int | None = None) -> FastAPI:
    """``metrics_port``: where the lifespan serves ``/metrics`` (0: a free port; ``app.state.metrics_port``
    says which), or nowhere when None."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = GatewayContext.open(settings)
        app.state.context = context
        reconciler = Reconciler(
            pool=context.pool, connection=context.redis, publish=context.publish, storage=context.storage
        )
        metrics = None
        try:
            if metrics_port is not None:
                metrics = metrics_server(settings.gateway_host, metrics_port, context.metrics.registry)
                metrics.start()
                app.state.metrics_port = metrics.port
                log.info("gateway metrics on :%s/metrics", metrics.port)
            if run_reconciler:
                reconciler.start()
            yield
        finally:
            if run_reconciler:
                reconciler.stop()
            if metrics is not None:
                metrics.stop()
            context.close()

    app = FastAPI(
        title="Pose Generator",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    origins = [origin.strip() for origin in settings.cors_origin.split(",") if origin.strip()]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials="*" not in origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        expose_headers=[
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Idempotent-Replayed",
        ],
    )
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(MetricsMiddleware)
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (library, poses, pose_requests, projects, generations, exports, stats, credits, files):
        app.include_router(module.router)
    install_web(app)
    install_openapi(app, extra_models=(AvatarUrl,))
    return app
