"""SMS rendering of engine messages, and GSM-7 length accounting for SMS budgets."""

from __future__ import annotations

from ureport.flows.engine import MsgOut

# GSM 03.38 basic character set; the extension set costs two septets (an escape, then the character).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
SMS_SINGLE_GSM7 = 160


def render_sms(msg: MsgOut) -> str:
    """The SMS text of a message: a question with choices gets one numbered line per choice."""
    if msg.prompt is None or not msg.prompt.choices:
        return msg.text
    lines = [msg.text, *(f"{number}. {label}" for number, label in enumerate(msg.prompt.choices, 1))]
    return "\n".join(lines)


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM-7, or None when it needs UCS-2 (70 characters per SMS)."""
    length = 0
    for char in text:
        if char in _GSM7_BASIC:
            length += 1
        elif char in _GSM7_EXTENSION:
            length += 2
        else:
            return None
    return length
