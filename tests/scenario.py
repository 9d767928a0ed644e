"""A user with credits, a project and generations made the way the gateway makes them, and a real Redis
subscriber that collects the user's events: shared by the lifecycle, worker and reliability tests."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import redis
from psycopg.rows import dict_row

from posegen.contracts import parse_event, user_channel
from posegen.db import credits, projects
from posegen.db import generations as generations_db
from posegen.db.users import ensure_user
from posegen.plan import plan_images

CREDITS_PER_IMAGE = 30


class Scenario:
    """A user with credits, a project, and generations made the way the gateway makes them."""

    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_url)
        self.user_id = f"user-{uuid.uuid4().hex[:8]}"
        self.granted = 10_000
        with self.connect() as conn:
            ensure_user(conn=conn, user_id=self.user_id, role="user", email=None, starting_credits=0)
            credits.grant(
                conn=conn, user_id=self.user_id, amount=self.granted, reference_type="test", reference_id=self.user_id
            )
            self.project_id = projects.create_project(
                conn=conn,
                user_id=self.user_id,
                name="Worker test",
                description=None,
                avatar_source=None,
                avatar_image=None,
            )["id"]
            self.pose_ids = [r["id"] for r in conn.execute("SELECT id FROM poses ORDER BY name LIMIT 10").fetchall()]

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True, row_factory=dict_row)

    def generation(
        self,
        *,
        poses: int = 2,
        variations: int = 1,
        steps: int = 8,
        size: int = 256,
        seed: int | None = 7,
        text: str | None = None,
        prompt: str = "studio",
        identity_strength: float = 0.0,
        avatar_key: str | None = None,
    ) -> str:
        generation_id = str(uuid.uuid4())
        pose_ids = [] if text else self.pose_ids[:poses]
        kind = "TEXT_DESCRIPTION" if text else "GALLERY_REFERENCE"
        total = len(plan_images(generation_type=kind, pose_ids=pose_ids, variations=variations))
        with self.connect() as conn, conn.transaction():
            generations_db.insert_generation(
                conn=conn,
                generation_id=generation_id,
                user_id=self.user_id,
                fields={
                    "project_id": self.project_id,
                    "generation_type": kind,
                    "text_prompt": text,
                    "prompt": prompt,
                    "negative_prompt": None,
                    "variations_per_pose": variations,
                    "width": size,
                    "height": size,
                    "steps": steps,
                    "guidance_scale": 7.5,
                    "seed": seed,
                    "poses_total": total,
                    "identity_strength": identity_strength,
                    "avatar_key": avatar_key,
                    "credit_charged": CREDITS_PER_IMAGE * total,
                },
            )
            generations_db.insert_generation_poses(conn=conn, generation_id=generation_id, pose_ids=pose_ids)
            credits.charge(
                conn=conn,
                user_id=self.user_id,
                amount=CREDITS_PER_IMAGE * total,
                reference_type="generation",
                reference_id=generation_id,
            )
        return generation_id

    def row(self, generation_id: str) -> dict:
        with self.connect() as conn:
            return generations_db.get_generation(conn=conn, generation_id=generation_id)

    def images(self, generation_id: str) -> list[dict]:
        with self.connect() as conn:
            return generations_db.generated_poses(conn=conn, generation_id=generation_id)

    def balance(self) -> int:
        with self.connect() as conn:
            return credits.balance(conn=conn, user_id=self.user_id)

    def refunds(self) -> int:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM credit_ledger WHERE user_id = %s AND type = 'refund'", (self.user_id,)
            ).fetchone()
            return row["n"]


class EventLog:
    """Every event published on a user's channel, collected by a real Redis subscriber."""

    def __init__(self, redis_url: str, user_id: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(user_channel(user_id))
        self.events: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                self.events.append(parse_event(message["data"]))

    def wait_for(self, predicate, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout}s; got {[e.type for e in self.events]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()
