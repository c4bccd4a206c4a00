"""What a USSD session remembers of the texts the gateway sent it: enough to know a retry, a late hop
and the input a new hop adds, without keeping what was typed (a free-text answer may carry anything).

The gateway sends every input so far joined by `*` (`1*2*2007`). A session keeps, for each of the last
few texts, its length and a keyed digest (Keyring.input_digest): a text seen before is a retry or an
earlier hop arriving late; a text whose first `length` characters have the latest digest, followed by
`*`, extends the path, and what follows is the new input. A free-text answer may hold a `*` itself, so
the latest text is compared as a prefix, never split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KEPT = 8  # texts remembered: a retry, or a hop that arrives late, is one of the last few


@dataclass(frozen=True, slots=True)
class Path:
    texts: tuple[tuple[int, str], ...] = ()  # (length, digest) of each text remembered, oldest first

    @classmethod
    def parse(cls, stored: str) -> Path:
        """The path as `stored()` wrote it; a value in any other form (a session written before digests,
        which held a ciphertext) remembers nothing, and its next hop resynchronises."""
        texts = []
        for entry in stored.split():
            length, sep, digest = entry.partition(":")
            if not sep or not length.isdecimal():
                return cls()
            texts.append((int(length), digest))
        return cls(tuple(texts))

    def stored(self) -> str:
        return " ".join(f"{length}:{digest}" for length, digest in self.texts)

    def taking(self, text: str, digest: str) -> Path:
        """This path with `text` (whose digest is `digest`) as its latest."""
        return Path((*self.texts, (len(text), digest))[-KEPT:])

    def seen(self, digest: str) -> bool:
        """Whether a text with this digest came before."""
        return any(known == digest for _, known in self.texts)

    def new_input(self, text: str, digest_of: Callable[[str], str]) -> str | None:
        """The input `text` adds to the latest text, or None when it does not extend it (or nothing is
        remembered)."""
        if not self.texts:
            return None
        length, digest = self.texts[-1]
        if length == 0:  # the latest was the empty first hop: all of `text` is new
            return text
        if len(text) > length and text[length] == "*" and digest_of(text[:length]) == digest:
            return text[length + 1 :]
        return None
