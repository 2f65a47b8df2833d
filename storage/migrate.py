"""Alembic migrations run from code: `peerbot db upgrade` and the upgrade at `peerbot run`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from storage.db import make_engine

HERE = Path(__file__).resolve().parent


class MigrationError(Exception):
    """The database cannot be brought to this version of peerbot."""


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


async def current_revisions(url: str) -> set[str]:
    """The revisions the database is at (empty for a new database)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_revisions)
    finally:
        await engine.dispose()


async def upgrade(url: str) -> str:
    """Upgrade to head; refuse a database at a revision this code does not know."""
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    current = await current_revisions(url)
    unknown = current - known
    if unknown:
        raise MigrationError(
            f"the database is at migration {', '.join(sorted(unknown))}, newer than this "
            "peerbot knows; upgrade peerbot before running it on this database"
        )
    await asyncio.to_thread(command.upgrade, cfg, "head")
    head = script.get_current_head()
    return head or ""
