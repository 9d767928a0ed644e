"""``posegen export``: a generation's images in chosen formats, downloaded as the gateway's ZIP with a
progress bar. Importing this module is cheap (the parser is built for every command); the client's stack is
imported when the command runs."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

_FILENAME = re.compile(r'filename="([^"/\\]+)"')


def add_parser(commands) -> argparse.ArgumentParser:
    export = commands.add_parser("export", help="download a generation's images as a ZIP in chosen formats")
    export.add_argument("generation_id")
    export.add_argument("--formats", default="original", help="comma-separated format keys (GET /formats)")
    export.add_argument("--out", default=".", help="the folder to write the ZIP into (created if missing)")
    export.add_argument("--token", default=None, help="a JWT (default: POSEGEN_TOKEN, or a dev token)")
    return export


def export(args: argparse.Namespace) -> int:
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

    from posegen_cli.client import Api, console, exit_on_error

    api = Api(args.token)
    generation = api.call("GET", f"/generations/{args.generation_id}")
    formats = [f for f in args.formats.split(",") if f]
    expected = generation["posesCompleted"] * len(formats)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    url = f"/generations/{args.generation_id}/export"
    with api.http.stream("GET", url, params={"formats": args.formats}, timeout=httpx.Timeout(30, read=600)) as response:
        if response.status_code >= 400:
            response.read()
            exit_on_error(response)
        found = _FILENAME.search(response.headers.get("content-disposition", ""))
        target = out / (found.group(1) if found else f"posegen-{args.generation_id[:8]}.zip")
        partial = target.with_name(target.name + ".part")
        with Progress(*columns, console=console) as bar, open(partial, "wb") as handle:
            # The ZIP is made while it streams, so its size is not known in advance: the bar counts bytes.
            task = bar.add_task(f"{expected} files", total=None)
            for chunk in response.iter_bytes():
                handle.write(chunk)
                bar.advance(task, len(chunk))
            bar.update(task, total=bar.tasks[0].completed)
        os.replace(partial, target)
    console.print(f"wrote {target} ({target.stat().st_size / 2**20:.1f} MiB, {expected} files + manifest.json)")
    return 0
