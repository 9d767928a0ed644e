"""The web page at ``/`` (plain HTML, JS and CSS from ``web/``, no build step) and its small config."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from posegen_gateway.deps import ContextDep

WEB_DIR = Path(__file__).resolve().parent / "web"
router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/web/config.json")
async def config(ctx: ContextDep) -> dict:
    return {"relayUrl": ctx.settings.relay_public_url}


def install_web(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
