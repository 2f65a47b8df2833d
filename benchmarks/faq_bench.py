"""FAQ search bench: load time, latency (real, 1k, 10k entries) and dev-set quality vs a baseline.

Run: `python benchmarks/faq_bench.py [--calibrate] [--semantic] [--per-language]
[--stemming light|snowball] [--big] [--misses LANG]`.
Prints figures, asserts nothing, < 2 min. With --calibrate it also prints the in-sample
grid-search thresholds and a 5-fold cross-validated estimate (thresholds fitted on 4/5 of the dev
set, measured on the rest), pooled and per language of the dev rows ("lang"); with --nested, a
nested 5-fold estimate that also fits the length bonus in each split (~1 min). --big adds the
10,000-entry latency run (~1 min more). Resident memory is read from /proc (Linux).
--semantic adds the sentence-encoder layer (handlers.faq.semantic): its load time, memory, the
hybrid latency, and with --calibrate a nested 5-fold estimate that also picks the weight of the
meaning score in each training split (entry vectors cached in --cache, by default
$PEERBOT_DATA_DIR/faq-vectors). --per-language fits the thresholds per detected language;
--misses LANG lists the rows of LANG the nested estimate gets wrong (decision, first hit, score).
--dev FILE measures on other labelled rows (an older copy of the dev set, for before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.faq import search as faq_search  # noqa: E402
from handlers.faq.content import FaqEntry, FaqLoad, load_faq  # noqa: E402
from handlers.faq.search import (  # noqa: E402
    BASELINE_T,
    DEFINE_BOOST,
    KEY_MISS,
    W_SEM,
    Calibration,
    FaqIndex,
    Hit,
    Row,
    SearchResult,
    baseline_search,
    calibrate,
    calibrate_baseline,
    calibrate_ranked,
    cross_validate,
    cross_validated_outcomes,
    decide,
    evaluate,
    figures_by_language,
    fit_thresholds,
    length_bonus,
    pooled_figures,
)

FAQ = ROOT / "content" / "faq"
DEV = ROOT / "tests" / "data" / "faq_dev.jsonl"


def read_dev(path: Path) -> list[Row]:
    """(query, label or None) rows of the dev set."""
    if not path.is_file():
        return []
    rows: list[Row] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if not item.get("needs_label"):  # exported candidates not labelled yet
                rows.append((str(item["q"]), item["id"]))
    return rows


def read_langs(path: Path) -> list[str]:
    """The "lang" of each dev row ("en" when absent), in file order."""
    if not path.is_file():
        return []
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(i.get("lang") or "en") for i in items if not i.get("needs_label")]


def rss_mb() -> float:
    """This process's resident memory in MB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def latency(index: FaqIndex, queries: list[str], repeat: int = 1) -> tuple[float, float]:
    """(p50, p99) in ms of index.search over the queries."""
    times: list[float] = []
    for _ in range(repeat):
        for q in queries:
            if index.semantic is not None:  # every question encoded, as a new one would be
                index.semantic._recent.clear()
            t0 = time.perf_counter()
            index.search(q)
            times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]


def _perturb(text: str, vocab: list[str], rng: random.Random) -> str:
    words = text.split()
    if len(words) > 3:
        words.pop(rng.randrange(len(words)))
    for _ in range(2):
        words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
    return " ".join(words)


def synthetic(load: FaqLoad, n: int, seed: int = 7) -> FaqLoad:
    """n entries recombining real questions/alternatives/translations with random domain words."""
    rng = random.Random(seed)
    vocab = sorted(
        {w for e in load.entries for t in [e.question, *e.alternatives] for w in t.split()}
    )
    out: list[FaqEntry] = []
    for i in range(n):
        base = load.entries[i % len(load.entries)].model_dump()
        data: dict[str, Any] = {
            **base,
            "id": f"syn-{i}",
            "question": _perturb(base["question"], vocab, rng),
            "alternatives": [_perturb(a, vocab, rng) for a in base["alternatives"]],
            "translations": {
                lang: {
                    **tr,
                    "question": _perturb(tr["question"], vocab, rng),
                    "alternatives": [_perturb(a, vocab, rng) for a in tr["alternatives"]],
                }
                for lang, tr in base["translations"].items()
            },
        }
        out.append(FaqEntry.model_validate(data))
    return FaqLoad(out, load.synonyms, load.stopwords, [])


