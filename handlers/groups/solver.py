"""Peer-learning group formation: an exact MILP (scipy's HiGHS) and a greedy baseline.

The unit is the authority. Per financing scheme, groups of `min_mentors..max_mentors` mentor
authorities and `min_learners..max_learners` learner authorities are formed. Hard constraints:
every member speaks the group's working language (one of its officers does), at most one
learner authority per country and group (unless allowed), a mentor authority leads at most
`capacity` groups, a learner authority joins at most one group, two authorities that were in a
failed group together are never grouped again. Soft objectives, in one weighted sum: every
placed authority (coverage first), the fit of its wants (earlier choice = better) or offers
(a documented good practice = better), the number of countries and of authority sizes in a
group, minus the number of distinct UTC hours it spans (time-zone spread).

Groups of one scheme are interchangeable, so the model orders them (group k+1 opens only if
group k does) to cut symmetric solutions. `evaluate` scores any set of groups with exactly the
model's objective, so the MILP, the greedy baseline and a brute force can be compared.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

LEARNER = "learner"
MENTOR = "mentor"

# why an authority was left out (rendered by the catalogue, `groups.unmatched.<code>`)
NO_MENTOR = "no_mentor"
NO_LANGUAGE = "no_language"
TOO_FEW = "too_few"
NO_LEARNERS = "no_learners"
NO_ROOM = "no_room"


@dataclass(frozen=True)
class Sizes:
    """How many mentor and learner authorities a group has."""

    min_mentors: int = 1
    max_mentors: int = 2
    min_learners: int = 3
    max_learners: int = 6

    def problems(self) -> list[str]:
        """Why these sizes cannot form any group (empty when they can)."""
        found = []
        if not 1 <= self.min_mentors <= self.max_mentors:
            found.append("mentors: need 1 <= min <= max")
        if not 1 <= self.min_learners <= self.max_learners:
            found.append("learners: need 1 <= min <= max")
        return found


@dataclass(frozen=True)
class Weights:
    """The soft objectives; coverage dominates so nobody is left out for a nicer mix."""

    cover: float = 10.0
    first_choice: float = 3.0
    choice_step: float = 0.5
    """A later choice of a learner is worth this much less than the one before (down to 1)."""
    mentor: float = 2.0
    practice: float = 1.0
    country: float = 0.5
    size: float = 0.3
    hour: float = 0.4


@dataclass(frozen=True)
class Unit:
    """An applying authority: what its officers want to learn and can mentor, together."""

    id: int
    name: str
    country: str
    languages: frozenset[str]
    wants: tuple[str, ...] = ()
    offers: frozenset[str] = frozenset()
    capacity: int = 1
    utc_hour: int = 1
    size: str = ""
    practices: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Problem:
    units: Sequence[Unit]
    sizes: Sizes = Sizes()
    weights: Weights = Weights()
    learners_per_country: int = 1
    """At most this many learner authorities of one country in a group (0: no limit)."""
    apart: frozenset[frozenset[int]] = frozenset()
    """Pairs of authorities that were in a failed group together."""


@dataclass(frozen=True)
class Group:
    scheme: str
    language: str
    mentors: tuple[int, ...]
    learners: tuple[int, ...]

    @property
    def members(self) -> tuple[int, ...]:
        return self.mentors + self.learners


@dataclass
class Solution:
    groups: list[Group]
    unplaced: dict[int, str]
    objective: float
    method: str
    seconds: float = 0.0
    bound: float | None = None
    """The best objective any solution could reach (the MILP's dual bound)."""
    optimal: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """Relative distance to the bound (0: proven optimal)."""
        if self.bound is None or self.bound <= 0:
            return None
        return max(0.0, (self.bound - self.objective) / self.bound)


# -- scoring -----------------------------------------------------------------------------


def learner_fit(unit: Unit, scheme: str, w: Weights) -> float:
    rank = unit.wants.index(scheme) if scheme in unit.wants else len(unit.wants)
    return max(1.0, w.first_choice - w.choice_step * rank)


def mentor_fit(unit: Unit, scheme: str, w: Weights) -> float:
    return w.mentor + (w.practice if scheme in unit.practices else 0.0)


def evaluate(problem: Problem, groups: Iterable[Group]) -> float:
    """The objective of a set of groups, exactly as the MILP counts it."""
    w = problem.weights
    by_id = {u.id: u for u in problem.units}
    total = 0.0
    for g in groups:
        members = [by_id[a] for a in g.members]
        total += sum(w.cover + mentor_fit(by_id[a], g.scheme, w) for a in g.mentors)
        total += sum(w.cover + learner_fit(by_id[a], g.scheme, w) for a in g.learners)
        total += w.country * len({u.country for u in members})
        total += w.size * len({u.size for u in members if u.size})
        total -= w.hour * len({u.utc_hour for u in members})
    return round(total, 6)


def violations(problem: Problem, groups: Sequence[Group]) -> list[str]:
    """Every hard constraint a set of groups breaks (empty: all hold)."""
    s, by_id = problem.sizes, {u.id: u for u in problem.units}
    found: list[str] = []
    learned: Counter[int] = Counter()
    mentored: Counter[int] = Counter()
    for n, g in enumerate(groups):
        name = f"group {n} ({g.scheme})"
        if not s.min_mentors <= len(g.mentors) <= s.max_mentors:
            found.append(f"{name}: {len(g.mentors)} mentor authorities")
        if not s.min_learners <= len(g.learners) <= s.max_learners:
            found.append(f"{name}: {len(g.learners)} learner authorities")
        if len(set(g.members)) != len(g.members):
            found.append(f"{name}: an authority twice")
        for a in g.mentors:
            mentored[a] += 1
            if g.scheme not in by_id[a].offers:
                found.append(f"{name}: {by_id[a].name} does not offer {g.scheme}")
        for a in g.learners:
            learned[a] += 1
            if g.scheme not in by_id[a].wants:
                found.append(f"{name}: {by_id[a].name} does not want {g.scheme}")
        for a in g.members:
            if g.language not in by_id[a].languages:
                found.append(f"{name}: {by_id[a].name} does not speak {g.language}")
        if problem.learners_per_country:
            per = Counter(by_id[a].country for a in g.learners if by_id[a].country)
            found += [
                f"{name}: {n_} learner authorities from {c}"
                for c, n_ in per.items()
                if n_ > problem.learners_per_country
            ]
        for a, b in combinations(g.members, 2):
            if frozenset((a, b)) in problem.apart:
                found.append(f"{name}: {by_id[a].name} and {by_id[b].name} failed together")
    found += [f"{by_id[a].name} learns in {n} groups" for a, n in learned.items() if n > 1]
    found += [
        f"{by_id[a].name} mentors {n} groups (capacity {by_id[a].capacity})"
        for a, n in mentored.items()
        if n > by_id[a].capacity
    ]
    return found


# -- who was left out, and why -----------------------------------------------------------


def _why_left_out(
    problem: Problem,
    unit: Unit,
    mentors_of: dict[str, list[Unit]],
    wanting: dict[str, list[Unit]],
) -> str:
    """The furthest a unit got towards a group: the reason worth telling a coordinator."""
    s = problem.sizes
    stage = 0
    order = [NO_MENTOR, NO_LANGUAGE, TOO_FEW, NO_ROOM]
    for scheme in unit.wants:
        mentors = [m for m in mentors_of.get(scheme, []) if m.id != unit.id]
        if not mentors:
            continue
        stage = max(stage, 1)
        shared = [m for m in mentors if m.languages & unit.languages]
        if not shared:
            continue
        stage = max(stage, 2)
        langs = set().union(*(m.languages for m in shared)) & unit.languages
        peers = {
            (o.country if problem.learners_per_country else o.id)
            for o in wanting.get(scheme, [])
            if o.languages & langs
        }
        if len(peers) >= s.min_learners:
            stage = 3
    if unit.wants:
        return order[stage]
    return NO_LEARNERS


# -- the exact model ---------------------------------------------------------------------


class _Model:
    """Columns and rows of a MILP, built sparse."""

    def __init__(self) -> None:
        self.c: list[float] = []
        self.ub: list[float] = []
        self.integer: list[int] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def var(self, cost: float = 0.0, integer: bool = True) -> int:
        self.c.append(cost)
        self.ub.append(1.0)
        self.integer.append(1 if integer else 0)
        return len(self.c) - 1

    def row(self, terms: Iterable[tuple[int, float]], lo: float, hi: float) -> None:
        n = len(self.lo)
        for col, val in terms:
            self.rows.append(n)
            self.cols.append(col)
            self.vals.append(val)
        self.lo.append(lo)
        self.hi.append(hi)


@dataclass
class _Built:
    """A MILP and what its columns stand for."""

    model: _Model
    xl: dict[tuple[int, str, tuple[int, int]], int]  # learner seats
    xm: dict[tuple[int, str, tuple[int, int]], int]  # mentor seats (a lead's seat is the group)
    opened: dict[tuple[str, tuple[int, int]], int]
    coupling: list[tuple[int, int, float]]  # (row, authority, right-hand side)
    learn_rows: dict[int, int]  # authority -> its "learns in one group" row
    teach_rows: dict[int, int]  # authority -> its "mentors up to capacity" row
    lang: dict[tuple[str, tuple[int, int]], dict[str, int]] = field(default_factory=dict)
    """the working-language columns of each group"""
    mix: dict[tuple[str, tuple[int, int]], list[tuple[int, str, Any]]] = field(default_factory=dict)
    """the mix columns of each group: (column, "country"|"size"|"utc_hour", value)"""


def _build(
    problem: Problem,
    schemes: Iterable[str] | None = None,
    allowed: set[tuple[int, str]] | None = None,
    price: tuple[dict[int, float], dict[int, float]] | None = None,
) -> _Built:
    """The MILP of `problem` over `schemes` (default: all), with learner seats only where
    `allowed` says (default: everywhere); with `price`, every learning (mentoring) seat of
    authority a costs price[0][a] (price[1][a]) more: Lagrange multipliers.

    Besides the rows that define the groups, valid inequalities cut off fractional groups and
    tighten the LP bound (from 4.5 % to 1.6 % above the optimum at 180 authorities): per-group
    rows are written against the group's opening y, not against 1, and a working language
    needs `min_learners` learners who speak it.
    """
    s, w = problem.sizes, problem.weights
    inf = float("inf")
    units = {u.id: u for u in problem.units}
    learners: dict[str, list[int]] = defaultdict(list)
    mentors: dict[str, list[int]] = defaultdict(list)
    for u in problem.units:
        for scheme in u.wants:
            learners[scheme].append(u.id)
        if u.capacity > 0:
            for scheme in u.offers:
                mentors[scheme].append(u.id)

    m = _Model()
    xl: dict[tuple[int, str, tuple[int, int]], int] = {}
    xm: dict[tuple[int, str, tuple[int, int]], int] = {}
    opened: dict[tuple[str, tuple[int, int]], int] = {}
    langs_of: dict[tuple[str, tuple[int, int]], dict[str, int]] = {}
    mix_of: dict[tuple[str, tuple[int, int]], list[tuple[int, str, Any]]] = defaultdict(list)
    wanted = set(learners) & set(mentors)
    for scheme in sorted(wanted if schemes is None else wanted & set(schemes)):
        cand_m = sorted(mentors[scheme])
        for lead in cand_m:
            lead_langs = units[lead].languages
            cand_l = [
                a
                for a in learners[scheme]
                if a != lead
                and units[a].languages & lead_langs
                and (allowed is None or (a, scheme) in allowed)
            ]
            if len(cand_l) < s.min_learners:
                continue
            co = [a for a in cand_m if a > lead and units[a].languages & lead_langs]
            if 1 + len(co) < s.min_mentors:
                continue
            previous: int | None = None
            for j in range(min(units[lead].capacity, len(cand_l) // s.min_learners)):
                k = (lead, j)
                # the lead mentor's seat is the group itself: groups differ by their lead,
                # which removes most of the symmetry between groups of one scheme
                y = opened[scheme, k] = m.var(-(w.cover + mentor_fit(units[lead], scheme, w)))
                xm[lead, scheme, k] = y
                if previous is not None:  # the lead's second group opens only after its first
                    m.row([(previous, 1.0), (y, -1.0)], 0.0, inf)
                previous = y
                here_l = {a: m.var(-(w.cover + learner_fit(units[a], scheme, w))) for a in cand_l}
                here_m = {a: m.var(-(w.cover + mentor_fit(units[a], scheme, w))) for a in co}
                for a, col in here_l.items():
                    xl[a, scheme, k] = col
                for a, col in here_m.items():
                    xm[a, scheme, k] = col
                if here_m:
                    terms = [(c, 1.0) for c in here_m.values()]
                    m.row([*terms, (y, 1.0 - s.min_mentors)], 0.0, inf)
                    m.row([*terms, (y, 1.0 - s.max_mentors)], -inf, 0.0)
                m.row([*((c, 1.0) for c in here_l.values()), (y, -s.min_learners)], 0.0, inf)
                m.row([*((c, 1.0) for c in here_l.values()), (y, -s.max_learners)], -inf, 0.0)
                for col in [*here_l.values(), *here_m.values()]:
                    m.row([(col, 1.0), (y, -1.0)], -inf, 0.0)  # tight: no seat in a closed group
                spoken = lead_langs
                # membership of an authority in this group (learner or mentor, never both)
                member: dict[int, list[int]] = defaultdict(list)
                member[lead].append(y)
                for a, col in here_l.items():
                    member[a].append(col)
                for a, col in here_m.items():
                    member[a].append(col)
                for cols in member.values():
                    if len(cols) > 1:
                        m.row([*((c, 1.0) for c in cols), (y, -1.0)], -inf, 0.0)
                # one working language, spoken by every member
                lang = langs_of[scheme, k] = {code: m.var() for code in sorted(spoken)}
                m.row([*((c, 1.0) for c in lang.values()), (y, -1.0)], 0.0, 0.0)
                for a, cols in member.items():
                    spoken_by = [lang[c] for c in sorted(units[a].languages) if c in lang]
                    m.row([*((c, 1.0) for c in cols), *((z, -1.0) for z in spoken_by)], -inf, 0.0)
                # a group working in a language has enough learners who speak it
                for code, z in lang.items():
                    speakers = [c for a, c in here_l.items() if code in units[a].languages]
                    m.row([*((c, 1.0) for c in speakers), (z, -s.min_learners)], 0.0, inf)
                # learner authorities per country
                if problem.learners_per_country:
                    per_country: dict[str, list[int]] = defaultdict(list)
                    for a, col in here_l.items():
                        per_country[units[a].country].append(col)
                    for cols in per_country.values():
                        if len(cols) > problem.learners_per_country:
                            lpc = problem.learners_per_country
                            m.row([*((c, 1.0) for c in cols), (y, -lpc)], -inf, 0.0)
                # failed groups are not repeated
                for pair in sorted(tuple(sorted(p)) for p in problem.apart):
                    a, b = pair[0], pair[-1]
                    if a in member and b in member:
                        m.row([*((c, 1.0) for c in member[a] + member[b]), (y, -1.0)], -inf, 0.0)
                # mix: countries and sizes counted once each; UTC hours spanned cost
                for attr, weight in (("country", w.country), ("size", w.size)):
                    found: dict[str, list[int]] = defaultdict(list)
                    for a, cols in member.items():
                        value = getattr(units[a], attr)
                        if value:
                            found[value].extend(cols)
                    for value, cols in found.items():
                        d = m.var(-weight, integer=False)
                        mix_of[scheme, k].append((d, attr, value))
                        m.row([(d, 1.0), *((c, -1.0) for c in cols)], -inf, 0.0)
                        m.row([(d, 1.0), (y, -1.0)], -inf, 0.0)
                hours: dict[int, list[list[int]]] = defaultdict(list)
                for a, cols in member.items():
                    hours[units[a].utc_hour].append(cols)
                for hour, groups_of_hour in hours.items():
                    h = m.var(w.hour, integer=False)
                    mix_of[scheme, k].append((h, "utc_hour", hour))
                    for cols in groups_of_hour:
                        m.row([(h, 1.0), *((c, -1.0) for c in cols)], 0.0, inf)
    # an authority learns in one group and mentors up to its capacity
    learns: dict[int, list[int]] = defaultdict(list)
    teaches: dict[int, list[int]] = defaultdict(list)
    for (a, _, _), col in xl.items():
        learns[a].append(col)
    for (a, _, _), col in xm.items():
        teaches[a].append(col)
    learn_rows: dict[int, int] = {}
    teach_rows: dict[int, int] = {}
    for a, cols in learns.items():
        learn_rows[a] = len(m.lo)
        m.row(((c, 1.0) for c in cols), -inf, 1.0)
    for a, cols in teaches.items():
        teach_rows[a] = len(m.lo)
        m.row(((c, 1.0) for c in cols), -inf, units[a].capacity)
    if price is not None:
        for a, cols in learns.items():
            for c in cols:
                m.c[c] += price[0].get(a, 0.0)
        for a, cols in teaches.items():
            for c in cols:
                m.c[c] += price[1].get(a, 0.0)
    coupling = [(r, a, 1.0) for a, r in learn_rows.items()]
    coupling += [(r, a, float(units[a].capacity)) for a, r in teach_rows.items()]
    return _Built(m, xl, xm, opened, coupling, learn_rows, teach_rows, langs_of, dict(mix_of))


MILP_COLUMNS = 40_000
"""Above this many columns (about 600 authorities) the MILP would not even finish its root
within a coordinator's wait: the heuristic's groups are returned, without a bound."""

EXACT_COLUMNS = 400
"""Models this small (a few dozen authorities) are solved to optimality whatever gap is asked:
HiGHS closes them at once."""

CLOSE_COST = 0.5
"""The restricted MILP keeps, in the groups the LP opens, every seat whose LP reduced cost is
below this (a twentieth of a placed authority's worth) besides the LP's own seats."""

SUB_GAP = 0.01
"""The restricted MILP stops within this of its own optimum (or the gap asked, if wider): its
solution is only the full MILP's start. Asking it for 0.5 % cost up to 2.3 s of root cuts on
some programmes (benchmark seed 4) for a start the full MILP's gap proof did not need."""


def solve(problem: Problem, time_limit: float = 30.0, gap: float = 0.01) -> Solution:
    """The best groups by the weighted objective, with a proven bound: within `gap` of the
    optimum unless the time limit stops HiGHS first (the gap returned says how far it is).

    Without a good first solution HiGHS spends most of its root looking for one, long after
    its bound is within 1 %. So: a fast heuristic (`spread`, or greedy when it does better);
    the LP relaxation; a restricted MILP over the groups the LP opens and the seats it uses or
    nearly uses (plus the heuristic's, so nothing is lost), started from the heuristic; then
    the full MILP started from that solution, which stops once its bound proves the gap.
    The bound is the full MILP's dual bound, a real bound on every solution.
    """
    started = time.perf_counter()
    fast = max((spread(problem), greedy(problem)), key=lambda found: found.objective)
    built = _build(problem)
    m = built.model
    if not m.c:
        return _finish(problem, [], "milp", started, bound=0.0, optimal=True)
    n = len(m.c)
    if n > MILP_COLUMNS:
        fast.notes.append(f"{n} MILP columns (over {MILP_COLUMNS}): heuristic groups, no bound")
        fast.seconds = time.perf_counter() - started
        return fast
    if n <= EXACT_COLUMNS:
        gap = min(gap, 1e-4)
    from handlers.groups import highs

    if not highs.available():
        return _solve_plain(problem, built, fast, started, time_limit, gap)
    matrix = _matrix(m)
    left = lambda: time_limit - (time.perf_counter() - started)  # noqa: E731
    start = _vector(problem, built, fast.groups)
    best_x = start
    if n > EXACT_COLUMNS and gap > 1e-4:  # a start within reach only shortens a gap's proof
        lp = highs.run(matrix, relax=True, time_limit=max(0.1, left() / 4))
        if lp.x is not None and lp.reduced is not None:
            upper = _restricted(built, matrix, lp.x, lp.reduced, start)
            sub = highs.run(
                matrix,
                upper=upper,
                start=start,
                gap=max(gap, SUB_GAP),
                time_limit=max(0.1, left() / 3),
            )
            if sub.x is not None and (
                start is None or sub.objective is None or sub.objective <= _cost(m, start)
            ):
                best_x = sub.x
    full = highs.run(matrix, start=best_x, gap=gap, time_limit=max(0.1, left()))
    bound = -full.bound if full.bound is not None else None
    x = full.x if full.x is not None else best_x
    if x is None:
        fast.method += " (the MILP found nothing better in time)"
        fast.bound = bound if bound is None else max(bound, fast.objective)
        fast.seconds = time.perf_counter() - started
        return fast
    exact = _finish(problem, _groups(built, problem, x), "milp", started, bound=bound)
    exact.optimal = exact.gap is not None and exact.gap <= 1e-4 + 1e-9
    if full.x is None:
        exact.notes.append("the full MILP stopped on time: its start is returned")
    if exact.objective < fast.objective:
        fast.method += " (the MILP found nothing better in time)"
        fast.bound = bound if bound is None else max(bound, fast.objective)
        fast.seconds = time.perf_counter() - started
        return fast
    return exact


def _matrix(m: _Model) -> Any:
    import numpy as np
    from scipy.sparse import coo_matrix

    from handlers.groups import highs

    a = coo_matrix((m.vals, (m.rows, m.cols)), shape=(len(m.lo), len(m.c))).tocsc()
    return highs.Matrix(
        cost=np.array(m.c),
        upper=np.array(m.ub),
        integer=np.array(m.integer),
        start=a.indptr,
        index=a.indices,
        value=a.data,
        row_lo=np.array(m.lo),
        row_hi=np.array(m.hi),
    )


def _cost(m: _Model, x: Any) -> float:
    return float(sum(c * v for c, v in zip(m.c, x, strict=True)))


def _restricted(built: _Built, matrix: Any, lp_x: Any, reduced: Any, start: Any) -> Any:
    """Column upper bounds of the restricted MILP: groups the LP opens keep the seats the LP
    uses or nearly uses (reduced cost below CLOSE_COST); the other groups are closed; the
    start's columns are always kept, so the restricted optimum is at least the start's."""
    import numpy as np

    upper = matrix.upper.copy()
    integer = matrix.integer == 1
    near = (lp_x > 1e-6) | (reduced < CLOSE_COST)
    upper[integer & ~near] = 0.0
    for y in built.opened.values():
        if lp_x[y] <= 1e-6:
            upper[y] = 0.0
    seats = list(built.xl.items()) + list(built.xm.items())
    for (_, scheme, k), col in seats:
        if upper[built.opened[scheme, k]] == 0.0:
            upper[col] = 0.0
    if start is not None:
        kept = np.asarray(start) > 0.5
        upper[kept] = matrix.upper[kept]
    return upper


def _vector(problem: Problem, built: _Built, groups: Sequence[Group]) -> Any:
    """The model's columns for a set of groups (None when one has no place in the model):
    what HiGHS starts from."""
    import numpy as np

    units = {u.id: u for u in problem.units}
    x = np.zeros(len(built.model.c))
    slots: Counter[tuple[str, int]] = Counter()
    for g in sorted(groups, key=lambda g: (g.scheme, min(g.mentors), g.learners)):
        lead = min(g.mentors)
        k = (lead, slots[g.scheme, lead])
        slots[g.scheme, lead] += 1
        y = built.opened.get((g.scheme, k))
        lang = built.lang.get((g.scheme, k), {}).get(g.language)
        if y is None or lang is None:
            return None
        x[y] = x[lang] = 1.0
        for a in g.mentors:
            if a != lead:
                col = built.xm.get((a, g.scheme, k))
                if col is None:
                    return None
                x[col] = 1.0
        for a in g.learners:
            col = built.xl.get((a, g.scheme, k))
            if col is None:
                return None
            x[col] = 1.0
        present = {(attr, getattr(units[a], attr)) for a in g.members for attr in _MIX}
        for col, attr, value in built.mix.get((g.scheme, k), []):
            x[col] = 1.0 if (attr, value) in present else 0.0
    return x


_MIX = ("country", "size", "utc_hour")


def _groups(built: _Built, problem: Problem, x: Any) -> list[Group]:
    units = {u.id: u for u in problem.units}
    groups = []
    for (scheme, k), y in sorted(built.opened.items()):
        if x[y] < 0.5:
            continue
        ms = _chosen(built.xm, x, scheme, k)
        ls = _chosen(built.xl, x, scheme, k)
        groups.append(Group(scheme, _language(units, ms + ls), ms, ls))
    return groups


def _solve_plain(
    problem: Problem, built: _Built, fast: Solution, started: float, time_limit: float, gap: float
) -> Solution:
    """scipy's public `milp`, without a start (a scipy without HiGHS's own binding)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    m = built.model
    n = len(m.c)
    constraints = []
    if m.lo:
        matrix = coo_matrix((m.vals, (m.rows, m.cols)), shape=(len(m.lo), n)).tocsr()
        constraints.append(LinearConstraint(matrix, np.array(m.lo), np.array(m.hi)))
    result = milp(
        c=np.array(m.c),
        constraints=constraints,
        integrality=np.array(m.integer),
        bounds=Bounds(np.zeros(n), np.array(m.ub)),
        options={
            "time_limit": max(0.1, time_limit - (time.perf_counter() - started)),
            "disp": False,
            "mip_rel_gap": gap,
        },
    )
    bound = -float(result.mip_dual_bound) if result.mip_dual_bound is not None else None
    x = result.x
    groups = _groups(built, problem, x) if x is not None else []
    exact = _finish(problem, groups, "milp", started, bound=bound)
    exact.optimal = exact.gap is not None and exact.gap <= 1e-4 + 1e-9
    if x is None or exact.objective < fast.objective:
        fast.method += " (the MILP found nothing better in time)"
        fast.bound = bound if bound is None else max(bound, fast.objective)
        fast.seconds = time.perf_counter() - started
        return fast
    return exact


def _chosen(
    cols: dict[tuple[int, str, tuple[int, int]], int], x: Any, scheme: str, k: tuple[int, int]
) -> tuple[int, ...]:
    return tuple(
        sorted(a for (a, sc, kk), c in cols.items() if sc == scheme and kk == k and x[c] > 0.5)
    )


def _language(units: dict[int, Unit], members: Sequence[int]) -> str:
    """The group's working language: spoken by all, the most common first, then by code."""
    common = frozenset.intersection(*(units[a].languages for a in members))
    return min(common, key=lambda c: (c != "en", c)) if common else ""


def _finish(
    problem: Problem,
    groups: list[Group],
    method: str,
    started: float,
    bound: float | None = None,
    optimal: bool = False,
) -> Solution:
    placed = {a for g in groups for a in g.members}
    mentors_of: dict[str, list[Unit]] = defaultdict(list)
    wanting: dict[str, list[Unit]] = defaultdict(list)
    for u in problem.units:
        for scheme in u.offers if u.capacity > 0 else ():
            mentors_of[scheme].append(u)
        for scheme in u.wants:
            wanting[scheme].append(u)
    unplaced = {
        u.id: _why_left_out(problem, u, mentors_of, wanting)
        for u in problem.units
        if u.id not in placed
    }
    objective = evaluate(problem, groups)
    if optimal and bound is not None:
        bound = max(bound, objective)
    return Solution(
        groups=groups,
        unplaced=unplaced,
        objective=objective,
        method=method,
        seconds=time.perf_counter() - started,
        bound=bound,
        optimal=optimal,
    )


def exhaustive(problem: Problem) -> float:
    """The exact optimum by trying every set of feasible groups: tiny instances only (a
    check of the MILP in tests and benchmarks)."""
    s = problem.sizes
    by_scheme: list[Group] = []
    schemes = sorted({sc for u in problem.units for sc in u.wants})
    langs = sorted({lang for u in problem.units for lang in u.languages})
    for scheme in schemes:
        ms = [u.id for u in problem.units if scheme in u.offers and u.capacity > 0]
        ls = [u.id for u in problem.units if scheme in u.wants]
        for nm in range(s.min_mentors, s.max_mentors + 1):
            for team in combinations(ms, nm):
                rest = [a for a in ls if a not in team]
                for nl in range(s.min_learners, s.max_learners + 1):
                    for picked in combinations(rest, nl):
                        for lang in langs:
                            g = Group(scheme, lang, team, picked)
                            if not violations(problem, [g]):
                                by_scheme.append(g)
                                break
    best = 0.0

    def search(i: int, chosen: list[Group]) -> None:
        nonlocal best
        if i == len(by_scheme):
            best = max(best, evaluate(problem, chosen))
            return
        search(i + 1, chosen)
        chosen.append(by_scheme[i])
        if not violations(problem, chosen):
            search(i + 1, chosen)
        chosen.pop()

    search(0, [])
    return best


# -- the greedy baseline -----------------------------------------------------------------


def greedy(problem: Problem) -> Solution:
    """Fill groups scheme by scheme (most wanted first), mentor by mentor, best fit first."""
    started = time.perf_counter()
    w = problem.weights
    units = {u.id: u for u in problem.units}
    load: Counter[int] = Counter()
    learning: set[int] = set()
    groups: list[Group] = []
    demand = Counter(sc for u in problem.units for sc in u.wants)
    offered = {sc for u in problem.units for sc in u.offers}
    for scheme in sorted(offered & set(demand), key=lambda sc: (-demand[sc], sc)):
        while True:
            free = [
                u
                for u in problem.units
                if scheme in u.offers and load[u.id] < u.capacity and u.id not in learning
            ]
            free.sort(key=lambda u: (-mentor_fit(u, scheme, w), u.id))
            formed = None
            for lead in free:
                formed = _fill(problem, units, scheme, lead, free, learning)
                if formed:
                    break
            if formed is None:
                break
            groups.append(formed)
            for a in formed.mentors:
                load[a] += 1
            learning.update(formed.learners)
    return _finish(problem, groups, "greedy", started)


def _fill(
    problem: Problem,
    units: dict[int, Unit],
    scheme: str,
    lead: Unit,
    free_mentors: list[Unit],
    learning: set[int],
) -> Group | None:
    s, w = problem.sizes, problem.weights
    best: Group | None = None
    for language in sorted(lead.languages):
        team = [lead]
        for other in free_mentors:
            if len(team) >= s.max_mentors:
                break
            if other.id != lead.id and language in other.languages and _fits(problem, team, other):
                team.append(other)
        if len(team) < s.min_mentors:
            continue
        wanting = [
            u
            for u in problem.units
            if scheme in u.wants
            and language in u.languages
            and u.id not in learning
            and u.id not in {t.id for t in team}
        ]
        wanting.sort(key=lambda u: (-learner_fit(u, scheme, w), u.id))
        picked: list[Unit] = []
        for u in wanting:
            if len(picked) >= s.max_learners:
                break
            if (
                problem.learners_per_country
                and sum(p.country == u.country for p in picked) >= problem.learners_per_country
            ):
                continue
            if _fits(problem, team + picked, u):
                picked.append(u)
        if len(picked) < s.min_learners:
            continue
        group = Group(scheme, language, tuple(t.id for t in team), tuple(p.id for p in picked))
        if best is None or evaluate(problem, [group]) > evaluate(problem, [best]):
            best = group
    return best


def _fits(problem: Problem, members: list[Unit], newcomer: Unit) -> bool:
    return all(frozenset((m.id, newcomer.id)) not in problem.apart for m in members)


# -- a fast heuristic: many small groups, then fill them ------------------------------------


@dataclass
class _Draft:
    scheme: str
    language: str
    mentors: list[int]
    learners: list[int]

    @property
    def members(self) -> list[int]:
        return self.mentors + self.learners


class _Spread:
    """State of `spread`: drafts, who learns where, how many groups each mentor leads."""

    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.units = {u.id: u for u in problem.units}
        self.wanting: dict[str, list[Unit]] = defaultdict(list)
        self.offering: dict[str, list[Unit]] = defaultdict(list)
        for u in sorted(problem.units, key=lambda u: u.id):
            for scheme in u.wants:
                self.wanting[scheme].append(u)
            if u.capacity > 0:
                for scheme in sorted(u.offers):
                    self.offering[scheme].append(u)
        self.apart: dict[int, set[int]] = defaultdict(set)
        for pair in problem.apart:
            a, b = sorted(pair) if len(pair) == 2 else (next(iter(pair)),) * 2
            self.apart[a].add(b)
            self.apart[b].add(a)
        # how many schemes a learner could be grouped in: the least flexible are placed first
        self.options = {
            u.id: sum(
                1
                for scheme in u.wants
                if any(m.id != u.id and m.languages & u.languages for m in self.offering[scheme])
            )
            for u in problem.units
        }
        self.drafts: list[_Draft] = []
        self.learning: set[int] = set()
        self.load: Counter[int] = Counter()

    def _fits(self, draft: _Draft, u: Unit) -> bool:
        return u.id not in draft.members and not self.apart[u.id] & set(draft.members)

    def _can_learn(self, draft: _Draft, u: Unit) -> bool:
        p = self.p
        if u.id in self.learning or draft.language not in u.languages:
            return False
        if len(draft.learners) >= p.sizes.max_learners or not self._fits(draft, u):
            return False
        if p.learners_per_country:
            same = sum(self.units[a].country == u.country for a in draft.learners)
            return same < p.learners_per_country
        return True

    def _can_mentor(self, draft: _Draft, u: Unit) -> bool:
        return (
            self.load[u.id] < u.capacity
            and draft.scheme in u.offers
            and draft.language in u.languages
            and len(draft.mentors) < self.p.sizes.max_mentors
            and self._fits(draft, u)
        )

    def _mix(self, draft: _Draft, u: Unit) -> float:
        """What the group's mix gains (countries, sizes) or loses (UTC hours) with u."""
        w, members = self.p.weights, [self.units[a] for a in draft.members]
        gain = w.country * (u.country not in {m.country for m in members})
        gain += w.size * bool(u.size and u.size not in {m.size for m in members})
        return gain - w.hour * (u.utc_hour not in {m.utc_hour for m in members})

    def _learner_gain(self, draft: _Draft, u: Unit) -> float:
        w = self.p.weights
        return w.cover + learner_fit(u, draft.scheme, w) + self._mix(draft, u)

    def open_groups(self) -> None:
        """Open groups with `min_learners` learners each, the scarcest first: a (scheme, lead,
        language) that few learners can join is opened before one many could."""
        s = self.p.sizes
        while True:
            opened = False
            candidates = []
            for scheme, leads in sorted(self.offering.items()):
                for lead in leads:
                    if self.load[lead.id] >= lead.capacity:
                        continue
                    for language in sorted(lead.languages):
                        draft = _Draft(scheme, language, [lead.id], [])
                        n = sum(self._can_learn(draft, u) for u in self.wanting[scheme])
                        if n >= s.min_learners:
                            candidates.append((n, scheme, lead.id, language))
            for _, scheme, lead_id, language in sorted(candidates):
                if self.load[lead_id] >= self.units[lead_id].capacity:
                    continue
                opened |= self._try_open(scheme, self.units[lead_id], language)
            if not opened:
                return

    def _try_open(self, scheme: str, lead: Unit, language: str) -> bool:
        s = self.p.sizes
        draft = _Draft(scheme, language, [lead.id], [])
        for m in self.offering[scheme]:
            if len(draft.mentors) >= s.min_mentors:
                break
            if m.id != lead.id and self._can_mentor(draft, m):
                draft.mentors.append(m.id)
        if len(draft.mentors) < s.min_mentors:
            return False
        pool = [u for u in self.wanting[scheme] if u.id not in self.load or u.capacity == 0]
        pool.sort(key=lambda u: (self.options[u.id], -learner_fit(u, scheme, self.p.weights), u.id))
        for u in pool:
            if len(draft.learners) >= s.min_learners:
                break
            if self._can_learn(draft, u):
                draft.learners.append(u.id)
        if len(draft.learners) < s.min_learners:
            return False
        self._keep(draft)
        return True

    def _keep(self, draft: _Draft) -> None:
        self.drafts.append(draft)
        for a in draft.mentors:
            self.load[a] += 1
        self.learning.update(draft.learners)

    def fill(self) -> None:
        """Seat every learner left where it adds the most, the least flexible first."""
        by_scheme: dict[str, list[_Draft]] = defaultdict(list)
        for d in self.drafts:
            by_scheme[d.scheme].append(d)
        left = [u for u in self.p.units if u.wants and u.id not in self.learning]
        left.sort(key=lambda u: (self.options[u.id], u.id))
        for u in left:
            best: tuple[float, int] | None = None
            for scheme in u.wants:
                for d in by_scheme[scheme]:
                    if self._can_learn(d, u):
                        gain = self._learner_gain(d, u)
                        if best is None or gain > best[0]:
                            best = (gain, self.drafts.index(d))
            if best is not None:
                self.drafts[best[1]].learners.append(u.id)
                self.learning.add(u.id)

    def co_mentors(self) -> None:
        """Mentors with room join groups of their schemes as a second mentor."""
        w = self.p.weights
        for u in sorted(self.p.units, key=lambda u: u.id):
            while self.load[u.id] < u.capacity:
                best: tuple[float, int] | None = None
                for k, d in enumerate(self.drafts):
                    if self._can_mentor(d, u):
                        gain = w.cover + mentor_fit(u, d.scheme, w) + self._mix(d, u)
                        if best is None or gain > best[0]:
                            best = (gain, k)
                if best is None:
                    break
                self.drafts[best[1]].mentors.append(u.id)
                self.load[u.id] += 1

    def open_by_moving(self) -> bool:
        """Open one more group with a free lead, taking learners left out first and then
        learners whose group keeps `min_learners` without them; True when one opened."""
        for scheme, leads in sorted(self.offering.items()):
            for lead in leads:
                if self.load[lead.id] >= lead.capacity:
                    continue
                for language in sorted(lead.languages):
                    if self._open_taking(scheme, lead, language):
                        return True
        return False

    def _open_taking(self, scheme: str, lead: Unit, language: str) -> bool:
        s, w = self.p.sizes, self.p.weights
        draft = _Draft(scheme, language, [lead.id], [])
        if s.min_mentors > 1:
            return False  # co-mentors needed from the start: left to open_groups
        where = {a: d for d in self.drafts for a in d.learners}
        if lead.id in where and len(where[lead.id].learners) <= s.min_learners:
            return False
        free = [u for u in self.wanting[scheme] if u.id not in self.learning]
        taken = sorted(
            (u for u in self.wanting[scheme] if u.id in where),
            key=lambda u: (-len(where[u.id].learners), u.id),
        )
        gain = w.cover + mentor_fit(lead, scheme, w)
        moved: list[tuple[Unit, _Draft]] = []
        donors: Counter[int] = Counter()
        for u in free + taken:
            if len(draft.learners) >= s.min_learners:
                break
            home = where.get(u.id)
            if home is not None:
                if home is where.get(lead.id) and lead.id in home.learners:
                    continue
                if len(home.learners) - donors[id(home)] <= s.min_learners:
                    continue
                if lead.id in home.members:
                    continue
            self.learning.discard(u.id)
            ok = self._can_learn(draft, u)
            if home is not None:
                self.learning.add(u.id)
            if not ok:
                continue
            draft.learners.append(u.id)
            if home is None:
                gain += self._learner_gain(draft, u)
            else:
                donors[id(home)] += 1
                moved.append((u, home))
                gain += learner_fit(u, scheme, w) - learner_fit(u, home.scheme, w)
        if len(draft.learners) < s.min_learners or gain <= 0:
            return False
        if lead.id in where:  # the lead leaves its own learning seat
            where[lead.id].learners.remove(lead.id)
            self.learning.discard(lead.id)
        for u, home in moved:
            home.learners.remove(u.id)
        self.drafts.append(draft)
        self.load[lead.id] += 1
        self.learning.update(draft.learners)
        return True

    def relocate(self) -> None:
        """Seat a learner left out in a group it cannot join (full, or a learner of its country
        there) by moving one learner of that group to another group it wants and fits."""
        by_scheme: dict[str, list[_Draft]] = defaultdict(list)
        for d in self.drafts:
            by_scheme[d.scheme].append(d)
        s = self.p.sizes
        left = [u for u in self.p.units if u.wants and u.id not in self.learning]
        left.sort(key=lambda u: (self.options[u.id], u.id))
        for u in left:
            if u.id in self.learning:
                continue
            for d in (d for scheme in u.wants for d in by_scheme[scheme]):
                if d.language not in u.languages or not self._fits(d, u):
                    continue
                full = len(d.learners) >= s.max_learners
                blockers = [v for v in d.learners if full or self.units[v].country == u.country]
                if self._move_one(d, u, blockers, by_scheme):
                    break

    def _move_one(
        self, d: _Draft, u: Unit, blockers: list[int], by_scheme: dict[str, list[_Draft]]
    ) -> bool:
        for v in blockers:
            d.learners.remove(v)
            self.learning.discard(v)
            if self._can_learn(d, u):
                unit = self.units[v]
                for target in (t for sc in unit.wants for t in by_scheme[sc] if t is not d):
                    if self._can_learn(target, unit):
                        target.learners.append(v)
                        d.learners.append(u.id)
                        self.learning.update((u.id, v))
                        return True
            d.learners.append(v)
            self.learning.add(v)
        return False

    def groups(self) -> list[Group]:
        return [
            Group(d.scheme, d.language, tuple(sorted(d.mentors)), tuple(sorted(d.learners)))
            for d in self.drafts
        ]


def spread(problem: Problem) -> Solution:
    """A fast heuristic: open as many small groups as the scarcest learners allow, seat the
    learners left where they add the most, open more groups by moving learners out of groups
    above `min_learners`, seat a learner left out in a full group by moving one of its learners
    on, then add co-mentors (what greedy, filling the most wanted scheme to the brim first,
    misses). Every step keeps every hard constraint."""
    started = time.perf_counter()
    state = _Spread(problem)
    state.open_groups()
    state.fill()
    while state.open_by_moving():
        state.fill()
    state.relocate()
    state.co_mentors()
    return _finish(problem, state.groups(), "spread", started)
