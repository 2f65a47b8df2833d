"""Pure matching engine: pairs learners with mentors for one round, optimally.

No I/O, no database, no chat library: frozen dataclasses in (`Person`, `Practice`, `Request`),
dataclasses out (`RoundResult` of `Proposal` and `Unmatched`).

Model. Every deduplicated `Request` is a row; every officer with offers and free slots
(capacity - active_pairs > 0) is a mentor. A (request, mentor) edge is feasible when they share
a language, work for different authorities, are different people, the pair is not `excluded`
and the mentor offers the topic (topic None: one of the learner's wants that has no explicit
request of its own; the engine picks the topic with the best good-practice bonus, ties by
code). Its score is documented in `Weights`; scores are rounded to 4 decimals so that ties are
exact. `solve_round` maximises the total score of the round subject to: one mentor per request,
at most `capacity - active_pairs` learners per mentor, and never two pairs between the same
learner and mentor (a learner with several topic requests gets several distinct mentors).

Solver (exact, sparse). No dense request x mentor matrix is ever built: `_Scorer` scores the
feasible edges a block of rows at a time (vectorised numpy; sets as bitsets, AND + popcount),
rows grouped by requested topic and scored only against the mentors who offer it.
Column generation: each request starts with its `SHORTLIST` best edges (the `RESERVE` next ones
kept aside) and each mentor with its `MENTOR_SHORTLIST` best requests (contested mentors are
then priced right from the first solve); a min-cost flow (OR-Tools `SimpleMinCostFlow`)
solves that sparse problem: request -> mentor (capacity: free slots) -> sink, "not paired"
request -> sink, and for a (learner, mentor) that two rows of one learner could both take, a
gate node of capacity 1 in between. Dual prices follow from shortest paths in the residual
network (a vectorised Bellman-Ford) and price every edge left out; the edges that could still
improve the total are added (with those of their rows short of improving by less than `NEAR`,
which later passes would want as prices move), after the first solves the edges far below
(`DROP`) leave the LP for the reserve, and the problem is solved again. When none is left the
prices prove the result optimal over all feasible edges (reduced costs left sum to < 0.3 grid
unit over any matching, tie terms < 0.1): the total score is the exact optimum on the 1e-4
score grid. Checked against `scipy.optimize.milp` in the tests and in
benchmarks/matching_bench.py. A row whose best left-out edge cannot beat its own
price (minus any fall of mentor prices since it was last scanned) is never rescored; pricing
works on the dense block (argpartition per row), never sorting a block's edges.

Ties go to lower learner and mentor ids through a perturbation (< 0.1 grid unit in total); on
very big rounds it falls below float precision and exact ties are then settled by the solver,
deterministically. Figures: benchmarks/matching_bench.py (engine), propose_bench.py and
scale_bench.py (load + solve + store).

`solve_greedy` (highest score first, ties by learner id, topic, mentor id) is the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from handlers.pairing.reasons import (
    ALSO_KNOWS,
    CROSS_BORDER,
    EXPERIENCE,
    LANGUAGES,
    PRACTICE,
    SECTORS,
    SIMILAR_SIZE,
    Reason,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
F32 = npt.NDArray[np.float32]
Bits = npt.NDArray[np.uint64]

SCORE_DECIMALS = 4


@dataclass(frozen=True)
class Person:
    """An officer; a learner when they request, a mentor when they offer instruments."""

    id: int
    name: str
    authority_id: int
    authority_name: str
    country: str
    population: int | None
    languages: frozenset[str]
    sectors: frozenset[str]
    wants: frozenset[str]
    offers: frozenset[str]
    capacity: int = 2
    active_pairs: int = 0
    waiting_days: int = 0


@dataclass(frozen=True)
class Practice:
    """An approved good practice of a mentor (`officer_id`)."""

    id: int
    officer_id: int
    authority_name: str
    title: str
    sector: str
    instruments: frozenset[str]
    year: int | None
    summary: str


@dataclass(frozen=True)
class Request:
    """One pair wanted by a learner on `topic` (an instrument code); None = any of their wants."""

    learner_id: int
    topic: str | None = None


@dataclass(frozen=True)
class Weights:
    """Soft-score weights; a feasible pair scores the sum of the terms below (all >= 0).

    topic: the mentor offers the requested topic (every feasible pair gets it, the largest term).
    overlap: share of the learner's other wanted instruments the mentor also offers.
    sector: share of the learner's sectors the mentor also works on.
    practice: the mentor has a good practice with the topic instrument;
    practice_sector: ... and that practice is in one of the learner's sectors (on top).
    cross_border: learner and mentor are in different countries.
    size: similar authority size, 1 - |log10(pop_l / pop_m)| / size_decades, clipped to [0, 1]
    (0 when a population is unknown).
    waiting: learner waiting time, min(waiting_days, waiting_cap_days) / waiting_cap_days.
    """

    topic: float = 3.0
    overlap: float = 2.0
    sector: float = 1.0
    practice: float = 1.0
    practice_sector: float = 0.5
    cross_border: float = 0.3
    size: float = 0.5
    size_decades: float = 2.0
    waiting: float = 0.3
    waiting_cap_days: int = 90

    def __post_init__(self) -> None:
        terms = (self.overlap, self.sector, self.practice, self.practice_sector)
        if self.topic <= 0 or min(terms + (self.cross_border, self.size, self.waiting)) < 0:
            raise ValueError("weights must be >= 0 and topic > 0")
        if self.size_decades <= 0 or self.waiting_cap_days <= 0:
            raise ValueError("size_decades and waiting_cap_days must be > 0")


@dataclass
class Proposal:
    """A proposed pair with its score and 2-4 reasons (data; `pairing.reasons` renders them)."""

    learner_id: int
    mentor_id: int
    topic: str
    score: float
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Unmatched:
    """A request left without a mentor, and why."""

    learner_id: int
    topic: str | None
    reason: str


@dataclass
class RoundResult:
    """Pairs sorted by (learner, topic); unmatched requests sorted the same way."""

    pairs: list[Proposal]
    unmatched: list[Unmatched]


@dataclass
class CandidateEdges:
    """Feasible (request, mentor) edges of a round: what the solvers optimise over.

    rows[i] is (learner_id, topic) of request row i; edge k joins row edge_row[k] to mentor
    mentor_ids[edge_mentor[k]] (free slots: free[edge_mentor[k]]) with score edge_score[k].
    """

    rows: list[tuple[int, str | None]]
    learner_ids: Ints
    mentor_ids: Ints
    free: Ints
    edge_row: Ints
    edge_mentor: Ints
    edge_score: Floats


@dataclass
class _Row:
    learner: Person
    topic: str | None
    candidates: frozenset[str]


EDGE_BLOCK_CELLS = 250_000
"""Request x mentor cells scored at once: bounds the memory of scoring, whatever the round."""


@dataclass
class _Edges:
    """Feasible (row, active-mentor column) edges with their scores and chosen topics."""

    row: Ints
    col: Ints
    score: Floats
    topic: Ints

    def take(self, index: Ints | Bools) -> _Edges:
        return _Edges(self.row[index], self.col[index], self.score[index], self.topic[index])

    @staticmethod
    def concat(parts: Sequence[_Edges]) -> _Edges:
        if not parts:
            return _Edges(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, float, np.int64)))
        return _Edges(
            np.concatenate([p.row for p in parts]),
            np.concatenate([p.col for p in parts]),
            np.concatenate([p.score for p in parts]),
            np.concatenate([p.topic for p in parts]),
        )


@dataclass
class _Scorer:
    """Features of the rows and of the mentors with free slots; scores edges on demand.

    Edges are built a block of rows at a time (`EDGE_BLOCK_CELLS`), so a round never holds a
    dense request x mentor matrix: the solvers keep only the edges they need.
    """

    weights: Weights
    cand: F32  # R x I: candidate topics of each row
    wants: F32  # R x I
    row_topic: Ints  # instrument of an explicit request, -1 for "any of my wants"
    row_sectors: F32  # R x S
    row_lang: F32  # R x L
    row_auth: Ints
    row_country: Ints
    row_logpop: Floats
    row_wait: Floats
    offers: F32  # A x I, mentors with free slots
    sectors: F32  # A x S
    lang: F32  # A x L
    auth: Ints
    country: Ints
    logpop: Floats
    has_practice: Floats  # A x I
    practice_sectors: Ints  # A x I: bit s set when a practice on instrument i is in sector s
    row_sector_bits: Ints  # R: bit s set when the row's learner works on sector s
    excluded: Ints  # sorted keys row * A + column of excluded edges
    # the same sets as bitsets: "share one" and "how many in common" are AND + popcount
    bits: dict[str, Bits] = field(init=False)
    practice_bits: Bits = field(init=False)  # A x words: instruments with a practice
    sector_practice_bits: Bits = field(init=False)  # A x S x words: ... in sector s

    def __post_init__(self) -> None:
        self.bits = {
            name: _pack(getattr(self, name))
            for name in ("cand", "wants", "row_sectors", "row_lang", "offers", "sectors", "lang")
        }
        self.practice_bits = _pack(self.has_practice.astype(np.float32))
        n_sectors = max(
            1,
            int(self.row_sector_bits.max(initial=0)).bit_length(),
            *(int(x).bit_length() for x in np.unique(self.practice_sectors)),
        )
        self.sector_practice_bits = np.stack(
            [
                _pack(((self.practice_sectors >> s) & 1).astype(np.float32))
                for s in range(n_sectors)
            ],
            axis=1,
        )

    @property
    def n_rows(self) -> int:
        return len(self.cand)

    @property
    def n_cols(self) -> int:
        return len(self.offers)

    def blocks(self, rows: Ints) -> Iterator[tuple[Ints, Ints]]:
        """(rows, columns) blocks that hold every feasible edge of `rows` (sorted).

        Rows are grouped by their requested topic (the rows for "any of my wants" together):
        a block only scores the mentors who offer one of its rows' topics, a fraction of all
        of them (an explicit request on one of 13 instruments: a few mentors in ten).
        """
        if not len(rows):
            return
        topics = self.row_topic[rows]
        for topic in np.unique(topics):
            group = rows[topics == topic]
            wanted = np.bitwise_or.reduce(self.bits["cand"][group], axis=0)
            cols = np.flatnonzero(_meet(wanted[None, :], self.bits["offers"])[0])
            if not len(cols):
                continue
            size = max(1, EDGE_BLOCK_CELLS // len(cols))
            for lo in range(0, len(group), size):
                yield group[lo : lo + size], cols

    def edges(self, rows: Ints) -> _Edges:
        """Every feasible edge of these rows."""
        return _Edges.concat([self.block(b, c) for b, c in self.blocks(rows)])

    def block(self, rows: Ints, cols: Ints) -> _Edges:
        """The feasible edges of a few rows, row-major."""
        score, topic = self.dense(rows, cols)
        i, c = np.nonzero(score > -np.inf)
        return _Edges(rows[i], cols[c], score[i, c], topic[i, c].astype(np.int64))

    def dense(self, rows: Ints, cols: Ints) -> tuple[Floats, npt.NDArray[np.int16]]:
        """Scores of a few (sorted) rows against some (sorted) mentor columns, -inf where a
        hard rule fails.

        Computed as dense rows x mentors arrays: contiguous arithmetic is several times faster
        than gathering per edge. Also the topic of each pair (for "any of my wants": the
        candidate topic with the best good-practice bonus, ties by code).
        """
        w, all_cols, n_cols = self.weights, self.n_cols, len(cols)
        bits = self.bits
        offers = bits["offers"][cols]
        feasible = _meet(bits["cand"][rows], offers)
        feasible &= _meet(bits["row_lang"][rows], bits["lang"][cols])
        feasible &= self.row_auth[rows][:, None] != self.auth[cols][None, :]
        if len(self.excluded) and len(rows):
            lo, hi = np.searchsorted(self.excluded, [rows[0] * all_cols, (rows[-1] + 1) * all_cols])
            kr, kc = np.divmod(self.excluded[lo:hi], all_cols)
            at = np.minimum(np.searchsorted(rows, kr), len(rows) - 1)
            to = np.minimum(np.searchsorted(cols, kc), n_cols - 1)
            ok = (rows[at] == kr) & (cols[to] == kc)
            feasible[at[ok], to[ok]] = False
        row_topic = self.row_topic[rows]
        fixed = row_topic >= 0
        t = np.maximum(row_topic, 0)
        sector_bits = self.row_sector_bits[rows]
        bonus = np.empty((len(rows), n_cols))
        topic = np.repeat(row_topic.astype(np.int16)[:, None], n_cols, axis=1)
        open_rows = np.flatnonzero(~fixed)
        fixed_rows = np.flatnonzero(fixed)
        if len(fixed_rows):
            ft = t[fixed_rows]
            bonus[fixed_rows] = w.practice * self.has_practice.T[ft][
                :, cols
            ] + w.practice_sector * (
                (self.practice_sectors.T[ft][:, cols] & sector_bits[fixed_rows][:, None]) != 0
            )
        if len(open_rows):
            best, best_topic = self._best_topics(rows[open_rows], sector_bits[open_rows], cols)
            bonus[open_rows] = best
            topic[open_rows] = best_topic
        wants = self.wants[rows]
        in_wants = np.where(fixed, wants[np.arange(len(rows)), t], 1.0)
        common = _common(bits["wants"][rows], offers) - in_wants.astype(np.float64)[:, None]
        score = common * (w.overlap / np.maximum(wants.sum(axis=1) - in_wants, 1.0))[:, None]
        shared = _common(bits["row_sectors"][rows], bits["sectors"][cols]).astype(np.float64)
        score += shared * (w.sector / np.maximum(self.row_sectors[rows].sum(axis=1), 1.0))[:, None]
        cross = self.row_country[rows][:, None] != self.country[cols][None, :]
        size = np.subtract.outer(self.row_logpop[rows], self.logpop[cols])
        np.abs(size, out=size)
        size *= -1.0 / w.size_decades
        size += 1.0
        np.clip(size, 0.0, 1.0, out=size)
        size[np.isnan(size)] = 0.0
        score += bonus
        score += w.cross_border * cross
        score += w.size * size
        score += (w.topic + w.waiting * self.row_wait[rows])[:, None]
        score = np.round(score, SCORE_DECIMALS)
        score[~feasible] = -np.inf
        return score, topic

    def _best_topics(
        self, rows: Ints, sector_bits: Ints, cols: Ints
    ) -> tuple[Floats, npt.NDArray[np.int16]]:
        """For "any of my wants" rows: the candidate topic (offered by the mentor) with the best
        good-practice bonus, lowest code on ties, and that bonus (-1 when none is offered).

        Sets of instruments as bitsets: those offered (level 0), those with a practice (level
        1), those with a practice in one of the row's sectors (level 2); the best level that is
        not empty wins, its lowest bit is the topic.
        """
        w, n_cols = self.weights, len(cols)
        offered = self.bits["cand"][rows][:, None, :] & self.bits["offers"][cols][None, :, :]
        practised = offered & self.practice_bits[cols][None, :, :]
        in_sector = np.zeros_like(offered)
        for s in range(self.sector_practice_bits.shape[1]):
            has = ((sector_bits >> s) & 1).astype(bool)
            if has.any():
                in_sector[has] |= self.sector_practice_bits[cols][None, :, s, :]
        in_sector &= practised
        top2 = w.practice + w.practice_sector
        levels = [(0.0, offered)]
        if w.practice > 0:
            levels.append((w.practice, practised))
        if top2 > w.practice:
            levels.append((top2, in_sector))
        best = np.full((len(rows), n_cols), -1.0)
        chosen = offered
        for value, bits in levels:
            some: Bools = np.any(bits, axis=2)
            best[some] = value
            if value > 0:
                chosen = np.where(some[:, :, None], bits, chosen)
        return best, _lowest_bit(chosen)


@dataclass
class _Problem:
    rows: list[_Row]
    early: list[Unmatched]
    mentors: list[Person]  # every officer with offers, by id
    free: Ints  # free slots per mentor
    active: Ints  # indices into mentors with free > 0
    instruments: list[str]
    row_cand: npt.NDArray[np.float32]  # R x I: candidate topics of each row
    row_lang: npt.NDArray[np.float32]  # R x languages
    mentor_offers: npt.NDArray[np.float32]  # M x I (all mentors)
    mentor_lang: npt.NDArray[np.float32]  # M x languages
    row_auth: Ints
    mentor_auth: Ints
    excluded: dict[int, set[int]]  # row -> excluded mentor indices
    practices: dict[int, list[Practice]]
    weights: Weights
    scorer: _Scorer
    # (row, active column) -> score and instrument index, for the pairs a solver chose
    score: dict[tuple[int, int], float] = field(default_factory=dict)
    topic: dict[tuple[int, int], int] = field(default_factory=dict)

    def stages(self, i: int) -> list[tuple[str, Bools]]:
        """Hard constraints of row i against every mentor, in explanation order."""
        m_all = len(self.mentors)
        not_excluded = np.ones(m_all, dtype=bool)
        not_excluded[list(self.excluded.get(i, ()))] = False
        return [
            ("offers", (self.mentor_offers @ self.row_cand[i]) > 0),
            ("language", (self.mentor_lang @ self.row_lang[i]) > 0),
            ("authority", self.mentor_auth != self.row_auth[i]),
            ("excluded", not_excluded),
            ("capacity", self.free > 0),
        ]

    def choose(self, edges: _Edges) -> dict[int, int]:
        """Record the chosen edges (one per row) and return them as {row: column}."""
        found: dict[int, int] = {}
        for r, c, s, t in zip(
            edges.row.tolist(),
            edges.col.tolist(),
            edges.score.tolist(),
            edges.topic.tolist(),
            strict=True,
        ):
            found[r] = c
            self.score[r, c] = s
            self.topic[r, c] = t
        return found


def _topic_key(topic: str | None) -> tuple[bool, str]:
    return (topic is None, topic or "")


def _pack(onehot: F32) -> Bits:
    """Rows of a 0/1 matrix as bitsets: n x words of uint64."""
    n, k = onehot.shape
    out = np.zeros((n, max(1, -(-k // 64))), dtype=np.uint64)
    for j in range(k):
        out[:, j // 64] |= (onehot[:, j] > 0).astype(np.uint64) << np.uint64(j % 64)
    return out


def _lowest_bit(sets: Bits) -> npt.NDArray[np.int16]:
    """Index of the lowest member of each bitset (last axis: words), -1 when empty."""
    out = np.full(sets.shape[:-1], -1, dtype=np.int16)
    for word in range(sets.shape[-1] - 1, -1, -1):
        x = sets[..., word]
        low = x & (~x + np.uint64(1))
        found = x != 0
        out[found] = (np.bitwise_count(low[found] - np.uint64(1)) + 64 * word).astype(np.int16)
    return out


def _common(a: Bits, b: Bits) -> npt.NDArray[np.int64] | npt.NDArray[np.uint8]:
    """How many members each set of `a` shares with each set of `b` (a x b)."""
    if a.shape[1] == 1:  # the usual case (<= 64 codes): one popcount per cell, bytes out
        return np.bitwise_count(a[:, 0][:, None] & b[:, 0][None, :])
    out = np.zeros((len(a), len(b)), dtype=np.int64)
    for word in range(a.shape[1]):
        out += np.bitwise_count(a[:, word][:, None] & b[:, word][None, :])
    return out


def _meet(a: Bits, b: Bits) -> Bools:
    """Whether each set of `a` shares a member with each set of `b` (a x b)."""
    out = (a[:, 0][:, None] & b[:, 0][None, :]) != 0
    for word in range(1, a.shape[1]):
        out |= (a[:, word][:, None] & b[:, word][None, :]) != 0
    return out


def _onehot(sets: Sequence[Set[str]], index: dict[str, int]) -> npt.NDArray[np.float32]:
    out = np.zeros((len(sets), len(index)), dtype=np.float32)
    for i, codes in enumerate(sets):
        for code in codes:
            out[i, index[code]] = 1.0
    return out


def _log_population(people: Sequence[Person]) -> Floats:
    return np.array(
        [math.log10(p.population) if p.population and p.population > 0 else np.nan for p in people],
        dtype=np.float64,
    )


def _codes(values: Sequence[str]) -> Ints:
    return np.unique(np.array(values, dtype=str), return_inverse=True)[1].astype(np.int64)


def _rows(
    people: dict[int, Person], requests: Sequence[Request]
) -> tuple[list[_Row], list[Unmatched]]:
    keys = sorted(
        {(r.learner_id, r.topic) for r in requests}, key=lambda k: (k[0], _topic_key(k[1]))
    )
    explicit: dict[int, set[str]] = {}
    for learner_id, topic in keys:
        if topic is not None:
            explicit.setdefault(learner_id, set()).add(topic)
    rows: list[_Row] = []
    early: list[Unmatched] = []
    for learner_id, topic in keys:
        learner = people.get(learner_id)
        if learner is None:
            early.append(Unmatched(learner_id, topic, f"officer {learner_id} is not in this round"))
        elif topic is not None:
            rows.append(_Row(learner, topic, frozenset({topic})))
        elif not learner.wants:
            early.append(Unmatched(learner_id, None, "no wanted instrument in the profile"))
        elif not learner.wants - explicit.get(learner_id, set()):
            reason = "every wanted instrument already has its own request"
            early.append(Unmatched(learner_id, None, reason))
        else:
            rows.append(_Row(learner, None, learner.wants - explicit.get(learner_id, set())))
    return rows, early


def _prepare(
    people: Sequence[Person],
    requests: Sequence[Request],
    practices: Sequence[Practice],
    excluded: Set[tuple[int, int]],
    weights: Weights,
) -> _Problem:
    """Validate and index the round; the edges are scored later, a block of rows at a time."""
    by_id: dict[int, Person] = {}
    for person in people:
        if person.id in by_id:
            raise ValueError(f"duplicate officer id {person.id}")
        by_id[person.id] = person
    rows, early = _rows(by_id, requests)
    mentors = sorted((p for p in by_id.values() if p.offers), key=lambda p: p.id)
    mentor_index = {m.id: j for j, m in enumerate(mentors)}
    own = [p for p in practices if p.officer_id in mentor_index]
    learners = [r.learner for r in rows]

    instruments = sorted(
        set().union(*(r.candidates | r.learner.wants for r in rows), *(m.offers for m in mentors))
        | {i for p in own for i in p.instruments}
    )
    sectors = sorted(
        set().union(*(p.sectors for p in learners), *(m.sectors for m in mentors))
        | {p.sector for p in own}
    )
    languages = sorted(
        set().union(*(p.languages for p in learners), *(m.languages for m in mentors))
    )
    if len(sectors) > 62:
        raise ValueError("at most 62 sectors (they are scored as bits of an int64)")
    ii = {c: k for k, c in enumerate(instruments)}
    si = {c: k for k, c in enumerate(sectors)}
    li = {c: k for k, c in enumerate(languages)}
    n_rows, n_inst = len(rows), len(instruments)

    cand = _onehot([r.candidates for r in rows], ii)
    offers = _onehot([m.offers for m in mentors], ii)
    row_lang = _onehot([p.languages for p in learners], li)
    mentor_lang = _onehot([m.languages for m in mentors], li)
    has_practice = np.zeros((len(mentors), max(n_inst, 1)), dtype=np.float64)
    practice_sectors = np.zeros((len(mentors), max(n_inst, 1)), dtype=np.int64)
    by_mentor: dict[int, list[Practice]] = {}
    for p in own:
        by_mentor.setdefault(p.officer_id, []).append(p)
        for code in p.instruments:
            has_practice[mentor_index[p.officer_id], ii[code]] = 1.0
            practice_sectors[mentor_index[p.officer_id], ii[code]] |= 1 << si[p.sector]

    free = np.array([max(0, m.capacity - m.active_pairs) for m in mentors], dtype=np.int64)
    active = np.flatnonzero(free > 0)
    row_auth = np.array([p.authority_id for p in learners], dtype=np.int64)
    mentor_auth = np.array([m.authority_id for m in mentors], dtype=np.int64)
    rows_of: dict[int, list[int]] = {}
    for i, learner in enumerate(learners):
        rows_of.setdefault(learner.id, []).append(i)
    excluded_of: dict[int, set[int]] = {}
    col_of = {int(j): k for k, j in enumerate(active)}
    excluded_keys: list[int] = []
    for learner_id, mentor_id in excluded:
        j = mentor_index.get(mentor_id)
        if j is None:
            continue
        for i in rows_of.get(learner_id, []):
            excluded_of.setdefault(i, set()).add(j)
            if j in col_of:
                excluded_keys.append(i * len(active) + col_of[j])
    countries = _codes([p.country.upper() for p in learners] + [x.country.upper() for x in mentors])
    cap = weights.waiting_cap_days
    scorer = _Scorer(
        weights=weights,
        cand=cand,
        wants=_onehot([p.wants for p in learners], ii),
        row_topic=np.array([ii[x.topic] if x.topic else -1 for x in rows], dtype=np.int64),
        row_sectors=_onehot([p.sectors for p in learners], si),
        row_sector_bits=np.array(
            [sum(1 << si[x] for x in p.sectors) for p in learners], dtype=np.int64
        ),
        row_lang=row_lang,
        row_auth=row_auth,
        row_country=countries[:n_rows],
        row_logpop=_log_population(learners),
        row_wait=np.array(
            [min(max(p.waiting_days, 0), cap) / cap for p in learners], dtype=np.float64
        ),
        offers=offers[active],
        sectors=_onehot([m.sectors for m in mentors], si)[active],
        lang=mentor_lang[active],
        auth=mentor_auth[active],
        country=countries[n_rows:][active],
        logpop=_log_population(mentors)[active],
        has_practice=has_practice[active],
        practice_sectors=practice_sectors[active],
        excluded=np.unique(np.array(excluded_keys, dtype=np.int64)),
    )
    return _Problem(
        rows=rows,
        early=early,
        mentors=mentors,
        free=free,
        active=active,
        instruments=instruments,
        row_cand=cand,
        row_lang=row_lang,
        mentor_offers=offers,
        mentor_lang=mentor_lang,
        row_auth=row_auth,
        mentor_auth=mentor_auth,
        excluded=excluded_of,
        practices=by_mentor,
        weights=weights,
        scorer=scorer,
    )


# ---------------------------------------------------------------------------------------------
# Solvers: both return {row: active-mentor column}.


def _learner_codes(prob: _Problem) -> Ints:
    """Learner of each row as 0..L-1 (rows are sorted by learner id)."""
    ids = np.array([r.learner.id for r in prob.rows], dtype=np.int64)
    return np.unique(ids, return_inverse=True)[1].astype(np.int64)


SHORTLIST = 24
"""Best edges per request the first LP sees; pricing adds the others that could matter."""
MENTOR_SHORTLIST = 16
"""Best edges per mentor the first LP sees too (the rows that value that mentor most)."""
PRICING_BATCH = 48
"""Most edges per request that one pricing pass adds (those of highest reduced cost)."""
RESERVE = 32
"""Next-best edges per request a pricing pass keeps aside, so later passes rarely rescore."""
DROP = 3_000.0
"""Grid units: after each of the first `DROP_SOLVES` solves, an edge whose reduced cost is
below -DROP (0.3 score, as `NEAR`) leaves the LP for the reserve, priced every pass: smaller
flows (20,000 officers: 450,000 edges in the last one, not 620,000)."""
DROP_SOLVES = 2
GREEDY_SHORTLIST = 8
"""Best edges per request greedy starts from; a request left without a mentor gets 8x more."""
UNIT = 10**SCORE_DECIMALS  # scores are whole multiples of 1 / UNIT
NEAR = 3_000.0
"""Grid units: an edge coming into the LP brings the others of its row that fall short of
improving by less (0.3 score): prices move as edges come in, and a later pass would want them."""


@dataclass
class _Shortlist:
    """The first `depth` edges of each row (best first) and a bound on the edges left out."""

    edges: _Edges
    left_out: Floats  # per row: best score left out, -inf when the row is complete
    reserve: _Edges  # the `extra` edges after the first `depth`, left out for now


def _shortlist(
    scorer: _Scorer, rows: Ints, depth: int, extra: int = 0, per_mentor: int = 0
) -> _Shortlist:
    """Score `rows` block by block, keeping only each row's first `depth` edges (and the
    `extra` next ones apart, as `reserve`); with `per_mentor`, also each mentor's best
    `per_mentor` rows (added to `edges`, never to `reserve`).

    A row's order is best score first, ties by lower mentor column (what greedy follows too),
    made a strict order by an integer key. The mentors' side matters when mentors are scarce:
    a popular mentor's slots go to the rows that value them most, which the rows' own lists
    alone only reach after many pricing passes.
    """
    left_out = np.full(scorer.n_rows, -np.inf)
    parts: list[_Edges] = []
    spare: list[_Edges] = []
    by_mentor: list[_Edges] = []
    n_cols = scorer.n_cols
    for block, cols in scorer.blocks(rows):
        score, topic = scorer.dense(block, cols)
        finite = score > -np.inf
        units = np.rint(np.where(finite, score, 0.0) * UNIT).astype(np.int64)
        key = np.where(finite, units * n_cols + (n_cols - 1 - cols), -1)
        at = np.arange(len(block))[:, None]
        if per_mentor:  # merged now and then: memory of a few times k edges per mentor
            by_mentor.append(_best_per_column(block, cols, score, topic, units, per_mentor))
            if sum(len(e.row) for e in by_mentor) > 4 * per_mentor * n_cols:
                by_mentor = [_best_per_mentor(_Edges.concat(by_mentor), per_mentor)]
        k = min(depth + extra, len(cols))
        if k < len(cols):
            part = np.argpartition(-key, k, axis=1)
            cut = part[:, k]
            left_out[block] = score[at[:, 0], cut]
            top = part[:, :k]
        else:
            top = np.broadcast_to(np.arange(len(cols)), (len(block), len(cols)))
        if extra:
            top = np.take_along_axis(top, np.argsort(-key[at, top], axis=1), axis=1)
        for part_of, local_of in ((parts, top[:, :depth]), (spare, top[:, depth:])):
            kept = score[at, local_of] > -np.inf
            i, j = np.nonzero(kept)
            c = local_of[i, j]
            part_of.append(_Edges(block[i], cols[c], score[i, c], topic[i, c].astype(np.int64)))
    edges, reserve = _Edges.concat(parts), _Edges.concat(spare)
    if per_mentor:
        extra_edges = _best_per_mentor(_Edges.concat(by_mentor), per_mentor)
        known = np.sort(edges.row * n_cols + edges.col)
        keys = extra_edges.row * n_cols + extra_edges.col
        extra_edges = extra_edges.take(~_isin_sorted(keys, known))
        taken = np.sort(extra_edges.row * n_cols + extra_edges.col)
        reserve = reserve.take(~_isin_sorted(reserve.row * n_cols + reserve.col, taken))
        edges = _Edges.concat([edges, extra_edges])
    return _Shortlist(edges, left_out, reserve)


def _isin_sorted(keys: Ints, sorted_keys: Ints) -> Bools:
    """Whether each key is in `sorted_keys` (sorted, unique)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _best_per_column(
    block: Ints, cols: Ints, score: Floats, topic: npt.NDArray[np.int16], units: Ints, k: int
) -> _Edges:
    """Each column's best `k` feasible rows of a dense block (ties: any, settled later)."""
    b = len(block)
    if k < b:
        top = np.argpartition(-np.where(score > -np.inf, units, -1), k - 1, axis=0)[:k]
    else:
        top = np.broadcast_to(np.arange(b)[:, None], (b, len(cols)))
    at = np.arange(len(cols))[None, :]
    i, j = np.nonzero(score[top, at] > -np.inf)
    r = top[i, j]
    return _Edges(block[r], cols[j], score[r, j], topic[r, j].astype(np.int64))