def nested_length_cv(
    index: FaqIndex, rows: list[Row], folds: int = 5, groups: list[str] | None = None
) -> tuple[Calibration, list[tuple[int, float]]]:
    """(pooled held-out figures, per-fold (LENGTH_FREE, LENGTH_BONUS)): the bonus and the
    thresholds are both fitted on each training split, then measured on its held-out fold."""
    saved, faq_search.LENGTH_BONUS = faq_search.LENGTH_BONUS, 0.0
    try:
        base = [(index.rank(q, k=3), len(set(index.norm.tokens(q))), lab) for q, lab in rows]
    finally:
        faq_search.LENGTH_BONUS = saved

    def shifted(
        items: list[tuple[list[Hit], int, str | None]], free: int, per_word: float
    ) -> list[tuple[list[Hit], str | None]]:
        return [
            (
                [
                    replace(
                        h, score=round(min(h.score + length_bonus(n, free, per_word), 100.0), 2)
                    )
                    for h in hits
                ],
                lab,
            )
            for hits, n, lab in items
        ]

    outs: list[SearchResult] = []
    labels: list[str | None] = []
    chosen: list[tuple[int, float]] = []
    for f in range(folds):
        train = [r for i, r in enumerate(base) if i % folds != f]
        test = [r for i, r in enumerate(base) if i % folds == f]
        tg = [g for i, g in enumerate(groups) if i % folds != f] if groups else None
        best: tuple[tuple[float, float], int, float, Any] | None = None
        for free in (2, 3, 4, 5):
            for per_word in (0.0, 0.75, 1.25, 2.0, 3.0):
                cal = calibrate_ranked(shifted(train, free, per_word), tg)
                key = (cal.top1, -per_word)
                if best is None or key > best[0]:
                    best = (key, free, per_word, cal.thresholds)
        assert best is not None
        _, free, per_word, th = best
        chosen.append((free, per_word))
        for hits, lab in shifted(test, free, per_word):
            outs.append(decide(hits, th))
            labels.append(lab)
    return pooled_figures(outs, labels), chosen


def nested_weight_cv(
    index: FaqIndex,
    rows: list[Row],
    grid: tuple[float, ...],
    folds: int = 5,
    groups: list[str] | None = None,
    key_misses: tuple[float, ...] = (KEY_MISS,),
    define_boosts: tuple[float, ...] = (DEFINE_BOOST,),
) -> tuple[list[SearchResult], list[tuple[float, float, float]]]:
    """Held-out decisions (row order) and the (meaning weight, KEY_MISS, DEFINE_BOOST) chosen
    per fold: in each split these and the thresholds are fitted on the training folds only (the
    most correct direct answers there), then the held-out fold is decided with them."""
    import numpy as np

    assert index.semantic is not None
    scored: list[tuple[list[str], np.ndarray | None, np.ndarray | None, str | None]] = []
    whole: dict[int, list[Hit]] = {}  # questions without content words: matched whole
    for q, lab in rows:
        tokens, _, lexical, _ = index.entry_scores(q)
        if lexical is None:
            whole[len(scored)] = index.rank(q, k=3)
        meaning = index.semantic.similarity(q) if lexical is not None else None
        scored.append((tokens, lexical, meaning, lab))

    def hits(setting: tuple[float, float, float]) -> list[tuple[list[Hit], str | None]]:
        weight, key_miss, define_boost = setting
        out: list[tuple[list[Hit], str | None]] = []
        for n, (tokens, lexical, meaning, lab) in enumerate(scored):
            if lexical is None or meaning is None:
                out.append((whole.get(n, []), lab))
                continue
            combined = index.combine(tokens, lexical, meaning, weight, key_miss, define_boost)
            top = np.argsort(-combined, kind="stable")[:3]
            out.append(
                (
                    [
                        Hit(index.entries[i].id, "", round(min(float(combined[i]), 100.0), 2), "")
                        for i in top
                    ],
                    lab,
                )
            )
        return out

    settings = [(w, k, d) for w in grid for k in key_misses for d in define_boosts]
    by_setting = {s: hits(s) for s in settings}
    outs: list[SearchResult | None] = [None] * len(rows)
    chosen: list[tuple[float, float, float]] = []
    for f in range(folds):
        train = [i for i in range(len(rows)) if i % folds != f]
        best: tuple[int, tuple[float, float, float], Any] | None = None
        for setting in settings:
            ranked = [by_setting[setting][i] for i in train]
            th = fit_thresholds(ranked, [groups[i] for i in train] if groups else None)
            good = sum(
                decide(h, th).status == "answer" and h[0].entry_id == lab for h, lab in ranked
            )
            if best is None or good > best[0]:
                best = (good, setting, th)
        assert best is not None
        _, setting, th = best
        chosen.append(setting)
        for i in range(len(rows)):
            if i % folds == f:
                outs[i] = decide(by_setting[setting][i][0], th)
    return [o for o in outs if o is not None], chosen


