"""FAQ content: validated entries loaded from `content/faq/*.yaml`, with file:line problems.

`load_faq` never raises on bad content: it keeps every valid entry and reports every problem
(YAML syntax, schema, unknown codes, duplicate ids, bad synonyms/stop words) with the file and
the line of the offending entry or key, taken from the composed YAML nodes.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlparse

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)

from handlers.core.content import Content, ContentProblem, register_part
from handlers.core.taxonomy import Taxonomy
from handlers.core.yamlfile import SAFE_LOADER
from handlers.faq import language

if TYPE_CHECKING:
    from handlers.faq.search import FaqIndex

log = logging.getLogger(__name__)

SECTORS: frozenset[str] = frozenset(
    {"public_buildings", "private_buildings", "mobility", "public_lighting", "cross_sector"}
)
INSTRUMENTS: frozenset[str] = frozenset(
    {
        "epc",
        "esco",
        "revolving_fund",
        "green_bond",
        "crowdfunding",
        "energy_cooperative",
        "soft_loan",
        "on_bill",
        "ppp",
        "grant",
        "eu_funds",
        "elena",
        "aggregation",
    }
)
MAX_ANSWER = 1200  # answers must be strictly shorter
MAX_TRANSLATED = 1500  # translated answers: French, German... run 15-30% longer than English
MAX_RENDERED = 2000  # render_answer stays strictly shorter
SPECIAL_FILES = frozenset({"synonyms.yaml", "stopwords.yaml", "glossary.yaml", "siblings.yaml"})
TRANSLATIONS = "translations"  # content/faq/translations/<lang>/<topic>.yaml: id -> translation
UI_LANGS = ("en", "fr", "de", "es", "it")
_LOADER = SAFE_LOADER
READ_MORE = {
    "en": "Read more:",
    "fr": "En savoir plus :",
    "de": "Mehr dazu:",
    "es": "Más información:",
    "it": "Per saperne di più:",
}
# One line above an answer shown in English because the officer's language is missing.
IN_ENGLISH = {
    "fr": "Cette réponse n'est pas encore traduite en français ; la voici en anglais.",
    "de": "Diese Antwort liegt noch nicht auf Deutsch vor; hier ist sie auf Englisch.",
    "es": "Esta respuesta aún no está traducida al español; aquí la tiene en inglés.",
    "it": "Questa risposta non è ancora tradotta in italiano; eccola in inglese.",
}


def _code_checker(group: str, known: frozenset[str]) -> Any:
    def check(code: str, info: ValidationInfo) -> str:
        extra = (info.context or {}).get("extra_codes", frozenset())
        if code not in known and code not in extra:
            raise ValueError(f"unknown {group} code {code!r}")
        return code

    return AfterValidator(check)


def _check_url(url: str) -> str:
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


SectorCode = Annotated[str, _code_checker("sector", SECTORS)]
InstrumentCode = Annotated[str, _code_checker("instrument", INSTRUMENTS)]
Text = Annotated[str, Field(min_length=1)]
AnswerText = Annotated[str, Field(min_length=1, max_length=MAX_ANSWER - 1)]
TranslatedText = Annotated[str, Field(min_length=1, max_length=MAX_TRANSLATED - 1)]
LangCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]


class Source(BaseModel):
    """A reference shown under an answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Text
    url: Annotated[str, AfterValidator(_check_url)]


class Translation(BaseModel):
    """An entry's question, alternatives and answer in another language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Text
    alternatives: list[Text] = []
    answer: TranslatedText


class FaqEntry(BaseModel):
    """One question with its answer, codes and sources (English base text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    question: Text
    alternatives: list[Text]
    answer: AnswerText
    sectors: list[SectorCode]
    instruments: list[InstrumentCode]
    tags: list[Text]
    sources: list[Source]
    lang: LangCode = "en"
    reviewed: date
    translations: dict[LangCode, Translation] = {}

    def text_for(self, lang: str | None) -> tuple[str, str]:
        """(question, answer) in `lang`, falling back to the base (English) text."""
        tr = self.translations.get(lang or self.lang)
        if tr is None:
            return self.question, self.answer
        return tr.question, tr.answer

    def languages(self) -> list[str]:
        """The languages this entry can be shown in, base language first."""
        return [self.lang, *sorted(k for k in self.translations if k != self.lang)]

    def answer_lang(self, locale: str | None, asked: str | None = None) -> str:
        """The officer's locale when translated, else the question's language, else the base."""
        for lang in (locale, asked):
            if lang and (lang == self.lang or lang in self.translations):
                return lang
        return self.lang


@dataclass
class FaqLoad:
    """The result of loading a FAQ folder: valid entries, tables and every problem."""

    entries: list[FaqEntry] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    stopwords: dict[str, list[str]] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)
    # concept (canonical token) -> language -> terms, from glossary.yaml; already in `synonyms`
    glossary: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    siblings: list[SiblingGroup] = field(default_factory=list)


