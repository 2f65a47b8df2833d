"""Load and validate `content/`: catalogues, taxonomy and the features' parts; keep the last
good copy.

Core knows the catalogues and the taxonomy. What a feature reads from `content/` besides them
(the FAQ is one) is a *content part*: the feature's `content.py` registers a `ContentPart`, and
every load parses each registered part after the taxonomy. Core never names the feature.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from handlers.core.i18n import Translator, load_catalogues
from handlers.core.taxonomy import Taxonomy

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContentProblem:
    """Something wrong in a content file, at a 1-based line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ContentPart(Protocol):
    """A feature's share of `content/`, parsed with the catalogues and reloaded with them."""

    name: str
    """The key of the part in `Content.parts`."""

    def parse(
        self, root: Path, programme: Path | None, taxonomy: Taxonomy
    ) -> tuple[Any, list[ContentProblem]]:
        """The parsed part of `root` (with a programme folder's additions) and its problems;
        raises ValueError only when nothing usable can be made of it."""
        ...

    def keep_last_good(self, last: Any, fresh: Any, problems: list[ContentProblem]) -> Any:
        """What a reload keeps: `fresh`, or `last` when the fresh copy lost too much."""
        ...


_PARTS: dict[str, ContentPart] = {}


def register_part(part: ContentPart) -> None:
    """Called by a feature's `content.py` when it is imported (one part per name)."""
    _PARTS[part.name] = part


def registered_parts() -> list[ContentPart]:
    """The parts registered so far. Whoever loads content registers the features first
    (`handlers.registry.load_handlers` or `load_content_parts`), as for routes: the core
    never reaches up to the features itself."""
    return list(_PARTS.values())


@dataclass
class Content:
    """Everything curated that the handlers read: messages, codes and the features' parts."""

    root: Path
    t: Translator
    taxonomy: Taxonomy
    parts: dict[str, Any] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)


_LOADED: dict[tuple[str, str | None], tuple[tuple[tuple[str, int, int], ...], Content]] = {}
"""Content already parsed, with the stamp of the files it was parsed from."""


