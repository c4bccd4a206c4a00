"""Rendering a Report as PDF with fpdf2 and its core Helvetica font (latin-1: see docs/aggregates.md)."""

from __future__ import annotations

import unicodedata

from fpdf import FPDF
from fpdf.fonts import FontFace

from ureport.aggregates.exports import Block, Report
from ureport.aggregates.render import count_text, percent_text
from ureport.aggregates.texts import text

# Core fonts cover latin-1 only: Swahili and French fit, typographic punctuation is mapped to plain
# ASCII, and anything else becomes "?" rather than failing the whole export.
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "·": "-"})
_PLAIN.update({ord("\u00a0"): " ", ord("\u202f"): " "})
HEAD = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def latin1(value: str) -> str:
    """`value` as the core fonts can draw it."""
    plain = unicodedata.normalize("NFC", value).translate(_PLAIN)
    return plain.encode("latin-1", "replace").decode("latin-1")


def _table(pdf: FPDF, block: Block, language: str, size: float) -> None:
    if pdf.will_page_break(size * 0.5 * min(len(block.lines) + 2, 6)):  # keep a caption with its table
        pdf.add_page()
    pdf.set_font("Helvetica", "B", size + 0.5)
    pdf.multi_cell(0, size * 0.5, latin1(block.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", size)
    widths = (3, *(2 for _ in block.columns), 1.2)
    with pdf.table(
        col_widths=widths,
        headings_style=HEAD,
        line_height=size * 0.5,
        text_align="RIGHT",
        first_row_as_headings=True,
    ) as table:
        head = table.row()
        head.cell(latin1(text("group", language)), align="LEFT")
        for column in block.columns:
            head.cell(latin1(column))
        head.cell(latin1(text("total", language)))
        for line in block.lines:
            row = table.row()
            row.cell(latin1(line.label), align="LEFT")
            for j, n in enumerate(line.cells):
                share = percent_text(line, j)
                row.cell(count_text(n) + (f" ({share}%)" if share not in ("x", "-") else ""))
            row.cell(count_text(line.total))
    pdf.ln(size * 0.3)


def to_pdf(report: Report) -> bytes:
    """A4 pages; the brief is set smaller so that one poll fits on one page."""
    size = 8.0 if report.is_brief else 9.0
    pdf = FPDF(format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(latin1(report.title))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, latin1(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", size)
    for line in (*report.facts, report.legend):
        pdf.multi_cell(0, size * 0.5, latin1(line), new_x="LMARGIN", new_y="NEXT")
    for section in report.sections:
        pdf.ln(1.5)
        pdf.set_font("Helvetica", "B", size + 2)
        pdf.multi_cell(0, size * 0.6, latin1(section.heading), new_x="LMARGIN", new_y="NEXT")
        for block in section.blocks:
            _table(pdf, block, report.language, size)
    if report.prompts:
        pdf.set_font("Helvetica", "B", size + 2)
        pdf.multi_cell(
            0, size * 0.6, latin1(text("discussion", report.language)), new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("Helvetica", "", size + 0.5)
        for number, prompt in enumerate(report.prompts, 1):
            pdf.multi_cell(0, size * 0.55, latin1(f"{number}. {prompt}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
