"""Plain SQL migrations, applied in order and recorded in ``schema_migrations``; a second run is a no-op.

A migration is ``migrations/NNN_name.sql``. Each one runs in its own transaction together with its
record. An advisory lock lets several pods start at once without applying anything twice, and a recorded
migration whose file changed afterwards stops the run instead of being silently skipped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

_FILE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
_LOCK_ID = 0x706F7365  # "pose"


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def available_migrations() -> list[Migration]:
    folder = resources.files("posegen.db") / "migrations"
    named = [(_FILE.match(entry.name), entry) for entry in folder.iterdir()]
    found = [Migration(*match.groups(), entry.read_text(encoding="utf-8")) for match, entry in named if match]
    return sorted(found, key=lambda m: int(m.version))


def apply_migrations(database_url: str) -> list[Migration]:
    """Apply what is not yet applied; return the migrations applied by this call."""
    applied: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            recorded = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
            for migration in available_migrations():
                if migration.version in recorded:
                    if recorded[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version}_{migration.name} changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied
