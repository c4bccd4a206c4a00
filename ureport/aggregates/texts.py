"""The interface strings of exports, dialogue briefs and results SMS, translated through the Babel
catalogs (ureport/locales/, the web pages' domain, message context `brief`).

They are looked up in the language asked for (the ambassador's, the participant's), not the web
request's. Poll content (titles, questions, categories, discussion prompts) stays in the poll files. A
language without a catalog gets English, as the web pages and USSD screens do.
"""

from __future__ import annotations

from ureport.i18n import LANGUAGES, translations

CONTEXT = "brief"


def N_(context: str, message: str) -> str:  # noqa: N802 (the name gettext tools know)
    """Marks a string for extraction (scripts/catalogs.py: keyword N_:1c,2); it is translated when used."""
    return message


TEXTS: dict[str, str] = {
    "legend": N_(
        "brief",
        "x: hidden to protect privacy (fewer than %(k)s people, or hidden so that such a number cannot be "
        "worked out)",
    ),
    "results": N_("brief", "Results"),
    "overall": N_("brief", "Overall"),
    "national": N_("brief", "National"),
    "total": N_("brief", "Total"),
    "group": N_("brief", "Group"),
    "age_band": N_("brief", "By age band"),
    "sex": N_("brief", "By sex"),
    "region": N_("brief", "By region"),
    "district": N_("brief", "By district"),
    "district x sex": N_("brief", "By district and sex"),
    "age_band x sex": N_("brief", "By age band and sex"),
    "female": N_("brief", "Female"),
    "male": N_("brief", "Male"),
    "other_sex": N_("brief", "Other"),
    "brief": N_("brief", "Dialogue brief"),
    "answered": N_("brief", "People who answered"),
    "dates": N_("brief", "Answers from %(first)s to %(last)s"),
    "no_dates": N_("brief", "No answers yet"),
    "discussion": N_("brief", "For discussion"),
    "also_asked": N_("brief", "Also asked"),
    "share": N_("brief", "U-Report results, %(title)s: %(question)s"),
    "hidden_district": N_("brief", "%(district)s: too few answers to show."),
}


def text(key: str, language: str | None, **values: object) -> str:
    """The interface string in `language` (English without a catalog), its `%(name)s` filled in."""
    message = TEXTS[key]
    if language in LANGUAGES and language is not None:
        message = translations(language).pgettext(CONTEXT, message)
    return message % values if values else message
