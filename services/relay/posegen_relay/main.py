"""Entry point: ``posegen relay``. SIGTERM or SIGINT stops accepting and closes clients with 1001."""

from __future__ import annotations

import asyncio
import signal

from posegen.logs import configure_logging
from posegen.settings import RelaySettings, load_settings
from posegen_relay.server import run


async def _serve(settings: RelaySettings) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await run(settings, stop=stop)


def main() -> int:
    settings = load_settings(RelaySettings)
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(_serve(settings))
    return 0
