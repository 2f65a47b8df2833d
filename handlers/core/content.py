"""Load and validate `content/`: catalogues, taxonomy, FAQ; keep the last good copy."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from handlers.core.i18n import Translator, load_catalogues
from handlers.core.taxonomy import Taxonomy
from handlers.faq.content import ContentProblem

if TYPE_CHECKING:
    from handlers.faq.search import FaqIndex
    from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Content:
    """Everything curated that the handlers read: messages, codes, the FAQ index."""

    root: Path
    t: Translator
    taxonomy: Taxonomy
    faq: FaqIndex
    problems: list[ContentProblem] = field(default_factory=list)


_LOADED: dict[tuple[str, str | None], tuple[tuple[tuple[str, int, int], ...], Content]] = {}
"""Content already parsed, with the stamp of the files it was parsed from."""


def _stamp(root: Path, programme: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Path, modification time and size of every file the content is read from."""
    files: list[Path] = []
    for base in (root / "messages", root / "faq", programme):
        if base is not None and base.is_dir():
            files += [p for p in base.rglob("*") if p.is_file()]
    files.append(root / "taxonomy.yaml")
    stamp = []
    for path in sorted(files):
        try:
            info = path.stat()
        except OSError:
            continue
        stamp.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


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
    digest = hashlib.sha256(f"{stamp!r}\n{_code_stamp()}".encode()).hexdigest()[:32]
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
    Raises ValueError on a broken catalogue or taxonomy; FAQ problems are collected instead.
    """
    from handlers.faq.content import load_faq
    from handlers.faq.search import FaqIndex

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
    extra = frozenset(c for group in taxonomy.labels.values() for c in group)
    faq = load_faq(root / "faq", extra_codes=extra)
    if programme is not None and (programme / "faq").is_dir():
        more = load_faq(programme / "faq", extra_codes=extra)
        known = {e.id for e in faq.entries}
        faq.entries += [e for e in more.entries if e.id not in known]
        faq.problems += more.problems
        faq.problems += [
            ContentProblem(str(programme / "faq"), 1, f"id {e.id} already exists in the base FAQ")
            for e in more.entries
            if e.id in known
        ]
        for canonical, variants in more.synonyms.items():
            faq.synonyms.setdefault(canonical, []).extend(variants)
    return Content(root, Translator(catalogues), taxonomy, FaqIndex.build(faq), list(faq.problems))


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
        self.semantic_cache: Path | None = None
        """Set by `enable_semantic`: every FAQ index loaded from then on gets the meaning layer."""
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

    def enable_semantic(self, cache_dir: Path) -> None:
        """Give every FAQ index (now and after each reload) its meaning layer, loaded in the
        background with entry vectors cached in `cache_dir` (see handlers.faq.semantic)."""
        self.semantic_cache = cache_dir
        for content in [self.current, *self.programmes.values()]:
            self._semantic(content)

    def _semantic(self, content: Content) -> None:
        if self.semantic_cache is not None and content.faq.semantic is None:
            content.faq.attach_semantic(self.semantic_cache)

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
        problems = [f"{p.file}:{p.line}: {p.message}" for p in fresh.problems]
        if len(fresh.faq) < len(self.current.faq) and problems:
            log.warning("content problems; keeping the last good FAQ (%d)", len(self.current.faq))
            fresh.faq = self.current.faq
        self.current = fresh
        for content in [self.current, *self.programmes.values()]:
            self._semantic(content)
        return problems
