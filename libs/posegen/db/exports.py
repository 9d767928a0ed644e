"""What an export reads of a generation: its completed images with the pose that guided each and the
keypoints to frame it by."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection

from posegen.db import fetch_all
from posegen.exports.framing import image_keypoints


@dataclass(frozen=True, slots=True)
class ExportImage:
    id: str
    variation_key: str
    pose_id: str | None
    pose_name: str | None
    seed: int | None
    prompt_used: str | None
    image_key: str
    keypoints: list | None
    library_keypoints: list | None

    @property
    def variation(self) -> int:
        """The variation number (``{pose}:{n}`` or ``text:{n}``)."""
        tail = self.variation_key.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def framing_keypoints(self, width: int, height: int) -> list | None:
        """The keypoints normalised to the image: stored with it, or (images made before they were stored)
        its library pose's, placed as the control image placed them; None when neither is known."""
        if self.keypoints is not None:
            return self.keypoints
        if self.library_keypoints is not None:
            return image_keypoints(self.library_keypoints, width, height)
        return None


def export_images(*, conn: Connection, generation_id: str, result_id: str | None = None) -> list[ExportImage]:
    """The generation's completed images (one when ``result_id`` is given), in the order they were made."""
    only = " AND gp.id = %(result_id)s" if result_id is not None else ""
    return fetch_all(
        conn,
        ExportImage,
        "SELECT gp.id, gp.variation_key, gp.pose_id, p.name AS pose_name, gp.seed, gp.prompt_used,"
        " gp.image_key, gp.keypoints, p.keypoints AS library_keypoints"
        " FROM generated_poses gp LEFT JOIN poses p ON p.id = coalesce(gp.guide_pose_id, gp.pose_id)"
        " WHERE gp.generation_id = %(generation_id)s AND gp.status = 'completed' AND gp.image_key IS NOT NULL"
        f"{only} ORDER BY gp.created_at, gp.id",
        {"generation_id": generation_id, "result_id": result_id},
    )
