"""FAQ search: fuzzy, multilingual matching of a free-text question to FAQ entries.

Pipeline. The question's language is detected offline (handlers.faq.language: stop-word votes plus
lingua, fallback the officer's locale). Every text (index side and query side) is case-folded,
accent-stripped and cut into word tokens; synonym and glossary phrases (synonyms.yaml,
glossary.yaml: EPC = CPE = Energiespar-Contracting = energieprestatiecontract = umowa EPC...) are
found on language-blind light stems (plural rule, then one common suffix, leaving at least
STEM_MIN=4 characters) and mapped to one canonical token (in a question, a misspelt word of a term
is read as that term when the whole term then matches: Normaliser._typos; an acronym written in
capitals, "PAYS", is kept whole unless its stem is a term: `acronyms`); the other words get the
Snowball stem of the text's language (index strings: their entry/translation language; query: the
detected one); stop words (stopwords.yaml, eight languages) are dropped: the text's language's,
and the other languages' unless the FAQ writes them as words (Normaliser.stop_for). Each entry owns
several index strings (question, alternatives, translated questions/alternatives, tags), kept in
one flat list with an owner array. A query is scored against all strings at once:

* `dice`: IDF-weighted token overlap (2*matched / (query mass + string mass)), query tokens
  unknown to the vocabulary matched to their closest vocabulary token (ratio >= 80);
* `sort`: rapidfuzz `ratio` of the sorted token strings (= token_sort_ratio), via `cdist`, only
  for strings sharing a token with the query (the others score under any threshold anyway);
* `set`: rapidfuzz `token_set_ratio`, computed for the best candidates only (it is 100 when one
  side is a subset of the other, so it is averaged with `sort` and never used alone).

string score = kind weight * (W_DICE * dice + (1 - W_DICE) * (set + sort) / 2); entry score =
(1 - W_BAG) * max over its strings + W_BAG * `bag`, where `bag` is the IDF-weighted share of the
query matched anywhere in the entry, plus a length bonus of LENGTH_BONUS points per content word
beyond LENGTH_FREE (the same for every entry of a query: it never changes the ranking, it lets the
decision judge long, chatty questions on a fairer scale). Decision: "answer" if best >= T_ANSWER
and best - runner-up >= MARGIN, "suggest" (top 3) if best >= T_SUGGEST, else "unknown". Queries
with fewer than 2 content tokens are "unknown" unless the one token is a key term.

Metrics (see `evaluate`): on-topic rows are dev rows with a label, off-topic rows have none.
top1 = share of on-topic rows with status answer/suggest and best.entry_id == label; top3 = the
label among [best] + suggestions (best only for an answer); direct = answered directly and
correctly / on-topic rows; refused_offtopic = share of off-topic rows with status unknown.

Meaning (handlers.faq.semantic, when `attach_semantic` has loaded it): the entry score becomes
`hybrid` = (1 - W_SEM) * lexical + W_SEM * 100 * (best cosine of the question with the entry's
strings, multilingual Universal Sentence Encoder), then `combine` corrects it with the glossary
(KEY_MISS, DEFINE_BOOST), decided with the HYBRID thresholds; until the
encoder is loaded (or when it is off) the lexical score and T_* decide. `thresholds_for(lang)`
picks them, per detected language where LEXICAL_BY_LANG / HYBRID_BY_LANG hold some.
The figures these thresholds came from are in benchmarks/FAQ_FIGURES.md.

Calibration (`calibrate`): T_SUGGEST maximises top1 subject to refused_offtopic >= 0.95, overall
and in each language of the rows (`groups`: a pooled fit let English, whose off-topic questions
are the most domain-like, fall to 0.915); then T_ANSWER and MARGIN (>= MIN_MARGIN) maximise the
correct direct answers subject to direct-answer precision >= ANSWER_PRECISION (an off-topic
answer counts as wrong).
Per-language thresholds stay unset (they measured worse: benchmarks/FAQ_FIGURES.md).

Lexical thresholds (words alone, until the encoder is loaded): T_ANSWER=50, T_SUGGEST=47,
MARGIN=5, fitted by `benchmarks/faq_bench.py --calibrate`; figures in benchmarks/FAQ_FIGURES.md."""

from __future__ import annotations

import functools
import math
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from handlers.faq.content import INSTRUMENTS, FaqEntry, FaqLoad, SiblingGroup
from handlers.faq.language import detect_language
from handlers.faq.semantic import Encoder, SemanticLayer, load_encoder

T_ANSWER = 50.0
T_SUGGEST = 47.0
MARGIN = 5.0
W_SEM = 0.4  # share of the meaning score (100 * best cosine) in the hybrid entry score
W_DICE = 0.5
W_SET = 0.5  # share of token_set_ratio in the fuzzy part (the rest: token_sort)
BETA = 1.0  # >1 weighs the coverage of the entry string over that of the query
BASELINE_T = 86.0
CANDIDATES = 128  # strings re-scored with token_set_ratio
FUZZY_TOUCHED_ONLY = True  # fuzzy-score only strings sharing a token with the query
FUZZY_TOKEN_CUTOFF = 80.0
# Typo tolerance for glossary terms: a query word of at least TYPO_MIN letters that no index
# string and no term uses is read as the closest word of a glossary/synonym term (rapidfuzz ratio
# >= TYPO_CUTOFF), kept only when the whole term then matches ("revolvng fund", "obligaton
# verte", "fundusz odnawialy"); see Normaliser._typos.
TYPO_MIN = 3
TYPO_CUTOFF = 80.0
TYPO_CHOICES = 4
TYPO_CUTOFF_ALONE = 90.0  # a one-word term ("crowdfunding") has no other word to confirm it
TAG_WEIGHT = 0.9
# With the meaning score: an entry loses KEY_MISS points per max-IDF of the question's key terms
# (glossary and synonym concepts, instruments) that none of its strings names, capped at KEY_MISS:
# the encoder reads "recovery fund" close to "revolving fund", the glossary does not, and a common
# term ("city") costs little. A question made of key terms only ("ESCO?", "what does an esco do",
# "revolving fund") asks what they are: the entries whose main question defines all of them ("What
# is an ESCO...") gain DEFINE_BOOST points, more than MIN_MARGIN so a tied sibling can be passed.
# Values chosen before measuring, not tuned; benchmarks/FAQ_FIGURES.md has the figures with and
# without them.
KEY_MISS = 6.0
DEFINE_BOOST = 4.0
# A question with no content words to score ("what can you do", "what data do you have on me") is
# compared whole, stop words kept, to the index strings as written: the closest string's entry is
# its one hit when rapidfuzz ratio or token-sort ratio reaches SHORT_CUTOFF (greetings and small
# talk stay under it: the dev set's off-topic rows of this kind reach 57 at most).
SHORT_CUTOFF = 80.0
LANG_TIE = 3.0  # a base-language string this close to the best one decides the language
REFUSAL_TARGET = 0.95
ANSWER_PRECISION = 0.97  # the floor: a wrong direct answer costs more than a did-you-mean
MIN_LANG_ROWS = 25  # labelled rows a language needs for thresholds of its own
MIN_MARGIN = 3.0  # calibration never picks a smaller margin: near-ties keep their "did you mean"
LANGS = ("en", "fr", "de", "es", "it")
W_BAG = 0.15  # share of the entry-level query coverage (all strings of an entry pooled)
LENGTH_FREE = 3  # content words a query may have before its score gets the length bonus
LENGTH_BONUS = 1.25  # points per content word beyond LENGTH_FREE (long questions dilute)
STEM_MIN = 4  # shortest stem left by suffix stripping (0: plural rule only)
# Per-language stemming (Snowball) of the words left after synonym/glossary mapping; "light" keeps
# the language-blind suffix stripper for them too (benchmarks/faq_bench.py --stemming compares).
STEMMING: Literal["snowball", "light"] = "snowball"
SNOWBALL = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pl": "polish",
    "pt": "portuguese",
}

