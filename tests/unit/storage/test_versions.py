"""The Alembic-free fast path agrees with Alembic, and falls back when it cannot read."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from storage.db import make_engine
from storage.migrate import alembic_config
from storage.versions import database_heads, shipped_heads


def test_shipped_heads_are_alembics_heads() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert shipped_heads() == set(script.get_heads())


def test_an_unreadable_migration_file_gives_no_heads(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    (tmp_path / "b.py").write_text("something else\n", encoding="utf-8")
    assert shipped_heads(tmp_path) == set()
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision = "a"\n', encoding="utf-8")
    assert shipped_heads(tmp_path) == {"b"}


async def test_database_heads_of_a_migrated_and_a_new_database(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    assert await database_heads(engine) == shipped_heads()
    await engine.dispose()
    empty = make_engine(f"sqlite+aiosqlite:///{tmp_path}/new.db")
    assert await database_heads(empty) == set()
    await empty.dispose()
