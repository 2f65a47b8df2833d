"""A programme described by a folder: validate it, stand it up, and write it back out.

`content/programmes/<slug>/` holds `programme.yaml` (name, languages, check-in cadence, the
Slack channel and Telegram group), and optionally `taxonomy.yaml`, `faq/*.yaml` and
`messages/<locale>.yaml` that add to or override the base content. No personal data lives
there, so a folder can be handed to another region as it is.

A folder comes from outside (another region, an e-mail attachment), so it is copied as data:
symbolic links and special files are refused (a `notes.txt` linked to `/etc/shadow` would be
copied into `content/` and back out by `programme export`), sizes are capped, and the copy is
made in a temporary folder beside the target and renamed into place, so a failure never
leaves half a programme behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from handlers.core.content import load_content
from handlers.core.taxonomy import EU_LANGUAGES
from storage.models import Programme
from storage.uow import UnitOfWork

MAX_FILE_BYTES = 1024 * 1024
"""One content file (YAML, Markdown); the largest shipped today is under 100 KiB."""
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_FILES = 500


class FolderError(ValueError):
    """A programme folder that cannot be copied safely; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def unsafe_entries(folder: Path) -> list[str]:
    """What makes a folder unsafe to copy: links, special files, sizes over the caps.

    Nothing is followed: every entry is looked at with `lstat`, so a link is seen as a link
    whether it points to a file outside or to a directory.
    """
    try:
        root = os.lstat(folder)
    except OSError as exc:
        return [f"{folder}: {exc.strerror or exc}"]
    if stat.S_ISLNK(root.st_mode):
        return [f"{folder}: a symbolic link; give the folder itself"]
    if not stat.S_ISDIR(root.st_mode):
        return [f"{folder}: not a folder"]
    problems: list[str] = []
    total = files = 0
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            problems.append(f"{current}: {exc.strerror or exc}")
            continue
        for entry in entries:
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                problems.append(f"{path}: a symbolic link; copy the file itself into the folder")
            elif stat.S_ISDIR(info.st_mode):
                pending.append(path)
            elif not stat.S_ISREG(info.st_mode):
                problems.append(f"{path}: not a regular file (a device, pipe or socket)")
            elif info.st_size > MAX_FILE_BYTES:
                problems.append(
                    f"{path}: {info.st_size} bytes; a content file may have at most "
                    f"{MAX_FILE_BYTES} bytes"
                )
            else:
                total += info.st_size
                files += 1
    if files > MAX_FILES:
        problems.append(f"{folder}: {files} files; a programme folder may have at most {MAX_FILES}")
    if total > MAX_TOTAL_BYTES:
        problems.append(
            f"{folder}: {total} bytes in all; a programme folder may have at most "
            f"{MAX_TOTAL_BYTES} bytes"
        )
    return problems


def _copy_file(source: Path, target: Path) -> None:
    """Copy one regular file without following a link swapped in since the check."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(source, flags)
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise FolderError([f"{source}: not a regular file"])
        data = src.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FolderError([f"{source}: grew over {MAX_FILE_BYTES} bytes while copied"])
    target.write_bytes(data)


def copy_folder(source: Path, target: Path, scratch: Path | None = None) -> None:
    """Replace `target` with a checked copy of `source`, atomically (temp folder + rename).

    The copy is staged in `scratch` (default: beside the target; on the same file system),
    where nobody reads half of it. Raises FolderError, leaving `target` as it was, when
    `source` is unsafe or a copy fails.
    """
    problems = unsafe_entries(source)
    if problems:
        raise FolderError(problems)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = scratch or target.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=scratch))
    try:
        for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
            here = Path(dirpath)
            there = staging / here.relative_to(source)
            for name in dirnames:
                (there / name).mkdir()
            for name in filenames:
                _copy_file(here / name, there / name)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        reason = exc.strerror or str(exc)
        raise FolderError([f"{source}: the copy failed ({reason}); nothing changed"]) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, target, scratch)


def _swap(staging: Path, target: Path, scratch: Path) -> None:
    """Put the staged copy in place of `target`; the previous one comes back on failure."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=scratch)) / "prev"
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)


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
    """Validate a programme folder against the base content; every problem as one line.

    Links, special files and oversized files are refused before anything in it is read."""
    unsafe = unsafe_entries(folder)
    if unsafe:
        return None, unsafe
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
    from handlers.registry import load_content_parts  # the features, imported on use

    load_content_parts()
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
    await uow.flush()
    return programme, created


async def rename(
    uow: UnitOfWork, slug: str, name: str | None = None, languages: list[str] | None = None
) -> Programme:
    """Give a programme (the default one too) a new name and/or languages, checked like
    programme.yaml; raises LookupError for an unknown slug, ValueError for a bad value."""
    programme = await uow.programmes.by_slug(slug)
    if programme is None:
        raise LookupError(f"no programme {slug!r}; see `peerbot programmes list`")
    if name is None and languages is None:
        raise ValueError("give --name and/or --languages")
    try:
        spec = ProgrammeFile(
            slug=programme.slug,
            name=programme.name if name is None else name.strip(),
            languages=list(programme.languages or ["en"]) if languages is None else languages,
        )
    except ValidationError as exc:
        raise ValueError(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from exc
    programme.name = spec.name
    programme.languages = list(dict.fromkeys(spec.languages))
    await uow.flush()
    return programme


def install(folder: Path, root: Path, slug: str) -> Path:
    """Copy a folder into `<root>/programmes/<slug>/` (unless it already is there).

    `root` is the data directory (`PEERBOT_DATA_DIR`), outside the installation, so a new
    image or a reinstall keeps the programme. Raises FolderError when the folder holds links,
    special files or too much data."""
    target = root / "programmes" / slug
    if folder.resolve() != target.resolve():
        # staged in the root, not in programmes/, where a loader would see it
        copy_folder(folder, target, scratch=root)
    return target


def installed_folder(slug: str, content_root: Path, data_root: Path | None = None) -> Path | None:
    """A programme's folder: in the data directory, else one shipped in content/programmes/."""
    for root in (data_root, content_root):
        if root is not None and (root / "programmes" / slug).is_dir():
            return root / "programmes" / slug
    return None


def export(
    programme: Programme, content_root: Path, out: Path, data_root: Path | None = None
) -> list[Path]:
    """Write a programme's folder (settings from the store, content files as they are)."""
    out.mkdir(parents=True, exist_ok=True)
    source = installed_folder(programme.slug, content_root, data_root)
    if source is not None and source.resolve() != out.resolve():
        problems = unsafe_entries(source)
        if problems:
            raise FolderError(problems)
        for dirpath, _dirs, filenames in os.walk(source, followlinks=False):
            there = out / Path(dirpath).relative_to(source)
            there.mkdir(parents=True, exist_ok=True)
            for name in filenames:
                _copy_file(Path(dirpath) / name, there / name)
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
