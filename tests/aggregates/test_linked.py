"""Linked-table suppression: no hidden number of a question's tables can be worked out from all of them,
checked by an exact attacker (tests/aggregates/audit.py) over small random worlds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.aggregates.audit import SILENT, UNKNOWN, World, numbers, unsafe
from ureport.aggregates.joint import suppress_linked
from ureport.aggregates.linked import Plan

PLAN = Plan(one_way=("district", "sex", "region"), pairs=(("district", "sex"),))

known_count = st.sampled_from([0, 0, 1, 1, 2, 3, 4, 6, 9])
rare_count = st.sampled_from([0, 0, 0, 0, 1, 2, 5])


@st.composite
def worlds(draw: st.DrawFn) -> World:
    districts = ("d1", "d2")[: draw(st.integers(1, 2))]
    sexes = ("female", "male")[: draw(st.integers(1, 2))]
    answers = ("yes", "no")[: draw(st.integers(1, 2))]
    regions = {d: draw(st.sampled_from(["r1", "r2"])) for d in districts}
    shape = World(districts, sexes, answers, regions, {})
    people = {
        (d, s, a): draw(rare_count if UNKNOWN in (d, s) or a == SILENT else known_count)
        for d, s, a in shape.cells()
    }
    return World(districts, sexes, answers, regions, people)


@settings(deadline=None, max_examples=150)
@given(world=worlds(), k=st.sampled_from([2, 3, 5]))
def test_no_hidden_number_can_be_worked_out_from_all_the_tables(world: World, k: int) -> None:
    tables = suppress_linked(world.counts(), PLAN, k)
    assert not [n for _, n in numbers(tables) if n is not None and 0 < n < k]
    assert unsafe(world, tables) == []
