"""Two server processes on one database answer alternate hops of one USSD session as if they were one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.processes import environment as _environment
from tests.test_server_processes import server
from tests.ussd_harness import USSD_URL, ussd_form
from ureport.channels.fake_gateway import FakeGateway
from ureport.flows.loader import shipped_flow_path
from ureport.settings import Settings

PHONE = "+254711000401"
HOPS = ["1", "98", "98", "2007", "2", "47", "2", "98", "98", "3", "1", "no", "30", "safer roads"]


def _prepare(env: dict[str, str]) -> None:
    """Kenya's counties and the demo poll, active, as `serve --demo` would load them."""
    cli = [sys.executable, "-m", "ureport.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "locations", "load", "--country", "KE"], env=env, check=True, capture_output=True)
    poll = str(shipped_flow_path("safe-streets"))
    subprocess.run([*cli, "polls", "load", poll, "--activate"], env=env, check=True, capture_output=True)


def test_two_instances_answer_alternate_hops(
    settings: Settings, fake_gateway: FakeGateway, tmp_path: Path
) -> None:
    env = _environment(settings)
    _prepare(env)
    with server(env, tmp_path / "a.log") as first, server(env, tmp_path / "b.log") as second:
        urls = [first, second]
        inputs: list[str] = []
        screens = []
        for hop in range(len(HOPS) + 1):
            form = ussd_form("ATUid_two_instances", PHONE, "*".join(inputs))
            response = httpx.post(urls[hop % 2] + USSD_URL, data=form, timeout=30)
            assert response.status_code == 200
            screens.append(response.text)
            if hop < len(HOPS):
                inputs.append(HOPS[hop])
        # the same hop again, on the other instance: the same screen
        again = httpx.post(urls[len(HOPS) % 2 - 1] + USSD_URL, data=form, timeout=30)
    assert again.text == screens[-1]
    assert all(s.startswith("CON ") for s in screens[:-1]), screens
    assert screens[-1].startswith("END Asante!"), screens  # Kiswahili was chosen at hop 7
    assert "Which county" in screens[5] and "What is your sex" in screens[4]