def random_vectors(big: FaqIndex, real: FaqIndex) -> None:
    """The synthetic index gets the real encoder (queries are encoded as in production) and
    random unit entry vectors of the right shape: latency depends on the shapes only, and
    encoding its ~23,000 strings would take minutes."""
    import numpy as np

    from handlers.faq.semantic import SemanticLayer

    assert real.semantic is not None
    assert real.semantic.encoder is not None
    encoder = real.semantic.encoder
    layer = SemanticLayer(
        big.raw_texts, big._owner.tolist(), len(big.entries), None, lambda: encoder
    )
    vectors = np.random.default_rng(7).standard_normal((big.n_strings, 512)).astype(np.float32)
    layer.encoder = encoder
    layer.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    layer._ready.set()
    big.semantic = layer


def show_languages(title: str, outs: list[SearchResult], rows: list[Row], langs: list[str]) -> None:
    """Per-language figures of held-out decisions."""
    print(f"  {title} (direct = answered directly and correctly / on-topic):")
    labels = [lab for _, lab in rows]
    for lang, (n, fig) in figures_by_language(outs, labels, langs).items():
        print(
            f"    {lang:<4} n={n:<4} direct={fig.direct_share:.3f} top1={fig.top1:.3f} "
            f"top3={fig.top3:.3f} refused_offtopic={fig.refused_offtopic:.3f} "
            f"direct_precision={fig.direct_precision:.3f}"
        )


def show_misses(outs: list[SearchResult], rows: list[Row], langs: list[str], lang: str) -> None:
    """The held-out decisions that are not a correct direct answer (on-topic) or a refusal
    (off-topic), with the first hit: where the content or the ranking is at fault."""
    print(f"  held-out misses ({lang}): label <- question | decision, first hit and score")
    for (q, lab), lg, out in zip(rows, langs, outs, strict=True):
        if lang not in ("all", lg):
            continue
        best = out.best
        right = (
            out.status == "unknown"
            if lab is None
            else (out.status == "answer" and best is not None and best.entry_id == lab)
        )
        if not right:
            first = f"{best.entry_id} {best.score:g}" if best else "-"
            print(f"    {lab or '(off-topic)'} <- {q[:100]!r} | {out.status} {first}")


