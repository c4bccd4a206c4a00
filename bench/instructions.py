"""Instructions per USSD hop or inbound SMS, counted by valgrind: a figure that neighbours on a shared
machine do not move, for telling a change of a few per cent from noise.

    python bench/instructions.py ussd|sms [--small N] [--large N] [--phones N]

Wall and CPU time swing by a third from one minute to the next on this machine kind, so two timed runs
cannot tell a 5% change from chance. This runs the in-process benchmark (`bench/ussd.py --in-process`,
or `bench/sms_inbound.py --in-process`: accepting, processing and sending) under `valgrind
--tool=callgrind` twice, with `--small` and `--large` hops or messages, and divides the difference in
instructions by the difference in count: start-up, migrations, demo content and registration cancel
out. The baseline, counted the same way in the same run, is the trivial endpoint of bench/common.py
called as ASGI with the same kind of body; `trivial/app` is the ratio the CPU figures would give
without HTTP (uvicorn's share is the same for both and is not counted here). Hash seeds are fixed, so
two runs of the same code count the same to within a fraction of a percent. Valgrind runs Python some
fifty times slower: with the defaults, about five minutes on two cores. Needs `valgrind` (Debian
package; installed on first use when run as root). Only the benchmark's own process is counted: the
fake gateway and the database server are not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import TRIVIAL_APP, ensure_tool

HERE = Path(__file__).resolve().parent
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(valgrind: str, args: list[str]) -> int:
    """Instructions the Python process `args` executed (its children not counted)."""
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"{' '.join(args)} failed under valgrind:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_unit(valgrind: str, make_args: Callable[[int], list[str]], small: int, large: int) -> float:
    """Instructions per unit of work: the two sizes run side by side, their difference divided."""
    with ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda n: instructions(valgrind, make_args(n)), (small, large))
    return (high - low) / (large - small)


def trivial_requests(count: int) -> None:
    """`count` requests to the trivial endpoint as ASGI, 50 at a time (the in-process benchmarks' way)."""
    from sms_inprocess import post

    namespace: dict[str, Any] = {}
    exec(TRIVIAL_APP, namespace)  # noqa: S102 - our own module text, as the live benchmarks serve it
    app = namespace["app"]
    form = {
        "sessionId": "trivial",
        "serviceCode": "*384*123#",
        "networkCode": "63902",
        "phoneNumber": "+254730000001",
        "text": "1*98",
    }

    async def run() -> None:
        limit = asyncio.Semaphore(50)

        async def one() -> int:
            async with limit:  # the body encoded per request, as the USSD walk does
                return await post(app, "/ussd", urlencode(form).encode())

        statuses = await asyncio.gather(*(one() for _ in range(count)))
        assert set(statuses) == {200}, set(statuses)

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", choices=("ussd", "sms", "trivial"))
    parser.add_argument("--small", type=int, default=300, help="hops or messages of the smaller run")
    parser.add_argument("--large", type=int, default=1800, help="hops or messages of the larger run")
    parser.add_argument("--phones", type=int, default=300, help="sms: phones registered before timing")
    args = parser.parse_args()
    if args.path == "trivial":  # what the baseline runs under valgrind
        trivial_requests(args.small)
        return
    valgrind = ensure_tool("valgrind")
    if args.path == "ussd":
        app = per_unit(
            valgrind, lambda n: ["ussd.py", "--in-process", "--hops", str(n)], args.small, args.large
        )
        unit = "hop"
    else:
        app = per_unit(
            valgrind,
            lambda n: ["sms_inbound.py", "--in-process", "--messages", str(n), "--phones", str(args.phones)],
            args.small,
            args.large,
        )
        unit = "message"
    trivial = per_unit(valgrind, lambda n: ["instructions.py", "trivial", "--small", str(n)], 1000, 6000)
    print(f"instructions per {unit}, in-process on SQLite ({args.small} and {args.large}, difference)")
    print(f"  {'trivial endpoint (ASGI)':<26}{trivial / 1e3:8.0f} k per request")
    print(f"  {args.path + ' (ASGI)':<26}{app / 1e3:8.0f} k per {unit}")
    print(f"  {'ratio trivial/app':<26}{trivial / app:8.3f}")


if __name__ == "__main__":
    main()