# Used in addition to stopwords.yaml, so that a missing or partial file still works.
DEFAULT_STOPWORDS: dict[str, str] = {
    "en": "a an the is are was be do does did can could should would will i we our my you"
    " your it its to of in on for with and or what how why when where which who me us this"
    " that these those there about any some have has get hi hello thanks thank please",
    "fr": "le la les un une des du de d l est sont et ou a au aux en pour par sur avec que qu"
    " qui quoi comment pourquoi quand ou nous notre nos vous votre je j ce cette ces il elle"
    " on peut peux faut quel quelle quels quelles merci bonjour salut",
    "de": "der die das den dem des ein eine einen einem einer ist sind und oder zu zum zur"
    " von vom im in mit fur auf was wie warum wann wo wer wir unser unsere ich sie es kann"
    " konnen man welche welcher welches danke hallo",
    "es": "el la los las un una unos unas es son y o de del en para por con que como por"
    " porque cuando donde quien nosotros nuestro nuestra puede se lo al gracias hola cual",
    "it": "il lo la i gli le un una uno e sono ed o di del della dei delle in per con che"
    " come perche quando dove chi noi nostro nostra puo si al alla cosa quale grazie ciao",
}

Status = Literal["answer", "suggest", "unknown"]
_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Hit:
    """A matching entry: its question in the asked language when available, score 0-100."""

    entry_id: str
    question: str
    score: float
    lang: str


