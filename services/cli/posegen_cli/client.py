"""``posegen generate``, ``posegen library`` and ``posegen status``: the gateway's API from the terminal, with
live progress from the relay drawn as one rich progress bar per image."""

from __future__ import annotations

import asyncio
import json

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from posegen.contracts import API_PREFIX, TERMINAL_EVENT_TYPES

console = Console()


class ClientSettings(BaseSettings):
    """Where the cluster is, as the client sees it (``POSEGEN_API_URL``, ``POSEGEN_RELAY_URL``,
    ``POSEGEN_TOKEN``); without a token, a development token is minted when ``JWT_SECRET`` is known."""

    model_config = SettingsConfigDict(env_prefix="POSEGEN_", env_file=".env", extra="ignore", env_ignore_empty=True)

    api_url: str = "http://localhost:3000"
    relay_url: str = "ws://localhost:3001/pose-generator-ws"
    token: str = ""


def dev_token(ttl_seconds: int = 3600) -> str:
    """An admin token for the local cluster's ``dev-user``, signed with ``JWT_SECRET``."""
    from posegen.auth import mint_token
    from posegen.settings import AuthSettings, load_settings

    auth = load_settings(AuthSettings)
    return mint_token(
        user_id="dev-user",
        role="admin",
        ttl_seconds=ttl_seconds,
        secret=auth.jwt_secret.get_secret_value(),
        algorithm=auth.jwt_algorithm,
    )


def exit_on_error(response: httpx.Response) -> None:
    """Exit with the status and the gateway's error message (or the body) when ``response`` is an error."""
    if response.status_code < 400:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    raise SystemExit(f"error: {response.status_code} {message}")


class Api:
    def __init__(self, token: str | None, settings: ClientSettings | None = None) -> None:
        """The gateway's API (``POSEGEN_API_URL`` unless ``settings`` say otherwise), called with ``token``
        (``--token``), else ``POSEGEN_TOKEN``, else a development token."""
        self.settings = settings or ClientSettings()
        self.token = token or self.settings.token or dev_token()
        self.http = httpx.Client(
            base_url=self.settings.api_url + API_PREFIX, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
        )

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        exit_on_error(response)
        return response.json() if response.content else {}


def library(args) -> int:
    api = Api(args.token)
    filters = {"search": args.search, "category": args.category}
    params = {"limit": args.limit} | {name: value for name, value in filters.items() if value}
    result = api.call("GET", "/library", params=params)
    if args.json:
        for pose in result["items"]:
            line = {k: pose[k] for k in ("id", "name", "difficulty", "tags")} | {"category": pose["category"]["slug"]}
            print(json.dumps(line))
        return 0
    table = Table(title=f"{result['pagination']['total']} poses")
    table.add_column("id", no_wrap=True)
    for column in ("name", "category", "difficulty", "tags"):
        table.add_column(column)
    for pose in result["items"]:
        table.add_row(pose["id"], pose["name"], pose["category"]["name"], pose["difficulty"], ", ".join(pose["tags"]))
    console.print(table)
    return 0


def status(args) -> int:
    api = Api(args.token)
    generation = api.call("GET", f"/generations/{args.generation_id}")
    progress = generation["progress"]
    console.print(
        f"[bold]{generation['id']}[/]: {generation['status']}, {progress['percentage']:.0f}% "
        f"({progress['posesCompleted']}/{progress['posesTotal']} images, {progress['posesFailed']} failed)"
    )
    for pose in generation["poses"]:
        print(f"  {pose['variationKey']}: {pose['status']} {pose['imageUrl'] or pose['errorMessage'] or ''}")
    return 0


def generate(args, api: Api | None = None) -> int:
    """Submit (and with ``--watch`` follow) a generation through ``api``, by default the one of ``--token`` and
    ``POSEGEN_API_URL``/``POSEGEN_RELAY_URL``."""
    api = api or Api(args.token)
    project = args.project or api.call("POST", "/projects", json={"projectName": "CLI generations"})["id"]
    body = {
        "projectId": project,
        "selectedPoseIds": [p for p in args.poses.split(",") if p],
        "variationsPerPose": args.variations,
        "steps": args.steps,
        "width": args.size,
        "height": args.size,
    }
    if args.prompt:
        body["prompt"] = args.prompt
    if args.seed is not None:
        body["seed"] = args.seed
    if getattr(args, "identity_strength", None) is not None:
        body["identityStrength"] = args.identity_strength
    if not args.watch:
        accepted = api.call("POST", "/generate", json=body)
        console.print(f"queued {accepted['generationId']} ({accepted['posesTotal']} images)")
        return 0
    return asyncio.run(_watch(api, body))


async def _watch(api: Api, body: dict) -> int:
    from websockets.asyncio.client import connect

    async with connect(api.settings.relay_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": api.token}))
        greeting = json.loads(await ws.recv())
        if greeting.get("event") != "connected":
            raise SystemExit(f"error: the relay refused the token: {greeting}")
        accepted = await asyncio.to_thread(api.call, "POST", "/generate", json=body)
        generation_id = accepted["generationId"]
        console.print(
            f"generation {generation_id}: {accepted['posesTotal']} images, {accepted['creditCharged']} credits"
        )
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bars:
            tasks = {i: bars.add_task(f"image {i + 1}", total=body["steps"]) for i in range(accepted["posesTotal"])}
            async for raw in ws:
                message = json.loads(raw)
                event = message.get("data", {})
                if message.get("event") != "pose-generation-update" or event.get("generationId") != generation_id:
                    continue
                if event["type"] == "progress":
                    bars.update(tasks[event["poseIndex"]], completed=event["step"])
                elif event["type"] == "pose_completed":
                    bars.update(
                        tasks[event["poseIndex"]],
                        completed=body["steps"],
                        description=f"image {event['poseIndex'] + 1} ✓",
                    )
                elif event["type"] == "pose_failed":
                    bars.update(tasks[event["poseIndex"]], description=f"image {event['poseIndex'] + 1} failed")
                if event["type"] in TERMINAL_EVENT_TYPES:
                    break
    console.print(f"{event['type']}")
    results = api.call("GET", f"/generations/{generation_id}/results")["results"]
    for result in results:
        print(f"  {result['variationKey']}: {result['imageUrl']}")  # plain: a URL must not be wrapped
    return 0 if event["type"] == "completed" else 1
