"""When published results are served from memory and when they are recomputed."""

from __future__ import annotations

from ureport.aggregates.results import CACHE_SECONDS, SPACING, _Cached

OLD, NEW = (("q", "yes", 5),), (("q", "yes", 6),)


def test_results_are_recomputed_after_a_new_answer_when_that_is_quick() -> None:
    cached = _Cached(OLD, at=100.0, took=0.2, data={})
    assert cached.fresh(OLD, now=101.0)
    assert not cached.fresh(NEW, now=100.1)


def test_slow_results_wait_before_being_recomputed_for_new_answers() -> None:
    # Joint suppression of a thin poll can take seconds: a live poll's answers would keep a core busy.
    cached = _Cached(OLD, at=100.0, took=3.0, data={})
    assert cached.fresh(NEW, now=100.0 + SPACING * 3.0 - 0.1)
    assert not cached.fresh(NEW, now=100.0 + SPACING * 3.0)


def test_nothing_is_served_older_than_the_cache_bound() -> None:
    cached = _Cached(OLD, at=100.0, took=30.0, data={})
    assert not cached.fresh(OLD, now=100.0 + CACHE_SECONDS)
    assert not cached.fresh(NEW, now=100.0 + CACHE_SECONDS)