@dataclass(frozen=True)
class SearchResult:
    """The decision for a query; `suggestions` (best first) only when status is "suggest".

    `lang` is the language the question was written in (detected; the caller's fallback when
    the text gives no evidence).
    """

    status: Status
    best: Hit | None
    suggestions: list[Hit]
    lang: str | None = None


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on the 0-100 entry score."""

    answer: float = T_ANSWER
    suggest: float = T_SUGGEST
    margin: float = MARGIN


# Per-language decision thresholds (the question's detected language), on words alone and with
# the semantic layer; fitted by `benchmarks/faq_bench.py --calibrate` (see the module docstring).
# Per-language thresholds measured worse than one set for all languages (5-fold CV, both signal
# modes: the languages other than English have 29-48 labelled rows, too few to fit three
# thresholds each), so none are set; the mechanism stays for a larger dev set.
LEXICAL_BY_LANG: dict[str, Thresholds] = {}
HYBRID = Thresholds(answer=49.5, suggest=49.5, margin=3.0)
HYBRID_BY_LANG: dict[str, Thresholds] = {}


# --- normalisation -----------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case-folded, accent-stripped text with punctuation turned into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.sub(" ", kept).split())


_ACRONYM = re.compile(r"(?<![\w])([A-Z][A-Z0-9]+)(?![\w])")


def acronyms(text: str) -> frozenset[str]:
    """The folded words `text` writes in capitals (at least two letters) while writing others in
    lower case: acronyms, kept whole instead of stemmed, so that "PAYS" (pay-as-you-save) stays
    apart from "pays" and "ESCOS" from a stem. A text written all in capitals has none."""
    if not any(c.islower() for c in text):
        return frozenset()
    return frozenset(fold(m) for m in _ACRONYM.findall(text) if sum(c.isalpha() for c in m) >= 2)


# Inflectional and common derivational endings of the five languages, longest first. Stripping
# one of them (keeping at least STEM_MIN characters) conflates "financing"/"finance"/"financement",
# "renovation"/"renovate", "funding"/"fund", "Finanzierung"/"finanzieren"; applied to both sides.
_SUFFIX_LIST = (
    "ations ation ements ement ments ment ungen ung ings ing ed ers er ions ion ives ive ity"
    " ites ite ly al aux ale ali aire eur euse ciones cion zioni zione mente ado ada ados adas"
    " ato ata ati ate ieren iert en e a o i"
)
_SUFFIXES: tuple[tuple[int, frozenset[str]], ...] = tuple(
    (n, frozenset(x for x in _SUFFIX_LIST.split() if len(x) == n))
    for n in sorted({len(x) for x in _SUFFIX_LIST.split()}, reverse=True)
)


@functools.cache
def _snowball(lang: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(SNOWBALL[lang])


@functools.lru_cache(maxsize=1 << 17)
def snowball_stem(lang: str, word: str) -> str:
    """The Snowball stem of a folded word in `lang` (the word itself if not stemmable)."""
    if lang not in SNOWBALL or any(c.isdigit() for c in word):
        return word
    return str(_snowball(lang).stemWord(word))


@functools.lru_cache(maxsize=1 << 16)
def stem(token: str) -> str:
    """Plural rule (-s, -es, -ies -> -y), then one suffix of _SUFFIXES: cheap, language-blind."""
    if len(token) > 4 and token.endswith("ies"):
        token = token[:-3] + "y"
    elif len(token) > 4 and token.endswith(("ches", "shes", "xes", "sses")):
        token = token[:-2]
    elif len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    if not STEM_MIN or any(c.isdigit() for c in token):
        return token
    for size, suffixes in _SUFFIXES:  # longest first
        if len(token) - size >= STEM_MIN and token[-size:] in suffixes:
            return token[:-size]
    return token


class Normaliser:
    """Folding, stemming, synonym mapping and stop-word removal shared by index and query."""

    def __init__(self, synonyms: dict[str, list[str]], stopwords: dict[str, list[str]]) -> None:
        self.by_lang: dict[str, frozenset[str]] = {}
        for lang in {*LANGS, *stopwords}:
            words = DEFAULT_STOPWORDS.get(lang, "").split() + list(stopwords.get(lang, []))
            self.by_lang[lang] = frozenset(fold(w) for w in words if fold(w))
        # Stop words are matched as written (folded), never stemmed: stemming them would drop
        # content words sharing their stem (Italian "stato" vs "state", "questo" vs "question").
        self.stop = frozenset(w for ws in self.by_lang.values() for w in ws)
        self.variants: dict[str, str] = {}
        self.key_terms: set[str] = {stem(c) for c in INSTRUMENTS if "_" not in c}
        self.canonical: set[str] = set()
        for canonical, variants in synonyms.items():
            token = "_".join(self._stems(canonical))
            if not token:
                continue
            self.key_terms.add(token)
            self.canonical.add(token)
            for variant in [canonical, *variants]:
                key = " ".join(self._stems(variant))
                if key:
                    self.variants.setdefault(key, token)
        self.term_words: dict[str, str] = {}  # folded word of a term -> its light stem
        for variant in [c for c, vs in synonyms.items() for c in [c, *vs]]:
            for word in fold(variant).split():
                if len(word) >= TYPO_MIN - 1 and word not in self.stop:
                    self.term_words.setdefault(word, stem(word))
        self._term_list = sorted(self.term_words)
        self._stop_cache: dict[str, frozenset[str]] = {}
        self.known: frozenset[str] = frozenset()
        """Folded words of the index strings (set by FaqIndex): never read as typos."""
        self.written: frozenset[str] = frozenset()
        """Stop words of some language that the index strings use as content words of another
        (set by FaqIndex): "eu" (Portuguese "I"), "over" (Dutch), "non" (French, Italian)."""
        ordered = sorted(self.variants, key=len, reverse=True)
        self.pattern = (
            re.compile(r"(?<!\S)(" + "|".join(map(re.escape, ordered)) + r")(?!\S)")
            if ordered
            else None
        )

    def _stems(self, text: str) -> list[str]:
        return [t if t in self.stop else stem(t) for t in fold(text).split()]

    def _light(self, word: str, acronym: bool) -> str:
        """The light stem of a word; an acronym stays whole unless its stem is a term of its
        own ("ESCOS" is the ESCO term, "PAYS" is not the verb "pay")."""
        light = stem(word)
        return word if acronym and light != word and light not in self.variants else light

    def _typos(self, words: list[str], light: list[str]) -> list[str]:
        """`light` with misspelt glossary words corrected where a whole term then matches.

        Each unknown word gets its TYPO_CHOICES closest term words; a correction is kept only
        inside a matched term, the one inside the longest term winning ("grean bond" is the
        green bond, not a grant). A one-word term needs TYPO_CUTOFF_ALONE ("crowdfundng"), so
        that "granite" does not become a grant.
        """
        choices: dict[int, list[tuple[str, float]]] = {}
        for i, word in enumerate(words):
            if (
                len(word) < TYPO_MIN
                or word in self.stop
                or word in self.known
                or word in self.term_words
                or any(c.isdigit() for c in word)
            ):
                continue
            found = process.extract(
                word,
                self._term_list,
                scorer=fuzz.ratio,
                score_cutoff=TYPO_CUTOFF,
                limit=TYPO_CHOICES,
            )
            if found:
                choices[i] = [(self.term_words[f[0]], float(f[1])) for f in found]
        if not choices or self.pattern is None:
            return light
        # Every candidate starts at its closest term word, so that a term with two misspelt
        # words ("revolfing fnd") can match; two sweeps then pick each word's best reading.
        fixed = list(light)
        for i, options in choices.items():
            fixed[i] = options[0][0]
        covered: dict[int, int] = {}
        for _ in range(2):
            for i, options in choices.items():
                best, best_len = fixed[i], 0
                for option, similarity in options:
                    fixed[i] = option
                    size = self._covering(fixed, i)
                    if size == 1 and similarity < TYPO_CUTOFF_ALONE:
                        continue
                    if size > best_len:
                        best, best_len = option, size
                fixed[i], covered[i] = best, best_len
        for i in choices:
            if not covered[i] or not self._covering(fixed, i):
                fixed[i] = light[i]  # no term confirms it: the word stays as written
        return fixed

    def _covering(self, tokens: list[str], i: int) -> int:
        """The length (in words) of the matched term covering tokens[i], 0 if none."""
        assert self.pattern is not None
        start = sum(len(t) + 1 for t in tokens[:i])
        for match in self.pattern.finditer(" ".join(tokens)):
            lo, hi = match.span()
            if lo <= start < hi:
                return match.group(1).count(" ") + 1
        return 0

    def tokens(self, text: str, lang: str | None = None, typos: bool = False) -> list[str]:
        """Content tokens: stemmed, synonyms mapped to canonical tokens, stop words dropped.

        Synonym and glossary phrases are found on language-blind light stems (their variants
        carry no language); the other words then get the Snowball stem of `lang`, if given.
        With `typos` (questions, not index strings), misspelt glossary terms are read too.
        """
        return self.word_tokens(fold(text).split(), lang, typos, acronyms(text))

    def word_tokens(
        self,
        words: list[str],
        lang: str | None = None,
        typos: bool = False,
        caps: frozenset[str] = frozenset(),
    ) -> list[str]:
        """`tokens` of a text already folded and split (`words`); the words in `caps` (its
        acronyms, see `acronyms`) are kept whole, never stemmed."""
        light = [w if w in self.stop else self._light(w, w in caps) for w in words]
        if typos:
            light = self._typos(words, light)
        joined = " ".join(light)
        if self.pattern is not None:
            joined = self.pattern.sub(lambda m: self.variants[m.group(1)], joined)
        stop = self.stop_for(lang)
        out = [t for t in joined.split() if t not in stop and (len(t) > 1 or t.isdigit())]
        if lang is None or STEMMING != "snowball" or lang not in SNOWBALL:
            return out
        origin: dict[str, str] = {}
        for word, light_stem in zip(words, light, strict=True):
            origin.setdefault(light_stem, word)
        return [
            t
            if t in self.canonical or t in caps or t not in origin
            else snowball_stem(lang, origin[t])
            for t in out
        ]

    def stop_for(self, lang: str | None) -> frozenset[str]:
        """The words dropped from a text in `lang`: its own stop words, and those of the other
        languages unless the FAQ writes them as content words ("EU funds" in English, where
        Portuguese "eu" is a stop word). Unknown language: every language's stop words."""
        mine = self.by_lang.get(lang or "")
        if mine is None or not self.written:
            return self.stop
        found = self._stop_cache.get(lang or "")
        if found is None:
            found = self._stop_cache[lang or ""] = mine | (self.stop - self.written)
        return found

    def languages(self, text: str) -> list[str]:
        """Languages whose stop words the text uses most (ties kept, in LANGS order)."""
        words = fold(text).split()
        counts = {lang: sum(w in ws for w in words) for lang, ws in self.by_lang.items()}
        top = max(counts.values(), default=0)
        if top == 0:
            return []
        order = {lang: i for i, lang in enumerate(LANGS)}
        return sorted(
            (lang for lang, c in counts.items() if c == top), key=lambda x: order.get(x, 99)
        )


