"""Languages of the web pages: negotiation, the page's language, locale-aware numbers and dates (the
catalogs themselves are ureport.i18n's, shared with USSD and the exports)."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from datetime import date, datetime

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from starlette.requests import Request

from ureport.i18n import DEFAULT as DEFAULT
from ureport.i18n import LANGUAGES as LANGUAGES
from ureport.i18n import LOCALES as LOCALES
from ureport.i18n import translations as translations

COOKIE = "lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ureport_lang", default=DEFAULT)


def use(lang: str) -> None:
    """The language of the page being rendered (a context variable: requests never share it)."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


_ = gettext_


def defer_(message: str) -> str:
    """Marks a message for extraction, translated where it is shown (an error's detail, say)."""
    return message


def _accept_language(header: str) -> list[str]:
    """Primary language tags from an Accept-Language header, best first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.split("-")[0].lower()))
    return [tag for _q, _p, tag in sorted(ranked)]


def negotiate(query: Mapping[str, str], cookies: Mapping[str, str], accept: str) -> str:
    """`?lang=`, then the cookie, then Accept-Language, then English."""
    for candidate in (query.get("lang", ""), cookies.get(COOKIE, "")):
        if candidate in LANGUAGES:
            return candidate
    for tag in _accept_language(accept):
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def request_language(request: Request) -> str:
    return negotiate(request.query_params, request.cookies, request.headers.get("accept-language", ""))


def direction(lang: str) -> str:
    return "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"


def number(value: int | None) -> str:
    """A count in the page's locale; a suppressed one as the one mark used everywhere."""
    if value is None:
        return "x"
    return format_decimal(value, locale=current())


def percent(value: float | None) -> str:
    """A published percentage (0-100, one decimal) in the page's locale."""
    if value is None:
        return "x"
    return format_percent(value / 100, format="#,##0.0%", locale=current())


def whole_percent(value: float) -> str:
    """A round share for legends (20%, 40%...)."""
    return format_percent(value / 100, locale=current())


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return format_date(value, format="medium", locale=current())


def pick(texts: Mapping[str, str], fallback: str = DEFAULT) -> tuple[str, str]:
    """A poll's localised text in the page's language, else its own default: (text, its language)."""
    for lang in (current(), fallback, DEFAULT, *texts):
        if lang in texts:
            return texts[lang], lang
    return "", current()