def _stamp(root: Path, programme: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Path, modification time and size of every file the content is read from."""
    stamp = _files(root, skip="programmes")
    if programme is not None and programme.is_dir():
        stamp += _files(programme)
    return tuple(sorted(stamp))


def _files(folder: Path, skip: str | None = None) -> list[tuple[str, int, int]]:
    """(path, mtime_ns, size) of every file under `folder` but its top-level entry `skip`.

    One `os.scandir` per directory: a runtime stamps its content on every build and every
    reload check, and pathlib's rglob with a stat per path cost ~5 ms for content/'s files."""
    found: list[tuple[str, int, int]] = []
    top = str(folder)
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if directory == top and entry.name == skip:
                continue
            try:
                if entry.is_dir():
                    pending.append(entry.path)
                elif entry.is_file():
                    info = entry.stat()
                    found.append((entry.path, info.st_mtime_ns, info.st_size))
            except OSError:
                continue
    return found


@cache
def _code_stamp() -> str:
    """The handlers' source files (path, time, size): parsed content pickled by other code
    must not be read back, since its classes may have changed shape."""
    base = Path(__file__).resolve().parent.parent
    parts = []
    for path in sorted(base.rglob("*.py")):
        info = path.stat()
        parts.append(f"{path}:{info.st_mtime_ns}:{info.st_size}")
    return "\n".join(parts)


def _cache_file(cache_dir: Path, stamp: tuple[tuple[str, int, int], ...]) -> Path:
    parts = sorted(_PARTS)  # a process with other parts registered parses other content
    digest = hashlib.sha256(f"{stamp!r}\n{parts}\n{_code_stamp()}".encode()).hexdigest()[:32]
    return cache_dir / f"content-{digest}.pickle"


def _read_cached(path: Path) -> Content | None:
    """The content pickled earlier by this same code from these same files, if any."""
    try:
        with path.open("rb") as fh:
            found = pickle.load(fh)  # noqa: S301 - written by this process's own code, below
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file is only a missed cache
        log.warning("content cache %s unreadable (%s); parsing again", path, exc)
        return None
    return found if isinstance(found, Content) else None


def _write_cached(path: Path, content: Content) -> None:
    """Keep the parsed content for the next process; a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        week_ago = time.time() - 7 * 86400
        for old in path.parent.glob("content-*.pickle"):
            if old.stat().st_mtime < week_ago:  # from content or code long replaced
                old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(content, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError) as exc:
        log.warning("content cache %s not written: %s", path, exc)


def load_content(
    root: Path, programme: Path | None = None, cache_dir: Path | None = None
) -> Content:
    """The content of a folder, parsed once for as long as its files do not change.

    Parsing the catalogues and the FAQ in five languages costs about a second of CPU; a
    process (or a test session) that builds several runtimes, or a reload with nothing
    changed, reuses the parsed copy. With `cache_dir` (the data directory's cache), the
    parsed copy is also pickled there, keyed by the files' and the code's stamps, so a
    restarted bot or a CLI command reads it back in a tenth of the time instead of parsing.
    Content is read, never changed, after it is loaded."""
    key = (str(root.resolve()), str(programme.resolve()) if programme is not None else None)
    stamp = _stamp(root, programme)
    known = _LOADED.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    cached = _cache_file(cache_dir, stamp) if cache_dir is not None else None
    content = _read_cached(cached) if cached is not None else None
    if content is None:
        content = parse_content(root, programme)
        if cached is not None:
            _write_cached(cached, content)
    _LOADED[key] = (stamp, content)
    return content


def parse_content(root: Path, programme: Path | None = None) -> Content:
    """Load the content folder, with a programme folder's additions and overrides if given.

    A programme folder (`content/programmes/<slug>/`) may hold `taxonomy.yaml` (extra codes),
    `faq/*.yaml` (extra entries) and `messages/<locale>.yaml` (overridden messages).
    Raises ValueError on a broken catalogue or taxonomy; the parts' problems are collected.
    """
    catalogues = load_catalogues(root / "messages")
    if "en" not in catalogues:
        raise ValueError(f"{root / 'messages'}: the English catalogue en.yaml is missing")
    taxonomy = Taxonomy.load(root / "taxonomy.yaml")
    if programme is not None:
        if (programme / "messages").is_dir():
            for locale, overrides in load_catalogues(programme / "messages").items():
                unknown = sorted(set(overrides) - set(catalogues["en"]))
                if unknown:
                    raise ValueError(f"{programme}/messages/{locale}: unknown keys {unknown[:5]}")
                catalogues.setdefault(locale, {}).update(overrides)
        if (programme / "taxonomy.yaml").is_file():
            taxonomy = taxonomy.merged(Taxonomy.load(programme / "taxonomy.yaml"))
    content = Content(root, Translator(catalogues), taxonomy)
    for part in registered_parts():
        content.parts[part.name], problems = part.parse(root, programme, taxonomy)
        content.problems += problems
    return content


class ContentStore:
    """Holds the current content (and each programme's); a failed reload keeps the last good."""

    def __init__(
        self, root: Path, programmes: Path | None = None, cache_dir: Path | None = None
    ) -> None:
        self.root = root
        self.programmes_dir = programmes
        """Where installed programme folders live (the data directory), besides content/."""
        self.cache_dir = cache_dir
        """Where parsed content is pickled between processes (see `load_content`)."""
        self.current = load_content(root, cache_dir=cache_dir)
        self.hooks: list[Callable[[Content], None]] = []
        """Run on every content loaded, now and after each reload (see `on_load`)."""
        self.programmes: dict[str, Content] = {}
        for folder in self.programme_folders():
            try:
                self.programmes[folder.name] = load_content(root, folder, cache_dir)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                log.warning("programme content %s not loaded: %s", folder, exc)

    def programme_folders(self) -> list[Path]:
        """The `content/programmes/<slug>/` folders, then the data directory's (which win)."""
        found: dict[str, Path] = {}
        for base in (self.root / "programmes", self.programmes_dir):
            if base is not None and base.is_dir():
                found.update({p.name: p for p in sorted(base.iterdir()) if p.is_dir()})
        return [found[name] for name in sorted(found) if not name.startswith(".")]

    def for_programme(self, slug: str | None) -> Content:
        """The content a programme's officers see (the base content when it has no folder)."""
        return self.programmes.get(slug or "", self.current)

    async def of_programme(self, uow: UnitOfWork, programme_id: int | None) -> Content:
        """The content of the programme with that id (the base content for none)."""
        programme = await uow.programmes.get(programme_id) if programme_id else None
        return self.for_programme(programme.slug if programme else None)

    def on_load(self, hook: Callable[[Content], None]) -> None:
        """Run `hook` on the content held now and on every content a reload brings (a feature
        adds to its part what only a running bot needs, such as the FAQ's meaning layer)."""
        self.hooks.append(hook)
        for content in [self.current, *self.programmes.values()]:
            hook(content)

    def reload(self) -> list[str]:
        """Reload from disk; returns the problems found (empty when all is well)."""
        try:
            fresh = load_content(self.root, cache_dir=self.cache_dir)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            log.warning("content reload failed, keeping the last good content: %s", exc)
            return [str(exc)]
        for folder in self.programme_folders():
            try:
                self.programmes[folder.name] = load_content(self.root, folder, self.cache_dir)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                log.warning("programme content %s kept as it was: %s", folder, exc)
        if fresh.problems:
            for part in registered_parts():
                if part.name in self.current.parts and part.name in fresh.parts:
                    fresh.parts[part.name] = part.keep_last_good(
                        self.current.parts[part.name], fresh.parts[part.name], fresh.problems
                    )
        self.current = fresh
        for content in [self.current, *self.programmes.values()]:
            for hook in self.hooks:
                hook(content)
        return [str(p) for p in fresh.problems]