# --- index -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    tokens: list[str]
    lang: str | None  # the detected language of the question (or the fallback)
    ranked: list[tuple[int, float, str | None]]  # (entry index, score, matched language)


class FaqIndex:
    """Flat arrays over every index string of every entry; build once, search many times."""

    def __init__(self, entries: list[FaqEntry], norm: Normaliser, thresholds: Thresholds) -> None:
        self.entries = entries
        self.norm = norm
        self.thresholds = thresholds
        self.siblings: list[SiblingGroup] = []
        self._by_id = {e.id: i for i, e in enumerate(entries)}
        self._related: dict[tuple[str, int], list[tuple[float, int]]] = {}
        texts: list[str] = []
        raw: list[str] = []
        whole: list[str] = []
        langs: list[str | None] = []
        owner: list[int] = []
        weight: list[float] = []
        token_sets: list[frozenset[str]] = []
        known: set[str] = set()
        written: set[str] = set()
        for entry in entries:
            for text, lang, _ in _strings(entry):
                own = norm.by_lang.get(lang or entry.lang, frozenset())
                written.update(w for w in fold(text).split() if w in norm.stop and w not in own)
        norm.written = frozenset(written)
        norm._stop_cache.clear()
        for i, entry in enumerate(entries):
            for text, lang, w in _strings(entry):
                words = fold(text).split()
                known.update(words)
                caps = acronyms(text)
                toks = norm.word_tokens(words, lang or entry.lang, caps=caps) or words or [entry.id]
                texts.append(" ".join(sorted(toks)))
                raw.append(text)
                whole.append(" ".join(words))
                langs.append(lang)
                owner.append(i)
                weight.append(w)
                token_sets.append(frozenset(toks))
        self._texts = texts
        norm.known = frozenset(known)
        self.raw_texts = raw
        self._whole = whole
        """The index strings as written (what the semantic layer encodes), in `_owner` order."""
        self.semantic: SemanticLayer | None = None
        self.semantic_weight = W_SEM
        self.by_lang: dict[str, Thresholds] = dict(LEXICAL_BY_LANG)
        self.hybrid: Thresholds = HYBRID
        self.hybrid_by_lang: dict[str, Thresholds] = dict(HYBRID_BY_LANG)
        self._langs = langs
        self._owner = np.asarray(owner, dtype=np.int64)
        self._weight = np.asarray(weight, dtype=np.float64)
        self._starts = np.searchsorted(self._owner, np.arange(len(entries)))
        df: dict[str, int] = {}
        for i in range(len(entries)):
            seen: set[str] = set()
            for j in range(int(self._starts[i]), _end(self._starts, i, len(texts))):
                seen |= token_sets[j]
            for tok in seen:
                df[tok] = df.get(tok, 0) + 1
        n = max(len(entries), 1)
        self._idf = {tok: math.log(1.0 + n / c) for tok, c in df.items()}
        self._max_idf = math.log(1.0 + n)
        self._vocab = sorted(self._idf)
        postings: dict[str, list[int]] = {}
        for j, tok_set in enumerate(token_sets):
            for tok in tok_set:
                postings.setdefault(tok, []).append(j)
        self._postings = {t: np.asarray(p, dtype=np.int64) for t, p in postings.items()}
        self._entry_postings = {t: _distinct(self._owner[p]) for t, p in self._postings.items()}
        self._defines = [self._defined_terms(e) for e in entries]
        self._mass = np.asarray(
            [sum(self._idf[t] for t in tok_set) for tok_set in token_sets], dtype=np.float64
        )
        self._en_questions = [e.question for e in entries]

    @classmethod
    def build(cls, load: FaqLoad, thresholds: Thresholds | None = None) -> FaqIndex:
        """An index over the valid entries of a load, with its synonyms and stop words."""
        norm = Normaliser(load.synonyms, load.stopwords)
        index = cls(list(load.entries), norm, thresholds or Thresholds())
        index.siblings = list(load.siblings)
        return index

    def sibling_question(self, result: SearchResult) -> tuple[dict[str, str], list[str]] | None:
        """For a "suggest" whose best hit and another top-3 hit are siblings: (question per
        language, the group's ids).

        The ids are the group's entries, in the group's order, so the choices read as the
        question does ("the company (ESCO), the contract (EPC) or ...").
        """
        if result.status != "suggest" or len(result.suggestions) < 2:
            return None
        best, others = result.suggestions[0].entry_id, {h.entry_id for h in result.suggestions[1:3]}
        for group in self.siblings:
            if best in group.entries and others & set(group.entries):
                return dict(group.ask), [i for i in group.entries if self.get(i) is not None]
        return None

    def with_thresholds(
        self, thresholds: Thresholds, by_lang: dict[str, Thresholds] | None = None
    ) -> FaqIndex:
        """The same index deciding with other thresholds, for every language unless `by_lang`
        says otherwise, with or without the semantic layer (arrays shared)."""
        clone = object.__new__(FaqIndex)
        clone.__dict__.update(self.__dict__)
        clone.thresholds = clone.hybrid = thresholds
        clone.by_lang = clone.hybrid_by_lang = dict(by_lang or {})
        return clone

    def without_semantic(self) -> FaqIndex:
        """The same index answering on words alone (arrays shared)."""
        clone = object.__new__(FaqIndex)
        clone.__dict__.update(self.__dict__)
        clone.semantic = None
        return clone

    def attach_semantic(
        self,
        cache_dir: Path | None,
        loader: Callable[[], Encoder] | None = None,
        background: bool = True,
    ) -> SemanticLayer:
        """Give the index its meaning signal: loaded in a background thread (the FAQ answers
        lexically meanwhile) or now; the entry vectors are cached in `cache_dir`."""
        layer = SemanticLayer(
            self.raw_texts,
            self._owner.tolist(),
            len(self.entries),
            cache_dir,
            loader or load_encoder,
        )
        self.semantic = layer
        if background:
            layer.start()
        else:
            layer.load()
        return layer

    @property
    def hybrid_ready(self) -> bool:
        """True when questions are scored on meaning as well as words."""
        return self.semantic is not None and self.semantic.ready

    def thresholds_for(self, lang: str | None) -> Thresholds:
        """The decision thresholds for a question in `lang`, for the signals in use now."""
        if self.hybrid_ready:
            return self.hybrid_by_lang.get(lang or "", self.hybrid)
        return self.by_lang.get(lang or "", self.thresholds)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def n_strings(self) -> int:
        """How many index strings (questions, alternatives, translations, tags) are searched."""
        return len(self._texts)

    def get(self, entry_id: str) -> FaqEntry | None:
        """The entry with this id, if any."""
        i = self._by_id.get(entry_id)
        return None if i is None else self.entries[i]

    # --- scoring -------------------------------------------------------------------------------

    def detect(self, text: str, fallback: str | None = None) -> str | None:
        """The language `text` is written in (see handlers.faq.language), else `fallback`."""
        return detect_language(fold(text).split(), text, self.norm.by_lang, fallback)

    def entry_scores(
        self, text: str, fallback: str | None = None
    ) -> tuple[list[str], str | None, np.ndarray | None, np.ndarray | None]:
        """(content tokens, question language, lexical score per entry, score per string).

        The scores are None for a query with no content (or one lone word that is no key term).
        """
        asked = self.detect(text, fallback)
        tokens = list(dict.fromkeys(self.norm.tokens(text, asked or "en", typos=True)))
        short = len(tokens) < 2 and not (len(tokens) == 1 and tokens[0] in self.norm.key_terms)
        if not tokens or short or not self.entries:
            return tokens, asked, None, None
        n = len(self._texts)
        acc = np.zeros(n, dtype=np.float64)
        bag = np.zeros(len(self.entries), dtype=np.float64)
        q_mass = 0.0
        for tok in tokens:
            match, sim = tok, 1.0
            if tok not in self._idf:
                found = None
                if len(tok) >= 4:
                    found = process.extractOne(
                        tok, self._vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_TOKEN_CUTOFF
                    )
                if found is None:
                    q_mass += self._max_idf
                    continue
                match, sim = found[0], found[1] / 100.0
            w = self._idf[match]
            q_mass += w
            acc[self._postings[match]] += w * sim
            bag[self._entry_postings[match]] += w * sim
        b2 = BETA * BETA
        dice = 100.0 * (1.0 + b2) * acc / (q_mass + b2 * self._mass)
        query = " ".join(sorted(tokens))
        # Fuzzy scores only for strings sharing a (possibly typo-matched) token with the query: a
        # string with none scores under any threshold anyway, and skipping them keeps latency
        # flat as translations multiply the strings.
        touched = np.flatnonzero(acc > 0.0) if FUZZY_TOUCHED_ONLY else np.arange(n)
        fuzzy = np.zeros(n, dtype=np.float64)
        if len(touched):
            texts = [self._texts[j] for j in touched]
            fuzzy[touched] = process.cdist([query], texts, scorer=fuzz.ratio, dtype=np.float32)[0]
            m = min(CANDIDATES, len(touched))
            pre = dice[touched] + fuzzy[touched]
            cand = touched[np.argpartition(-pre, m - 1)[:m]] if m < len(touched) else touched
            cand_texts = [self._texts[j] for j in cand]
            tset = process.cdist([query], cand_texts, scorer=fuzz.token_set_ratio, dtype=np.float32)
            fuzzy[cand] = (1.0 - W_SET) * fuzzy[cand] + W_SET * tset[0]
        scores = self._weight * (W_DICE * dice + (1.0 - W_DICE) * fuzzy)
        per_entry = np.maximum.reduceat(scores, self._starts)
        if W_BAG:
            per_entry = (1.0 - W_BAG) * per_entry + W_BAG * 100.0 * bag / q_mass
        # The same for every entry: ranks stay, only the decision sees long questions fairer.
        per_entry = per_entry + length_bonus(len(tokens), LENGTH_FREE, LENGTH_BONUS)
        return tokens, asked, per_entry, scores

    def _defined_terms(self, entry: FaqEntry) -> frozenset[str]:
        """The glossary terms an entry's main question defines ("What is a revolving fund...",
        "What are ERDF financial instruments..."), empty for any other kind of question."""
        words = fold(entry.question).split()
        if words[:2] not in (["what", "is"], ["what", "are"]):
            return frozenset()
        tokens = self.norm.word_tokens(words[2:], entry.lang)
        if not tokens or tokens[0] not in self.norm.key_terms:
            return frozenset()  # "What is the difference...", "What are the main risks..."
        return frozenset(t for t in tokens if t in self.norm.key_terms)

    def combine(
        self,
        tokens: Sequence[str],
        lexical: np.ndarray,
        meaning: np.ndarray,
        weight: float,
        key_miss: float = KEY_MISS,
        define_boost: float = DEFINE_BOOST,
    ) -> np.ndarray:
        """The entry scores from words and meaning (see KEY_MISS and DEFINE_BOOST)."""
        scores = hybrid(lexical, meaning, weight)
        keys = [t for t in tokens if t in self.norm.key_terms and t in self._idf]
        if not keys:
            return scores
        if key_miss:
            total = sum(self._idf[t] for t in keys)
            missing = np.full(len(self.entries), total)
            for t in keys:
                missing[self._entry_postings[t]] -= self._idf[t]
            scores = scores - key_miss * np.minimum(missing / self._max_idf, 1.0)
        if define_boost and len(keys) == len(tokens):
            asked = frozenset(keys)
            for i, defined in enumerate(self._defines):
                if defined and asked <= defined:
                    scores[i] += define_boost
        return scores

    def _query(self, text: str, k: int, fallback: str | None = None) -> _Query:
        tokens, asked, per_entry, scores = self.entry_scores(text, fallback)
        if per_entry is None or scores is None:
            return _Query(tokens, asked, self._short_match(text))
        meaning = self.semantic.similarity(text) if self.semantic is not None else None
        if meaning is not None:
            per_entry = self.combine(tokens, per_entry, meaning, self.semantic_weight)
        n = len(self._texts)
        kk = min(k, len(per_entry))
        top = np.argpartition(-per_entry, kk - 1)[:kk]
        top = top[np.argsort(-per_entry[top], kind="stable")]
        ranked = []
        for i in top:
            lo, hi = int(self._starts[i]), _end(self._starts, int(i), n)
            ranked.append((int(i), float(per_entry[i]), self._matched_lang(int(i), scores[lo:hi])))
        return _Query(tokens, asked, ranked)

    def _short_match(self, text: str) -> list[tuple[int, float, str | None]]:
        """The one entry a question without content words asks for, if its whole wording is
        close enough to one of the entry's strings (see SHORT_CUTOFF), else none."""
        words = fold(text).split()
        if not words or not self._whole:
            return []
        query = " ".join(words)
        best: tuple[float, int] | None = None
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
            found = process.extractOne(query, self._whole, scorer=scorer, score_cutoff=SHORT_CUTOFF)
            if found is not None and (best is None or found[1] > best[0]):
                best = (float(found[1]), int(found[2]))
        if best is None:
            return []
        score, j = best
        return [(int(self._owner[j]), score, self._langs[j])]

    def _matched_lang(self, i: int, scores: np.ndarray) -> str | None:
        """The language of the entry's best string, preferring its base language on near-ties."""
        lo = int(self._starts[i])
        best = int(np.argmax(scores))
        base = self.entries[i].lang
        own = [s for j, s in enumerate(scores) if self._langs[lo + j] == base]
        if own and max(own) >= scores[best] - LANG_TIE:
            return base
        return self._langs[lo + best]

    def _hit(self, i: int, score: float, lang: str) -> Hit:
        entry = self.entries[i]
        shown = lang if lang in entry.translations or lang == entry.lang else entry.lang
        question, _ = entry.text_for(shown)
        return Hit(entry.id, question, round(min(score, 100.0), 2), shown)

    def _lang(self, q: _Query, asked: str | None) -> str:
        if asked:
            return asked
        matched = q.ranked[0][2] if q.ranked else None
        return q.lang or matched or "en"

    def _ranked(self, text: str, lang: str | None, k: int) -> tuple[list[Hit], str | None]:
        q = self._query(text, k, lang)
        shown = self._lang(q, lang)
        return [self._hit(i, s, shown) for i, s, _ in q.ranked], q.lang

    def rank(self, text: str, lang: str | None = None, k: int = 3) -> list[Hit]:
        """The k best entries whatever the thresholds ([] for a query with no content).

        `lang` is the reader's language: hits show their question in it, and it is the
        fallback when the question's own language cannot be told.
        """
        return self._ranked(text, lang, k)[0]

    def search(self, text: str, lang: str | None = None) -> SearchResult:
        """Answer, suggest (top 3) or unknown, per the thresholds; with the question's language."""
        hits, asked = self._ranked(text, lang, 3)
        result = decide(hits, self.thresholds_for(asked))
        return SearchResult(result.status, result.best, result.suggestions, asked)

    def related(self, entry_id: str, k: int = 2, lang: str | None = None) -> list[Hit]:
        """Up to k other entries sharing instruments (x3), tags (x2) or sectors (x1).

        Ranked once per entry and kept with the index (every answer shows them; the entries
        do not change while an index lives: a content reload builds a new one)."""
        ranked = self._related.get((entry_id, k))
        if ranked is None:
            ranked = self._related[(entry_id, k)] = self._rank_related(entry_id, k)
        return [self._hit(i, -s * 100.0, lang or "en") for s, i in ranked]

    def _rank_related(self, entry_id: str, k: int) -> list[tuple[float, int]]:
        me = self.get(entry_id)
        if me is None:
            return []
        mine = _facets(me)
        total = sum(mine.values()) or 1.0
        scored = []
        for i, other in enumerate(self.entries):
            if other.id == entry_id:
                continue
            theirs = _facets(other)
            shared = sum(w for f, w in mine.items() if f in theirs)
            if shared:
                union = total + sum(w for f, w in theirs.items() if f not in mine)
                scored.append((-shared / union, i))
        scored.sort()
        return scored[:k]


