"""How many SMS parts a text costs: GSM-7 (3GPP TS 23.038) or UCS-2, per TS 23.040 sizes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# The 128-position default alphabet minus ESC (0x1B), which only introduces the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each costs two septets: ESC plus its code.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# (single message, per part once concatenated): the 6-octet UDH eats into each part.
_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    units: int
    parts: int


def is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


@functools.lru_cache(maxsize=4096)  # replies repeat (every respondent gets the same questions)
def sms_segments(text: str) -> Segments:
    """Encoding, total units (septets or UTF-16 code units) and parts for `text`.

    An empty text still costs one part, as the network sends an empty message.
    """
    encoding: Encoding
    if all(is_gsm7(char) for char in text):
        encoding = "GSM-7"
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
    else:
        encoding = "UCS-2"
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    units = sum(sizes)
    single, per_part = _LIMITS[encoding]
    if units <= single:
        return Segments(encoding, units, 1)
    parts, used = 1, 0
    for size in sizes:
        # An escape pair or a surrogate pair moves whole to the next part rather than split.
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return Segments(encoding, units, parts)
