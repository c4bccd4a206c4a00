"""The USSD interface's own strings (menus, navigation, errors) in each language the shipped flows speak."""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "more": {"en": "More", "sw": "Zaidi", "fr": "Suite"},
    "back": {"en": "Back", "sw": "Nyuma", "fr": "Retour"},
    "invalid": {"en": "Invalid choice.", "sw": "Chaguo si sahihi.", "fr": "Choix invalide."},
    "empty": {"en": "Please reply.", "sw": "Tafadhali jibu.", "fr": "Merci de répondre."},
    "main": {"en": "U-Report", "sw": "U-Report", "fr": "U-Report"},
    "details": {"en": "My details", "sw": "Taarifa zangu", "fr": "Mes informations"},
    "stop": {"en": "Stop polls", "sw": "Acha kura za maoni", "fr": "Arrêter les sondages"},
    "language": {"en": "Language", "sw": "Lugha", "fr": "Langue"},
    "district": {"en": "County", "sw": "Kaunti", "fr": "Comté"},
    "pick_language": {"en": "Choose your language:", "sw": "Chagua lugha yako:", "fr": "Choisis ta langue :"},
    "pick_district": {
        "en": "Pick your county or type its first letters:",
        "sw": "Chagua kaunti yako au andika herufi zake za kwanza:",
        "fr": "Choisis ton comté ou tape ses premières lettres :",
    },
    "no_district": {
        "en": "No county starts with that.",
        "sw": "Hakuna kaunti inayoanza hivyo.",
        "fr": "Aucun comté ne commence ainsi.",
    },
    "saved": {"en": "Saved.", "sw": "Imehifadhiwa.", "fr": "Enregistré."},
    "stop_confirm": {
        "en": "Stop all U-Report polls? You will get no more messages.",
        "sw": "Acha kura zote za U-Report? Hutapokea ujumbe tena.",
        "fr": "Arrêter tous les sondages U-Report ? Tu ne recevras plus de messages.",
    },
    "yes_stop": {"en": "Yes, stop", "sw": "Ndiyo, acha", "fr": "Oui, arrêter"},
    "no_back": {"en": "No, go back", "sw": "Hapana, rudi", "fr": "Non, retour"},
    "resume": {
        "en": "You did not finish last time.",
        "sw": "Hukumaliza mara iliyopita.",
        "fr": "Tu n'as pas fini la dernière fois.",
    },
    "continue": {
        "en": "Continue where you left off",
        "sw": "Endelea ulipoachia",
        "fr": "Reprendre où tu étais",
    },
    "restart": {"en": "Start again", "sw": "Anza upya", "fr": "Recommencer"},
    "welcome": {
        "en": "Welcome to U-Report. Choose your language:",
        "sw": "Karibu U-Report. Chagua lugha yako:",
        "fr": "Bienvenue sur U-Report. Choisis ta langue :",
    },
    "session_error": {
        "en": "Something went wrong. Please dial again.",
        "sw": "Kuna hitilafu. Tafadhali piga tena.",
        "fr": "Une erreur est survenue. Rappelle plus tard.",
    },
}
LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili", "fr": "Français"}


def text(key: str, language: str | None) -> str:
    """The interface string in `language`, else in English."""
    texts = TEXTS[key]
    return texts.get(language or DEFAULT_LANGUAGE) or texts[DEFAULT_LANGUAGE]