def _distinct(sorted_ids: np.ndarray) -> np.ndarray:
    """The distinct values of a non-decreasing array (postings are in string order)."""
    if len(sorted_ids) < 2:
        return sorted_ids
    keep = np.empty(len(sorted_ids), dtype=bool)
    keep[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=keep[1:])
    return sorted_ids[keep]


def _end(starts: np.ndarray, i: int, n: int) -> int:
    return int(starts[i + 1]) if i + 1 < len(starts) else n


def _strings(entry: FaqEntry) -> Iterable[tuple[str, str | None, float]]:
    yield entry.question, entry.lang, 1.0
    for alt in entry.alternatives:
        yield alt, entry.lang, 1.0
    for lang, tr in entry.translations.items():
        yield tr.question, lang, 1.0
        for alt in tr.alternatives:
            yield alt, lang, 1.0
    if entry.tags:
        yield " ".join(t.replace("-", " ").replace("_", " ") for t in entry.tags), None, TAG_WEIGHT


def _facets(entry: FaqEntry) -> dict[str, float]:
    facets = {f"i:{c}": 3.0 for c in entry.instruments}
    facets.update({f"t:{t}": 2.0 for t in entry.tags})
    facets.update({f"s:{s}": 1.0 for s in entry.sectors})
    return facets


