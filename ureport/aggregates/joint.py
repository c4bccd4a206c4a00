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
   published, so the number is not determined. A number without one gets the cheapest change that
   passes through published numbers of the lowest tier (see tier()), and those are hidden; then stage 1
   runs again.

Certificates are found by ureport.aggregates.certificates: a short depth-first search, then an integer
program (HiGHS, through scipy) moving as many unproven numbers as it can. Both are bounded; when they
give up, more is hidden, never less: in the end every non-zero number may be hidden, and then adding
one more answer like any real one is a certificate for every hidden number it counts in. So the result
is always safe; only how much is hidden depends on the bounds.
"""

from __future__ import annotations

from collections import deque

from ureport.aggregates.certificates import Certificates
from ureport.aggregates.linked import (
    ASKED,
    KNOWN,
    NOT_ANSWERED,
    Counts,
    Key,
    Layout,
    Model,
    Plan,
    build,
    view_table,
)
from ureport.aggregates.suppression import check_k, protect
from ureport.aggregates.tables import PublishedTable, Table

__all__ = ["joint_hidden", "suppress_linked"]


def tier(key: Key) -> int:
    """How much a reader loses when this number is hidden: 2 for a question's national results (a
    group of every known category, the overall table), 1 for the national response rate and the one-way
    tables, 0 for the rest. Complements are taken from the lowest tier that can protect a number."""
    group, category = key
    national = all(value == KNOWN for _, value in group)
    if national:
        return 1 if category in (ASKED, NOT_ANSWERED) else 2
    return 1 if len(group) == 1 and category not in (ASKED, NOT_ANSWERED) else 0


View = tuple[list[Key], Table, list[int]]  # a view's entries, its exact table, each entry's tier


def _views(model: Model) -> tuple[list[View], dict[Key, list[int]]]:
    views: list[View] = []
    for layout in model.views:
        table = view_table(model, layout)
        if table is not None:
            keys = layout.keys()
            views.append((keys, table, [tier(key) for key in keys]))
    index: dict[Key, list[int]] = {}
    for i, (keys, _, _) in enumerate(views):
        for key in dict.fromkeys(keys):
            index.setdefault(key, []).append(i)
    return views, index


def _fixed_point(
    views: list[View], index: dict[Key, list[int]], hidden: set[Key], published: set[Key]
) -> None:
    """Protect every view, re-protecting the views of each newly hidden number, until nothing changes."""
    queue = deque(i for i, (keys, _, _) in enumerate(views) if any(k in hidden for k in keys))
    queued = set(queue)
    proven: dict[int, set[int]] = {}  # view -> positions already proven safe in it
    while queue:
        i = queue.popleft()
        queued.discard(i)
        keys, table, tiers = views[i]
        forced = {pos for pos, key in enumerate(keys) if key in hidden}
        free = {pos for pos in forced if keys[pos] not in published}
        chosen = protect(table, forced, free, proven.setdefault(i, set()), tiers)
        new = sorted({keys[pos] for pos in chosen} - hidden)
        for key in new:
            hidden.add(key)
            for j in index.get(key, ()):
                if j not in queued:
                    queued.add(j)
                    queue.append(j)


def primary(model: Model, k: int) -> set[Key]:
    """Hidden before any complement: published numbers 0 < n < k, and every non-zero unpublished one
    (an unknown group that holds people: unseen, so free to take other values)."""
    hidden = {key for key in model.published if 0 < model.values[key] < k}
    return hidden | {key for key, v in model.values.items() if key not in model.published and v != 0}


def joint_hidden(model: Model, k: int) -> set[Key]:
    """The entries to hide: primary ones, then complements until every hidden number is proven safe."""
    hidden = primary(model, k)
    views, index = _views(model)
    certificates = Certificates(model)
    while True:
        _fixed_point(views, index, hidden, model.published)
        stuck = _first_unproven(certificates, model, hidden)
        if stuck is None:
            return hidden
        more = _opening(certificates, model, hidden, stuck) - hidden
        if not more and stuck not in certificates.certified:
            return hidden  # every non-zero number is hidden: safe, see the module's docstring
        hidden |= more


def _first_unproven(certificates: Certificates, model: Model, hidden: set[Key]) -> Key | None:
    """A hidden published number without a certificate, or None when every one has one: a quick
    search first, then the integer program, which proves as many of the rest as it can at once."""
    wanted = hidden & model.published - certificates.certified
    for key in sorted(wanted):
        if key in certificates.certified:
            continue
        move = certificates.quick(key, lambda e: 0 if e in hidden else None)
        if move is None:
            move = certificates.prove(hidden, key, wanted - certificates.certified)
        if move is None:
            return key
        certificates.certified |= move.keys()  # every entry the change moves takes another value with it
    return None


def _opening(certificates: Certificates, model: Model, hidden: set[Key], stuck: Key) -> set[Key]:
    """Published numbers to hide so that `stuck` gets a certificate: the change of least total count
    through published numbers of the lowest tier possible (see tier()); failing that (the solver gave
    up), its neighbours in every sum; failing that, everything non-zero."""
    values, published = model.values, model.published
    for top in (0, 1, 2):

        def price(key: Key, top: int = top) -> int | None:
            if key in hidden:
                return 0
            return values[key] if key in published and values[key] > 0 and tier(key) <= top else None

        move = certificates.cheapest(stuck, price)
        if move is None:
            continue
        added = {key for key in move if key not in hidden}
        if not added:  # a certificate after all, which the proof's bounded search missed
            certificates.certified |= move.keys()
        return added
    added = {key for key in certificates.neighbours(stuck) if key in published and key not in hidden}
    return {key for key in added if values[key] > 0} or {key for key in published if values[key] > 0}


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
