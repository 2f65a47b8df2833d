"""The migration heads the code ships and the ones a database is at, read without Alembic.

Importing Alembic's script machinery costs about half a second, which a listing command
(`peerbot programmes list`) should not pay when the database is current. This is only a fast
path: when the two sets differ, or a migration file does not read as expected, the caller runs
the full Alembic upgrade (`storage.migrate.upgrade`), which checks everything properly.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def shipped_heads(folder: Path = VERSIONS) -> set[str]:
    """The head revisions of the migration files (empty when one cannot be read)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in folder.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return set()
        revisions.add(revision.group(1))
        parents.update(_QUOTED.findall(down.group(1)))
    return revisions - parents


async def database_heads(engine: AsyncEngine) -> set[str]:
    """The revisions recorded in the database (empty for a new or unreadable one)."""
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return {str(r[0]) for r in rows}
    except DBAPIError:
        return set()


async def upgrade_if_behind(url: str, engine: AsyncEngine | None = None) -> None:
    """Bring the database to the shipped migrations: when it is at them already, only the
    version table is read; otherwise (or when unsure) Alembic's full upgrade runs."""
    heads = shipped_heads()
    own = engine is None
    if engine is None:
        from storage.db import make_engine

        engine = make_engine(url)
    try:
        current = await database_heads(engine) if heads else set()
    finally:
        if own:
            await engine.dispose()
    if not heads or current != heads:
        from storage.migrate import upgrade

        await upgrade(url)