def length_bonus(words: int, free: int, per_word: float) -> float:
    """Points added to every entry's score for a query of `words` distinct content words."""
    return per_word * max(0, words - free)


def hybrid(lexical: np.ndarray, meaning: np.ndarray, weight: float) -> np.ndarray:
    """Entry scores from both signals: (1 - weight) * words + weight * 100 * best cosine."""
    return (1.0 - weight) * lexical + weight * 100.0 * meaning


def decide(hits: Sequence[Hit], th: Thresholds) -> SearchResult:
    """The decision rule on ranked hits (best first)."""
    if not hits or hits[0].score < th.suggest:
        return SearchResult("unknown", None, [])
    runner = hits[1].score if len(hits) > 1 else 0.0
    if hits[0].score >= th.answer and hits[0].score - runner >= th.margin:
        return SearchResult("answer", hits[0], [])
    return SearchResult("suggest", hits[0], list(hits[:3]))


# --- baseline ----------------------------------------------------------------------------------


def baseline_search(index: FaqIndex, text: str, threshold: float = BASELINE_T) -> SearchResult:
    """Plain rapidfuzz: WRatio of the query over the English questions (extractOne)."""
    found = process.extractOne(
        text, index._en_questions, scorer=fuzz.WRatio, processor=default_process
    )
    if found is None or found[1] < threshold:
        return SearchResult("unknown", None, [])
    entry = index.entries[found[2]]
    return SearchResult("answer", Hit(entry.id, entry.question, float(found[1]), "en"), [])


