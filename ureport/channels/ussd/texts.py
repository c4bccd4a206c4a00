"""The USSD interface's own strings (menus, navigation, errors), translated through the Babel catalogs.

They live in ureport/locales/ beside the web pages' strings, under the message context `ussd` (a screen holds
160 characters: translations stay short, and "Back" here need not read like "Back" on a web page).
Poll content, the registration flow's messages included, stays in the poll files. A language without a
catalog gets English, as the web pages do.
"""

from __future__ import annotations

from ureport.i18n import LANGUAGES, translations

CONTEXT = "ussd"


def N_(context: str, message: str) -> str:  # noqa: N802 (the name gettext tools know)
    """Marks a string for extraction (scripts/catalogs.py: keyword N_:1c,2); it is translated when shown."""
    return message


TEXTS: dict[str, str] = {
    "more": N_("ussd", "More"),
    "back": N_("ussd", "Back"),
    "invalid": N_("ussd", "Invalid choice."),
    "empty": N_("ussd", "Please reply."),
    "details": N_("ussd", "My details"),
    "stop": N_("ussd", "Stop polls"),
    "language": N_("ussd", "Language"),
    "district": N_("ussd", "County"),
    "pick_language": N_("ussd", "Choose your language:"),
    "pick_district": N_("ussd", "Pick your county or type its first letters:"),
    "saved": N_("ussd", "Saved."),
    "stop_confirm": N_("ussd", "Stop all U-Report polls? You will get no more messages."),
    "yes_stop": N_("ussd", "Yes, stop"),
    "no_back": N_("ussd", "No, go back"),
    "resume": N_("ussd", "You did not finish last time."),
    "continue": N_("ussd", "Continue where you left off"),
    "restart": N_("ussd", "Start again"),
    "welcome": N_("ussd", "Welcome to U-Report. Choose your language:"),
    "session_error": N_("ussd", "Something went wrong. Please dial again."),
}
MAIN_TITLE = "U-Report"  # the service's name, the same in every language
# Each language by its own name, so that anyone can find theirs whatever the menu's language.
LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili", "fr": "Français", "ar": "العربية"}


def text(key: str, language: str | None) -> str:
    """The interface string in `language` when it has a catalog, else in English."""
    message = TEXTS[key]
    if language is None or language not in LANGUAGES:
        return message
    return translations(language).pgettext(CONTEXT, message)
