"""Golden conversation transcripts: `> ` is what the phone sends, `< ` each message it receives.

A message of several lines continues on lines starting with `| `. Lines starting with `#` are comments;
`# phone: +254...` sets the phone. Set UREPORT_UPDATE_TRANSCRIPTS=1 to rewrite the expected replies from
what the app does now (then read the diff before committing it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PHONE = "+254711000100"


@dataclass
class Exchange:
    sent: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Transcript:
    path: Path
    header: list[str]
    phone: str
    exchanges: list[Exchange]

    def render(self, actual: list[list[str]]) -> str:
        lines = list(self.header)
        for exchange, replies in zip(self.exchanges, actual, strict=True):
            lines.append(f"> {exchange.sent}")
            for reply in replies:
                first, *rest = reply.split("\n")
                lines.append(f"< {first}".rstrip())
                lines.extend(f"| {line}".rstrip() for line in rest)
        return "\n".join(lines) + "\n"


def parse(path: Path) -> Transcript:
    header: list[str] = []
    exchanges: list[Exchange] = []
    phone = DEFAULT_PHONE
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.rstrip("\n")
        if line.startswith("#") or not line.strip():
            if not exchanges:
                header.append(line)
            if line.startswith("# phone:"):
                phone = line.split(":", 1)[1].strip()
            continue
        marker, text = line[:1], line[2:]
        if marker == ">":
            exchanges.append(Exchange(text))
        elif marker == "<" and exchanges:
            exchanges[-1].expected.append(text)
        elif marker == "|" and exchanges and exchanges[-1].expected:
            exchanges[-1].expected[-1] += "\n" + text
        else:
            raise ValueError(f"{path}:{number}: expected '> ', '< ' or '| ', got {line!r}")
    return Transcript(path, header, phone, exchanges)


def updating() -> bool:
    return os.environ.get("UREPORT_UPDATE_TRANSCRIPTS") == "1"
