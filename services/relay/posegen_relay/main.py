"""Entry point: ``posegen relay``."""

from __future__ import annotations

import asyncio
import contextlib

from posegen.logs import configure_logging
from posegen.settings import RelaySettings, load_settings
from posegen_relay.server import run


def main() -> int:
    settings = load_settings(RelaySettings)
    configure_logging(settings.log_format, settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings))
    return 0
