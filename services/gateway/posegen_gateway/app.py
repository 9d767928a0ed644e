"""The FastAPI application factory; connections are opened in the lifespan, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI
from posegen import __version__
from posegen.db.pool import create_pool
from posegen.settings import GatewaySettings

from posegen_gateway import health


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = create_pool(
            settings.database_url, max_size=settings.database_pool_size, name="gateway"
        )
        app.state.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
        try:
            yield
        finally:
            app.state.redis.close()
            app.state.pool.close()

    app = FastAPI(title="Pose Generator", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.include_router(health.router)
    return app
