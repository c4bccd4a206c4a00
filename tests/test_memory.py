"""Settling memory after start-up: its heap frozen out of the collector's sight, young collections rarer,
and both undone on the way out (the web process and `ureport worker` both do this)."""

from __future__ import annotations

import gc

from ureport.memory import GC_YOUNG, settle_memory, unsettle_memory


def test_settling_freezes_the_heap_and_raises_the_young_threshold_until_unsettled() -> None:
    before = gc.get_threshold()
    lasting = [{"built": n} for n in range(100)]  # what start-up would keep
    thresholds = settle_memory()
    try:
        assert thresholds == before
        assert gc.get_threshold() == (GC_YOUNG, *before[1:])
        assert gc.get_freeze_count() >= len(lasting)
    finally:
        unsettle_memory(thresholds)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
