"""The counts on the admin pages: people in each poll, people who answered, and messages by status.

A poll's own page takes its delivery figures from `ureport.delivery` (what `ureport polls status` prints);
the list needs every poll's at once. These are staff pages: the counts are not suppressed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tortoise.functions import Count

from ureport.delivery import STATUSES
from ureport.models import Answer, FlowRun, OutboundMessage

__all__ = ["STATUSES", "PollFigures", "all_polls"]


@dataclass
class PollFigures:
    participants: int = 0  # runs of the poll: people it was started for, or who started it
    answered: int = 0  # runs with at least one saved answer
    messages: dict[str, int] = field(default_factory=dict)  # broadcast and reminder messages by status


async def all_polls() -> dict[int, PollFigures]:
    """Figures for every poll in three grouped queries (one row per poll and status, not per person)."""
    out: dict[int, PollFigures] = defaultdict(PollFigures)
    runs = FlowRun.annotate(n=Count("id")).group_by("poll_id").values_list("poll_id", "n")
    for poll_id, n in await runs:
        out[int(poll_id)].participants = int(n)
    answered = Answer.annotate(n=Count("run_id", distinct=True)).group_by("poll_id")
    for poll_id, n in await answered.values_list("poll_id", "n"):
        out[int(poll_id)].answered = int(n)
    sent = OutboundMessage.filter(poll_id__isnull=False).annotate(n=Count("id")).group_by("poll_id", "status")
    for poll_id, status, n in await sent.values_list("poll_id", "status", "n"):
        out[int(poll_id)].messages[str(status)] = int(n)
    return dict(out)
