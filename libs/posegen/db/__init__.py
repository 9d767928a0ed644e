"""PostgreSQL access: the connection pool, migrations and the data functions of each table."""

from __future__ import annotations

from typing import Any, TypeVar

from psycopg import Connection
from psycopg.rows import class_row, kwargs_row, scalar_row

T = TypeVar("T")


def fetch_one(conn: Connection, row_type: type[T], query: str, params: Any = None) -> T | None:
    """The first row of ``query`` as a ``row_type`` (a dataclass whose fields are the selected columns)."""
    return conn.cursor(row_factory=class_row(row_type)).execute(query, params).fetchone()


def fetch_all(conn: Connection, row_type: type[T], query: str, params: Any = None) -> list[T]:
    """Every row of ``query`` as a ``row_type``."""
    return conn.cursor(row_factory=class_row(row_type)).execute(query, params).fetchall()


def insert_query(table: str, values: dict, tail: str = "") -> str:
    """``INSERT INTO {table} (a, b) VALUES (%(a)s, %(b)s){tail}`` for the keys of ``values``."""
    placeholders = ", ".join(f"%({name})s" for name in values)
    return f"INSERT INTO {table} ({', '.join(values)}) VALUES ({placeholders}){tail}"


def fetch_page(
    conn: Connection, row_type: type[T], query: str, params: dict, *, limit: int, offset: int
) -> tuple[list[T], int]:
    """A page of ``query`` (``SELECT ..., count(*) OVER () AS total ... ORDER BY ...``) as ``row_type`` rows, and
    how many rows it has in all: the window count, or a count of its own past the last page (no row there)."""
    cursor = conn.cursor(row_factory=kwargs_row(lambda total, **row: (row_type(**row), total)))
    found = cursor.execute(f"{query} LIMIT %(limit)s OFFSET %(offset)s", {**params, "limit": limit, "offset": offset})
    page = found.fetchall()
    if page or offset == 0:
        return [row for row, _ in page], page[0][1] if page else 0
    return [], conn.cursor(row_factory=scalar_row).execute(f"SELECT count(*) FROM ({query}) q", params).fetchone()
