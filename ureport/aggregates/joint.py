"""Joint suppression of a question's linked tables: hidden numbers stay hidden across all of them.

Two stages, repeated until both are satisfied:

1. *Views.* Every published table and every two-way slice of the sums between tables (a district's row
   against its district x sex rows, a category's districts by sexes, a region against its districts...)
   is protected by the exact two-way suppression of suppression.py, with what is already hidden anywhere
   hidden in it too, until no view hides anything more.
2. *Proof.* Views are only slices: a cycle of alternative values in one slice can break a sum in
   another. So every hidden published number must have a certificate: a change of +1 or -1 to some
   hidden numbers (never a published one, never a hidden one below 1) that keeps every sum of the model
   exact and changes this number. Such a change is another table of counts consistent with everything
   published, so the number is not determined. A number without one gets a cheap change that passes
   through published numbers, and those are hidden; then stage 1 runs again.

The search for a certificate is bounded. When it gives up, more is hidden, never less: in the end every
non-zero number may be hidden, and then adding one more answer like any real one is a certificate for
every hidden number it counts in. So the result is always safe; only how much is hidden depends on the
bounds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ureport.aggregates.linked import Counts, Key, Layout, Model, Plan, build, view_table
from ureport.aggregates.suppression import check_k, protect
from ureport.aggregates.tables import PublishedTable, Table

__all__ = ["joint_hidden", "suppress_linked"]

BUDGET = 400  # search steps per certificate: enough for the sums of real tables, bounded for odd ones


class _GaveUp(Exception):
    pass


def _views(model: Model) -> tuple[list[tuple[list[Key], Table]], dict[Key, list[int]]]:
    views: list[tuple[list[Key], Table]] = []
    for layout in model.views:
        table = view_table(model, layout)
        if table is not None:
            views.append((layout.keys(), table))
    index: dict[Key, list[int]] = {}
    for i, (keys, _) in enumerate(views):
        for key in dict.fromkeys(keys):
            index.setdefault(key, []).append(i)
    return views, index


def _fixed_point(
    views: list[tuple[list[Key], Table]], index: dict[Key, list[int]], hidden: set[Key], published: set[Key]
) -> None:
    """Protect every view, re-protecting the views of each newly hidden number, until nothing changes."""
    queue = deque(i for i, (keys, _) in enumerate(views) if any(k in hidden for k in keys))
    queued = set(queue)
    proven: dict[int, set[int]] = {}  # view -> positions already proven safe in it
    while queue:
        i = queue.popleft()
        queued.discard(i)
        keys, table = views[i]
        forced = {pos for pos, key in enumerate(keys) if key in hidden}
        free = {pos for pos in forced if keys[pos] not in published}
        chosen = protect(table, forced, free, proven.setdefault(i, set()))
        new = sorted({keys[pos] for pos in chosen} - hidden)
        for key in new:
            hidden.add(key)
            for j in index.get(key, ()):
                if j not in queued:
                    queued.add(j)
                    queue.append(j)


class _Moves:
    """Integer changes that keep every sum of the model: the certificates of stage 2."""

    def __init__(self, model: Model) -> None:
        self.size = {key: abs(v) for key, v in model.values.items()}
        self.members: list[list[tuple[Key, int]]] = []
        self.at: dict[Key, list[tuple[int, int]]] = {}
        for line, (total, parts) in enumerate(model.lines):
            # A signed difference (a count computed as a - b that came out negative) enters its sum
            # with the opposite sign and its size, so that every entry moves within 1..infinity.
            members = [(total, -1 if model.values[total] >= 0 else 1)]
            members += [(p, 1 if model.values[p] >= 0 else -1) for p in parts]
            self.members.append(members)
            for key, coef in members:
                self.at.setdefault(key, []).append((line, coef))
        self.certified: set[Key] = set()

    def find(self, start: Key, cost: Callable[[Key], int | None]) -> dict[Key, int] | None:
        """A change through `start` using only entries with a cost, found by depth-first search."""
        search = _Search(self, cost)
        for sign in (1, -1):
            if sign < 0 and self.size[start] < 2:
                continue
            delta = {start: sign}
            open_lines: dict[int, int] = {}
            self.shift(start, sign, open_lines)
            try:
                if search.run(delta, open_lines):
                    return delta
            except _GaveUp:
                return None
        return None

    def shift(self, key: Key, d: int, open_lines: dict[int, int]) -> None:
        for line, coef in self.at.get(key, ()):
            b = open_lines.get(line, 0) + coef * d
            if b:
                open_lines[line] = b
            else:
                open_lines.pop(line, None)


class _Search:
    """One depth-first search: the sum with the fewest usable entries is balanced first."""

    def __init__(self, moves: _Moves, cost: Callable[[Key], int | None]) -> None:
        self.moves, self.cost, self.steps = moves, cost, 0
        self.usable: dict[int, list[tuple[Key, int, int]]] = {}

    def members(self, line: int) -> list[tuple[Key, int, int]]:
        if line not in self.usable:
            found = ((key, coef, self.cost(key)) for key, coef in self.moves.members[line])
            self.usable[line] = [(key, coef, price) for key, coef, price in found if price is not None]
        return self.usable[line]

    def run(self, delta: dict[Key, int], open_lines: dict[int, int]) -> bool:
        self.steps += 1
        if self.steps > BUDGET:
            raise _GaveUp
        if not open_lines:
            return True
        line = min(open_lines, key=lambda n: (len(self.members(n)), n))
        for _, key, d in sorted(self.options(line, delta, open_lines)):
            delta[key] = d
            self.moves.shift(key, d, open_lines)
            if self.run(delta, open_lines):
                return True
            self.moves.shift(key, -d, open_lines)
            del delta[key]
        return False

    def options(
        self, line: int, delta: dict[Key, int], open_lines: dict[int, int]
    ) -> list[tuple[tuple[int, int], Key, int]]:
        """Entries that would reduce the imbalance of `line`, cheapest and most closing first."""
        b = open_lines[line]
        options = []
        for key, coef, price in self.members(line):
            d = -coef if b > 0 else coef
            if key in delta or (d < 0 and self.moves.size[key] < 2):
                continue
            opened = 0
            for other, c in self.moves.at[key]:
                if other != line:
                    now = open_lines.get(other, 0)
                    opened += 1 if now == 0 else (-1 if now * c * d < 0 else 1)
            options.append(((price, opened), key, d))
        return options


def joint_hidden(model: Model, k: int) -> set[Key]:
    """The entries to hide: primary ones, then complements until every hidden number is proven safe."""
    values = model.values
    hidden = {key for key in model.published if 0 < values[key] < k}
    hidden |= {key for key, v in values.items() if key not in model.published and v != 0}
    views, index = _views(model)
    moves = _Moves(model)
    while True:
        _fixed_point(views, index, hidden, model.published)
        stuck = _first_unproven(moves, model, hidden)
        if stuck is None:
            return hidden
        more = _opening(moves, model, hidden, stuck) - hidden
        if not more:
            return hidden  # every non-zero number is hidden: safe, see the module's docstring
        hidden |= more


def _first_unproven(moves: _Moves, model: Model, hidden: set[Key]) -> Key | None:
    for key in sorted(hidden & model.published):
        if key in moves.certified:
            continue
        move = moves.find(key, lambda e: 0 if e in hidden else None)
        if move is None:
            return key
        moves.certified |= move.keys()  # every entry the change moves takes another value with it
    return None


def _opening(moves: _Moves, model: Model, hidden: set[Key], stuck: Key) -> set[Key]:
    """Published numbers to hide so that `stuck` gets a certificate: a change through published numbers
    no larger than a bound that doubles from k, so that small numbers go before totals; failing that,
    its neighbours in every sum; failing that, everything non-zero."""
    values, published = model.values, model.published
    bound = max(2, min(values[stuck], *(v for v in values.values() if v > 0)))
    largest = max(values[key] for key in published)
    while True:
        limit = bound

        def price(key: Key, limit: int = limit) -> int | None:
            if key in hidden:
                return 0
            return values[key] if key in published and 0 < values[key] <= limit else None

        move = moves.find(stuck, price)
        added = set() if move is None else {key for key in move if key not in hidden}
        if added or bound >= largest:
            break
        bound *= 2
    if added:
        return added
    near = {key for line, _ in moves.at.get(stuck, ()) for key, _ in moves.members[line]}
    added = {key for key in near if key in published and key not in hidden and values[key] > 0}
    return added or {key for key in published if values[key] > 0}


def _publish(layout: Layout, model: Model, hidden: set[Key], k: int) -> PublishedTable:
    def shown(key: Key) -> int | None:
        return None if key in hidden else model.values[key]

    return PublishedTable(
        rows=layout.rows,
        columns=layout.columns,
        cells=tuple(tuple(shown(key) for key in row) for row in layout.cells),
        row_totals=tuple(shown(key) for key in layout.row_totals),
        column_totals=tuple(shown(key) for key in layout.column_totals),
        total=shown(layout.total),
        min_cell=k,
    )


def suppress_linked(counts: Counts, plan: Plan, k: int) -> dict[str, PublishedTable]:
    """Every table of `plan` for one question, suppressed together: no hidden number of any of them can
    be worked out from all of them. Pure and deterministic."""
    check_k(k)
    model = build(counts, plan)
    hidden = joint_hidden(model, k)
    return {name: _publish(layout, model, hidden, k) for name, layout in model.tables.items()}
