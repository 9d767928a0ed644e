from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from posegen_gateway.schemas.common import ApiModel


class PoseUse(ApiModel):
    pose_id: str
    name: str
    images: int = Field(description="completed images this pose guided")


class GenerationCounts(ApiModel):
    queued: int
    processing: int
    completed: int
    partial: int
    failed: int
    cancelled: int


class UserStats(ApiModel):
    generations: int
    generations_by_status: GenerationCounts
    images_made: int
    images_failed: int
    credits_charged: int
    credits_refunded: int
    most_used_poses: list[PoseUse] = Field(description="up to 5, most images first")
    median_seconds_per_image: float | None = Field(description="null before the first image")


class AdminUser(ApiModel):
    id: str
    email: str | None
    role: Literal["user", "admin"]
    balance: int
    generations: int
    images: int = Field(description="completed images")
    created_at: datetime
    last_active_at: datetime = Field(description="the newest of its generations, ledger rows and creation")


class DayImages(ApiModel):
    date: date
    images: int
    failed: int


class QueueState(ApiModel):
    waiting: int
    active: int
    delayed: int


class AdminStats(ApiModel):
    days: int = Field(description="the window: the last `days` days, today (UTC) included")
    images_per_day: list[DayImages]
    images_made: int
    images_failed: int
    failure_rate: float | None = Field(description="failed / (made + failed) images in the window; null: none")
    refunds: int = Field(description="refund rows in the window")
    credits_refunded: int
    queue: QueueState | None = Field(description="null when Redis cannot be reached")
    queue_depth: int | None = Field(description="waiting generations (null when Redis cannot be reached)")
    workers: int | None = Field(description="live workers on the queue (null when Redis cannot be reached)")
    p50_seconds_per_image: float | None
    p95_seconds_per_image: float | None
