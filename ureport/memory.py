"""The garbage collector tuned for a long-running process whose start-up builds a large, lasting heap."""

from __future__ import annotations

import gc

GC_YOUNG = 20_000  # container allocations between two young collections (CPython's default: 700)


def settle_memory() -> tuple[int, int, int]:
    """Move what start-up built (modules, ORM metadata, the flows) out of the garbage collector's
    sight, and collect the young generation less often; returns the thresholds for unsettle_memory().

    Under USSD load a full collection scanned start-up's objects again every couple of seconds, about
    90 ms each; frozen, those take 1-3 ms. A batch's rows, models and screens live until its commit:
    with 700 they were scanned and promoted through several young collections (~10 us a hop); with
    GC_YOUNG almost all are freed by their reference counts before any collection runs. The web
    process and `ureport worker` both settle once their start-up is done.
    """
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, *before[1:])
    return before


def unsettle_memory(thresholds: tuple[int, int, int]) -> None:
    """What start-up built can be collected again, at the thresholds settle_memory() returned."""
    gc.unfreeze()
    gc.set_threshold(*thresholds)