# --- evaluation and calibration ------------------------------------------------------------------

Row = tuple[str, str | None]


@dataclass(frozen=True)
class EvalReport:
    """Dev-set figures; shares in 0-1 (see the module docstring for the definitions)."""

    n: int
    top1: float
    top3: float
    refused_offtopic: float
    answered_or_suggested_ontopic: float
    p50_ms: float
    p95_ms: float
    answered_direct: float = 0.0  # on-topic rows with status "answer" and the right id


def _share(k: int, n: int) -> float:
    return k / n if n else 0.0


def evaluate(
    index: FaqIndex,
    rows: Sequence[Row],
    search: Callable[[str], SearchResult] | None = None,
) -> EvalReport:
    """Runs every row through `search` (default: index.search) and scores the outcomes."""
    run = search or index.search
    on = off = top1 = top3 = refused = covered = direct = 0
    times: list[float] = []
    for text, label in rows:
        t0 = time.perf_counter()
        res = run(text)
        times.append((time.perf_counter() - t0) * 1000.0)
        if label is None:
            off += 1
            refused += res.status == "unknown"
            continue
        on += 1
        if res.status == "unknown" or res.best is None:
            continue
        covered += 1
        top1 += res.best.entry_id == label
        direct += res.status == "answer" and res.best.entry_id == label
        firsts = [res.best] if res.status == "answer" else res.suggestions[:3]
        top3 += any(h.entry_id == label for h in firsts)
    times.sort()
    return EvalReport(
        n=len(rows),
        top1=_share(top1, on),
        top3=_share(top3, on),
        refused_offtopic=_share(refused, off),
        answered_or_suggested_ontopic=_share(covered, on),
        p50_ms=_percentile(times, 50),
        p95_ms=_percentile(times, 95),
        answered_direct=_share(direct, on),
    )


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100.0 * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Calibration:
    """Chosen thresholds and the dev figures they give."""

    thresholds: Thresholds
    top1: float
    top3: float
    refused_offtopic: float
    direct_precision: float
    direct_share: float


def _grid(lo: float, hi: float, step: float) -> list[float]:
    return [round(lo + i * step, 2) for i in range(int((hi - lo) / step) + 1)]


def fit_thresholds(
    ranked: Sequence[tuple[list[Hit], str | None]],
    groups: Sequence[str | None] | None = None,
) -> Thresholds:
    """Grid search on precomputed rankings (see the module docstring for the objective).

    With `groups` (each row's language), T_SUGGEST must refuse REFUSAL_TARGET of the off-topic
    rows of every language, not only of all rows pooled: the target holds per language, and
    English off-topic questions (the most domain-like) fell below it under a pooled fit.
    Vectorised over the grid: each row is reduced to (best score, runner-up, best is right).
    """
    has = np.asarray([bool(h) for h, _ in ranked], dtype=bool)
    s1 = np.asarray([h[0].score if h else -1.0 for h, _ in ranked], dtype=np.float64)
    s2 = np.asarray([h[1].score if len(h) > 1 else 0.0 for h, _ in ranked], dtype=np.float64)
    labelled = np.asarray([lab is not None for _, lab in ranked], dtype=bool)
    right = np.asarray([bool(h) and h[0].entry_id == lab for h, lab in ranked], dtype=bool)
    off = ~labelled
    n_off = int(off.sum())
    suggest_grid = np.asarray(_grid(20.0, 100.0, 0.5))
    passes = has[None, :] & (s1[None, :] >= suggest_grid[:, None])
    refused = (off[None, :] & ~passes).sum(axis=1)
    top1 = (labelled & right)[None, :] & passes
    hits1 = top1.sum(axis=1)
    feasible_rows = (
        (refused / n_off >= REFUSAL_TARGET) if n_off else np.ones(len(suggest_grid), bool)
    )
    for group in sorted({g for g in groups or () if g}):
        mine = off & np.asarray([g == group for g in groups or ()], dtype=bool)
        if mine.any():
            kept = (mine[None, :] & ~passes).sum(axis=1) / mine.sum()
            feasible_rows &= kept >= REFUSAL_TARGET
    if feasible_rows.any():
        best = hits1[feasible_rows].max()
        feasible = [float(t) for t in suggest_grid[feasible_rows & (hits1 == best)]]
    else:
        feasible = []
    t_suggest = statistics.median(feasible) if feasible else 100.0
    answers = np.asarray(_grid(t_suggest, 100.0, 1.0))
    margins = np.asarray(_grid(MIN_MARGIN, 30.0, 1.0))
    base = has & (s1 >= t_suggest)
    by_ta = base[None, :] & (s1[None, :] >= answers[:, None])  # (ta, row)
    by_m = (s1 - s2)[None, :] >= margins[:, None]  # (m, row)
    answered = by_ta[:, None, :] & by_m[None, :, :]  # (ta, m, row)
    n_answered = answered.sum(axis=2)
    good = (answered & (right & labelled)[None, None, :]).sum(axis=2)
    ok = (n_answered == 0) | (good >= ANSWER_PRECISION * n_answered - 1e-9)
    choice = (max(t_suggest, 100.0), 100.0)
    best_key: tuple[int, float, float] = (-1, 0.0, 0.0)
    for i, ta in enumerate(answers):
        for j, m in enumerate(margins):
            if ok[i, j]:
                key = (int(good[i, j]), float(m), float(ta))
                if key > best_key:
                    best_key, choice = key, (float(ta), float(m))
    return Thresholds(choice[0], t_suggest, choice[1])


