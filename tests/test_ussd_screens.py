"""USSD screens stay within the budget for every page, error line and alphabet; navigation is numbered."""

from __future__ import annotations

import pytest

from ureport.channels.ussd.screens import Deck, Option, cost, for_screen, layout, prompt_page, render

LONG = " ".join(["Harassment on the way home is something many young people face every day."] * 4)
COUNTIES = tuple(Option(n, f"County number {n}", str(n)) for n in range(1, 48))
DECKS = {
    "long texts then a number": Deck("flow", "q", (LONG, LONG), "How many minutes?", free=True),
    "district list": Deck("district", "q", (), "Which county do you live in?", COUNTIES, free=True),
    "long menu labels": Deck("main", "m", (), "Pick", tuple(Option(n, LONG[:60], "x") for n in range(1, 9))),
    "arabic script": Deck("flow", "q", ("مرحبا بكم في يو-ريبورت " * 6,), "ما هو عمرك؟", free=True),
    "an end": Deck("end", "end", (LONG,), end=True),
}


@pytest.mark.parametrize("budget", [120, 160, 182])
@pytest.mark.parametrize("name", list(DECKS))
def test_every_page_fits_the_budget_even_with_an_error_line(name: str, budget: int) -> None:
    deck = DECKS[name]
    pages = layout(deck, budget)
    for page in range(len(pages)):
        for error in (None, "invalid", "empty"):
            body = render(deck, page, budget, error=error)
            assert cost(body) <= budget, (name, page, body)
            assert body.startswith("END " if deck.end and page == len(pages) - 1 else "CON ")
    shown = "\n".join(pages)
    assert all(f"{o.number}. " in shown for o in deck.options)


def test_navigation_lines() -> None:
    deck = DECKS["district list"]
    pages = layout(deck, 160)
    assert len(pages) > 2 and prompt_page(deck, 160) == 0
    assert render(deck, 0, 160).endswith("\n98. More") and "0. Back" not in render(deck, 0, 160)
    assert render(deck, 1, 160).endswith("\n98. More\n0. Back")
    assert render(deck, len(pages) - 1, 160).endswith("47. County number 47")  # typed input: 0 is an answer
    texts_first = DECKS["long texts then a number"]
    assert prompt_page(texts_first, 160) == len(layout(texts_first, 160)) - 1


def test_characters_telcos_cannot_show_are_simplified_or_counted_as_ucs2() -> None:
    assert for_screen("Français “oui” – Zürich") == 'Francais "oui" - Zürich'
    assert cost("a" * 10) == 10
    assert cost("ع" * 7) == 16  # UCS-2: 70 characters take the room of 160
