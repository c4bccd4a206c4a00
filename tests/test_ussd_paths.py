"""What a USSD session remembers of the texts it was sent: retries, late hops and the new input of each
hop are told apart from digests alone, and nothing typed is kept."""

from __future__ import annotations

import pytest

from ureport.channels.ussd.paths import KEPT, Path
from ureport.privacy import Keyring

KEYRING = Keyring.from_secret("test-secret-key-not-for-production")
digest = KEYRING.input_digest


def remembering(*texts: str) -> Path:
    path = Path()
    for text in texts:
        path = Path.parse(path.taking(text, digest(text)).stored())  # through storage, as a session does
    return path


@pytest.mark.parametrize(
    ("sent", "text", "new_input"),
    [
        (("",), "1", "1"),  # after the empty first hop, all of the text is new
        (("", "1"), "1*2", "2"),
        (("", "1", "1*2"), "1*2*2007", "2007"),
        (("1*2",), "1*2*3", "3"),  # a deep dial's first hop
        (("", "1", "1*my*street"), "1*my*street*4", "4"),  # a free-text answer holding '*'
        (("", "1", "1*2"), "1*2*more*lights", "more*lights"),
        (("", "1", "1*2"), "1*3*4", None),  # does not extend the latest text
        (("", "1", "1*2"), "1*22", None),  # extends it, but not at an input boundary
        (("", "1", "1*2"), "9", None),
        ((), "1", None),  # nothing remembered: resynchronise
    ],
)
def test_the_new_input_is_what_extends_the_latest_text(
    sent: tuple[str, ...], text: str, new_input: str | None
) -> None:
    assert remembering(*sent).new_input(text, digest) == new_input


@pytest.mark.parametrize(
    ("sent", "text", "seen"),
    [
        (("", "1", "1*2"), "1*2", True),  # the gateway retried the latest hop
        (("", "1", "1*2"), "1", True),  # an earlier hop arriving late
        (("", "1", "1*2"), "", True),
        (("", "1", "1*2"), "1*2*3", False),
        (("", "1", "1*2"), "2", False),
    ],
)
def test_a_text_sent_before_is_seen(sent: tuple[str, ...], text: str, seen: bool) -> None:
    assert remembering(*sent).seen(digest(text)) is seen


def test_it_keeps_lengths_and_digests_of_the_last_few_texts_only() -> None:
    texts = ["", *("*".join(["1"] * n) for n in range(1, KEPT + 3))]
    path = remembering(*texts, "1*my number is 0711000111")
    stored = path.stored()
    assert "0711000111" not in stored and "number" not in stored
    assert len(path.texts) == KEPT
    assert not path.seen(digest(""))  # forgotten: long before the last few
    assert path.seen(digest("1*my number is 0711000111"))


def test_a_value_from_before_digests_remembers_nothing() -> None:
    legacy = Path.parse(KEYRING.encrypt_text("1*2"))  # what path_cipher held
    assert legacy == Path() and legacy.new_input("1*2*3", digest) is None


def test_input_digests_are_keyed() -> None:
    other = Keyring.from_secret("another-secret-0123456789")
    assert digest("1*2") == digest("1*2") != digest("1*3")
    assert other.input_digest("1*2") != digest("1*2")
