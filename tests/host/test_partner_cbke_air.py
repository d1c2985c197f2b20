"""CS03 method A between two meters on the air (firmware/han/partner.py through
firmware/meter/joins.py; shared/reference/han.md §6; docs/han.md §13): a premises of virtual
boards (host_tools/boards/premises.py: a Comms Hub and two ESMEs, each its own MicroPython
process, one ZEP air), each meter provisioned with the other's GBCS KA public key in its "han"
record ("peers", the CBKE deviation's identity table). CCS01 logs both meters, both join. Over the
hub's WAN endpoint, commands built and signed on the host and every response verified with
`cryptography` (host_tools/gbcs/verify.py):
  * CS03 method A initiator (0x000D) to meter A naming meter B before B was told anything: A finds
    no armed partner and answers 13 (no CBKE response) within partner.INITIATOR_MS;
  * CS03 method A responder (0x00AB) to B naming A: 0 at once (armed); then the initiator CS03 to
    A: 0 after the CBKE between them on the air;
  * the initiator CS03 to A again without arming B: A's Initiate (sent twice) to B's known short
    address goes unanswered, 13 after two CBKE steps, the first join's entry kept;
  * CS07 to both: each device log holds the other (ESME, type 1);
  * the air's pcap, decoded by tshark with the network key, holds the Key Establishment (0x0800)
    commands 0, 1, 2 both ways between the two meters' short addresses (then the two unanswered
    Initiates), hub not involved;
  * a ZCL Read Attributes (Metering CurrentSummationDelivered) sent on the air from A's addresses
    to B, APS-secured with the partner link key A stored, is answered by B under that key; the same
    read sealed with another key gets no answer.
tshark as in tests/host/test_han_vboards.py: skipped outside CI when missing, never in CI."""
import os
import shutil
import socket
import subprocess
import time

import pytest

from firmware.han import partner
from firmware.zigbee import aps, mac, nwk, zcl
from firmware.zigbee import security as sec

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HOST_DEV = 99  # the air's device id of this test's own radio


def _der_join(method, eui, dtype):
    body = bytes((2, 1, method, 4, 8)) + eui + bytes((2, 1, dtype))
    return bytes((0x30, len(body))) + body


def _command(keys, dev, code, content, critical):
    from host_tools.gbcs import usecases
    from host_tools.gbcs import verify as V

    sup, acb, d = usecases.parties(keys, dev)
    c = usecases.next_counter(keys, sup.eui, dev)
    raw = V.build_command(sup.eui, dev, c, code, content, ds_priv=sup.private["ds"] if critical else None,
                          acb_ka_priv=acb.private["ka"], device_ka_pub=d.public["ka"])
    return raw, c


def _send(p, dev, code, content, critical=True):
    """(response content, seconds) of one command over the WAN, the response verified."""
    from host_tools.gbcs import usecases

    raw, c = _command(p["keys"], dev, code, content, critical)
    t = time.monotonic()
    rsp = p["wan"].request(raw, timeout=20)
    dt = time.monotonic() - t
    v = usecases.verify_response(rsp, p["keys"], dev, c)
    assert v["auth"].startswith("signature" if critical else "MAC"), v
    return bytes.fromhex(v["content"]), dt


@pytest.fixture(scope="module")
def prem(tmp_path_factory):
    from host_tools.boards.premises import Premises, _compressed, install_code
    from host_tools.gbcs import hub as H
    from host_tools.keys import pki

    class TwoMeters(Premises):
        def payload(self, vb):
            p = super().payload(vb)
            if vb in self.meters:
                me = bytes.fromhex(vb.eui64)
                p["han"]["peers"] = {e.hex(): _compressed(self.parties[e]).hex()
                                     for e in self.meter_euis if e != me}
            return p

    base = str(tmp_path_factory.mktemp("partner"))
    keys = os.path.join(base, "pki")
    pki.create_bench_pki(keys, [("esme", 2), ("chf", 1)])
    t0 = time.monotonic()
    p = TwoMeters(base, keys, meters=2)
    p.air.keep_frames = True
    try:
        p.start()
        p.flash()
        p.provision()
        with H.WanClient(p.wan[0], p.wan[1], timeout=30) as c:
            for dev in p.meter_euis:
                raw, _ = H.ccs01(keys, p.hub_eui, dev, install_code(dev), 600)
                assert H.verify_hub_message(c.request(raw), keys, p.hub_eui)["ok"]
            assert H.wait_joined(c, keys, p.hub_eui, p.meter_euis, 40), "the meters did not join"
            print("premises up and joined in %.1f s" % (time.monotonic() - t0))
            yield {"p": p, "keys": keys, "wan": c, "a": p.meter_euis[0], "b": p.meter_euis[1]}
    finally:
        p.stop()


