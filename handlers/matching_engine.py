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

Solver (exact). Capacity expansion: one column per free mentor slot (capped by the number of
distinct learners who can use the mentor), `scipy.optimize.linear_sum_assignment` (dense, C++)
on each connected component of the feasibility graph. Cells that are not pairs cost 0 = "not
paired", so with all scores > 0 this is a max-weight (not a forced perfect) matching. The rule
"never the same mentor twice for one learner" is modelled exactly with gates: for a gated
(learner, mentor), the learner's rows reach the mentor only through one gate column, and a gate
row must take that column (gate unused) or one of the mentor's slots (gate used) - the flow
gadget "node (learner, mentor) of capacity 1" written as an assignment. Gates are added where an
auction predicts a conflict, then lazily: solve, gate every (learner, mentor) used twice, solve
again, until none is (each solve is a relaxation of the true problem, so the last is optimal).
Ties go to lower learner and mentor ids through a perturbation (< 1e-5 in total) far below the
1e-4 score grid, so the reported total is still the exact optimum (checked against a MILP in the
bench); on very big rounds the pairing part of it falls below float precision and such exact
ties are then settled by the solver, deterministically.

Speed. A cold LSA on the big component is slow, so the matrix is warm-started: an epsilon-scaled
Jacobi auction (numpy, rows bid for slots, never for a mentor holding a sibling row) gives slot
prices; adding a price per column and a constant per row leaves the optimum of a square problem
unchanged (every row and column is used once) and lets the LSA start near it. The prices only
change the speed, never the result. Measured on the bench's 5,000-officer round (seed 7: 3,454
requests, 1,865 mentors with 3,513 free slots, 1.24 M feasible request-mentor edges), shared
2-core AMD EPYC, one solve each:
  dense LSA, cold, without the same-mentor rule (a relaxation)      6.7-10.5 s
  sparse LAPJVsp (min_weight_full_bipartite_matching, a dummy
    column per request), cold, same relaxation                      3.9-5.0 s; lazy gates
    then need 5 solves. Prices cannot warm it: with unmatched columns they change the optimum.
  min-cost flow as an LP (HiGHS dual simplex; a network matrix, so
    the vertex is integral), rule exact via 91,600 gate rows        46 s (87 s with column
    generation from the 20 best edges per request)
  chosen: auction 0.8-1.4 s + warm dense LSA 1.2-3 s per solve (~1,000 predicted gates);
    whole solve_round incl. scoring on seeds 1, 2, 3, 7, 11: 3.5-8.8 s with the machine
    shared (load ~2.7 on 2 cores), 3.4-3.7 s for seed 7 lightly loaded. 4 of those 5 seeds
    need a 2nd LSA solve for 1-3 late conflicts, which doubles the LSA share.
  (with exact dual prices the same LSA takes 0.13 s: price quality is what matters)