def _best_per_mentor(found: _Edges, k: int) -> _Edges:
    """Of candidate edges, each mentor's best `k` (best score first, ties by lower row)."""
    if not len(found.row):
        return found
    # one int64 key (mentor, then best score, then lower row) sorts ~3x faster than lexsort
    units = np.rint(found.score * UNIT).astype(np.int64)
    rank = int(units.max()) - units
    rows = int(found.row.max()) + 1
    key = (found.col * (int(rank.max()) + 1) + rank) * rows + found.row
    found = found.take(np.argsort(key))
    first = np.searchsorted(found.col, found.col, side="left")
    return found.take(np.arange(len(found.col)) - first < k)


@dataclass
class _Ties:
    """Ties go to lower rows and lower mentor ids: a perturbation far below the score grid.

    A separable term prefers pairing lower rows and mentors; a product term prefers, among the
    same rows and mentors, the lowest row with the lowest mentor (rearrangement inequality).
    Over any matching it sums to less than 0.1 grid unit, so it only settles exact ties; on
    very big rounds it falls below the LP tolerances and the solver settles them itself.
    """

    n_rows: int
    n_cols: int

    def of(self, row: Ints, col: Ints) -> Floats:
        """The perturbation of these edges, in grid units."""
        r, a = self.n_rows, self.n_cols
        e1 = 0.05 / (r * (r + a))
        e2 = 0.05 / (r * r * a)
        return e2 * (r - row) * (a - col) - e1 * (row + col)

    @property
    def most(self) -> float:
        return 0.05 / self.n_rows


