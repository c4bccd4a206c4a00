"""The interface languages and their Babel catalogs, shared by the web pages, the USSD screens, the
exports and the command line (ureport.web.i18n adds what only pages need: negotiation, formatting)."""

from __future__ import annotations

import functools
import gettext
import io
import logging
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr", "sw", "ar")
DEFAULT = "en"
# The catalogs ship inside the package (ureport/locales, package data), so that an installed wheel has
# them as a source checkout does; `locales` at the top of the tree is a link to them.
LOCALES = resources.files("ureport") / "locales"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The language's catalog, compiled from its .po in memory: .mo files are build products that a
    clean clone lacks, and compiling a few hundred messages takes milliseconds, once per process."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.is_file():
        if lang != DEFAULT:
            log.warning("no catalog for %s at %s: texts stay in English", lang, po)
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
