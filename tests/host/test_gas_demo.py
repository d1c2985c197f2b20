"""The demo's gas steps (host_tools/campaigns/gasdemo.py): the GSME joins and reports to its mirror, a
GPF read is answered at once, the valve close sent over the WAN waits for the GSME's wake and comes
back verified, a keypad UTRN top-up reaches the mirror — every step passes, in well under a second
of the demo's minute. Skips when ../shared/interop is absent."""
import time

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")


def test_gas_demo_steps_pass(tmp_path):
    from host_tools.campaigns import gasdemo
    from host_tools.campaigns.demo import Demo

    d = Demo(str(tmp_path), quiet=True)
    t0 = time.monotonic()
    assert gasdemo.add_steps(d, str(tmp_path)) is True
    assert time.monotonic() - t0 < 10
    labels = [r[0] for r in d.rows]
    assert labels == ["gas: GSME joins, mirror", "gas: GPF read at once", "gas: valve close via WAN",
                      "gas: UTRN top-up"]
    assert all(r[1] == "ok" for r in d.rows), d.rows
