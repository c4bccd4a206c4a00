"""Published results cost the same at 1,000 and 1,000,000 answers: they read counters, never answers.

    python bench/aggregates.py [--people 100000] [--questions 10] [--database-url URL] [--repeat 30]

Builds a 10-question poll, then two data sets in fresh databases: 1,000 answers and (people x questions)
answers (default 1,000,000) over every demo district, written with the same counting code as the live
path. Times the full results of the poll (every breakdown, suppressed) and a district's brief tables;
prints p50/p95 for each size, the ratio large/small, and the time `ureport aggregates rebuild` takes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import fresh_database

CHOICES = ("always", "sometimes", "never", "not_sure")


def poll_yaml(questions: int) -> str:
    nodes = "\n".join(
        f'  - id: q{i}\n    type: choice\n    question: {{en: "Question {i}?"}}\n    choices:\n'
        + "".join(f"      - {{id: {c}, label: {{en: {c}}}}}\n" for c in CHOICES)
        for i in range(questions)
    )
    head = "slug: bench\nkind: poll\ntitle: {en: Bench}\ndefault_language: en\nlanguages: [en]\n"
    return f"{head}nodes:\n{nodes}"


async def populate(people: int, questions: int, seed: int) -> int:
    """Contacts, runs and answers written in bulk, counters computed by the live path's own code."""
    from tortoise import Tortoise

    from ureport.aggregates import counters
    from ureport.demo import load_demo_content
    from ureport.flows.loader import load_flow_text
    from ureport.models import Answer, Contact, FlowRun, Location
    from ureport.polls import save_flow
    from ureport.workspace import counted

    await load_demo_content()
    poll = await save_flow(load_flow_text(poll_yaml(questions), source="bench.yaml"), activate=True)
    districts = [loc.id for loc in await Location.all()]
    conn = Tortoise.get_connection("default")
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for offset in range(0, people, 5000):
        batch = range(offset, min(offset + 5000, people))
        contacts = [Contact(id=uuid.uuid4(), urn_digest=f"bench:{i}", status="active") for i in batch]
        runs = [
            FlowRun(
                id=uuid.uuid4(),
                contact_id=c.id,
                poll_id=poll.id,
                channel="sms",
                state={},
                status="completed",
                expires_at=start,
                created_at=start,
                updated_at=start,
            )
            for c in contacts
        ]
        answers = []
        for run in runs:
            age, sex, district = (
                rng.randint(12, 35),
                rng.choice(("female", "male", "other_sex")),
                rng.choice(districts),
            )
            for q in range(questions):
                answers.append(
                    Answer(
                        run_id=run.id,
                        contact_ref=run.contact_id,
                        poll_id=poll.id,
                        question_key=f"q{q}",
                        category=rng.choice(CHOICES),
                        value="",
                        channel=rng.choice(("sms", "ussd")),
                        age=age,
                        sex=sex,
                        district_id=district,
                        language="en",
                        created_at=start + timedelta(days=rng.randint(0, 29)),
                    )
                )
        await Contact.bulk_create(contacts)
        await FlowRun.bulk_create(runs)
        await Answer.bulk_create(answers)
        await counters.apply(counters.deltas(c for a in answers for c in counted(a)), conn)
    return int(poll.id)


async def measure(repeat: int) -> dict[str, list[float]]:
    """Cold: recomputed from the counters (first read after an answer). Served: what readers get
    between answers. Brief: a district brief's tables (every question's linked tables, recomputed)."""
    from ureport.aggregates.results import forget_cached_results, poll_results, published_tables
    from ureport.models import Poll, Question

    poll = await Poll.get(slug="bench")
    timings: dict[str, list[float]] = {"cold": [], "served": [], "brief": []}
    for _ in range(repeat):
        forget_cached_results()
        began = time.perf_counter()
        await poll_results(poll, k=5)  # recomputed: nothing is cached
        timings["cold"].append(time.perf_counter() - began)
        began = time.perf_counter()
        await poll_results(poll, k=5)  # unchanged counters: served from the cache
        timings["served"].append(time.perf_counter() - began)
        forget_cached_results()
        began = time.perf_counter()
        for question in await Question.filter(poll=poll):
            await published_tables(poll.id, question, 5)
        timings["brief"].append(time.perf_counter() - began)
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


async def run_size(url: str, people: int, questions: int, repeat: int) -> dict[str, float]:
    from ureport import db
    from ureport.aggregates.results import rebuild

    await db.migrate(url)
    await db.init(url)
    try:
        began = time.perf_counter()
        await populate(people, questions, seed=people)
        built = time.perf_counter() - began
        timings = await measure(repeat)
        began = time.perf_counter()
        drift = await rebuild()
        rebuilt = time.perf_counter() - began
    finally:
        await db.close()
    assert drift.keys == 0, "the bulk-written counters drifted from the answers"
    figures = {f"{name}_p{q}": percentile(values, q) for name, values in timings.items() for q in (50, 95)}
    return {"answers": people * questions, "populate_s": built, "rebuild_s": rebuilt, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (default: SQLite)")
    args = parser.parse_args()
    results = []
    for people in (1000 // args.questions, args.people):
        tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-agg-"))
        with fresh_database(args.database_url, tmp) as url:
            results.append(asyncio.run(run_size(url, people, args.questions, args.repeat)))
    small, large = results
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"aggregates on {engine}: one poll of {args.questions} questions, every breakdown, k=5 (ms)")
    for r in results:
        print(
            f"  {r['answers']:>9,} answers: served p50 {r['served_p50']:6.1f} p95 {r['served_p95']:6.1f}"
            f" | cold p50 {r['cold_p50']:7.1f} p95 {r['cold_p95']:7.1f}"
            f" | brief p50 {r['brief_p50']:6.1f} p95 {r['brief_p95']:6.1f}"
            f" | rebuild {r['rebuild_s']:6.1f} s (populate {r['populate_s']:.0f} s)"
        )
    for name in ("served", "cold", "brief"):
        ratio = large[f"{name}_p95"] / small[f"{name}_p95"]
        print(f"  ratio large/small p95 {name:7} {ratio:5.2f}   (target < 2)")


if __name__ == "__main__":
    main()
