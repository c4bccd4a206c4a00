"""Rendering a Report as CSV, XLSX or printable HTML: the same rows everywhere, hidden numbers as `x`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jinja2
from openpyxl import Workbook
from openpyxl.styles import Font

from ureport.aggregates.exports import Block, Line, Report, find_district, find_poll, poll_report
from ureport.aggregates.tables import SUPPRESSED_MARK
from ureport.aggregates.texts import text

Value = str | int | float
TEMPLATES = Path(__file__).parent.parent / "web" / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
)


def count_text(value: int | None) -> str:
    return SUPPRESSED_MARK if value is None else str(value)


def percent_text(line: Line, column: int) -> str:
    """A share in percent; the mark when a number it needs is hidden; a dash when nobody answered."""
    share = line.percents[column]
    if share is not None:
        return f"{share:.1f}"
    if line.cells[column] is None or line.total is None:
        return SUPPRESSED_MARK
    return "-"


def header(block: Block, language: str) -> list[Value]:
    cells: list[Value] = [text("group", language)]
    for column in block.columns:
        cells += [column, f"{column} %"]
    return [*cells, text("total", language)]


def line_values(line: Line) -> list[Value]:
    """A line as typed values: published counts stay numbers, hidden ones become the mark."""
    values: list[Value] = [line.label]
    for j, n in enumerate(line.cells):
        share = line.percents[j]
        values += [SUPPRESSED_MARK if n is None else n, share if share is not None else percent_text(line, j)]
    return [*values, SUPPRESSED_MARK if line.total is None else line.total]


def block_rows(report: Report, heading: str, block: Block) -> list[list[Value]]:
    rows: list[list[Value]] = [[heading, block.title], header(block, report.language)]
    return rows + [line_values(line) for line in block.lines]


def preamble(report: Report) -> list[list[Value]]:
    lines: list[Value] = [report.title, *report.facts, report.legend]
    return [[line] for line in lines]


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(preamble(report))
    for section in report.sections:
        for block in section.blocks:
            writer.writerow([])
            writer.writerows(block_rows(report, section.heading, block))
    if report.prompts:
        writer.writerows([[], [text("discussion", report.language)], *([p] for p in report.prompts)])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read UTF-8


def to_xlsx(report: Report) -> bytes:
    """One sheet per question, its tables one under the other, the legend on top."""
    book = Workbook()
    book.remove(book.worksheets[0])  # the default empty sheet
    for section in report.sections:
        sheet = book.create_sheet(title=section.key[:31])  # Excel's limit on sheet names
        for row in preamble(report):
            sheet.append(row)
        sheet["A1"].font = Font(bold=True)
        for block in section.blocks:
            sheet.append([])
            rows = block_rows(report, section.heading, block)
            for number, row in enumerate(rows):
                sheet.append(row)
                if number < 2:
                    for cell in sheet[sheet.max_row]:
                        cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 28
    if report.prompts:
        sheet = book.create_sheet(title=text("discussion", report.language)[:31])
        for prompt in report.prompts:
            sheet.append([prompt])
    if not book.worksheets:  # a poll without choice questions: still a valid file, with the legend
        sheet = book.create_sheet(title="results")
        for row in preamble(report):
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_html(report: Report) -> bytes:
    page = _env.get_template("report.html").render(
        report=report, count_text=count_text, percent_text=percent_text, label=report.label
    )
    return page.encode("utf-8")


def render(report: Report, fmt: str) -> bytes:
    if fmt == "pdf":
        from ureport.aggregates.pdf import to_pdf

        return to_pdf(report)
    return {"csv": to_csv, "xlsx": to_xlsx, "html": to_html}[fmt](report)


async def export(
    slug: str,
    fmt: str,
    *,
    k: int,
    district: str | None = None,
    language: str | None = None,
    question: str | None = None,
) -> bytes:
    """`ureport export`: the poll's full results, or with `district` the ambassador's brief."""
    from ureport.aggregates.brief import district_brief

    poll = await find_poll(slug)
    if district:
        place = await find_district(district)
        report = await district_brief(poll, place, k=k, language=language, question=question)
    else:
        report = await poll_report(poll, k=k, language=language)
    return render(report, fmt)