def _units(edges: _Edges, ties: _Ties) -> Floats:
    return np.rint(edges.score * UNIT) + ties.of(edges.row, edges.col)


@dataclass
class _Prices:
    """Dual prices of a solved shortlist, in grid units (max-weight form).

    row[r]: what row r's pair is worth to it; col[m]: the cheapest slot of mentor m; gates:
    the price of each (learner, mentor) gate column. An edge left out can only improve the
    total when its weight exceeds the price of its row plus that of its mentor (or gate).
    """

    row: Floats
    col: Floats
    gate_keys: Ints  # sorted learner * A + column
    gate: Floats

    def reduced(self, edges: _Edges, weight: Floats, learner: Ints, n_cols: int) -> Floats:
        """Weight of each edge minus the prices it would pay: > 0 means it could improve."""
        out = weight - self.row[edges.row] - self.col[edges.col]
        if len(self.gate_keys):
            key = learner[edges.row] * n_cols + edges.col
            at = np.minimum(np.searchsorted(self.gate_keys, key), len(self.gate_keys) - 1)
            hit = self.gate_keys[at] == key
            out[hit] = (weight - self.row[edges.row])[hit] - self.gate[at[hit]]
        return out


def _assign(
    edges: _Edges, weight: Floats, learner: Ints, free: Ints, n_rows: int, gate_keys: Ints
) -> tuple[Bools, _Prices]:
    """Max-weight b-matching over `edges` as a min-cost flow (OR-Tools), and dual prices.

    Network: each request is a source of one unit, which goes to the sink either unpaired
    (weight 0) or along one edge to its mentor (weight = edge weight), the mentor passing at
    most its free slots on. An edge of a gated (learner, mentor) goes through the gate node of
    that pair, which passes at most one unit on: never two pairs of one learner and mentor.
    Weights are made whole numbers (`scale` per grid unit; the rounding of the tie terms moves
    a matching's total by far less than the tolerance). The arcs hold only the edges given:
    memory grows with the edges, never with requests x mentors.

    Prices come from shortest paths from the sink in the residual network (`_distances`):
    d(row) is what the row's pair is worth to it, -d(mentor) the price of a full mentor's slot
    (0 when a slot is left), -d(gate) that of a gate; every edge of the network has reduced
    cost <= 0 under them and they meet complementary slackness: optimal duals of the sparse
    problem.
    """
    from ortools.graph.python import min_cost_flow  # lazy: the CLI starts without it

    n_cols, n_gates, n_edges = len(free), len(gate_keys), len(edges.row)
    key = learner[edges.row] * n_cols + edges.col
    at = np.minimum(np.searchsorted(gate_keys, key), max(n_gates - 1, 0))
    gated = gate_keys[at] == key if n_gates else np.zeros(n_edges, dtype=bool)
    # nodes: rows, mentors, gates, sink
    mentor0, gate0 = n_rows, n_rows + n_cols
    sink = gate0 + n_gates
    n_nodes = sink + 1
    most = float(np.abs(weight).max(initial=0.0)) + 2.0
    scale = max(1, min(10**9, int(2**60 // ((n_nodes + 1) * most))))
    gain = np.rint(weight * scale).astype(np.int64)
    shift = int(gain.max(initial=0)) + 1  # costs >= 0: cost = shift - gain, unpaired = shift
    gate_mentor = gate_keys % max(n_cols, 1)
    head = np.where(gated, gate0 + at, mentor0 + edges.col)
    i32 = np.int32  # OR-Tools' node type: no int64 copy of every arc
    tails = np.concatenate(
        [edges.row, np.arange(n_rows), gate0 + np.arange(n_gates), mentor0 + np.arange(n_cols)]
    ).astype(i32)
    heads = np.concatenate(
        [head, np.full(n_rows, sink), mentor0 + gate_mentor, np.full(n_cols, sink)]
    ).astype(i32)
    del head, key, at, gated
    caps = np.concatenate(
        [np.ones(n_edges + n_rows + n_gates, dtype=np.int64), free.astype(np.int64)]
    )
    costs = np.concatenate(
        [shift - gain, np.full(n_rows, shift), np.zeros(n_gates + n_cols, dtype=np.int64)]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = np.zeros(n_nodes, dtype=np.int64)
    supply[:n_rows] = 1
    supply[sink] = -n_rows
    flow.set_nodes_supplies(np.arange(n_nodes), supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    sent = flow.flows(arcs)
    del flow, arcs  # its memory is not needed for the prices
    used = sent > 0
    # Residual network in the max-weight costs (an edge costs -gain, the rest 0): an unused arc
    # forward, a used one backward (a mentor's arc both ways while it has room and flow).
    base = np.concatenate([-gain, np.zeros(n_rows + n_gates + n_cols, dtype=np.int64)])
    fwd, back = sent < caps, used
    r_tail = np.concatenate([tails[fwd], heads[back]])
    r_head = np.concatenate([heads[fwd], tails[back]])
    r_cost = np.concatenate([base[fwd], -base[back]]).astype(np.float64)
    del tails, heads, base, caps, costs, fwd, back, sent
    dist = _distances(r_tail, r_head, r_cost, n_nodes, sink)
    row_price = dist[:n_rows] / scale
    mentor_dist = dist[mentor0:gate0]
    col_price = np.maximum(0.0, -mentor_dist) / scale
    gate_price = np.maximum(-dist[gate0:sink] / scale, col_price[gate_mentor])
    return used[:n_edges], _Prices(row_price, col_price, gate_keys, gate_price)


def _distances(tail: Ints, head: Ints, cost: Floats, n_nodes: int, source: int) -> Floats:
    """Shortest distances from `source` (arcs may cost < 0; no negative cycle): Bellman-Ford.

    Vectorised passes over the arcs grouped by head (one `minimum.reduceat` a pass), stopped
    as soon as a pass changes nothing: as many passes as the longest shortest path has arcs.
    """
    order = np.argsort(head, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    starts = np.flatnonzero(np.r_[True, head[1:] != head[:-1]]) if len(head) else head
    targets = head[starts]
    dist = np.full(n_nodes, np.inf)
    dist[source] = 0.0
    for _ in range(n_nodes + 1):
        best = np.minimum.reduceat(dist[tail] + cost, starts) if len(starts) else starts
        better = best < dist[targets]
        if not better.any():
            return dist
        dist[targets[better]] = best[better]
    raise RuntimeError("negative cycle in a residual network: the flow was not optimal")


def _solve_optimal(prob: _Problem) -> dict[int, int]:
    """Exact max-weight round by column generation on a sparse LP.

    Start from each request's `SHORTLIST` best edges; solve the LP; price every edge left out
    with the LP's duals (reduced cost = grid score + tie - row price - mentor price - gate
    price); add the edges that could still improve the total and solve again. When none is
    left the duals prove the solution optimal over every feasible edge: summed over any
    matching the reduced costs left are below half a grid unit, tie terms below 0.1 unit, so
    the total score equals the exact optimum on the 1e-4 grid. A row needs no pricing when
    even its best left-out score cannot beat its own price (its pair is at least as good).
    """
    sc = prob.scorer
    n_rows, n_cols = sc.n_rows, sc.n_cols
    if not n_rows or not n_cols:
        return {}
    learner = _learner_codes(prob)
    free = prob.free[prob.active]
    ties = _Ties(n_rows, n_cols)
    tolerance = min(1e-3, 0.3 / n_rows)  # grid units per row: 0.3 units over a matching
    short = _shortlist(sc, np.arange(n_rows), SHORTLIST, RESERVE, MENTOR_SHORTLIST)
    edges = short.edges
    # Per row, a bound on (weight - mentor price) over the edges neither in `edges` nor in
    # `reserve`, with the mentor prices of the pass that computed it (epoch; -1: prices 0).
    # Prices may fall later: the largest fall since that pass is added back (`slack`).
    base = short.left_out * UNIT + ties.most
    epoch = np.full(n_rows, -1)
    snapshots: list[Floats] = []
    multi = np.bincount(learner)[learner] > 1  # gates (priced apart) only concern these rows
    reserve = short.reserve  # left-out edges kept aside: the next best per row
    solves = 0
    while True:
        if not len(edges.row):
            return {}
        # Gate every (learner, mentor) that two rows of one learner could both take: the flow
        # then never pairs a learner twice with one mentor, and needs no second solve for it.
        keys, times = np.unique(learner[edges.row] * n_cols + edges.col, return_counts=True)
        gate_keys = keys[times > 1]
        weight = _units(edges, ties)
        chosen, prices = _assign(edges, weight, learner, free, n_rows, gate_keys)
        solves += 1
        if solves <= DROP_SOLVES:  # edges far from improving leave the LP for the reserve
            far = ~chosen & (prices.reduced(edges, weight, learner, n_cols) < -DROP)
            reserve = _Edges.concat([reserve, edges.take(far)])
            edges, chosen = edges.take(~far), chosen[~far]
        del weight
        if len(reserve.row):
            reduced = prices.reduced(reserve, _units(reserve, ties), learner, n_cols)
            if (reduced > tolerance).any():
                # the nearly improving ones too: prices move as edges come in
                better = reduced > -NEAR
                edges = _Edges.concat([edges, reserve.take(better)])
                reserve = reserve.take(~better)
                continue
        fall = [max(0.0, float((snap - prices.col).max(initial=0.0))) for snap in snapshots]
        slack = np.array([*fall, 0.0])
        suspect = np.flatnonzero(base + slack[epoch] - prices.row > tolerance)
        if not len(suspect):
            return prob.choose(edges.take(chosen))
        snapshots.append(prices.col.copy())
        reserve = reserve.take(~np.isin(reserve.row, suspect))
        known = np.sort(edges.row * n_cols + edges.col)
        added, kept, improving = [], [reserve], 0
        for block, cols in sc.blocks(suspect):
            more, spare, base[block], found = _price_block(
                sc, block, cols, known, prices, ties, learner, multi, tolerance
            )
            added.append(more)
            kept.append(spare)
            improving += found
            epoch[block] = len(snapshots) - 1
        reserve = _Edges.concat(kept)
        if not improving:  # every suspect priced: nothing can improve
            return prob.choose(edges.take(chosen))
        edges = _Edges.concat([edges, *added])


def _price_block(
    sc: _Scorer,
    block: Ints,
    cols: Ints,
    known: Ints,
    prices: _Prices,
    ties: _Ties,
    learner: Ints,
    multi: Bools,
    tolerance: float,
) -> tuple[_Edges, _Edges, Floats, int]:
    """Price the left-out edges of a block of (sorted) rows, on dense rows x mentors arrays.

    Returns, per row, the `PRICING_BATCH` edges of highest reduced cost above `tolerance` (to
    add to the LP), the `RESERVE` best scores of the rest (kept aside, best first, ties by
    lower column) and a bound on all the others: max (weight - mentor price), the price being
    0 for a learner with several rows (its gates are priced apart). Dense arithmetic and
    `argpartition` per row: no sort of the block's edges.
    """
    n_cols, n_local = sc.n_cols, len(cols)
    local = np.arange(n_local)
    score, topic = sc.dense(block, cols)
    b = len(block)
    # edges already in the LP are not left out
    lo, hi = np.searchsorted(known, [block[0] * n_cols, (block[-1] + 1) * n_cols])
    kr, kc = np.divmod(known[lo:hi], n_cols)
    at = np.minimum(np.searchsorted(block, kr), b - 1)
    to = np.minimum(np.searchsorted(cols, kc), n_local - 1)
    hit = (block[at] == kr) & (cols[to] == kc)
    score[at[hit], to[hit]] = -np.inf
    left = score > -np.inf
    units = np.rint(np.where(left, score, 0.0) * UNIT)
    weight = units + ties.of(block[:, None], cols[None, :])
    row_price = prices.row[block]
    gain = weight - row_price[:, None] - prices.col[cols][None, :]
    if len(prices.gate_keys):  # a gated (learner, mentor) pays its gate instead of the mentor
        lb = learner[block]  # non-decreasing: rows are sorted by learner
        g_l, g_c = np.divmod(prices.gate_keys, n_cols)
        g_to = np.minimum(np.searchsorted(cols, g_c), n_local - 1)
        first = np.searchsorted(lb, g_l, side="left")
        count = np.searchsorted(lb, g_l, side="right") - first
        some = (count > 0) & (cols[g_to] == g_c)
        count = count[some]
        starts = np.repeat(first[some], count)
        offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        r, c = starts + offset, np.repeat(g_to[some], count)
        gain[r, c] = weight[r, c] - row_price[r] - np.repeat(prices.gate[some], count)
    gain[~left] = -np.inf
    at_row = np.arange(b)[:, None]
    # the PRICING_BATCH edges of highest reduced cost that could improve ...
    k = min(PRICING_BATCH, n_local)
    top = np.argpartition(-gain, k - 1, axis=1)[:, :k] if k < n_local else np.tile(local, (b, 1))
    top_gain = gain[at_row, top]
    improving = int((top_gain > tolerance).sum())
    ti, tj = np.nonzero(top_gain > (-NEAR if improving else tolerance))
    tc = top[ti, tj]
    more = _Edges(block[ti], cols[tc], score[ti, tc], topic[ti, tc].astype(np.int64))
    left[ti, tc] = False
    # ... and, of the rest, the RESERVE best scores (ties by lower column); a bound on the others
    key = np.where(left, units.astype(np.int64) * n_cols + (n_cols - 1 - cols), -1)
    k = min(RESERVE, n_local)
    top = np.argpartition(-key, k - 1, axis=1)[:, :k] if k < n_local else np.tile(local, (b, 1))
    ri, rj = np.nonzero(key[at_row, top] >= 0)
    rc = top[ri, rj]
    spare = _Edges(block[ri], cols[rc], score[ri, rc], topic[ri, rc].astype(np.int64))
    left[ri, rc] = False
    price = np.where(multi[block][:, None], 0.0, prices.col[cols][None, :])
    bound = np.where(left, weight - price, -np.inf).max(axis=1, initial=-np.inf)
    return more, spare, bound, improving


def _greedy(prob: _Problem, edges: _Edges, learner: Ints) -> Bools:
    """Highest score first (ties by row, then mentor), within capacity, once per learner."""
    order = np.lexsort((edges.col, edges.row, -edges.score))
    left = prob.free[prob.active].copy()
    taken: set[tuple[int, int]] = set()
    done: set[int] = set()
    chosen = np.zeros(len(edges.row), dtype=bool)
    open_rows = len(np.unique(edges.row))
    for k, r, m in zip(
        order.tolist(), edges.row[order].tolist(), edges.col[order].tolist(), strict=True
    ):
        if r in done or left[m] <= 0 or (int(learner[r]), m) in taken:
            continue
        chosen[k] = True
        done.add(r)
        left[m] -= 1
        taken.add((int(learner[r]), m))
        open_rows -= 1
        if not open_rows or not left.any():
            break
    return chosen


def _solve_greedy(prob: _Problem) -> dict[int, int]:
    """Greedy over each row's best edges, exactly as over all of them.

    Greedy takes a row's edges in the row's own order, so it only ever looks past a row's
    shortlist when the row is still without a mentor: such rows get a deeper shortlist and the
    pass is repeated until every row is paired or complete.
    """
    sc = prob.scorer
    if not sc.n_rows or not sc.n_cols:
        return {}
    learner = _learner_codes(prob)
    depth = GREEDY_SHORTLIST
    short = _shortlist(sc, np.arange(sc.n_rows), depth)
    edges, left_out = short.edges, short.left_out
    while True:
        chosen = _greedy(prob, edges, learner)
        paired = np.zeros(sc.n_rows, dtype=bool)
        paired[edges.row[chosen]] = True
        deeper = np.flatnonzero(~paired & (left_out > -np.inf))
        if not len(deeper):
            return prob.choose(edges.take(chosen))
        depth *= 8
        more = _shortlist(sc, deeper, depth)
        edges = _Edges.concat([edges.take(~np.isin(edges.row, deeper)), more.edges])
        left_out[deeper] = more.left_out[deeper]


# ---------------------------------------------------------------------------------------------
# Explanations.


def _join(items: Sequence[str], last: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _reasons(prob: _Problem, row: _Row, mentor: Person, topic: str) -> list[Reason]:
    """The facts that make this pair worth it; worded per reader by `handlers.pairing.reasons`."""
    learner = row.learner
    found = [p for p in prob.practices.get(mentor.id, []) if topic in p.instruments]
    found.sort(key=lambda p: (p.sector not in learner.sectors, -(p.year or 0), p.id))
    if found:
        p = found[0]
        title = p.title if len(p.title) <= 60 else p.title[:59] + "…"
        first = Reason(PRACTICE, {"authority": p.authority_name, "title": title, "year": p.year})
    else:
        first = Reason(EXPERIENCE, {"instrument": topic})
    extra: list[Reason] = []
    common = sorted(learner.sectors & mentor.sectors)
    if common:
        extra.append(Reason(SECTORS, {"sectors": common[:2]}))
    also = sorted((learner.wants & mentor.offers) - {topic})
    if also:
        extra.append(Reason(ALSO_KNOWS, {"instruments": also[:2]}))
    if learner.country.upper() != mentor.country.upper():
        where = {"learner": learner.country.upper(), "mentor": mentor.country.upper()}
        extra.append(Reason(CROSS_BORDER, where))
    pl, pm = learner.population, mentor.population
    if pl and pm and pl > 0 and pm > 0 and abs(math.log10(pl / pm)) <= 0.5:
        extra.append(Reason(SIMILAR_SIZE, {"learner": pl, "mentor": pm}))
    spoken = sorted(learner.languages & mentor.languages)
    return [first, *extra[:2], Reason(LANGUAGES, {"languages": spoken})]


def _why_unmatched(prob: _Problem, i: int, paired: dict[int, list[tuple[int, str]]]) -> str:
    row = prob.rows[i]
    topics = _join(sorted(row.candidates), "or")
    langs = ", ".join(sorted(row.learner.languages))
    why = {
        "offers": f"no mentor offers {topics}",
        "language": f"no mentor for {topics} shares a language ({langs})"
        if langs
        else "no language in the profile",
        "authority": f"the only mentors for {topics} work at {row.learner.authority_name}",
        "excluded": f"every mentor for {topics} was already paired with or declined by this "
        "learner",
        "capacity": f"all mentors for {topics} are at capacity",
    }
    left = np.ones(len(prob.mentors), dtype=bool)
    for stage, ok in prob.stages(i):
        left &= ok
        if not left.any():
            return why[stage]
    mine = paired.get(row.learner.id, [])
    others = set(np.flatnonzero(left).tolist()) - {j for j, _ in mine}
    if not others:
        names = _join(sorted({prob.mentors[j].name for j, _ in mine}))
        on = _join(sorted({t for _, t in mine}))
        return f"the only available mentor for {topics} ({names}) already mentors them on {on}"
    n = len(others)
    mentors = f"{n} available mentors" if n > 1 else "only available mentor"
    return f"the {mentors} for {topics} went to other learners this round"


def _result(prob: _Problem, found: dict[int, int]) -> RoundResult:
    pairs: list[Proposal] = []
    paired: dict[int, list[tuple[int, str]]] = {}
    for i, col in sorted(found.items()):
        row = prob.rows[i]
        j = int(prob.active[col])
        topic = prob.instruments[int(prob.topic[i, col])]
        mentor = prob.mentors[j]
        score = round(float(prob.score[i, col]), SCORE_DECIMALS)
        pairs.append(
            Proposal(row.learner.id, mentor.id, topic, score, _reasons(prob, row, mentor, topic))
        )
        paired.setdefault(row.learner.id, []).append((j, topic))
    unmatched = list(prob.early)
    unmatched += [
        Unmatched(r.learner.id, r.topic, _why_unmatched(prob, i, paired))
        for i, r in enumerate(prob.rows)
        if i not in found
    ]
    pairs.sort(key=lambda p: (p.learner_id, p.topic, p.mentor_id))
    unmatched.sort(key=lambda u: (u.learner_id, _topic_key(u.topic)))
    return RoundResult(pairs, unmatched)


# ---------------------------------------------------------------------------------------------
# Public API.


def solve_round(
    people: Sequence[Person],
    requests: Sequence[Request],
    practices: Sequence[Practice] = (),
    excluded: Set[tuple[int, int]] = frozenset(),
    weights: Weights = Weights(),
) -> RoundResult:
    """The round's pairs with the maximum total score; every other request explained.

    excluded: (learner_id, mentor_id) pairs closed or declined before (and, for the caller to
    add, pairs that are active now). Same input, same output: order of the inputs is irrelevant
    and ties go to lower ids.
    """
    prob = _prepare(people, requests, practices, excluded, weights)
    return _result(prob, _solve_optimal(prob))


def solve_greedy(
    people: Sequence[Person],
    requests: Sequence[Request],
    practices: Sequence[Practice] = (),
    excluded: Set[tuple[int, int]] = frozenset(),
    weights: Weights = Weights(),
) -> RoundResult:
    """Baseline: take feasible pairs by descending score (ties by learner, topic, mentor id)."""
    prob = _prepare(people, requests, practices, excluded, weights)
    return _result(prob, _solve_greedy(prob))


def candidate_edges(
    people: Sequence[Person],
    requests: Sequence[Request],
    practices: Sequence[Practice] = (),
    excluded: Set[tuple[int, int]] = frozenset(),
    weights: Weights = Weights(),
) -> CandidateEdges:
    """The scored feasible edges, e.g. to check the optimum with an independent solver."""
    prob = _prepare(people, requests, practices, excluded, weights)
    sc = prob.scorer
    e = sc.edges(np.arange(sc.n_rows))
    e = e.take(np.lexsort((e.col, e.row)))
    return CandidateEdges(
        rows=[(r.learner.id, r.topic) for r in prob.rows],
        learner_ids=np.array([r.learner.id for r in prob.rows], dtype=np.int64),
        mentor_ids=np.array([prob.mentors[j].id for j in prob.active], dtype=np.int64),
        free=prob.free[prob.active],
        edge_row=e.row,
        edge_mentor=e.col,
        edge_score=e.score,
    )


def mentor_options(
    people: Sequence[Person],
    request: Request,
    practices: Sequence[Practice] = (),
    excluded: Set[tuple[int, int]] = frozenset(),
    weights: Weights = Weights(),
) -> list[Proposal]:
    """Every mentor who could take this one request under the round's hard rules, best score
    first (ties by mentor id), each with the score and reasons a round would give: the choice
    a coordinator has when swapping a proposal's mentor or reassigning a learner.

    A mentor must offer the topic (the first hard rule), and a pair's score depends on its two
    people only, so the others are left out before scoring: 20,000 officers cost what their
    few hundred mentors on that topic cost."""
    if request.topic is not None:
        people = [p for p in people if p.id == request.learner_id or request.topic in p.offers]
    prob = _prepare(people, [request], practices, excluded, weights)
    if not prob.rows:
        return []
    row = prob.rows[0]
    e = prob.scorer.edges(np.arange(1))
    found = []
    for col, score, t in zip(e.col.tolist(), e.score.tolist(), e.topic.tolist(), strict=True):
        mentor = prob.mentors[int(prob.active[col])]
        topic = prob.instruments[int(t)]
        found.append(
            Proposal(
                row.learner.id,
                mentor.id,
                topic,
                round(float(score), SCORE_DECIMALS),
                _reasons(prob, row, mentor, topic),
            )
        )
    found.sort(key=lambda p: (-p.score, p.mentor_id))
    return found
