"""PostgreSQL access: the connection pool, migrations and the data functions of each table."""

from __future__ import annotations

from typing import Any, TypeVar

from psycopg import Connection
from psycopg.rows import class_row

T = TypeVar("T")


def fetch_one(conn: Connection, row_type: type[T], query: str, params: Any = None) -> T | None:
    """The first row of ``query`` as a ``row_type`` (a dataclass whose fields are the selected columns)."""
    return conn.cursor(row_factory=class_row(row_type)).execute(query, params).fetchone()


def fetch_all(conn: Connection, row_type: type[T], query: str, params: Any = None) -> list[T]:
    """Every row of ``query`` as a ``row_type``."""
    return conn.cursor(row_factory=class_row(row_type)).execute(query, params).fetchall()
