"""The mentor choices a coordinator sees when swapping or reassigning (`solver.mentor_options`):
scoring one request against every mentor of a round, with reasons, for growing programmes.

Run: `python benchmarks/mentor_choices_bench.py [--sizes 500,2000,20000] [--requests 50]`.
Uses the synthetic population of `matching_bench.py` (same seed); prints, per size, the median
and worst wall milliseconds per request over `--requests` learners, the median CPU
milliseconds (`time.process_time`: on a shared machine wall time mostly measures the load),
and how many mentors were offered on average. The page itself also reads the round
(`flow.round_input`), which `propose_bench.py` times on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching_bench import population  # noqa: E402

from handlers.pairing.solver import Request, mentor_options  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,2000,20000")
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    for n in (int(s) for s in args.sizes.split(",")):
        people, requests, practices, excluded = population(n, seed=7)
        chosen = [r for r in requests if r.topic is not None][: args.requests] or requests[
            : args.requests
        ]
        times, cpu, offered = [], [], []
        for r in chosen:
            start, start_cpu = time.perf_counter(), time.process_time()
            found = mentor_options(people, Request(r.learner_id, r.topic), practices, excluded)
            cpu.append((time.process_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
            offered.append(len(found))
        print(
            f"officers={n} requests={len(chosen)} "
            f"median_ms={statistics.median(times):.1f} max_ms={max(times):.1f} "
            f"median_cpu_ms={statistics.median(cpu):.1f} "
            f"mentors_offered_avg={statistics.mean(offered):.1f}"
        )


if __name__ == "__main__":
    main()
