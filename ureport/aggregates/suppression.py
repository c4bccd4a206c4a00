"""Small-cell suppression: the one function that turns an exact Table into a PublishedTable."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ureport.aggregates.tables import PublishedTable, Table

__all__ = ["protect", "suppress"]

# The table is a circulation network. Nodes are the table's lines: hub G (the row totals with the grand
# total), hub H (the column totals with the grand total), one node per row, one per column. Entries are
# arcs: G -> row i carries row total i, row i -> column j carries cell (i, j), column j -> H carries
# column total j, H -> G carries the grand total. Each line's equation is flow conservation at its node.
#
# What an attacker knows: every published number, and that every suppressed number is at least 1
# (zeros are always published, so a hidden number is never 0). A suppressed entry is pinned to a single
# value exactly when no cycle of the residual network passes through it: a suppressed arc can always
# grow, and can shrink while above 1; a published arc cannot move. Network matrices are totally
# unimodular, so this is exact over the integers, not only over the reals.
_G, _H = 0, 1


@dataclass(frozen=True, slots=True)
class _Arc:
    tail: int
    head: int
    value: int
    line_total: frozenset[int]  # the nodes for which this arc is the line's total rather than a part


def _network(table: Table) -> list[_Arc]:
    """Arcs in position order (cells row by row, row totals, column totals, grand total): ties go first."""
    m = len(table.rows)
    row = [2 + i for i in range(m)]
    col = [2 + m + j for j in range(len(table.columns))]
    arcs = [
        _Arc(row[i], col[j], n, frozenset())
        for i, counts in enumerate(table.counts)
        for j, n in enumerate(counts)
    ]
    arcs += [_Arc(_G, row[i], n, frozenset({row[i]})) for i, n in enumerate(table.row_totals)]
    arcs += [_Arc(col[j], _H, n, frozenset({col[j]})) for j, n in enumerate(table.column_totals)]
    arcs.append(_Arc(_H, _G, table.total, frozenset({_G, _H})))
    return arcs


@functools.lru_cache(maxsize=1024)
def _prepared(table: Table) -> tuple[list[_Arc], dict[int, list[int]]]:
    """The network and its lines, kept: linked suppression protects the same views again and again."""
    arcs = _network(table)
    return arcs, _incident(arcs)


def _incident(arcs: list[_Arc]) -> dict[int, list[int]]:
    at: dict[int, list[int]] = {}
    for index, arc in enumerate(arcs):
        at.setdefault(arc.tail, []).append(index)
        at.setdefault(arc.head, []).append(index)
    return at


def _complement(
    arcs: list[_Arc], node: int, candidates: list[int], lone: set[int], tiers: Sequence[int]
) -> int:
    """Least information loss: the lowest tier, a part before the line's total, an entry that also
    completes another line with a single hidden entry, then the smallest count, then the first position."""

    def cost(index: int) -> tuple[int, bool, bool, int, int]:
        arc = arcs[index]
        other = arc.head if arc.tail == node else arc.tail
        return (tiers[index], node in arc.line_total, other not in lone, arc.value, index)

    return min(candidates, key=cost)


def _complete_lines(
    arcs: list[_Arc],
    at: dict[int, list[int]],
    hidden: set[int],
    free: frozenset[int] = frozenset(),
    tiers: Sequence[int] | None = None,
) -> None:
    """Until stable: a line with exactly one hidden entry gets a second (its equation would give it away),
    unless that entry is `free`: unknown to the reader but not a secret to keep."""

    def alone(entries: list[int]) -> bool:
        inside = [e for e in entries if e in hidden]
        return len(inside) == 1 and inside[0] not in free

    tiers = tiers or [0] * len(arcs)
    changed = True
    while changed:
        changed = False
        lone = {node for node, entries in at.items() if alone(entries)}
        for node in sorted(lone):
            entries = at[node]
            if not alone(entries):
                continue  # an earlier complement in this pass already completed it
            candidates = [e for e in entries if e not in hidden and arcs[e].value > 0]
            # Conservation at the node guarantees another non-zero entry exists.
            hidden.add(_complement(arcs, node, candidates, lone, tiers))
            changed = True


def _residual(arcs: list[_Arc], hidden: set[int]) -> dict[int, list[tuple[int, int]]]:
    """node -> (next node, arc): a hidden arc can always grow, and can shrink while above 1."""
    out: dict[int, list[tuple[int, int]]] = {}
    for index in sorted(hidden):
        arc = arcs[index]
        out.setdefault(arc.tail, []).append((arc.head, index))
        if arc.value > 1:
            out.setdefault(arc.head, []).append((arc.tail, index))
    return out


def _reaches(out: dict[int, list[tuple[int, int]]], start: int, goal: int, skip: int) -> bool:
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt, arc in out.get(node, ()):
            if arc != skip and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _components(out: dict[int, list[tuple[int, int]]]) -> dict[int, int]:
    """Strongly connected components (Kosaraju): node -> component."""
    order: list[int] = []
    seen: set[int] = set()
    for root in out:
        if root in seen:
            continue
        seen.add(root)
        stack: list[tuple[int, Iterator[tuple[int, int]]]] = [(root, iter(out.get(root, ())))]
        while stack:
            node, edges = stack[-1]
            for nxt, _ in edges:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(out.get(nxt, ()))))
                    break
            else:
                order.append(node)
                stack.pop()
    back: dict[int, list[int]] = {}
    for node, arcs_out in out.items():
        for nxt, _ in arcs_out:
            back.setdefault(nxt, []).append(node)
    component: dict[int, int] = {}
    for root in reversed(order):
        if root in component:
            continue
        component[root], todo = root, [root]
        while todo:
            for prev in back.get(todo.pop(), ()):
                if prev not in component:
                    component[prev] = root
                    todo.append(prev)
    return component


def _pinned(
    arcs: list[_Arc], hidden: set[int], free: frozenset[int] = frozenset(), safe: set[int] | None = None
) -> int | None:
    """The first hidden entry whose value follows from what is published, or None when all are safe.

    Entries found safe are added to `safe` and not checked again: hiding more only adds ways to move.
    A hidden 1 can only grow, so it is safe exactly when its two ends are strongly connected."""
    safe = set() if safe is None else safe
    out = _residual(arcs, hidden)
    component = _components(out)
    # Growing alone: a cycle of growing arcs never uses the arc's own way back, whatever its value.
    grown = _components(
        {node: [(n, a) for n, a in edges if arcs[a].head == n] for node, edges in out.items()}
    )
    for index in sorted(hidden - free - safe):
        arc = arcs[index]
        if grown.get(arc.head, -1) == grown.get(arc.tail, -2):
            moves = True
        elif arc.value == 1:
            moves = component.get(arc.head, -1) == component.get(arc.tail, -2)
        else:
            moves = _reaches(out, arc.head, arc.tail, index) or _reaches(out, arc.tail, arc.head, index)
        if not moves:
            return index
        safe.add(index)
    return None


def _cheapest_cycle(
    arcs: list[_Arc], hidden: set[int], through: int, tiers: Sequence[int] | None = None
) -> set[int]:
    """Published entries to hide so that a residual cycle passes through `through`, at least total count
    from the lowest tiers: one number of a higher tier costs more than every number of the lower ones.

    Hidden arcs cost nothing to use; a published non-zero arc costs its count. The flow itself is a sum
    of cycles, so a cycle through any non-zero arc exists and the search always succeeds."""
    above = 1 + sum(arc.value for arc in arcs)  # the cost of one tier up
    steps: dict[int, list[tuple[int, int, int]]] = {}  # node -> (next node, cost, arc)
    for index, arc in enumerate(arcs):
        if index == through or arc.value == 0:
            continue
        cost = 0 if index in hidden else arc.value + (tiers[index] * above if tiers else 0)
        steps.setdefault(arc.tail, []).append((arc.head, cost, index))
        if arc.value > 1:
            steps.setdefault(arc.head, []).append((arc.tail, cost, index))
    target = arcs[through]
    best: tuple[int, set[int]] | None = None
    starts = [(target.head, target.tail)] + ([(target.tail, target.head)] if target.value > 1 else [])
    for start, goal in starts:
        found = _dijkstra(steps, start, goal)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    added = set() if best is None else best[1] - hidden
    if not added:  # would mean the flow is not a circulation, or `through` was not pinned: a bug here
        raise RuntimeError(f"no way to protect entry {through} of the table")
    return added


def _dijkstra(
    steps: dict[int, list[tuple[int, int, int]]], start: int, goal: int
) -> tuple[int, set[int]] | None:
    dist = {start: 0}
    via: dict[int, tuple[int, int]] = {}  # node -> (previous node, arc)
    queue = [(0, start)]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == goal:
            path: set[int] = set()
            while node != start:
                node, arc = via[node]
                path.add(arc)
            return cost, path
        if cost > dist[node]:
            continue
        for nxt, step, arc in steps.get(node, ()):
            if cost + step < dist.get(nxt, cost + step + 1):
                dist[nxt] = cost + step
                via[nxt] = (node, arc)
                heapq.heappush(queue, (cost + step, nxt))
    return None


def _published(values: Iterable[tuple[int, _Arc]], hidden: set[int]) -> tuple[int | None, ...]:
    return tuple(None if index in hidden else arc.value for index, arc in values)


def protect(
    table: Table,
    hidden: Iterable[int],
    free: Iterable[int] = (),
    safe: set[int] | None = None,
    tiers: Sequence[int] | None = None,
) -> set[int]:
    """The positions to hide so that none of `hidden` can be worked out from the rest of the table.

    Positions number the table's numbers as suppress() orders them: cells row by row, then row totals,
    column totals and the grand total. `hidden` must hold no zero. `free` positions (among `hidden`)
    are numbers nobody publishes, such as the answers with an unknown sex: unknown, so they can take
    other values, but not secrets, so nothing is hidden to protect them. Linked-table suppression
    (ureport.aggregates.joint) calls this on every two-way view of a question's tables, again and again
    as more is hidden, passing `safe`: the positions already proven safe in this table, and `tiers`: how
    much each position matters (0 by default), so that complements are taken from the lowest tier first
    and the numbers readers look at first (a question's national results) are hidden last."""
    arcs, at = _prepared(table)
    chosen, unpublished, proven = set(hidden), frozenset(free), set() if safe is None else safe
    while True:
        _complete_lines(arcs, at, chosen, unpublished, tiers)
        pinned = _pinned(arcs, chosen, unpublished, proven)
        if pinned is None:
            return chosen
        chosen |= _cheapest_cycle(arcs, chosen, pinned, tiers)


def publish(table: Table, hidden: set[int], k: int) -> PublishedTable:
    """The table with the numbers at `hidden` positions (suppress()'s order) replaced by None."""
    arcs = _network(table)
    m, n = len(table.rows), len(table.columns)
    numbered = list(enumerate(arcs))
    return PublishedTable(
        rows=table.rows,
        columns=table.columns,
        cells=tuple(_published(numbered[i * n : (i + 1) * n], hidden) for i in range(m)),
        row_totals=_published(numbered[m * n : m * n + m], hidden),
        column_totals=_published(numbered[m * n + m : m * n + m + n], hidden),
        total=_published(numbered[-1:], hidden)[0],
        min_cell=k,
    )


def check_k(k: int) -> None:
    if type(k) is not int or k < 1:
        raise ValueError(f"the minimum cell size k must be a positive integer, not {k!r}")


def suppress(table: Table, k: int) -> PublishedTable:
    """Hide every count (cell or total) with 0 < n < k, then just enough others that none of the hidden
    ones can be worked out from what is published. Pure and deterministic."""
    check_k(k)
    primary = {index for index, arc in enumerate(_network(table)) if 0 < arc.value < k}
    return publish(table, protect(table, primary), k)