def show(name: str, rep: Any) -> None:
    print(
        f"  {name:<30} top1={rep.top1:.3f} top3={rep.top3:.3f} "
        f"refused_offtopic={rep.refused_offtopic:.3f}"
        + (f" direct_answers={rep.direct_share:.3f}" if hasattr(rep, "direct_share") else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--nested", action="store_true", help="with --calibrate: nested CV")
    parser.add_argument("--stemming", choices=("snowball", "light"), default=faq_search.STEMMING)
    parser.add_argument("--big", action="store_true", help="also 10,000 synthetic entries")
    parser.add_argument("--semantic", action="store_true", help="add the sentence encoder")
    parser.add_argument("--per-language", action="store_true", help="thresholds per language")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency runs")
    parser.add_argument(
        "--misses",
        metavar="LANG",
        help="with --calibrate --semantic: LANG's rows the nested CV gets wrong ('all': every)",
    )
    parser.add_argument(
        "--dev", type=Path, default=DEV, help="the labelled rows (default tests/data/faq_dev.jsonl)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("PEERBOT_DATA_DIR") or Path.home() / ".local/share/peerbot")
        / "faq-vectors",
        help="where the entry vectors are cached",
    )
    args = parser.parse_args()
    faq_search.STEMMING = args.stemming

    rss0 = rss_mb()
    t0 = time.perf_counter()
    load = load_faq(FAQ)
    t1 = time.perf_counter()
    index = FaqIndex.build(load)
    t2 = time.perf_counter()
    strings = index.n_strings
    print(f"content: {len(load.entries)} entries, {strings} index strings, ", end="")
    print(f"{len(load.problems)} problems, {len(load.synonyms)} synonym groups")
    print(f"load_faq {1000 * (t1 - t0):.1f} ms, FaqIndex.build {1000 * (t2 - t1):.1f} ms")
    t_det = time.perf_counter()
    index.detect("warm-up: build the language detector")
    print(
        f"language detector build {1000 * (time.perf_counter() - t_det):.0f} ms; "
        f"resident memory added by content+index+detector {rss_mb() - rss0:.0f} MB; "
        f"stemming={faq_search.STEMMING}"
    )
    if not load.entries:
        return
    if args.semantic:
        rss1, t5 = rss_mb(), time.perf_counter()
        layer = index.attach_semantic(args.cache, background=False)
        print(
            f"semantic layer: encoder + entry vectors {time.perf_counter() - t5:.1f} s "
            f"(cache {args.cache}), resident memory added {rss_mb() - rss1:.0f} MB, "
            f"weight {index.semantic_weight}"
        )
        assert layer.ready
    rows = read_dev(args.dev)
    on = sum(lab is not None for _, lab in rows)
    print(f"dev set: {len(rows)} rows ({on} on-topic, {len(rows) - on} off-topic)")
    queries = [q for q, _ in rows] or [e.question for e in load.entries]

    if not args.no_latency:
        p50, p99 = latency(index, queries, repeat=3)
        print(f"latency real ({len(load.entries)} entries): p50={p50:.2f} ms p99={p99:.2f} ms")
        for n in (1000, 10000) if args.big else (1000,):
            t3 = time.perf_counter()
            big = FaqIndex.build(synthetic(load, n))
            t4 = time.perf_counter()
            if args.semantic:
                random_vectors(big, index)
            p50, p99 = latency(big, queries)
            print(
                f"latency synthetic {n} entries ({big.n_strings} strings, build "
                f"{t4 - t3:.2f} s): p50={p50:.2f} ms p99={p99:.2f} ms"
            )

    if not rows:
        return
    th = index.thresholds
    print(f"\ndev evaluation with the thresholds in the code {th}:")
    ours = evaluate(index, rows)
    show("pipeline", ours)
    print(
        f"  {'':<30} answered_or_suggested_ontopic={ours.answered_or_suggested_ontopic:.3f} "
        f"answered_direct_correct={ours.answered_direct:.3f}"
    )
    base = evaluate(index, rows, search=lambda q: baseline_search(index, q, BASELINE_T))
    show(f"baseline WRatio (T={BASELINE_T})", base)
    print(
        f"  baseline p50={base.p50_ms:.2f} ms p95={base.p95_ms:.2f} ms; "
        f"pipeline p50={ours.p50_ms:.2f} ms p95={ours.p95_ms:.2f} ms"
    )

    if args.calibrate:
        langs = read_langs(args.dev)
        cal = calibrate(index, rows, langs)
        print(f"\nin-sample calibration: {cal.thresholds}")
        show("pipeline (in-sample)", cal)
        print(f"  direct-answer precision={cal.direct_precision:.3f}")
        pooled, folds = cross_validate(index, rows, folds=5, groups=langs)
        show("pipeline (5-fold CV)", pooled)
        print(
            "  fold thresholds: "
            + ", ".join(
                f"({f.thresholds.answer:g}/{f.thresholds.suggest:g}/{f.thresholds.margin:g})"
                for f in folds
            )
        )
        outs, _ = cross_validated_outcomes(
            index, rows, folds=5, per_language=args.per_language, groups=langs
        )
        title = "per language (5-fold CV" + (
            ", thresholds per language)" if args.per_language else ")"
        )
        show_languages(title, outs, rows, langs)
        if args.semantic:
            grid = (0.0, 0.3, 0.4, W_SEM, 0.6, 0.7)
            nested_outs, weights = nested_weight_cv(
                index, rows, tuple(sorted(set(grid))), groups=langs
            )
            show_languages(
                "nested 5-fold CV, (meaning weight, KEY_MISS, DEFINE_BOOST) fitted per fold "
                f"{weights}",
                nested_outs,
                rows,
                langs,
            )
            if args.misses:
                show_misses(nested_outs, rows, langs, args.misses)
        if args.nested:
            nested, chosen = nested_length_cv(index, rows, groups=langs)
            show("pipeline (nested 5-fold CV)", nested)
            print(f"  length bonus fitted per fold (free, points per word): {chosen}")
        bt, btop1, brefused = calibrate_baseline(index, rows)
        print(f"baseline calibrated T={bt:g}: top1={btop1:.3f} refused_offtopic={brefused:.3f}")
        cv_hits = cv_refused = 0
        for f in range(5):
            train = [r for i, r in enumerate(rows) if i % 5 != f]
            test = [r for i, r in enumerate(rows) if i % 5 == f]
            t, _, _ = calibrate_baseline(index, train)
            for q, lab in test:
                res = baseline_search(index, q, t)
                if lab is None:
                    cv_refused += res.status == "unknown"
                else:
                    cv_hits += res.best is not None and res.best.entry_id == lab
        off = len(rows) - on
        print(
            f"  baseline (5-fold CV)           top1={cv_hits / max(on, 1):.3f} "
            f"refused_offtopic={cv_refused / max(off, 1):.3f}"
        )


if __name__ == "__main__":
    main()
