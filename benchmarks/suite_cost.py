"""Where the test suite's time goes: a pytest plugin that prints CPU and wall time per test,
per file and per fixture.

    PYTHONPATH=. python -m pytest -p benchmarks.suite_cost [pytest options]

Each process (every xdist worker) measures its own phases with `time.process_time()` (the
CPU of the whole process, threads included) and `time.perf_counter()` (wall), writes them to a
file, and the controlling process prints the figures at the end. CPU is the figure to trust on
a loaded machine: wall time there is mostly waiting for a core. Fixture figures are the
fixture's own set-up (the fixtures it depends on are counted under their own names); tear-down
is counted per test only. `SUITE_COST_TOP` (default 40) sets how many rows each table shows.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_ROWS: list[dict[str, Any]] = []
_FIXTURES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # cpu, wall, count
_CURRENT: dict[str, dict[str, Any]] = {}


def _dir(config: pytest.Config) -> Path:
    shared = getattr(config, "workerinput", {}).get("suite_cost_dir")
    if shared:
        return Path(shared)
    d = os.environ.get("SUITE_COST_DIR") or tempfile.mkdtemp(prefix="suite-cost-")
    os.environ["SUITE_COST_DIR"] = d
    return Path(d)


def pytest_configure_node(node: Any) -> None:  # xdist: the controller hands its dir down
    node.workerinput["suite_cost_dir"] = str(_dir(node.config))


def _phase(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    c0, w0 = time.process_time(), time.perf_counter()
    yield
    row = _CURRENT.setdefault(item.nodeid, {"id": item.nodeid})
    row[f"{phase}_cpu"] = time.process_time() - c0
    row[f"{phase}_wall"] = time.perf_counter() - w0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield from _phase(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield from _phase(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield from _phase(item, "teardown")
    row = _CURRENT.pop(item.nodeid, None)
    if row:
        _ROWS.append(row)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any) -> Generator[None, None, None]:
    c0, w0 = time.process_time(), time.perf_counter()
    yield
    f = _FIXTURES[f"{fixturedef.argname} ({fixturedef.scope})"]
    f[0] += time.process_time() - c0
    f[1] += time.perf_counter() - w0
    f[2] += 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = _dir(session.config) / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = {"cpu": time.process_time(), "children": children.ru_utime + children.ru_stime}
    if _ROWS or _FIXTURES:
        out.write_text(json.dumps({"tests": _ROWS, "fixtures": _FIXTURES, "process": process}))
        _ROWS.clear()
        _FIXTURES.clear()


def _total(r: dict[str, Any], kind: str) -> float:
    return sum(r.get(f"{p}_{kind}", 0.0) for p in ("setup", "call", "teardown"))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    top = int(os.environ.get("SUITE_COST_TOP", "40"))
    rows: list[dict[str, Any]] = []
    processes: list[dict[str, float]] = []
    fixtures: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for path in sorted(_dir(config).glob("*.json")):
        data = json.loads(path.read_text())
        rows += data["tests"]
        processes.append(data.get("process", {}))
        for name, (c, w, n) in data["fixtures"].items():
            fx = fixtures[name]
            fx[0] += c
            fx[1] += w
            fx[2] += n
        path.unlink()
    if not rows:
        return
    w = terminalreporter.write_line
    w("")
    w("== suite cost (CPU = process_time of the worker, wall = perf_counter) ==")
    for kind in ("cpu", "wall"):
        sums = {
            p: sum(r.get(f"{p}_{kind}", 0.0) for r in rows) for p in ("setup", "call", "teardown")
        }
        w(
            f"{kind:4}: {sum(sums.values()):8.1f} s over {len(rows)} tests "
            f"(setup {sums['setup']:.1f}, call {sums['call']:.1f}, teardown {sums['teardown']:.1f})"
        )
    own = sum(p.get("cpu", 0.0) for p in processes)
    kids = sum(p.get("children", 0.0) for p in processes)
    w(
        f"workers: {own:.1f} s CPU of their own in all ({len(processes)} workers: start-up, "
        f"collection and tests), {kids:.1f} s in the processes they started; "
        f"this controlling process {time.process_time():.1f} s"
    )
    w(f"-- top {top} tests by CPU (cpu s, wall s, setup/call/teardown cpu) --")
    for r in sorted(rows, key=lambda r: -_total(r, "cpu"))[:top]:
        w(
            f"{_total(r, 'cpu'):7.2f} {_total(r, 'wall'):7.2f}  "
            f"{r.get('setup_cpu', 0):.2f}/{r.get('call_cpu', 0):.2f}/{r.get('teardown_cpu', 0):.2f}"
            f"  {r['id']}"
        )
    w(f"-- top {top} tests by wall minus CPU (waiting) --")
    for r in sorted(rows, key=lambda r: -(_total(r, "wall") - _total(r, "cpu")))[:top]:
        w(f"{_total(r, 'wall') - _total(r, 'cpu'):7.2f} {_total(r, 'wall'):7.2f}  {r['id']}")
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in rows:
        f = files[r["id"].split("::")[0]]
        f[0] += _total(r, "cpu")
        f[1] += _total(r, "wall")
        f[2] += 1
    w(f"-- top {top} files by CPU (cpu s, wall s, tests) --")
    for name, (c, wl, n) in sorted(files.items(), key=lambda kv: -kv[1][0])[:top]:
        w(f"{c:7.2f} {wl:7.2f} {int(n):4}  {name}")
    w(f"-- top {top} fixtures by set-up CPU (cpu s, wall s, set-ups, cpu ms per set-up) --")
    for name, (c, wl, n) in sorted(fixtures.items(), key=lambda kv: -kv[1][0])[:top]:
        w(f"{c:7.2f} {wl:7.2f} {int(n):5} {1000 * c / max(n, 1):7.1f}  {name}")
