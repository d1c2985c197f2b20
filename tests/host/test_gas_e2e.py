"""A gas premises end to end in one process (docs/gas.md "End to end"): the Comms Hub's WAN endpoint
(firmware/wan/endpoint.py, TCP on loopback, 2-byte length frames) and router with the GPF beside the
CHF (firmware/wan/gasproxy.py), the RTDS GSME joined to the hub over W1's HAN stack (firmware/han:
MAC/NWK/APS security, APS fragmentation, an in-memory medium firmware/han/memair.py) and waking on a
virtual clock (firmware/gas/sleepy.py over the HAN port). A WAN client on the host:
  * sends a GPF read (GCS13a to the GPF): answered at once, verified;
  * sends the RTDS valve close GCS32 (KRP-signed) for the GSME: nothing comes back while the GSME
    sleeps, the message waits at the GPF (tunnel-message-pending set);
  * the GSME wakes: it fetches the command over the HAN, closes the valve, PUTs the signed response,
    which comes back on the client's WAN connection (verified, content equal to RTDS), and its mirror
    report shows the valve closed on the GPF.
Skips when ../shared/interop is absent."""
import socket
import struct

import pytest

from host_tools.gbcs import corpus as C
from host_tools.campaigns.gasdemo import recv_response
from host_tools.gbcs.gas_premises import HUB, han_premises

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

GSME = bytes.fromhex("00db1234567890a1")
GPF = bytes.fromhex("00db1234567890a3")


def test_gas_command_waits_for_the_wake_and_gpf_read_is_immediate(tmp_path):
    from firmware.gas import gpf as G
    from firmware.gas.sleepy import PortLink, wake
    from firmware.gbcs import frame
    from host_tools.gbcs import runner
    from host_tools.gbcs.gas_premises import remac
    from host_tools.gbcs.gpf_rtds import GpfRole
    from host_tools.gbcs.gsme_rtds import GsmeRole

    keys = C.Keystore(C.KEYSTORE)
    p = han_premises(str(tmp_path), keys)
    for _ in range(4000):  # the GSME joins (CBKE, TC link key) at its first wake-up of the radio
        p["pump"]()
        if p["dp"].joined(HUB):
            break
    assert p["dp"].joined(HUB)
    wake(p["gsme"], PortLink(p["dp"], HUB, p["pump"], p["ms"]))  # the first wake: mirror reported
    assert p["gpf"].gas.st["mt"][0] == p["gsme"].now()
    sock = socket.create_connection(p["ep"].sock.getsockname()[:2])
    try:
        # a GPF read: answered at once from the mirror
        raw = remac(keys, "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", 7000, keys.device_pub(GPF, "ka"))
        sock.sendall(struct.pack(">H", len(raw)) + raw)
        rsp = recv_response(sock, p["pump"])
        m = frame.parse(raw)
        ok, why, _, _ = runner.judge(m, rsp, GPF, GpfRole().ds_pub(), keys.device_pub(GPF, "ka"),
                                     keys.parties[m.originator].priv["ka"])
        assert ok, why
        # the valve close for the sleeping GSME: held at the GPF
        f, _ = __import__("host_tools.gbcs.gas_premises", None, None, ("x",)).rtds_command(
            "GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX")
        close = C.load_hex(f)
        sock.sendall(struct.pack(">H", len(close)) + close)
        assert recv_response(sock, p["pump"], polls=400) is None
        assert G.pending(p["gpf"]) == G.TUNNEL_PENDING and p["gsme"].gas.supply() == 2
        # the GSME's next wake (30 min on): fetched over the HAN, executed, answered over the WAN
        p["board"].t += 1800
        assert p["gsme"].poll()
        got, put = wake(p["gsme"], PortLink(p["dp"], HUB, p["pump"], p["ms"]))
        assert (got, put) == (1, 1)
        rsp = recv_response(sock, p["pump"])
        assert rsp is not None
        m = frame.parse(close)
        ok, why, _, r = runner.judge(m, rsp, GSME, GsmeRole().ds_pub(), keys.device_pub(GSME, "ka"),
                                     keys.parties[m.originator].priv["ka"])
        assert ok, why
        assert bytes(r.content) == bytes(frame.parse(C.load_hex(C.response_for(f))).content)
        assert p["gsme"].gas.supply() == 0  # closed
        assert G.pending(p["gpf"]) == 0 and p["gpf"].gas.supply() == 0  # the mirror shows it
        assert p["router"].stats["queued"] == 1 and p["router"].stats["gpf"] == 1
    finally:
        sock.close()
        p["ep"].close()