def render_answer(entry: FaqEntry, lang: str | None = None) -> str:
    """The answer in `lang` plus a "Read more:" list, under MAX_RENDERED chars.

    When `lang` has no translation the English text comes with one line, in `lang`, saying so.
    """
    shown = entry.answer_lang(lang)
    _, answer = entry.text_for(shown)
    text = answer.strip()
    if lang and shown != lang and shown == "en" and lang in IN_ENGLISH:
        text = IN_ENGLISH[lang] + "\n\n" + text
    if not entry.sources:
        return text[: MAX_RENDERED - 1]
    header = "\n\n" + READ_MORE.get(lang or "en", READ_MORE["en"])
    lines: list[str] = []
    size = len(text) + len(header)
    for src in entry.sources:
        title = src.title if len(src.title) <= 120 else src.title[:119] + "…"
        line = f"\n• {title}: {src.url}"
        if size + len(line) >= MAX_RENDERED:
            break
        lines.append(line)
        size += len(line)
    if not lines:
        return text[: MAX_RENDERED - 1]
    return text + header + "".join(lines)


# --- loading -----------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _locate(node: yaml.Node, loc: tuple[int | str, ...]) -> int:
    """The line of the deepest node of `node` that the pydantic error location reaches."""
    line = _line(node)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if str(k.value) == str(part)]
            if not found:
                break
            key, node = found[-1]
            line = _line(key)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[int, str]]:
    """(line, key) for every key repeated inside a mapping, at any depth."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield _line(key), name
            seen.add(name)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _parse(path: Path, problems: list[ContentProblem]) -> tuple[yaml.Node | None, Any]:
    """The composed root node and the plain data of a YAML file, or (None, None) on error."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        problems.append(ContentProblem(name, line, f"YAML syntax: {exc.problem or exc}"))
        return None, None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(ContentProblem(name, 1, f"cannot read: {exc}"))
        return None, None
    if node is not None:
        for line, key in _duplicate_keys(node):
            problems.append(ContentProblem(name, line, f"duplicate key {key!r}"))
    return node, data


