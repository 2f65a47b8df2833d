"""How well and how fast the console groups unanswered questions (`handlers.faq.grouping`).

    python -m benchmarks.question_grouping_bench [--thresholds]

The FAQ dev set (tests/data/faq_dev.jsonl: questions labelled with the FAQ entry they ask for,
in eight languages, and off-topic ones without a label) stands in for a pile of unanswered
questions. Two questions "ask the same thing" when they carry the same label. Over every pair
of questions it prints the grouping's precision (grouped pairs that truly ask the same thing)
and recall (same-label pairs grouped together), overall and within one language (a coordinator
answers a group once, so a wrong merge costs more than a missed one), then the time to group
200 and 1,000 questions; on tokens only, then with the FAQ index (`TOPIC_SCORE`, `TOPIC_DICE`).
With `--thresholds` it repeats the figures for other cut-offs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

from handlers.core.content import load_content
from handlers.faq import grouping
from handlers.faq.content import faq_index
from handlers.faq.grouping import Asked, group_questions

ROOT = Path(__file__).resolve().parent.parent


def pairs_figures(
    rows: Sequence[dict[str, str | None]], groups: list[list[int]], same_lang: bool
) -> tuple[float, float, int]:
    """Pairwise precision, recall and the number of grouped pairs."""
    group_of = {i: g for g, ids in enumerate(groups) for i in ids}
    grouped = true = hits = 0
    for a, b in combinations(range(len(rows)), 2):
        if same_lang and rows[a]["lang"] != rows[b]["lang"]:
            continue
        same = rows[a]["id"] is not None and rows[a]["id"] == rows[b]["id"]
        together = group_of[a] == group_of[b]
        grouped += together
        true += same
        hits += same and together
    return (hits / grouped if grouped else 1.0), (hits / true if true else 1.0), grouped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--thresholds", action="store_true")
    args = parser.parse_args()
    index = faq_index(load_content(ROOT / "content"))
    norm = index.norm
    lines = (ROOT / "tests" / "data" / "faq_dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    asked = [Asked(i, r["q"], r.get("lang")) for i, r in enumerate(rows)]
    chosen = (grouping.SAME_DICE, grouping.SAME_RATIO, grouping.TOPIC_SCORE, grouping.TOPIC_DICE)
    settings = [chosen]
    if args.thresholds:
        settings += [
            (0.6, 85.0, 40.0, 0.3),
            (0.8, 90.0, 40.0, 0.3),
            (0.75, 88.0, 30.0, 0.0),
            (0.75, 88.0, 45.0, 0.3),
            (0.75, 88.0, 40.0, 0.5),
        ]
    print(f"{len(rows)} questions, {len({r['id'] for r in rows if r['id']})} distinct labels")
    for with_index in (False, True):
        for values in settings:
            (grouping.SAME_DICE, grouping.SAME_RATIO, grouping.TOPIC_SCORE, grouping.TOPIC_DICE) = (
                values
            )
            groups = group_questions(asked, norm, index if with_index else None)
            p_all, r_all, n_all = pairs_figures(rows, groups, same_lang=False)
            p_lang, r_lang, n_lang = pairs_figures(rows, groups, same_lang=True)
            print(
                f"{'tokens + FAQ entry' if with_index else 'tokens only'} {values}: "
                f"{len(groups)} groups; pairs grouped {n_all}, precision {p_all:.3f}, recall "
                f"{r_all:.3f}; within a language: pairs {n_lang}, precision {p_lang:.3f}, "
                f"recall {r_lang:.3f}"
            )
            if not with_index:
                break
    (grouping.SAME_DICE, grouping.SAME_RATIO, grouping.TOPIC_SCORE, grouping.TOPIC_DICE) = chosen
    for n in (200, 1000):
        sample = [
            Asked(i, f"{rows[i % len(rows)]['q']} #{i}", rows[i % len(rows)].get("lang"))
            for i in range(n)
        ]
        for with_index in (False, True):
            for run in ("cold", "warm"):
                if run == "cold":
                    grouping.forget()
                start = time.perf_counter()
                group_questions(sample, norm, index if with_index else None)
                took = 1000 * (time.perf_counter() - start)
                print(
                    f"{n} questions grouped in {took:.0f} ms "
                    f"({'with' if with_index else 'without'} the FAQ index, {run})"
                )


if __name__ == "__main__":
    main()
