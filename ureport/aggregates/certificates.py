"""Certificates for linked suppression: integer changes to hidden numbers that keep every sum exact.

A certificate is a change of +1 or -1 to some entries of the linked-table model (never a published
number, never a hidden one below 1) that keeps every sum of the model exact. Such a change is another
table of counts consistent with everything published, so every entry it moves is not determined.

Two ways to find one, cheapest first:

- a depth-first search with a small step budget: most hidden numbers of real tables have a short
  certificate next to them, found in a fraction of a millisecond;
- an integer program (HiGHS's mixed-integer solver, through scipy): exact, tens of milliseconds on a
  question over 47 districts. The search gives up on thin tables where certificates exist (the demo's
  400 people, the brief's age band x district table); hiding more for want of one hid national results.

The change is the difference of two 0/1 vectors over the entries (up, down); every sum is an equality.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ureport.aggregates.linked import Key, Model

__all__ = ["Certificates"]

STEPS = 300  # depth-first steps before the integer program takes over
NODES = 2000  # branch-and-bound nodes per integer program: bounded and deterministic (a time limit is not)
GAP = 0.5  # a change moving half as many unproven numbers as the best possible one is good enough

Cost = Callable[[Key], int | None]  # what moving an entry costs; None: it must not move
Change = dict[Key, int]


class _GaveUp(Exception):
    pass


class Certificates:
    """The sums of one model, ready to search; `certified` remembers what has been proven so far
    (hiding more only adds ways to move, so a proof stays valid)."""

    def __init__(self, model: Model) -> None:
        self.keys = sorted(model.values)
        self.column = {key: i for i, key in enumerate(self.keys)}
        self.size = {key: abs(v) for key, v in model.values.items()}
        self.members: list[list[tuple[Key, int]]] = []
        self.at: dict[Key, list[tuple[int, int]]] = {}
        rows, columns, coefficients = [], [], []
        for line, (total, parts) in enumerate(model.lines):
            # A signed difference (a count computed as a - b that came out negative) enters its sum
            # with the opposite sign and its size, so that every entry moves within 1..infinity.
            members = [(total, -1 if model.values[total] >= 0 else 1)]
            members += [(p, 1 if model.values[p] >= 0 else -1) for p in parts]
            self.members.append(members)
            for key, coef in members:
                self.at.setdefault(key, []).append((line, coef))
                rows.append(line)
                columns.append(self.column[key])
                coefficients.append(coef)
        shape = (len(model.lines), len(self.keys))
        self.sums = sparse.csc_array((coefficients, (rows, columns)), shape=shape)
        self.certified: set[Key] = set()

    def neighbours(self, key: Key) -> set[Key]:
        """Every entry that shares a sum with `key`."""
        return {other for line, _ in self.at.get(key, ()) for other, _ in self.members[line]}

    # Depth-first search.

    def quick(self, start: Key, cost: Cost) -> Change | None:
        """A change through `start` found depth-first within STEPS steps, or None."""
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
        """Add d times `key` to the imbalance of each of its sums."""
        for line, coef in self.at.get(key, ()):
            b = open_lines.get(line, 0) + coef * d
            if b:
                open_lines[line] = b
            else:
                open_lines.pop(line, None)

    # Integer programs.

    def prove(self, hidden: AbstractSet[Key], start: Key, wanted: AbstractSet[Key]) -> Change | None:
        """A change of hidden numbers only through `start`, moving as many of `wanted` as it can so that
        one solve proves many, or None when there is none."""
        columns, price, down, sums = self._problem(lambda key: 0 if key in hidden else None)
        reward = np.array([self.keys[j] in wanted for j in columns], dtype=float)
        one_way = sparse.diags_array(reward).tocsr()[np.flatnonzero(reward)]
        extra = [LinearConstraint(sparse.hstack([one_way, one_way]), 0, 1)]  # up and down: no move
        return self._through(start, columns, price - reward, down, sums, extra, first=True)

    def cheapest(self, start: Key, cost: Cost) -> Change | None:
        """The change through `start` of least total cost using only entries with a cost, or None."""
        columns, price, down, sums = self._problem(cost)
        return self._through(start, columns, price, down, sums, [], first=False)

    def _problem(self, cost: Cost) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_array]:
        """The entries that may move (the variables), their prices, whether each may go down (a hidden
        number stays at least 1), and the sums restricted to them."""
        prices = [cost(key) for key in self.keys]
        columns = np.flatnonzero([price is not None for price in prices])
        sums = self.sums[:, columns].tocsr()
        sums = sums[np.diff(sums.indptr) > 0]
        price = np.array([prices[j] for j in columns], dtype=float)
        down = np.array([self.size[self.keys[j]] >= 2 for j in columns], dtype=float)
        return columns, price, down, sums

    def _through(
        self,
        start: Key,
        columns: np.ndarray,
        price: np.ndarray,
        down: np.ndarray,
        sums: sparse.csr_array,
        extra: list[LinearConstraint],
        *,
        first: bool,
    ) -> Change | None:
        """The best change with `start` moved up, or down; None if neither exists (or the solver gave
        up: then more is hidden, never less)."""
        i, n = int(np.searchsorted(columns, self.column[start])), len(columns)
        constraints = [LinearConstraint(sparse.hstack([sums, -sums]), 0, 0), *extra]
        best: tuple[float, Change] | None = None
        for sign in (1, -1):
            low, high = np.zeros(2 * n), np.concatenate([np.ones(n), down])
            low[i if sign > 0 else n + i] = 1
            high[n + i if sign > 0 else i] = 0
            if low[n + i] > high[n + i]:
                continue
            found = milp(
                np.concatenate([price, price]),
                integrality=np.ones(2 * n),
                bounds=Bounds(low, high),
                constraints=constraints,
                options={"node_limit": NODES, "mip_rel_gap": GAP},
            )
            if found.x is None:
                continue
            delta = np.rint(found.x[:n] - found.x[n:]).astype(int)
            if not _exact(sums, delta, down, i):
                continue  # the solver's tolerance let something through: no certificate, more is hidden
            change = {self.keys[columns[j]]: int(delta[j]) for j in np.flatnonzero(delta)}
            if best is None or found.fun < best[0]:
                best = (found.fun, change)
            if first or found.fun <= 0:
                break
        return None if best is None else best[1]


def _exact(sums: sparse.csr_array, delta: np.ndarray, down: np.ndarray, start: int) -> bool:
    """The solver works in floating point with tolerances: a change is used only if, in integers, it
    moves `start`, keeps every sum exactly and moves each entry by at most 1, down only where it may."""
    within = bool(np.all((delta <= 1) & (delta >= -down.astype(int))))
    return within and delta[start] != 0 and not np.any(sums @ delta)


class _Search:
    """One depth-first search: the sum with the fewest usable entries is balanced first."""

    def __init__(self, certificates: Certificates, cost: Cost) -> None:
        self.certificates, self.cost, self.steps = certificates, cost, 0
        self.usable: dict[int, list[tuple[Key, int, int]]] = {}

    def members(self, line: int) -> list[tuple[Key, int, int]]:
        if line not in self.usable:
            found = ((key, coef, self.cost(key)) for key, coef in self.certificates.members[line])
            self.usable[line] = [(key, coef, price) for key, coef, price in found if price is not None]
        return self.usable[line]

    def run(self, delta: Change, open_lines: dict[int, int]) -> bool:
        self.steps += 1
        if self.steps > STEPS:
            raise _GaveUp
        if not open_lines:
            return True
        line = min(open_lines, key=lambda n: (len(self.members(n)), n))
        for _, key, d in sorted(self.options(line, delta, open_lines)):
            delta[key] = d
            self.certificates.shift(key, d, open_lines)
            if self.run(delta, open_lines):
                return True
            self.certificates.shift(key, -d, open_lines)
            del delta[key]
        return False

    def options(
        self, line: int, delta: Change, open_lines: dict[int, int]
    ) -> list[tuple[tuple[int, int], Key, int]]:
        """Entries that would reduce the imbalance of `line`, cheapest and most closing first."""
        b = open_lines[line]
        options = []
        for key, coef, price in self.members(line):
            d = -coef if b > 0 else coef
            if key in delta or (d < 0 and self.certificates.size[key] < 2):
                continue
            opened = 0
            for other, c in self.certificates.at[key]:
                if other != line:
                    now = open_lines.get(other, 0)
                    opened += 1 if now == 0 else (-1 if now * c * d < 0 else 1)
            options.append(((price, opened), key, d))
        return options