def calibrate_ranked(
    ranked: Sequence[tuple[list[Hit], str | None]], groups: Sequence[str | None] | None = None
) -> Calibration:
    """Thresholds fitted on precomputed rankings, with the figures they give on them."""
    return _figures(ranked, fit_thresholds(ranked, groups))


def _figures(ranked: Sequence[tuple[list[Hit], str | None]], th: Thresholds) -> Calibration:
    outs = [decide(hits, th) for hits, _ in ranked]
    return pooled_figures(outs, [lab for _, lab in ranked], th)


def calibrate(
    index: FaqIndex, rows: Sequence[Row], groups: Sequence[str | None] | None = None
) -> Calibration:
    """Thresholds for `index` chosen on labelled rows (grid search; `groups`: row languages)."""
    return calibrate_ranked([(index.rank(q, k=3), lab) for q, lab in rows], groups)


def fit_by_language(
    ranked: Sequence[tuple[list[Hit], str | None]],
    langs: Sequence[str | None],
    min_rows: int = MIN_LANG_ROWS,
    groups: Sequence[str | None] | None = None,
) -> tuple[Thresholds, dict[str, Thresholds]]:
    """Thresholds for all rows, and for each (detected) language with at least `min_rows`
    labelled rows, fitted on that language's rows alone."""
    pooled = fit_thresholds(ranked, groups)
    by_lang: dict[str, Thresholds] = {}
    for lang in sorted({x for x in langs if x}):
        mine = [r for r, x in zip(ranked, langs, strict=True) if x == lang]
        if sum(lab is not None for _, lab in mine) >= min_rows:
            by_lang[lang] = fit_thresholds(mine)
    return pooled, by_lang


def cross_validated_outcomes(
    index: FaqIndex,
    rows: Sequence[Row],
    folds: int = 5,
    per_language: bool = False,
    groups: Sequence[str | None] | None = None,
) -> tuple[list[SearchResult], list[Calibration]]:
    """Each row's held-out decision, in row order, and the figures of each fold.

    Row i is in fold i % folds; its thresholds are calibrated on the other folds only (with
    `per_language`, per detected language of the question, as `search` would pick them).
    `groups` (the rows' written languages, default the detected ones) are the languages whose
    off-topic rows must each be refused (see `fit_thresholds`).
    """
    ranked: list[tuple[list[Hit], str | None]] = []
    langs: list[str | None] = []
    for q, lab in rows:
        hits, asked = index._ranked(q, None, 3)
        ranked.append((hits, lab))
        langs.append(asked)
    per_fold: list[Calibration] = []
    outs: list[SearchResult | None] = [None] * len(rows)
    for f in range(folds):
        train = [i for i in range(len(rows)) if i % folds != f]
        test = [i for i in range(len(rows)) if i % folds == f]
        tg = [(groups or langs)[i] for i in train]
        if per_language:
            th, by_lang = fit_by_language(
                [ranked[i] for i in train], [langs[i] for i in train], groups=tg
            )
        else:
            th, by_lang = fit_thresholds([ranked[i] for i in train], tg), {}
        fold_outs = [decide(ranked[i][0], by_lang.get(langs[i] or "", th)) for i in test]
        per_fold.append(pooled_figures(fold_outs, [ranked[i][1] for i in test], th))
        for i, out in zip(test, fold_outs, strict=True):
            outs[i] = out
    return [o for o in outs if o is not None], per_fold


def cross_validate(
    index: FaqIndex,
    rows: Sequence[Row],
    folds: int = 5,
    groups: Sequence[str | None] | None = None,
) -> tuple[Calibration, list[Calibration]]:
    """Honest estimate: calibrate on k-1 folds, measure on the held-out fold; (pooled, per fold)."""
    outs, per_fold = cross_validated_outcomes(index, rows, folds, groups=groups)
    return pooled_figures(outs, [lab for _, lab in rows]), per_fold


def figures_by_language(
    outs: Sequence[SearchResult], labels: Sequence[str | None], langs: Sequence[str]
) -> dict[str, tuple[int, Calibration]]:
    """(rows, figures) per language of already-taken decisions, plus "all"."""
    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        groups.setdefault(lang, []).append(i)
    table = {
        lang: (len(ix), pooled_figures([outs[i] for i in ix], [labels[i] for i in ix]))
        for lang, ix in sorted(groups.items(), key=lambda kv: (kv[0] != "en", kv[0]))
    }
    table["all"] = (len(outs), pooled_figures(outs, labels))
    return table


def pooled_figures(
    outs: Sequence[SearchResult], labels: Sequence[str | None], th: Thresholds | None = None
) -> Calibration:
    """The dev-set figures of decisions already taken (`outs`, one per labelled row)."""
    on = off = top1 = top3 = refused = answered = good = 0
    for res, lab in zip(outs, labels, strict=True):
        if lab is None:
            off += 1
            refused += res.status == "unknown"
            answered += res.status == "answer"
            continue
        on += 1
        if res.best is None:
            continue
        top1 += res.best.entry_id == lab
        firsts = [res.best] if res.status == "answer" else res.suggestions
        top3 += any(h.entry_id == lab for h in firsts)
        if res.status == "answer":
            answered += 1
            good += res.best.entry_id == lab
    return Calibration(
        th or Thresholds(float("nan"), float("nan"), float("nan")),
        _share(top1, on),
        _share(top3, on),
        _share(refused, off),
        _share(good, answered),
        _share(good, on),
    )


def calibrate_baseline(index: FaqIndex, rows: Sequence[Row]) -> tuple[float, float, float]:
    """(threshold, top1, refused_offtopic) for the baseline, same objective as T_SUGGEST."""
    scored = []
    for q, lab in rows:
        found = process.extractOne(
            q, index._en_questions, scorer=fuzz.WRatio, processor=default_process
        )
        scored.append((found, lab))
    on = sum(lab is not None for _, lab in scored)
    off = len(scored) - on
    best = (-1, 100.0, 0.0)
    for t in _grid(20.0, 100.0, 0.5):
        refused = sum(f is None or f[1] < t for f, lab in scored if lab is None)
        if off and refused / off < REFUSAL_TARGET:
            continue
        top1 = sum(
            f is not None and f[1] >= t and index.entries[f[2]].id == lab
            for f, lab in scored
            if lab is not None
        )
        if top1 > best[0]:
            best = (top1, t, _share(refused, off))
    return best[1], _share(max(best[0], 0), on), best[2]