def _describe(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "entry"


def _load_entries(
    path: Path,
    extra_codes: frozenset[str],
    seen: dict[str, tuple[str, int]],
    out: FaqLoad,
) -> None:
    name = str(path)
    node, data = _parse(path, out.problems)
    if node is None:
        return
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        out.problems.append(ContentProblem(name, _line(node), "expected a list of entries"))
        return
    for item_node, item in zip(node.value, data, strict=True):
        line = _line(item_node)
        if not isinstance(item, dict):
            out.problems.append(ContentProblem(name, line, "entry is not a mapping"))
            continue
        label = f"entry {item.get('id')!r}" if isinstance(item.get("id"), str) else "entry"
        try:
            entry = FaqEntry.model_validate(item, context={"extra_codes": extra_codes})
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                where = _locate(item_node, loc)
                msg = f"{label}: {_describe(loc)}: {err['msg']}"
                out.problems.append(ContentProblem(name, where, msg))
            continue
        first = seen.get(entry.id)
        if first is not None:
            where = _locate(item_node, ("id",))
            msg = f"duplicate id {entry.id!r}, first defined at {first[0]}:{first[1]}"
            out.problems.append(ContentProblem(name, where, msg))
            continue
        seen[entry.id] = (name, _locate(item_node, ("id",)))
        out.entries.append(entry)


def _load_table(path: Path, what: str, key_pattern: str, out: FaqLoad) -> dict[str, list[str]]:
    """A mapping of str -> list[str] (synonyms, stop words); bad items reported and skipped."""
    name = str(path)
    node, data = _parse(path, out.problems)
    if node is None or data is None:
        return {}
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        out.problems.append(ContentProblem(name, _line(node), f"{what}: expected a mapping"))
        return {}
    table: dict[str, list[str]] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        value = data.get(key) if isinstance(key, str) else None
        if not isinstance(key, str) or not re.fullmatch(key_pattern, key):
            msg = f"{what}: bad key {key!r}"
            out.problems.append(ContentProblem(name, _line(key_node), msg))
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            msg = f"{what}: {key!r} must be a list of non-empty strings"
            out.problems.append(ContentProblem(name, _line(value_node), msg))
            continue
        table[key] = [str(v) for v in value]
    return table


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


def _check_synonyms(path: Path, synonyms: dict[str, list[str]], out: FaqLoad) -> None:
    """Reports a variant claimed by two canonical terms (it can map to one only)."""
    owner: dict[str, str] = {}
    node, _ = _parse(path, [])
    for canonical, variants in synonyms.items():
        for variant in [canonical, *variants]:
            folded = _fold(variant)
            prior = owner.setdefault(folded, canonical)
            if prior != canonical:
                line = _locate(node, (canonical,)) if node is not None else 1
                msg = f"synonyms: {variant!r} is listed under both {prior!r} and {canonical!r}"
                out.problems.append(ContentProblem(str(path), line, msg))


def _load_translation_file(
    path: Path, lang: str, seen: dict[tuple[str, str], str], out: FaqLoad
) -> None:
    """Merges `id: {question, alternatives, answer}` items of one file into the entries."""
    name = str(path)
    node, data = _parse(path, out.problems)
    if node is None or data is None:
        return
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        out.problems.append(ContentProblem(name, _line(node), "expected a mapping id -> text"))
        return
    by_id = {e.id: i for i, e in enumerate(out.entries)}
    for key_node, value_node in node.value:
        entry_id, line = str(key_node.value), _line(key_node)
        if entry_id not in by_id:
            out.problems.append(ContentProblem(name, line, f"unknown entry id {entry_id!r}"))
            continue
        entry = out.entries[by_id[entry_id]]
        first = seen.get((entry_id, lang))
        if lang == entry.lang or first is not None or lang in entry.translations:
            where = first or "the entry itself"
            msg = f"{entry_id!r} in {lang!r} is already given in {where}"
            out.problems.append(ContentProblem(name, line, msg))
            continue
        try:
            tr = Translation.model_validate(data[key_node.value])
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                where_line = _locate(value_node, loc)
                msg = f"{entry_id} ({lang}): {_describe(loc)}: {err['msg']}"
                out.problems.append(ContentProblem(name, where_line, msg))
            continue
        seen[(entry_id, lang)] = f"{name}:{line}"
        merged = {**entry.translations, lang: tr}
        out.entries[by_id[entry_id]] = entry.model_copy(update={"translations": merged})


def _load_translations(folder: Path, out: FaqLoad) -> None:
    """`translations/<lang>/*.yaml`: one folder per language, one file per topic."""
    base = folder / TRANSLATIONS
    if not base.is_dir():
        return
    seen: dict[tuple[str, str], str] = {}
    for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        if not re.fullmatch(r"[a-z]{2}", lang_dir.name):
            msg = "translations: folder names are ISO 639-1 codes (fr, de...)"
            out.problems.append(ContentProblem(str(lang_dir), 1, msg))
            continue
        for path in sorted(lang_dir.glob("*.y*ml")):
            _load_translation_file(path, lang_dir.name, seen, out)


class SiblingGroup(BaseModel):
    """Entries officers confuse, and the question that tells them apart (per UI language)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]], Field(min_length=2)]
    ask: dict[LangCode, Text]


def _load_siblings(path: Path, out: FaqLoad) -> None:
    """siblings.yaml: a list of groups; unknown ids and missing UI languages are problems."""
    name = str(path)
    node, data = _parse(path, out.problems)
    if node is None or data is None:
        return
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        out.problems.append(ContentProblem(name, _line(node), "siblings: expected a list"))
        return
    known = {e.id for e in out.entries}
    for item_node, item in zip(node.value, data, strict=True):
        try:
            group = SiblingGroup.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                msg = f"siblings: {_describe(loc)}: {err['msg']}"
                out.problems.append(ContentProblem(name, _locate(item_node, loc), msg))
            continue
        missing = [i for i in group.entries if i not in known]
        langs = [lang for lang in UI_LANGS if lang not in group.ask]
        if missing or langs:
            what = f"unknown entries {missing}" if missing else f"no question in {langs}"
            out.problems.append(ContentProblem(name, _line(item_node), f"siblings: {what}"))
            continue
        out.siblings.append(group)


class GlossaryConcept(BaseModel):
    """One financing concept of glossary.yaml: its terms per language and where they come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: Annotated[list[Source], Field(min_length=1)]
    terms: dict[LangCode, list[Text]]


def _load_glossary(path: Path, out: FaqLoad) -> None:
    """Adds every glossary term to `out.synonyms` under its concept; a clash is a problem."""
    name = str(path)
    node, data = _parse(path, out.problems)
    if node is None or data is None:
        return
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        out.problems.append(ContentProblem(name, _line(node), "glossary: expected a mapping"))
        return
    owner = {
        _fold(v): canonical for canonical, vs in out.synonyms.items() for v in [canonical, *vs]
    }
    for key_node, value_node in node.value:
        concept = str(key_node.value)
        try:
            item = GlossaryConcept.model_validate(data[key_node.value])
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                msg = f"glossary {concept!r}: {_describe(loc)}: {err['msg']}"
                out.problems.append(ContentProblem(name, _locate(value_node, loc), msg))
            continue
        added = out.synonyms.setdefault(concept, [])
        for lang, terms in item.terms.items():
            for term in terms:
                prior = owner.setdefault(_fold(term), concept)
                if prior != concept:
                    where = _locate(value_node, ("terms", lang))
                    msg = f"glossary: {term!r} ({lang}) is already a term of {prior!r}"
                    out.problems.append(ContentProblem(name, where, msg))
                    continue
                added.append(term)
        out.glossary[concept] = {lang: list(ts) for lang, ts in item.terms.items()}


def load_faq(folder: Path, extra_codes: frozenset[str] = frozenset()) -> FaqLoad:
    """Loads every topic file, its translations, synonyms.yaml and stopwords.yaml of `folder`.

    Never raises: every problem is collected with its file and line.
    """
    out = FaqLoad()
    if not folder.is_dir():
        out.problems.append(ContentProblem(str(folder), 1, "FAQ folder not found"))
        return out
    seen: dict[str, tuple[str, int]] = {}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        if path.name not in SPECIAL_FILES:
            _load_entries(path, extra_codes, seen, out)
    _load_translations(folder, out)
    synonyms_path = folder / "synonyms.yaml"
    if synonyms_path.is_file():
        out.synonyms = _load_table(synonyms_path, "synonyms", r".*\S.*", out)
        _check_synonyms(synonyms_path, out.synonyms, out)
    siblings_path = folder / "siblings.yaml"
    if siblings_path.is_file():
        _load_siblings(siblings_path, out)
    glossary_path = folder / "glossary.yaml"
    if glossary_path.is_file():
        _load_glossary(glossary_path, out)
    stopwords_path = folder / "stopwords.yaml"
    if stopwords_path.is_file():
        out.stopwords = _load_table(stopwords_path, "stopwords", r"[a-z]{2}", out)
    return out


class FaqPart:
    """The FAQ as a part of `content/`: the base entries plus a programme folder's own."""

    name = "faq"

    def parse(
        self, root: Path, programme: Path | None, taxonomy: Taxonomy
    ) -> tuple[FaqIndex, list[ContentProblem]]:
        from handlers.faq.search import FaqIndex

        extra = frozenset(c for group in taxonomy.labels.values() for c in group)
        faq = load_faq(root / "faq", extra_codes=extra)
        if programme is not None and (programme / "faq").is_dir():
            more = load_faq(programme / "faq", extra_codes=extra)
            known = {e.id for e in faq.entries}
            faq.entries += [e for e in more.entries if e.id not in known]
            faq.problems += more.problems
            faq.problems += [
                ContentProblem(
                    str(programme / "faq"), 1, f"id {e.id} already exists in the base FAQ"
                )
                for e in more.entries
                if e.id in known
            ]
            for canonical, variants in more.synonyms.items():
                faq.synonyms.setdefault(canonical, []).extend(variants)
        return FaqIndex.build(faq), list(faq.problems)

    def keep_last_good(
        self, last: FaqIndex, fresh: FaqIndex, problems: list[ContentProblem]
    ) -> FaqIndex:
        """A reload that lost entries to broken files keeps the FAQ officers were reading."""
        if problems and len(fresh) < len(last):
            log.warning("content problems; keeping the last good FAQ (%d)", len(last))
            return last
        return fresh


register_part(FaqPart())


def faq_index(content: Content) -> FaqIndex:
    """The FAQ index of a content (every content has one: the part is always registered)."""
    index: FaqIndex = content.parts[FaqPart.name]
    return index


def with_meaning_layer(cache_dir: Path) -> Callable[[Content], None]:
    """A `ContentStore.on_load` hook: every FAQ index gets its meaning layer, loaded in a
    background thread (the FAQ answers on words meanwhile), entry vectors cached in `cache_dir`;
    the language detector is built in the background as well."""

    def attach(content: Content) -> None:
        index = faq_index(content)
        if index.semantic is None:
            index.attach_semantic(cache_dir)
            language.warm_up()  # the language detector too, at the same time

    return attach
