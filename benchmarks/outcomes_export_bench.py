"""Figures of the funders' exports: the time to compute a programme's indicators (with the
investments by instrument and by sector) and to write them as CSV files and as a workbook.

Run: `python benchmarks/outcomes_export_bench.py [--sizes 200,1000]`. For each size n it makes a
fresh SQLite database with n authorities (one consenting officer each, imported with the
roster importer), gives every authority a learning plan and two stages through
`handlers.outcomes.service` (every third one financed), then times `programme_kpis`, `tables`
+ `write_csv_files` and `write_workbook` (median of 3). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.core.taxonomy import Taxonomy  # noqa: E402
from handlers.officers.roster import import_csv  # noqa: E402
from handlers.outcomes import service  # noqa: E402
from handlers.outcomes.export import write_csv_files, write_workbook  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Programme  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402

COUNTRIES = ("FR", "DE", "IT", "ES", "PL", "BE", "NL", "PT")
INSTRUMENTS = ("epc", "green_bond", "revolving_fund", "soft_loan", "eu_funds")
SECTORS = ("public_buildings", "public_lighting", "mobility", "private_buildings")
TODAY = date(2026, 12, 7)


def roster(n: int) -> str:
    rows = ["name,email,authority,country"]
    rows += [
        f"Officer {i},o{i}@city{i}.eu,City {i},{COUNTRIES[i % len(COUNTRIES)]}" for i in range(n)
    ]
    return "\n".join(rows) + "\n"


async def seeded(url: str, n: int, taxonomy: Taxonomy) -> tuple[Any, int]:
    """A database with n authorities, each with a plan and two stages; (sessionmaker, id)."""
    await upgrade(url)
    sessionmaker = make_sessionmaker(make_engine(url))
    schemes, sectors = taxonomy.codes("instruments"), taxonomy.codes("sectors")
    async with UnitOfWork(sessionmaker) as uow:
        home = await uow.programmes.add(Programme(slug="bench", name="Bench", languages=["en"]))
        await uow.commit()
        programme_id = home.id
    async with UnitOfWork(sessionmaker) as uow:
        found = await uow.programmes.by_slug("bench")
        assert found is not None
        await import_csv(uow, roster(n), taxonomy, found)
    async with UnitOfWork(sessionmaker) as uow:
        people = await uow.kpis.participants({programme_id})
        ids = sorted({p.authority_id for p in people if p.authority_id is not None})
        for number, authority_id in enumerate(ids):
            scheme = INSTRUMENTS[number % len(INSTRUMENTS)]
            await service.set_plan(
                uow,
                None,
                service.PlanDraft(
                    scheme, SECTORS[number % len(SECTORS)], 1_000_000, "Tender", None
                ),
                schemes=schemes,
                sectors=sectors,
                authority_id=authority_id,
                coordinator=True,
            )
            drafts = [
                service.OutcomeDraft(
                    scheme, "project_defined", TODAY, savings_mwh=100.0, method="Audit"
                )
            ]
            if number % 3 == 0:
                drafts.append(
                    service.OutcomeDraft(
                        scheme,
                        "financed",
                        TODAY,
                        amount_eur=500_000 + number,
                        instrument=scheme,
                        sources="ERDF",
                        co2_t=20.0,
                        method="Audit",
                    )  # fmt: skip
                )
            for draft in drafts:
                await service.record_outcome(
                    uow, None, draft, schemes=schemes, today=TODAY,
                    authority_id=authority_id, coordinator=True,
                )  # fmt: skip
        await uow.commit()
    return sessionmaker, programme_id


def median_of(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:8.1f} ms"


async def measure(n: int, taxonomy: Taxonomy, tmp: Path) -> None:
    sessionmaker, programme_id = await seeded(
        f"sqlite+aiosqlite:///{tmp}/bench-{n}.db", n, taxonomy
    )
    kpi_times, csv_times, xlsx_times = [], [], []
    for run in range(3):
        async with UnitOfWork(sessionmaker) as uow:
            start = time.perf_counter()
            kpis = await service.programme_kpis(uow, {programme_id})
            kpi_times.append(time.perf_counter() - start)
        breakdowns = {
            "investments_by_instrument": kpis.investments_by_instrument,
            "investments_by_sector": kpis.investments_by_sector,
        }
        start = time.perf_counter()
        written = write_csv_files(
            tmp / f"csv-{n}-{run}", kpis.totals, kpis.by_authority, breakdowns
        )
        csv_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        write_workbook(
            tmp / f"kpis-{n}-{run}.xlsx",
            kpis.totals,
            kpis.by_authority,
            "now",
            ["bench"],
            breakdowns,
        )
        xlsx_times.append(time.perf_counter() - start)
    size = sum(p.stat().st_size for p in written)
    print(
        f"n={n:>5} authorities: kpis {median_of(kpi_times)}  csv ({len(written)} files, "
        f"{size / 1024:.0f} KiB) {median_of(csv_times)}  xlsx {median_of(xlsx_times)}  "
        f"investments {kpis.totals['investments_eur']:,} EUR"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="200,1000")
    args = parser.parse_args()
    taxonomy = Taxonomy.load(ROOT / "content" / "taxonomy.yaml")
    print(f"outcomes export bench; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(s) for s in args.sizes.split(",")):
            await measure(n, taxonomy, Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
