"""Translation catalogs: `check` (the default, run by scripts/check) fails when an interface string (web
pages, USSD screens, briefs) is missing from ureport/locales/ or left untranslated; `update` re-extracts
messages.pot and merges it into every catalog."""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "ureport" / "locales"  # package data: an installed wheel carries them
LANGUAGES = ("en", "fr", "sw", "ar")  # en is the source language: its catalog stays empty
# The same options every time, so messages.pot only changes when a string does.
EXTRACT = ["-F", "babel.cfg", "--no-location", "--sort-output", "--project=ureport"]
# N_(context, message): the USSD screens; defer_(message): marked where raised, translated where shown.
EXTRACT += ["-k", "gettext_", "-k", "ngettext_:1,2", "-k", "N_:1c,2", "-k", "defer_"]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "--quiet", *args])


def _ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    """(context, message) pairs: "Back" on a USSD screen is another entry than "Back" on a page."""
    return {(m.context, str(m.id) if isinstance(m.id, str) else str(m.id[0])) for m in catalog if m.id}


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def check() -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        _pybabel("extract", *EXTRACT, "-o", str(fresh), str(ROOT))
        expected = _ids(_read(fresh))
    if expected != _ids(_read(LOCALES / "messages.pot")):
        problems.append("ureport/locales/messages.pot is out of date: run scripts/catalogs.py update")
    for lang in LANGUAGES:
        path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        catalog = _read(path, lang)
        if _ids(catalog) != expected:
            problems.append(f"{path.relative_to(ROOT)} does not match the extracted messages: run update")
        untranslated = [m.id for m in catalog if m.id and not m.string and lang != "en"]
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        if untranslated or fuzzy:
            problems.append(f"{lang}: translate {untranslated + fuzzy}")
        for message, errors in catalog.check():  # placeholders that differ from the original, say
            problems.append(f"{lang}: {message.id!r}: {errors}")
        write_mo(io.BytesIO(), catalog)  # compiles, as the app does at start-up
    return problems


def update() -> None:
    pot = LOCALES / "messages.pot"
    _pybabel("extract", *EXTRACT, "-o", str(pot), str(ROOT))
    template = _read(pot)
    for lang in LANGUAGES:
        path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        catalog = _read(path, lang)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, no_location=True, sort_output=True, ignore_obsolete=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    problems = check()
    for problem in problems:
        print(f"catalogs: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)
