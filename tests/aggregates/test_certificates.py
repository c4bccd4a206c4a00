"""Certificates are real: every change found keeps every sum of the model exact, moves only what it may,
and keeps hidden numbers at 1 or more, whether the quick search or the integer program found it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.aggregates.audit import World
from tests.aggregates.test_linked import PLAN, worlds
from ureport.aggregates import certificates
from ureport.aggregates.certificates import Certificates, Change
from ureport.aggregates.joint import primary
from ureport.aggregates.linked import Key, Model, build


def check(model: Model, change: Change, start: Key, movable: set[Key]) -> None:
    """A change is in sizes (a number computed as a difference that came out negative moves by its
    size), so each entry moves by sign(value) * d."""
    assert change.get(start) in (1, -1)
    assert set(change) <= movable
    assert all(d in (1, -1) and abs(model.values[key]) + d >= 1 for key, d in change.items())

    def moved(key: Key) -> int:
        return change.get(key, 0) * (1 if model.values[key] >= 0 else -1)

    for total, parts in model.lines:
        assert moved(total) == sum(moved(p) for p in parts), (total, parts)


@pytest.mark.parametrize("steps", [0, certificates.STEPS])  # 0: the integer program does all the work
@settings(deadline=None, max_examples=60)
@given(world=worlds(), k=st.sampled_from([2, 5]))
def test_every_certificate_keeps_every_sum(world: World, k: int, steps: int) -> None:
    model = build(world.counts(), PLAN)
    hidden = primary(model, k)
    found = Certificates(model)
    old, certificates.STEPS = certificates.STEPS, steps
    try:
        for start in sorted(hidden & model.published):
            quick = found.quick(start, lambda e: 0 if e in hidden else None)
            if quick is not None:
                check(model, quick, start, hidden)
            proof = found.prove(hidden, start, hidden & model.published)
            if proof is not None:
                check(model, proof, start, hidden)
            elif quick is not None:
                pytest.fail(f"the integer program missed the certificate {quick} of {start}")
            opening = found.cheapest(start, lambda e: 0 if e in hidden else model.values[e] or None)
            assert opening is not None  # through published numbers, a change always exists
            check(model, opening, start, {e for e, v in model.values.items() if v})
    finally:
        certificates.STEPS = old


def test_the_cheapest_opening_goes_through_the_smallest_numbers() -> None:
    # One question (yes/no) over three districts; Lamu's "no" (1) is hidden. The change through it that
    # hides the least passes through Lamu's other cell and Nyeri's two (3 + 2 + 4), not Nairobi's.
    world = World(
        districts=("lamu", "nairobi", "nyeri"),
        sexes=("female",),
        answers=("yes", "no"),
        regions={"lamu": "coast", "nairobi": "nairobi", "nyeri": "central"},
        people={
            ("lamu", "female", "yes"): 3,
            ("lamu", "female", "no"): 1,
            ("nairobi", "female", "yes"): 40,
            ("nairobi", "female", "no"): 30,
            ("nyeri", "female", "yes"): 2,
            ("nyeri", "female", "no"): 4,
        },
    )
    model = build(world.counts(), PLAN)
    start = ((("district", "lamu"),), "no")
    found = Certificates(model)
    opening = found.cheapest(start, lambda e: 0 if e == start else model.values[e] or None)
    assert opening is not None
    moved = {key[0] for key in opening if key[1] in ("yes", "no")}
    assert (("district", "nairobi"),) not in moved
    assert (("district", "nyeri"),) in moved


def test_no_certificate_when_a_hidden_number_is_alone_in_its_sums() -> None:
    world = World(
        districts=("lamu", "nairobi"),
        sexes=("female",),
        answers=("yes", "no"),
        regions={"lamu": "coast", "nairobi": "nairobi"},
        people={
            ("lamu", "female", "yes"): 1,
            ("lamu", "female", "no"): 9,
            ("nairobi", "female", "yes"): 9,
            ("nairobi", "female", "no"): 9,
        },
    )
    model = build(world.counts(), PLAN)
    start = ((("district", "lamu"),), "yes")
    found = Certificates(model)
    assert found.quick(start, lambda e: 0 if e == start else None) is None
    assert found.prove({start}, start, {start}) is None


def test_a_solution_is_used_only_if_it_holds_in_integers() -> None:
    import numpy as np
    from scipy import sparse

    from ureport.aggregates.certificates import _exact

    sums = sparse.csr_array(np.array([[-1, 1, 1, 0], [0, 0, 1, -1]]))  # a = b + c, c = d
    down = np.array([1.0, 1.0, 0.0, 1.0])  # c is a hidden 1: it may only grow
    assert _exact(sums, np.array([1, 0, 1, 1]), down, 0)
    assert not _exact(sums, np.array([1, 0, 0, 0]), down, 0)  # breaks a = b + c
    assert not _exact(sums, np.array([0, -1, 1, 1]), down, 0)  # does not move the number to prove
    assert not _exact(sums, np.array([-1, 0, -1, -1]), down, 0)  # takes the hidden 1 to 0
    assert not _exact(sums, np.array([2, 0, 2, 2]), down, 0)  # more than one step
