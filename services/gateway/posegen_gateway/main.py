"""Entry point: ``posegen gateway``."""

from __future__ import annotations

import logging
import signal

import uvicorn
from fastapi import FastAPI

from posegen.logs import configure_logging
from posegen.settings import GatewaySettings, RelaySettings, load_settings
from posegen.storage import check_at_startup, open_storage
from posegen_gateway.app import create_app


def app_factory() -> FastAPI:
    """Builds the settings and the app in each uvicorn worker process."""
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings, metrics_port=settings.gateway_metrics_port)
    if settings.gateway_serve_relay:
        from posegen_relay.server import with_relay

        return with_relay(app, load_settings(RelaySettings))
    return app


def main() -> int:
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_format, settings.log_level)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the previous handler:
    # this one turns it into a clean exit 0 instead of death by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    check_at_startup(open_storage(settings), logging.getLogger("posegen.gateway"))
    websocket = {}
    if settings.gateway_serve_relay:
        relay = load_settings(RelaySettings)
        websocket = dict(
            ws_max_size=relay.relay_max_message_bytes,
            ws_ping_interval=relay.relay_ping_interval,
            ws_ping_timeout=relay.relay_ping_timeout,
            ws_per_message_deflate=False,
        )
    uvicorn.run(
        "posegen_gateway.main:app_factory",
        factory=True,
        host=settings.gateway_host,
        port=settings.gateway_port,
        workers=settings.gateway_workers,
        log_config=None,
        access_log=False,
        **websocket,
    )
    return 0


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)