def _ke_tshark(pcap, nwk_key):
    """(src short, dst short, "rx" to the server / "tx" from it, command) of every Key
    Establishment frame tshark decodes."""
    from host_tools.han import capture

    path = shutil.which("tshark")
    if path is None:
        if CI:
            pytest.fail("tshark is missing in CI: .ci/run installs it (make setup-tshark)")
        pytest.skip("tshark not installed (make setup-tshark)")
    cmd = [path, "-n", "-r", pcap] + capture.wireshark_key_prefs([("NWK key", nwk_key)]) + [
        "-Y", "zbee_aps.cluster == 0x0800", "-T", "fields", "-E", "separator=;",
        "-e", "wpan.src16", "-e", "wpan.dst16", "-e", "zbee_zcl_se.ke.cmd.srv_rx.id",
        "-e", "zbee_zcl_se.ke.cmd.srv_tx.id", "-e", "_ws.malformed"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME=os.path.dirname(pcap)))
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        f = line.split(";")
        assert not f[4], line  # no malformed frame
        rx = f[2] != ""  # a command to the server (from the initiator)
        out.append((int(f[0], 16), int(f[1], 16), "rx" if rx else "tx", int(f[2] if rx else f[3], 16)))
    return out


def _read_frame(nwk_key, pan, src, dst, key, fc, zseq):
    """A MAC frame from `src` (eui, short) to dst short: ZCL Read Attributes Metering 0x0000,
    APS-secured with `key`, NWK-secured with the network key, frame counters `fc`."""
    z = zcl.build(zcl.Header(zcl.GLOBAL, zseq, zcl.READ_ATTRIBUTES), zcl.read_attributes([0]))
    a = aps.ApsFrame(aps.DATA, fc & 0xFF, dst_ep=1, cluster=zcl.METERING, profile=aps.PROFILE_SE,
                  src_ep=1, payload=z, aux=sec.Aux(sec.KEY_DATA, fc, src=src[0]))
    raw = aps.build(a, sec.aps_key(key, sec.KEY_DATA))
    n = nwk.NwkFrame(nwk.DATA, dst, src[1], fc & 0xFF, payload=raw, src_ext=src[0],
                  aux=sec.Aux(sec.KEY_NWK, fc, src=src[0], key_seq=0))
    return mac.data(fc & 0xFF, pan, dst, src[1], nwk.build(n, nwk_key), ack_req=False)


def _answers(sock, nwk_key, key, b_eui, a_short, zseq, wait):
    """ZCL Read Attributes Responses B sends to A's short address within `wait` s, opened with
    `key`."""
    from firmware.alerts import Reject
    from host_tools.han import zep

    got = []
    end = time.monotonic() + wait
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            d, _ = sock.recvfrom(2048)
        except socket.timeout:
            break
        try:
            m = mac.parse(zep.decode(d)["psdu"])
            if m.ftype != mac.DATA or m.dst != a_short:
                continue
            n = nwk.parse(m.payload)
            if not n.security or n.aux.src != b_eui:
                continue
            nwk.open_(n, nwk_key)
            a = aps.parse(n.payload)
            if a.ftype != aps.DATA or not a.security or a.cluster != zcl.METERING:
                continue
            aps.open_(a, key, b_eui)
            h, body = zcl.parse(a.payload)
            if h.seq == zseq and h.cmd == zcl.READ_ATTRIBUTES_RSP:
                got.append(body)
        except (Reject, zep.ZepError, ValueError, IndexError):  # other frames on the air
            continue
    return got


