"""A database ready to serve: created if missing (or dropped first), migrated, and the pose library seeded."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from posegen.db.migrate import Migration, apply_migrations
from posegen.db.pool import drop_database, ensure_database
from posegen.poses.seed import SeedReport, seed_library


@dataclass(frozen=True, slots=True)
class Bootstrap:
    created: bool
    applied: list[Migration]
    seeded: SeedReport


def bootstrap_database(database_url: str, *, reset: bool = False) -> Bootstrap:
    """Idempotent unless ``reset`` (which drops the database first, for benchmarks and tests)."""
    if reset:
        drop_database(database_url)
    created = ensure_database(database_url)
    applied = apply_migrations(database_url)
    with psycopg.connect(database_url) as conn:
        seeded = seed_library(conn=conn)
    return Bootstrap(created, applied, seeded)