Decomposing by topic is not exact (a mentor's slots are shared across topics) and connected
components do not help here (English links almost everyone), but are used anyway.

`solve_greedy` (highest score first, ties by learner id, topic, mentor id) is the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from handlers.reasons import (
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
    """A proposed pair with its score and 2-4 reasons (data; `handlers.reasons` renders them)."""

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
    feasible: Bools  # R x A (active mentors)
    score: Floats  # R x A, 0 where infeasible
    topic: npt.NDArray[np.int32]  # R x A, instrument index chosen for the pair
    practices: dict[int, list[Practice]]
    weights: Weights

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


def _topic_key(topic: str | None) -> tuple[bool, str]:
    return (topic is None, topic or "")


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
    """Validate, index, check the hard constraints and score the feasible cells with numpy."""
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
    ii = {c: k for k, c in enumerate(instruments)}
    si = {c: k for k, c in enumerate(sectors)}
    li = {c: k for k, c in enumerate(languages)}
    n_rows, n_inst = len(rows), len(instruments)

    cand = _onehot([r.candidates for r in rows], ii)
    wants = _onehot([p.wants for p in learners], ii)
    offers = _onehot([m.offers for m in mentors], ii)
    row_sectors = _onehot([p.sectors for p in learners], si)
    mentor_sectors = _onehot([m.sectors for m in mentors], si)
    row_lang = _onehot([p.languages for p in learners], li)
    mentor_lang = _onehot([m.languages for m in mentors], li)
    has_practice = np.zeros((len(mentors), max(n_inst, 1)), dtype=np.float64)
    # practice_sectors[m, t, s]: mentor m has a practice on instrument t in sector s
    practice_sectors = np.zeros((len(mentors), max(n_inst, 1), len(sectors)), dtype=bool)
    by_mentor: dict[int, list[Practice]] = {}
    for p in own:
        by_mentor.setdefault(p.officer_id, []).append(p)
        for code in p.instruments:
            has_practice[mentor_index[p.officer_id], ii[code]] = 1.0
            practice_sectors[mentor_index[p.officer_id], ii[code], si[p.sector]] = True

    # Hard constraints against the mentors with free slots.
    free = np.array([max(0, m.capacity - m.active_pairs) for m in mentors], dtype=np.int64)
    active = np.flatnonzero(free > 0)
    row_auth = np.array([p.authority_id for p in learners], dtype=np.int64)
    mentor_auth = np.array([m.authority_id for m in mentors], dtype=np.int64)
    act_offers = offers[active]
    feasible = (cand @ act_offers.T) > 0
    feasible &= (row_lang @ mentor_lang[active].T) > 0
    feasible &= row_auth[:, None] != mentor_auth[active][None, :]
    rows_of: dict[int, list[int]] = {}
    for i, learner in enumerate(learners):
        rows_of.setdefault(learner.id, []).append(i)
    excluded_of: dict[int, set[int]] = {}
    col_of = {int(j): k for k, j in enumerate(active)}
    for learner_id, mentor_id in excluded:
        j = mentor_index.get(mentor_id)
        if j is None:
            continue
        for i in rows_of.get(learner_id, []):
            excluded_of.setdefault(i, set()).add(j)
            if j in col_of:
                feasible[i, col_of[j]] = False

    # Score the feasible cells only.
    r, c = np.nonzero(feasible)
    m = active[c]
    row_topic = np.array([ii[x.topic] if x.topic else -1 for x in rows], dtype=np.int64)
    topic = row_topic[r]
    bonus = np.full(len(r), -1.0)

    def practice_bonus(cells: Ints, t: Ints) -> Floats:
        same = (practice_sectors[m[cells], t] & (row_sectors[r[cells]] > 0)).any(axis=1)
        return weights.practice * has_practice[m[cells], t] + weights.practice_sector * same

    fixed = np.flatnonzero(topic >= 0)
    bonus[fixed] = practice_bonus(fixed, topic[fixed])
    # topic None: the candidate topic with the best practice bonus, ties by code
    for t in range(n_inst):
        cells = np.flatnonzero((row_topic[r] < 0) & (cand[r, t] > 0) & (offers[m, t] > 0))
        if len(cells):
            val = practice_bonus(cells, np.full(len(cells), t))
            better = val > bonus[cells]
            bonus[cells[better]] = val[better]
            topic[cells[better]] = t
    in_wants = wants[r, topic]
    n_wants = wants.sum(axis=1)[r]
    common = (wants @ act_offers.T)[r, c] - in_wants
    overlap = common / np.maximum(n_wants - in_wants, 1.0)
    n_sect = row_sectors.sum(axis=1)[r]
    sector = (row_sectors @ mentor_sectors[active].T)[r, c] / np.maximum(n_sect, 1.0)
    countries = _codes([p.country.upper() for p in learners] + [x.country.upper() for x in mentors])
    cross = countries[:n_rows][r] != countries[n_rows:][m]
    gap = np.abs(_log_population(learners)[r] - _log_population(mentors)[m])
    size = np.nan_to_num(np.clip(1.0 - gap / weights.size_decades, 0.0, 1.0), nan=0.0)
    cap = weights.waiting_cap_days
    wait = np.array([min(max(p.waiting_days, 0), cap) / cap for p in learners], dtype=np.float64)
    cell_score = (
        weights.topic
        + weights.overlap * overlap
        + weights.sector * sector
        + bonus
        + weights.cross_border * cross
        + weights.size * size
        + weights.waiting * wait[r]
    )
    score = np.zeros(feasible.shape)
    score[r, c] = np.round(cell_score, SCORE_DECIMALS)
    topic_grid = np.full(feasible.shape, -1, dtype=np.int32)
    topic_grid[r, c] = topic
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
        feasible=feasible,
        score=score,
        topic=topic_grid,
        practices=by_mentor,
        weights=weights,
    )


# ---------------------------------------------------------------------------------------------
# Solvers: both return {row: active-mentor column}.


def _learner_codes(prob: _Problem) -> Ints:
    """Learner of each row as 0..L-1 (rows are sorted by learner id)."""
    ids = np.array([r.learner.id for r in prob.rows], dtype=np.int64)
    return np.unique(ids, return_inverse=True)[1].astype(np.int64)


AUCTION_EPSILONS = (0.3, 0.05, 0.01)  # epsilon-scaling schedule of the warm-start auction
AUCTION_MIN_CELLS = 200_000  # below this many request x slot cells a cold LSA is instant
AUCTION_SHORTLIST = 256  # slots a bidder looks at first (exact: falls back to the full row)
GATE_MARGIN = 0.15  # pre-emptive gate when a mentor is this close to the best for 2+ rows


@dataclass
class _Component:
    """One connected component: rows x mentors, expanded to one column per mentor slot."""

    weight: Floats  # rows x mentors: perturbed score > 0 where feasible, 0 elsewhere
    learner: Ints  # learner code of each row (rows of a learner are contiguous)
    slots: Ints  # usable slots per mentor
    slot_mentor: Ints = field(init=False)
    first_slot: Ints = field(init=False)

    def __post_init__(self) -> None:
        self.slot_mentor = np.repeat(np.arange(len(self.slots)), self.slots)
        self.first_slot = np.cumsum(self.slots) - self.slots

    def rows_of(self, learner: int) -> Ints:
        lo, hi = np.searchsorted(self.learner, [learner, learner + 1])
        return np.arange(lo, hi)


def _siblings(learner: Ints) -> Ints:
    """rows x (k-1) array of the other rows of the same learner (-1 padded); k = most rows."""
    n = len(learner)
    if not n:
        return np.zeros((0, 0), dtype=np.int64)
    sizes = np.bincount(learner)
    start = (np.cumsum(sizes) - sizes)[learner]
    size = sizes[learner]
    out = np.full((n, int(sizes.max()) - 1), -1, dtype=np.int64)
    for k in range(out.shape[1]):
        other = start + k
        other = other + (other >= np.arange(n))
        out[:, k] = np.where(k < size - 1, other, -1)
    return out


def _auction_prices(comp: _Component) -> Floats:
    """Slot prices from an epsilon-scaled Jacobi auction (Bertsekas), as an LSA warm start.

    Bidders are rows, objects are slots, a row may stay unpaired (value 0) and never bids for
    a mentor that already holds one of its siblings. Only the speed of the exact solve depends
    on these prices, never its result.
    """
    sm = comp.slot_mentor
    n_rows, n_slots = len(comp.learner), len(sm)
    if n_slots < 2:
        return np.zeros(n_slots)
    value = np.where(comp.weight[:, sm] > 0, comp.weight[:, sm], -np.inf)
    short = min(AUCTION_SHORTLIST, n_slots - 1)
    part = np.argpartition(-value, short, axis=1)
    cand = part[:, :short].copy()
    bound = value[np.arange(n_rows), part[:, short]]  # best value outside the shortlist
    del part
    cand_value = np.take_along_axis(value, cand, axis=1)
    siblings = _siblings(comp.learner)
    price = np.zeros(n_slots)
    for eps in AUCTION_EPSILONS:
        owner = np.full(n_slots, -1)
        held = np.full(n_rows, -1)
        out = np.zeros(n_rows, dtype=bool)
        for _ in range(50 * n_rows):  # safety bound; the warm start need not be finished
            bidders = np.flatnonzero((held < 0) & ~out)
            if not len(bidders):
                break
            ci = cand[bidders]
            val = cand_value[bidders] - price[ci]
            taken = _sibling_mentors(siblings[bidders], held, sm)  # bidders x k, -1 = none
            for k in range(taken.shape[1]):
                val[sm[ci] == taken[:, k : k + 1]] = -np.inf
            at = np.arange(len(bidders))
            k1 = np.argmax(val, axis=1)
            best, j1 = val[at, k1], ci[at, k1]
            val[at, k1] = -np.inf
            second = np.maximum(val.max(axis=1), 0.0)
            redo = np.flatnonzero(second < bound[bidders])
            if len(redo):
                # Shortlist too short at these prices: rebuild it from the net values. Prices
                # only rise, so the best net value left outside stays an upper bound.
                rows = bidders[redo]
                full = value[rows] - price
                part = np.argpartition(-full, short, axis=1)
                cand[rows] = part[:, :short]
                cand_value[rows] = np.take_along_axis(value[rows], part[:, :short], axis=1)
                bound[rows] = full[np.arange(len(rows)), part[:, short]]
                for k in range(taken.shape[1]):
                    full[sm[None, :] == taken[redo, k : k + 1]] = -np.inf
                at2 = np.arange(len(redo))
                j = np.argmax(full, axis=1)
                best[redo], j1[redo] = full[at2, j], j
                full[at2, j] = -np.inf
                second[redo] = np.maximum(full.max(axis=1), 0.0)
            give_up = best <= 0
            out[bidders[give_up]] = True
            go = ~give_up
            bidders, j1 = bidders[go], j1[go]
            if not len(bidders):
                continue
            bid = price[j1] + best[go] - second[go] + eps
            order = np.lexsort((-bid, j1))
            win = order[np.r_[True, j1[order][1:] != j1[order][:-1]]]
            slots = j1[win]
            prev = owner[slots]
            held[prev[prev >= 0]] = -1
            owner[slots] = bidders[win]
            held[bidders[win]] = slots
            price[slots] = bid[win]
    return price


def _sibling_mentors(siblings: Ints, held: Ints, slot_mentor: Ints) -> Ints:
    """Mentor held by each sibling (-1 when the sibling holds nothing or does not exist)."""
    slot = np.where(siblings >= 0, held[np.maximum(siblings, 0)], -1)
    return np.where(slot >= 0, slot_mentor[np.maximum(slot, 0)], -1)


def _likely_gates(comp: _Component, price: Floats) -> list[tuple[int, int]]:
    """(learner, mentor) pairs that two rows of a learner would both like, at these prices."""
    if not price.any():
        return []
    n_mentors = len(comp.slots)
    mentor_price = np.full(n_mentors, np.inf)
    np.minimum.at(mentor_price, comp.slot_mentor, price)
    mentor_price[comp.slots == 0] = 0.0
    multi = np.bincount(comp.learner)[comp.learner] > 1
    net = np.where(comp.weight[multi] > 0, comp.weight[multi] - mentor_price[None, :], -np.inf)
    best = np.maximum(net.max(axis=1), 0.0)
    near = (net >= best[:, None] - GATE_MARGIN) & (comp.slots[None, :] >= 2)
    r, m = np.nonzero(near)
    keys = comp.learner[np.flatnonzero(multi)[r]] * n_mentors + m
    uniq, count = np.unique(keys, return_counts=True)
    return [(int(k // n_mentors), int(k % n_mentors)) for k in uniq[count >= 2]]


def _assign(comp: _Component, gates: list[tuple[int, int]], price: Floats) -> dict[int, int]:
    """Exact max-weight assignment with `gates`, on a square matrix warm-started by `price`.

    Columns: slots, one per gate, padding; rows: requests, one per gate, padding. Cells that
    are not pairs cost 0 (= not paired); a gate row takes its own column or one slot of its
    mentor. Adding a price per column and a constant per row keeps the optimum of a square
    problem (every row and column is used once) and makes the LSA start near it.
    """
    sm, n_rows = comp.slot_mentor, len(comp.learner)
    n_slots, n_gates = len(sm), len(gates)
    n = max(n_rows, n_slots) + n_gates
    col_price = np.zeros(n)
    col_price[:n_slots] = price
    for g, (_, m) in enumerate(gates):
        lo = comp.first_slot[m]
        col_price[n_slots + g] = price[lo : lo + comp.slots[m]].min()
    cost = np.empty((n, n))
    cost[:] = col_price
    block = cost[:n_rows, :n_slots]
    np.subtract(block, comp.weight[:, sm], out=block)
    gated: set[tuple[int, int]] = set()
    for g, (lc, m) in enumerate(gates):
        rows, col = comp.rows_of(lc), n_slots + g
        mslots = comp.first_slot[m] + np.arange(comp.slots[m])
        cost[np.ix_(rows, mslots)] = col_price[mslots]
        cost[rows, col] = col_price[col] - comp.weight[rows, m]
        cost[n_rows + g, :] = np.inf
        cost[n_rows + g, mslots] = col_price[mslots]
        cost[n_rows + g, col] = col_price[col]
        gated.add((lc, m))
    cost -= cost.min(axis=1)[:, None]
    row_ind, col_ind = linear_sum_assignment(cost)
    found: dict[int, int] = {}
    for r, c in zip(row_ind.tolist(), col_ind.tolist(), strict=True):
        if r >= n_rows:
            continue
        if c < n_slots:
            m, direct = int(sm[c]), True
        elif c < n_slots + n_gates and gates[c - n_slots][0] == comp.learner[r]:
            m, direct = gates[c - n_slots][1], False
        else:
            continue
        if comp.weight[r, m] > 0 and not (direct and (int(comp.learner[r]), m) in gated):
            found[r] = m
    return found


def _solve_component(comp: _Component) -> dict[int, int]:
    """Lazy gates: solve, gate every (learner, mentor) used twice, solve again."""
    big = len(comp.learner) * len(comp.slot_mentor) >= AUCTION_MIN_CELLS
    price = _auction_prices(comp) if big else np.zeros(len(comp.slot_mentor))
    gates = _likely_gates(comp, price)
    while True:
        found = _assign(comp, gates, price)
        seen: set[tuple[int, int]] = set()
        new: set[tuple[int, int]] = set()
        for r in sorted(found):
            key = (int(comp.learner[r]), found[r])
            (new if key in seen else seen).add(key)
        if not new:
            return found
        gates = sorted(set(gates) | new)


def _solve_optimal(prob: _Problem) -> dict[int, int]:
    feasible = prob.feasible
    n_rows, n_act = feasible.shape
    if not n_rows or not n_act or not feasible.any():
        return {}
    learner = _learner_codes(prob)
    # Slots per mentor: free slots, at most the number of distinct learners who can use them.
    starts = np.flatnonzero(np.r_[True, learner[1:] != learner[:-1]])
    per_learner = np.logical_or.reduceat(feasible, starts, axis=0)
    slots = np.minimum(prob.free[prob.active], per_learner.sum(axis=0))
    # Ties: prefer pairing lower learner rows and lower mentor ids (separable term), and among
    # the same rows and mentors the lowest learner with the lowest mentor (product term, by the
    # rearrangement inequality). Total effect < 1e-5, far below the 1e-4 score grid.
    rank_r, rank_m = np.arange(n_rows)[:, None], np.arange(n_act)[None, :]
    e1 = 5e-6 / (n_rows * (n_rows + n_act))
    e2 = 5e-6 / (n_rows * n_rows * n_act)
    tie = e2 * (n_rows - rank_r) * (n_act - rank_m) - e1 * (rank_r + rank_m)
    weight = np.where(feasible, prob.score + tie, 0.0)
    r_idx, m_idx = np.nonzero(feasible)
    graph = coo_matrix(
        (np.ones(len(r_idx)), (r_idx, n_rows + m_idx)), shape=(n_rows + n_act, n_rows + n_act)
    )
    n_comp, label = connected_components(graph, directed=False)
    result: dict[int, int] = {}
    for comp in range(n_comp):
        rows = np.flatnonzero(label[:n_rows] == comp)
        cols = np.flatnonzero(label[n_rows:] == comp)
        if not len(rows) or not len(cols):
            continue
        part = _Component(weight[np.ix_(rows, cols)], learner[rows], slots[cols])
        found = _solve_component(part)
        result.update({int(rows[r]): int(cols[m]) for r, m in found.items()})
    return result


def _solve_greedy(prob: _Problem) -> dict[int, int]:
    r_idx, m_idx = np.nonzero(prob.feasible)
    if not len(r_idx):
        return {}
    score = prob.score[r_idx, m_idx]
    order = np.lexsort((m_idx, r_idx, -score))  # rows sorted by learner then topic
    learner = _learner_codes(prob)
    left = prob.free[prob.active].copy()
    taken: set[tuple[int, int]] = set()
    found: dict[int, int] = {}
    open_rows = len(prob.rows)
    for r, m in zip(r_idx[order].tolist(), m_idx[order].tolist(), strict=True):
        if r in found or left[m] <= 0 or (int(learner[r]), m) in taken:
            continue
        found[r] = m
        left[m] -= 1
        taken.add((int(learner[r]), m))
        open_rows -= 1
        if not open_rows or not left.any():
            break
    return found


# ---------------------------------------------------------------------------------------------
# Explanations.


def _join(items: Sequence[str], last: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _reasons(prob: _Problem, row: _Row, mentor: Person, topic: str) -> list[Reason]:
    """The facts that make this pair worth it; worded per reader by `handlers.reasons`."""
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
    r_idx, m_idx = np.nonzero(prob.feasible)
    return CandidateEdges(
        rows=[(r.learner.id, r.topic) for r in prob.rows],
        learner_ids=np.array([r.learner.id for r in prob.rows], dtype=np.int64),
        mentor_ids=np.array([prob.mentors[j].id for j in prob.active], dtype=np.int64),
        free=prob.free[prob.active],
        edge_row=r_idx.astype(np.int64),
        edge_mentor=m_idx.astype(np.int64),
        edge_score=prob.score[r_idx, m_idx],
    )
