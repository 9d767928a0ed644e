"""Charging a generation and refunding its images, each image at most once (the ledger's unique key)."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import Connection

from posegen.db import credits
from posegen.db import generations as generations_db
from posegen.db.generations import GenerationRow
from posegen.plan import CHARGE_REFERENCE, REFUND_REFERENCE, plan_images, refund_reference


def charge_generation(*, conn: Connection, user_id: str, generation_id: str, amount: int) -> int:
    return credits.charge(
        conn=conn, user_id=user_id, amount=amount, reference_type=CHARGE_REFERENCE, reference_id=generation_id
    )


def refund_images(*, conn: Connection, generation: GenerationRow, variation_keys: Iterable[str]) -> int:
    """Refund the given images of a generation; return the credits actually refunded by this call."""
    cost = generation.image_cost
    if cost <= 0:
        return 0
    refunded = 0
    with conn.transaction():
        for key in variation_keys:
            done = credits.refund(
                conn=conn,
                user_id=generation.user_id,
                amount=cost,
                reference_type=REFUND_REFERENCE,
                reference_id=refund_reference(generation.id, key),
            )
            if done is not None:
                refunded += cost
        if refunded:
            generations_db.add_refunded(conn=conn, generation_id=generation.id, amount=refunded)
    return refunded


def refund_unfinished(*, conn: Connection, generation: GenerationRow) -> int:
    """Refund the generation's images that have not completed."""
    plan = plan_images(
        generation_type=generation.generation_type,
        pose_ids=generations_db.generation_pose_ids(conn=conn, generation_id=generation.id),
        variations=generation.variations_per_pose,
    )
    completed = {
        row.variation_key
        for row in generations_db.generated_poses(conn=conn, generation_id=generation.id, status="completed")
    }
    unfinished = [image.variation_key for image in plan if image.variation_key not in completed]
    return refund_images(conn=conn, generation=generation, variation_keys=unfinished)
