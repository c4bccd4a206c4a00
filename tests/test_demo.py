"""`ureport serve --demo` starts its fake gateway where README's examples read it: the port after the
server's, or any free one (named in the log) when that one is taken."""

from __future__ import annotations

import socket
from dataclasses import replace

from ureport.demo import prepare_demo
from ureport.settings import Settings


def _free_pair() -> int:
    """A port whose next port is free too."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free ports in a row")


def test_the_demo_gateway_listens_on_the_next_port_or_any_free_one(settings: Settings) -> None:
    no_credentials = replace(settings, at_username=None, at_api_key=None, at_api_url=None)
    port = _free_pair()
    demo, gateway = prepare_demo(no_credentials, host="127.0.0.1", port=port)
    assert gateway is not None
    try:
        assert gateway.url == f"http://127.0.0.1:{port + 1}" and demo.at_api_url == gateway.url
        _, taken = prepare_demo(no_credentials, host="127.0.0.1", port=port)  # port + 1 is in use now
        assert taken is not None
        try:
            assert taken.url != gateway.url
        finally:
            taken.stop()
    finally:
        gateway.stop()