def test_cs03_method_a_cbke_on_the_air(prem):
    from host_tools.han import zep

    p, a, b = prem["p"], prem["a"], prem["b"]
    t0 = time.monotonic()
    # the initiator before the responder was armed: no CBKE response
    content, dt = _send(prem, a, 0x000D, _der_join(0, b, 1))
    assert content == b"\x02\x01\x0d" and dt < partner.INITIATOR_MS / 1000 + 3, (content, dt)
    # responder armed at once, then the initiator: both 0
    content, dt_b = _send(prem, b, 0x00AB, _der_join(1, a, 1))
    assert content == b"\x02\x01\x00", content
    content, dt_a = _send(prem, a, 0x000D, _der_join(0, b, 1))
    assert content == b"\x02\x01\x00", content
    print("CS03: responder %.2f s, initiator %.2f s (CBKE on the air)" % (dt_b, dt_a))
    # again without arming B: A sends the Initiate (twice) to B's known address, B refuses it
    # (no join pending there): 13 after two CBKE steps, the entry and key of the first join kept
    content, dt_again = _send(prem, a, 0x000D, _der_join(0, b, 1))
    assert content == b"\x02\x01\x0d" and 2 * partner.STEP_MS / 1000 <= dt_again < partner.INITIATOR_MS / 1000 + 3, (content, dt_again)
    for me, other in ((a, b), (b, a)):
        content, _ = _send(prem, me, 0x0013, b"\x05\x00", critical=False)  # NULL, as RTDS 8.9_CS07
        entry = b"\x30\x0d\x04\x08" + other + b"\x02\x01\x01"
        assert content == b"\x30\x14\x02\x01\x00\x30\x0f" + entry, content.hex()
    # A's own records (the REPL stops A's loop; the air now carries this test's frames as A's)
    out = p.meters[0].exec("import board, json\ns = board.get().store()\nj = s.get_json('han_join')\n"
                           "print('R', json.dumps([j['nwk'], j['short'], j['pan'], s.get_json('devlog')]))")
    nwk_hex, a_short, pan, devlog = __import__("json").loads(out.split("R ", 1)[1].strip())
    nwk_key = bytes.fromhex(nwk_hex)
    key = bytes.fromhex([x for x in devlog if x[0] == b.hex()][0][2])
    ke = _ke_tshark(p.pcap_path, nwk_key)
    between = [k for k in ke if 0x0000 not in k[:2]]
    b_short = next(k[1] for k in between if k[0] == a_short)
    assert [(r, c) for s, d, r, c in between if (s, d) == (a_short, b_short)] == [
        ("rx", 0), ("rx", 1), ("rx", 2), ("rx", 0), ("rx", 0)]  # the join, then the unanswered one
    assert [(r, c) for s, d, r, c in between if (s, d) == (b_short, a_short)] == [("tx", 0), ("tx", 1), ("tx", 2)]
    assert len(between) == 8
    # a secured exchange under the partner link key, and none under another key
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        air = (p.air.host, p.air.port)
        src = (int.from_bytes(a, "big"), a_short)
        for i, (k, want) in enumerate(((key, 1), (bytes(16), 0), (key, 1))):
            fc = 0x00F00000 + i
            psdu = _read_frame(nwk_key, pan, src, b_short, k, fc, 0x40 + i)
            sock.sendto(zep.encode(psdu, channel=11, device_id=HOST_DEV, seq=i), air)
            got = _answers(sock, nwk_key, key, int.from_bytes(b, "big"), a_short, 0x40 + i, 3.0 if want else 1.5)
            assert len(got) == want, (i, got)
            if want:
                assert got[0][:3] == b"\x00\x00\x00" and got[0][3] == 0x25  # attr 0, SUCCESS, uint48
    finally:
        sock.close()
    print("CS03 flows, CS07, pcap and secured reads: %.1f s" % (time.monotonic() - t0))
