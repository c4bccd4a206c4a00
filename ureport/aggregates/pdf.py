"""Rendering a Report as PDF with fpdf2, in DejaVu Sans when the system has it (see docs/aggregates.md)."""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from ureport.aggregates.exports import Block, Report
from ureport.aggregates.render import count_text, percent_text
from ureport.aggregates.texts import text

# DejaVu Sans covers Latin (French, Swahili, typographic punctuation) and Arabic. Debian and Ubuntu ship it
# as fonts-dejavu-core, Fedora and Arch under their own paths; no maintained PyPI package carries it.
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
FAMILY = "DejaVu"
# Without it, the core fonts cover latin-1 only: Swahili and French fit, typographic punctuation is
# mapped to plain ASCII, and anything else (Arabic) becomes "?" rather than failing the whole export.
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "·": "-"})
_PLAIN.update({ord("\u00a0"): " ", ord("\u202f"): " "})
HEAD = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def latin1(value: str) -> str:
    """`value` as the core fonts can draw it."""
    plain = unicodedata.normalize("NFC", value).translate(_PLAIN)
    return plain.encode("latin-1", "replace").decode("latin-1")


def _composed(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@functools.cache
def unicode_font() -> tuple[Path, Path] | None:
    """DejaVu Sans and its bold, when installed where a distribution puts them."""
    for name in FONT_FILES:
        regular = Path(name)
        bold = regular.with_name("DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


@dataclass(frozen=True, slots=True)
class Ink:
    """The font family in use and how a text must be prepared for it."""

    family: str
    draw: Callable[[str], str]


def _ink(pdf: FPDF) -> Ink:
    found = unicode_font()
    if found is None:
        return Ink("Helvetica", latin1)
    pdf.add_font(FAMILY, "", str(found[0]))
    pdf.add_font(FAMILY, "B", str(found[1]))
    if importlib.util.find_spec("uharfbuzz") is not None:  # Arabic letters joined and set right to left
        pdf.set_text_shaping(True)
    return Ink(FAMILY, _composed)


def _table(pdf: FPDF, ink: Ink, block: Block, language: str, size: float) -> None:
    if pdf.will_page_break(size * 0.5 * min(len(block.lines) + 2, 6)):  # keep a caption with its table
        pdf.add_page()
    pdf.set_font(ink.family, "B", size + 0.5)
    pdf.multi_cell(0, size * 0.5, ink.draw(block.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(ink.family, "", size)
    widths = (3, *(2 for _ in block.columns), 1.2)
    with pdf.table(
        col_widths=widths,
        headings_style=HEAD,
        line_height=size * 0.5,
        text_align="RIGHT",
        first_row_as_headings=True,
    ) as table:
        head = table.row()
        head.cell(ink.draw(text("group", language)), align="LEFT")
        for column in block.columns:
            head.cell(ink.draw(column))
        head.cell(ink.draw(text("total", language)))
        for line in block.lines:
            row = table.row()
            row.cell(ink.draw(line.label), align="LEFT")
            for j, n in enumerate(line.cells):
                share = percent_text(line, j)
                row.cell(count_text(n) + (f" ({share}%)" if share not in ("x", "-") else ""))
            row.cell(count_text(line.total))
    pdf.ln(size * 0.3)


def to_pdf(report: Report) -> bytes:
    """A4 pages; the brief is set smaller so that one poll fits on one page."""
    size = 8.0 if report.is_brief else 9.0
    pdf = FPDF(format="A4")
    ink = _ink(pdf)
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(ink.draw(report.title))
    pdf.set_lang(report.language)
    pdf.add_page()
    pdf.set_font(ink.family, "B", 14)
    pdf.multi_cell(0, 7, ink.draw(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(ink.family, "", size)
    for line in (*report.facts, report.legend):
        pdf.multi_cell(0, size * 0.5, ink.draw(line), new_x="LMARGIN", new_y="NEXT")
    for section in report.sections:
        pdf.ln(1.5)
        pdf.set_font(ink.family, "B", size + 2)
        pdf.multi_cell(0, size * 0.6, ink.draw(section.heading), new_x="LMARGIN", new_y="NEXT")
        for block in section.blocks:
            _table(pdf, ink, block, report.language, size)
    if report.prompts:
        pdf.set_font(ink.family, "B", size + 2)
        heading = ink.draw(text("discussion", report.language))
        pdf.multi_cell(0, size * 0.6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(ink.family, "", size + 0.5)
        for number, prompt in enumerate(report.prompts, 1):
            pdf.multi_cell(0, size * 0.55, ink.draw(f"{number}. {prompt}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
