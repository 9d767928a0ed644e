"""Entry point: ``posegen gateway``."""

from __future__ import annotations

import uvicorn

from posegen.logs import configure_logging
from posegen.settings import GatewaySettings, load_settings
from posegen_gateway.app import create_app


def main() -> int:
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
    )
    return 0
