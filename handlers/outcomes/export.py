"""The funders' workbook: one sheet per indicator, one row per authority, and a sheet of
definitions naming the H2020 / LIFE CET / Interreg indicator each maps to and how it is computed.

The figures are those of the report (`Report.kpis`, `Report.kpis_by_authority`), so the JSON,
the page and the workbook cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handlers.outcomes.rules import INDICATORS

DEFINITIONS = "definitions"
TOTAL = "TOTAL (programme)"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_workbook(
    path: Path,
    totals: dict[str, Any],
    by_authority: Sequence[dict[str, Any]],
    generated_at: str,
    programmes: Sequence[str],
) -> None:
    """Write the workbook to `path` (raises OSError when it cannot be written)."""
    from openpyxl import Workbook  # only the command that writes a workbook pays its import
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = DEFINITIONS
    sheet.append(["indicator", "unit", "funders' indicator", "how it is computed", "total"])
    for indicator in INDICATORS:
        sheet.append(
            [
                indicator.key,
                indicator.unit,
                indicator.frameworks,
                indicator.method,
                totals.get(indicator.key),
            ]
        )
    sheet.append([])
    sheet.append(["generated_at", generated_at])
    sheet.append(["programmes", safe(", ".join(programmes))])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["C"].width = 60
    sheet.column_dimensions["D"].width = 80
    for indicator in INDICATORS:
        page = book.create_sheet(indicator.key[:31])
        page.append(["authority", "country", indicator.key])
        for cell in page[1]:
            cell.font = Font(bold=True)
        for row in by_authority:
            page.append([safe(row["authority"]), row["country"], row.get(indicator.key)])
        page.append([TOTAL, "", totals.get(indicator.key)])
        page.cell(row=page.max_row, column=1).font = Font(bold=True)
        page.column_dimensions["A"].width = 36
        page.column_dimensions["C"].width = 24
    book.save(path)
