"""A programme described by a folder: validate it, stand it up, and write it back out.

`content/programmes/<slug>/` holds `programme.yaml` (name, languages, check-in cadence, the
Slack channel and Telegram group), and optionally `taxonomy.yaml`, `faq/*.yaml` and
`messages/<locale>.yaml` that add to or override the base content. No personal data lives
there, so a folder can be handed to another region as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handlers.core.content import load_content
from handlers.core.taxonomy import EU_LANGUAGES
from storage.models import Programme
from storage.uow import UnitOfWork


class ProgrammeFile(BaseModel):
    """The schema of programme.yaml."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=3, max_length=200)
    languages: list[str] = Field(min_length=1)
    checkin_days: int = Field(default=14, ge=3, le=120)
    slack_channel_id: str | None = None
    telegram_chat_id: int | None = None
    description: str | None = None

    @field_validator("languages")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in EU_LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language codes {unknown} (ISO 639-1)")
        return value


def check_folder(folder: Path, content_root: Path) -> tuple[ProgrammeFile | None, list[str]]:
    """Validate a programme folder against the base content; every problem as one line."""
    path = folder / "programme.yaml"
    if not path.is_file():
        return None, [f"{path}: missing"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        spec = ProgrammeFile.model_validate(data)
    except yaml.YAMLError as exc:
        return None, [f"{path}: {exc}"]
    except ValidationError as exc:
        return None, [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    try:
        content = load_content(content_root, folder)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return spec, [str(exc)]
    problems = [f"{p.file}:{p.line}: {p.message}" for p in content.problems]
    if folder.name != spec.slug:
        problems.append(f"{folder}: the folder must be named after the slug {spec.slug!r}")
    return spec, problems


async def stand_up(uow: UnitOfWork, spec: ProgrammeFile) -> tuple[Programme, bool]:
    """Create or update the programme row; True when it was created."""
    programme = await uow.programmes.by_slug(spec.slug)
    created = programme is None
    if programme is None:
        programme = await uow.programmes.add(Programme(slug=spec.slug, name=spec.name))
    programme.name = spec.name
    programme.languages = list(spec.languages)
    programme.checkin_days = spec.checkin_days
    programme.slack_channel_id = spec.slack_channel_id
    programme.telegram_chat_id = spec.telegram_chat_id
    await uow.session.flush()
    return programme, created


def install(folder: Path, content_root: Path, slug: str) -> Path:
    """Copy a folder into `content/programmes/<slug>/` (unless it already is there)."""
    target = content_root / "programmes" / slug
    if folder.resolve() != target.resolve():
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
    return target


def export(programme: Programme, content_root: Path, out: Path) -> list[Path]:
    """Write a programme's folder (settings from the store, content files as they are)."""
    out.mkdir(parents=True, exist_ok=True)
    source = content_root / "programmes" / programme.slug
    if source.is_dir() and source.resolve() != out.resolve():
        shutil.copytree(source, out, dirs_exist_ok=True)
    spec: dict[str, Any] = {
        "slug": programme.slug,
        "name": programme.name,
        "languages": list(programme.languages) or ["en"],
        "checkin_days": programme.checkin_days,
        "slack_channel_id": programme.slack_channel_id,
        "telegram_chat_id": programme.telegram_chat_id,
    }
    (out / "programme.yaml").write_text(
        "# A peerbot programme. Stand it up with: peerbot programme create <this folder>\n"
        + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return sorted(p for p in out.rglob("*") if p.is_file())
