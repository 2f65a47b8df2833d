"""The funders' files: one table per indicator, one row per authority, plus a table of
definitions naming the H2020 / LIFE CET / Interreg indicator each maps to and how it is
computed, and the investments broken down by instrument and by sector.

The workbook (a sheet per table) and the CSV files (a file per table) are written from the same
`tables()`, which reads the report's figures (`Report.kpis`, `Report.kpis_by_authority`,
`Report.investments_by_*`): the JSON, the page, the workbook and the CSV files cannot disagree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from handlers.outcomes.rules import INDICATORS

DEFINITIONS = "definitions"
TOTAL = "TOTAL (programme)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BREAKDOWN_TABLES = ("investments_by_instrument", "investments_by_sector")
"""The breakdowns of investments_eur, each a table after the indicators'."""


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Table:
    """One sheet of the workbook, one CSV file: a header, rows, and a last row of totals."""

    name: str
    header: list[str]
    rows: list[list[Any]]
    total: list[Any] | None


def tables(
    totals: Mapping[str, Any],
    by_authority: Sequence[Mapping[str, Any]],
    breakdowns: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Table]:
    """The definitions, a table per indicator, then (when given, e.g.
    `{"investments_by_instrument": report.investments_by_instrument, …}`) a table per
    breakdown with a column per code."""
    found = [
        Table(
            DEFINITIONS,
            ["indicator", "unit", "funders' indicator", "how it is computed", "total"],
            [[i.key, i.unit, i.frameworks, i.method, totals.get(i.key)] for i in INDICATORS],
            None,
        )
    ]
    for indicator in INDICATORS:
        found.append(
            Table(
                indicator.key,
                ["authority", "country", indicator.key],
                [
                    [safe(row["authority"]), row["country"], row.get(indicator.key)]
                    for row in by_authority
                ],
                [TOTAL, "", totals.get(indicator.key)],
            )
        )
    for name, summed in (breakdowns or {}).items():
        codes = list(summed)
        found.append(
            Table(
                name,
                ["authority", "country", *codes],
                [
                    [
                        safe(row["authority"]),
                        row["country"],
                        *((row.get(name) or {}).get(code, 0) for code in codes),
                    ]
                    for row in by_authority
                ],
                [TOTAL, "", *(summed[code] for code in codes)],
            )
        )
    return found


def write_workbook(
    path: Path | IO[bytes],
    totals: dict[str, Any],
    by_authority: Sequence[dict[str, Any]],
    generated_at: str,
    programmes: Sequence[str],
    breakdowns: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Write the workbook to `path` or a binary file (OSError when it cannot be written)."""
    from openpyxl import Workbook  # only the command that writes a workbook pays its import
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    for number, table in enumerate(tables(totals, by_authority, breakdowns)):
        sheet = first if number == 0 else book.create_sheet(table.name[:31])
        sheet.title = table.name[:31]
        sheet.append(table.header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        if table.total is not None:
            sheet.append(table.total)
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        if table.name == DEFINITIONS:
            sheet.append([])
            sheet.append(["generated_at", generated_at])
            sheet.append(["programmes", safe(", ".join(programmes))])
            sheet.column_dimensions["A"].width = 30
            sheet.column_dimensions["C"].width = 60
            sheet.column_dimensions["D"].width = 80
        else:
            sheet.column_dimensions["A"].width = 36
            sheet.column_dimensions["C"].width = 24
    book.save(path)


def csv_text(table: Table) -> str:
    """One table as CSV (UTF-8 text, a header row, the totals last)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([safe(v) if v is not None else "" for v in row])
    if table.total is not None:
        writer.writerow([safe(v) if v is not None else "" for v in table.total])
    return out.getvalue()


def write_csv_files(
    folder: Path,
    totals: dict[str, Any],
    by_authority: Sequence[dict[str, Any]],
    breakdowns: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Path]:
    """A CSV file per table in `folder` (created if missing); the paths written. OSError when
    the folder cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(totals, by_authority, breakdowns):
        path = folder / f"{table.name}.csv"
        path.write_text(csv_text(table), encoding="utf-8")
        written.append(path)
    return written


def report_breakdowns(report: Any) -> dict[str, Mapping[str, Any]]:
    """The breakdown tables' figures from a `Report` (or anything with those attributes)."""
    return {name: getattr(report, name) for name in BREAKDOWN_TABLES}
