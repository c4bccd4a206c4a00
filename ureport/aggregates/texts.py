"""The export, brief and results-SMS interface strings in each language the shipped flows speak."""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "legend": {
        "en": "x: hidden to protect privacy (fewer than {k} people, or hidden so that such a number "
        "cannot be worked out)",
        "sw": "x: imefichwa kulinda faragha (chini ya watu {k}, au imefichwa ili namba kama hiyo "
        "isiweze kukisiwa)",
        "fr": "x : masqué pour protéger la vie privée (moins de {k} personnes, ou masqué pour qu'un "
        "tel nombre ne puisse pas être déduit)",
    },
    "results": {"en": "Results", "sw": "Matokeo", "fr": "Résultats"},
    "overall": {"en": "Overall", "sw": "Jumla", "fr": "Ensemble"},
    "national": {"en": "National", "sw": "Kitaifa", "fr": "National"},
    "total": {"en": "Total", "sw": "Jumla", "fr": "Total"},
    "group": {"en": "Group", "sw": "Kundi", "fr": "Groupe"},
    "age_band": {"en": "By age band", "sw": "Kwa umri", "fr": "Par tranche d'âge"},
    "sex": {"en": "By sex", "sw": "Kwa jinsia", "fr": "Par sexe"},
    "region": {"en": "By region", "sw": "Kwa eneo", "fr": "Par région"},
    "district": {"en": "By district", "sw": "Kwa kaunti", "fr": "Par district"},
    "district x sex": {
        "en": "By district and sex",
        "sw": "Kwa kaunti na jinsia",
        "fr": "Par district et sexe",
    },
    "age_band x sex": {"en": "By age band and sex", "sw": "Kwa umri na jinsia", "fr": "Par âge et sexe"},
    "female": {"en": "Female", "sw": "Mwanamke", "fr": "Femme"},
    "male": {"en": "Male", "sw": "Mwanamume", "fr": "Homme"},
    "other_sex": {"en": "Other", "sw": "Nyingine", "fr": "Autre"},
    "brief": {"en": "Dialogue brief", "sw": "Muhtasari wa mazungumzo", "fr": "Fiche de dialogue"},
    "answered": {"en": "People who answered", "sw": "Walioshiriki", "fr": "Personnes ayant répondu"},
    "dates": {
        "en": "Answers from {first} to {last}",
        "sw": "Majibu kuanzia {first} hadi {last}",
        "fr": "Réponses du {first} au {last}",
    },
    "no_dates": {"en": "No answers yet", "sw": "Hakuna majibu bado", "fr": "Pas encore de réponses"},
    "discussion": {"en": "For discussion", "sw": "Maswali ya majadiliano", "fr": "Pour la discussion"},
    "also_asked": {"en": "Also asked", "sw": "Maswali mengine", "fr": "Autres questions"},
    "share": {
        "en": "U-Report results, {title}: {question}",
        "sw": "Matokeo ya U-Report, {title}: {question}",
        "fr": "Résultats U-Report, {title} : {question}",
    },
    "hidden_district": {
        "en": "{district}: too few answers to show.",
        "sw": "{district}: majibu ni machache mno kuonyeshwa.",
        "fr": "{district} : trop peu de réponses pour les montrer.",
    },
}


def text(key: str, language: str, **values: object) -> str:
    """The interface string in `language` (else English), with `{name}` placeholders filled."""
    by_language = TEXTS[key]
    template = by_language.get(language) or by_language[DEFAULT_LANGUAGE]
    return template.format(**values)
