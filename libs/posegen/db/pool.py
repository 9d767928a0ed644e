"""Connections to PostgreSQL with psycopg 3 and psycopg_pool; created by the caller, never at import."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


def create_pool(
    database_url: str,
    *,
    max_size: int = 10,
    name: str = "posegen",
    wait: bool = True,
    timeout: float = 30.0,
) -> ConnectionPool:
    """An opened pool of autocommit connections returning dict rows; close it with ``pool.close()``.

    Autocommit means a read never leaves a transaction open; writes that belong together use
    ``with conn.transaction():``, which commits at the end of the block. With ``wait=False`` the pool opens
    even while PostgreSQL is down (a server that must start and report itself unready); a request then waits
    at most ``timeout`` seconds for a connection.
    """
    pool = ConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        name=name,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
        timeout=timeout,
    )
    pool.open(wait=wait, timeout=10)
    return pool


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/") or "postgres"


def _maintenance(database_url: str) -> psycopg.Connection:
    """The same server and credentials, connected to the ``postgres`` maintenance database."""
    url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def ensure_database(database_url: str) -> bool:
    """Create the URL's database when it does not exist; return whether it was created."""
    name = database_name(database_url)
    with _maintenance(database_url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def drop_database(database_url: str) -> None:
    name = database_name(database_url)
    with _maintenance(database_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
