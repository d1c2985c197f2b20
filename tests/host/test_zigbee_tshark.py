"""The HAN capture judged by an independent dissector: host_tools.han.capture writes a scripted
install-code join (frames built by firmware/zigbee) as Ethernet/IPv4/UDP/ZEP v2 pcap, and tshark
(Wireshark's dissectors) must decode ZEP -> IEEE 802.15.4 (FCS valid) -> ZigBee NWK -> APS -> ZCL
with 0 malformed frames, decrypting NWK and APS payloads only with the keys given to it, and
reassembling the APS-fragmented tunnel transfers (ZigBee spec 2.2.8.4.5) to the very GBCS bytes
sent (RTDS ECS42 and, with the corpus, the 3,986-byte CS02b).

tshark comes from Debian's packages (`make setup-tshark`, `.ci/run`). This test never skips in CI:
with CI set and no tshark it fails; elsewhere it skips when tshark is missing.
"""
import os
import shutil
import subprocess

import pytest

from host_tools.han import capture

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def tshark():
    path = shutil.which("tshark")
    if path is None:
        if CI:
            pytest.fail("tshark is missing in CI: .ci/run installs it (make setup-tshark)")
        pytest.skip("tshark not installed (make setup-tshark)")
    return path


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("han") / "join.pcap")
    info = capture.build(path)
    info["path"] = path
    return info


def run(tshark, cap, keys, *args):
    cmd = [tshark, "-n", "-r", cap["path"]] + capture.wireshark_key_prefs(keys) + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=os.path.dirname(cap["path"])))
    assert p.returncode == 0, p.stderr
    return p.stdout


def fields(tshark, cap, keys, *names, display=None):
    args = ["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for n in names:
        args += ["-e", n]
    if display:
        args += ["-Y", display]
    out = run(tshark, cap, keys, *args)
    return [line.split("\t") for line in out.splitlines()]


def test_decodes_every_layer_with_no_malformed_frame(tshark, cap):
    rows = fields(tshark, cap, cap["keys"], "frame.number", "frame.protocols", "wpan.fcs_ok",
                  "_ws.malformed", "_ws.expert.severity")
    assert len(rows) == cap["frames"] > 30
    for num, protos, fcs_ok, malformed, _sev in rows:
        assert protos.startswith("eth:ethertype:ip:udp:zep:wpan"), (num, protos)
        assert fcs_ok == "1", (num, "FCS")
        assert malformed == "", (num, protos)
    assert run(tshark, cap, cap["keys"], "-Y", "_ws.malformed") == ""
    zcl = [r for r in rows if ":zbee_nwk:zbee_aps:zbee_zcl" in r[1]]
    n = len(cap["tunnelled"])  # fragmented transfers: one ZCL frame each, once reassembled
    assert n >= 1
    assert len(zcl) == 6 + 6 + 3 + n  # CBKE, Basic/Metering/Prepayment reads, tunnel
    assert sum(":zbee_zcl_se.ke" in r[1] for r in rows) == 6
    assert sum(":zbee_zcl_se.tun" in r[1] for r in rows) == 3 + n
    assert sum(":zbee_beacon" in r[1] for r in rows) == 1
    # MAC commands: beacon request, association request, data request, association response
    cmds = [r[0] for r in fields(tshark, cap, cap["keys"], "wpan.cmd", display="wpan.cmd")]
    assert cmds == ["0x07", "0x01", "0x04", "0x02"]
    text = run(tshark, cap, cap["keys"], "-V", "-Y", "zbee_zcl.cmd.id == 0x01 && zbee_zcl")
    for layer in ("ZigBee Encapsulation Protocol", "IEEE 802.15.4 Data",
                  "ZigBee Network Layer Data", "ZigBee Application Support Layer Data",
                  "ZigBee Cluster Library Frame", "Current Summation Delivered"):
        assert layer in text, layer


def test_transport_key_decrypted_with_the_install_code_key(tshark, cap):
    rows = fields(tshark, cap, cap["keys"], "zbee_aps.cmd.key", "zbee.sec.key_id",
                  "zbee.sec.decryption_key", display="zbee_aps.cmd.id == 0x05")
    assert len(rows) == 1
    key, key_id, label = rows[0]
    assert key.replace(":", "").lower() == cap["nwk_key"].hex()
    assert key_id == "0x02" and label == "install-code link key ESME"


def test_aps_payloads_decrypted_with_the_tc_link_key(tshark, cap):
    rows = fields(tshark, cap, cap["keys"], "zbee_aps.cluster", "zbee.sec.decryption_key",
                  "zbee.sec.key", display="zbee_aps.security == 1 && zbee_zcl")
    n = len(cap["tunnelled"])
    assert len(rows) == 9 + n
    for cluster, label, keys in rows:
        assert cluster in ("0x0000", "0x0702", "0x0705", "0x0704"), cluster
        assert label == "TC link key ESME (CBKE)"
        assert cap["tc_link_key"].hex() in keys.replace(":", "")
        assert cap["nwk_key"].hex() in keys.replace(":", "")  # NWK layer too
    # the tunnelled GBCS message reached the GBCS dissector
    assert run(tshark, cap, cap["keys"], "-Y", "gbcs_message").count("\n") == 1 + n


def test_nothing_decrypts_without_keys(tshark, cap):
    rows = fields(tshark, cap, [], "frame.protocols")
    assert len(rows) == cap["frames"]
    assert not any("zbee_zcl" in r[0] or "zbee_zdp" in r[0] for r in rows)
    assert fields(tshark, cap, [], "zbee_aps.cmd.key", display="zbee_aps.cmd.key") == []


def test_network_key_alone_opens_nwk_but_not_aps(tshark, cap):
    nwk_only = [("NWK key", cap["nwk_key"])]
    rows = fields(tshark, cap, nwk_only, "frame.protocols")
    protos = [r[0] for r in rows]
    assert sum(":zbee_zcl_se.ke" in p for p in protos) == 6  # CBKE is NWK-secured only
    assert sum(":zbee_zdp" in p for p in protos) == 1
    assert not any(":zbee_zcl_se.tun" in p for p in protos)  # APS-secured: needs the TC link key
    assert fields(tshark, cap, nwk_only, "zbee_aps.cmd.key", display="zbee_aps.cmd.key") == []


def _reassembled_dumps(text):
    """The "Reassembled ZigBee APS (N bytes):" hex dumps of tshark -x output, as bytes."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("Reassembled ZigBee APS ("):
            cur = bytearray()
            out.append(cur)
        elif cur is not None:
            parts = line.split("  ")
            if len(parts) >= 2 and len(parts[0]) == 4 and parts[0].isalnum():
                cur += bytes.fromhex(parts[1].replace(" ", "")[:32])
            else:
                cur = None
    return [bytes(b) for b in out]


def test_fragmented_tunnel_transfers_reassembled_and_decoded(tshark, cap):
    from firmware.gbcs import frame

    tun = cap["tunnelled"]
    assert tun[0]["label"] in ("RTDS ECS42", "ECS42 fixture") and len(tun[0]["gbcs"]) == 146
    rows = fields(tshark, cap, cap["keys"], "frame.number", "zbee_aps.type",
                  "zbee_aps.fragmentation", "zbee_aps.block", "zbee_aps.block_acks",
                  "zbee_aps.reassembled.length", "zbee_aps.fragment.count",
                  "zbee.sec.decryption_key", "frame.protocols", "_ws.malformed")
    frags = [r for r in rows if r[2] in ("0x01", "0x02")]
    data = [r for r in frags if r[1] == "0x00"]
    acks = [r for r in frags if r[1] == "0x02"]
    assert len(data) == sum(t["blocks"] for t in tun)
    assert len(acks) == sum((t["blocks"] + 7) // 8 for t in tun)
    p = 0
    for t in tun:
        mine = data[p:p + t["blocks"]]
        p += t["blocks"]
        # block 0: "first" with the block count, then 1, 2, ... ; every block decrypted on its own
        assert [(r[2], int(r[3])) for r in mine] == (
            [("0x01", t["blocks"])] + [("0x02", i) for i in range(1, t["blocks"])])
        assert all(r[7] == "TC link key ESME (CBKE)" and r[9] == "" for r in mine)
        last = mine[-1]
        assert int(last[5]) == len(t["asdu"]) and int(last[6]) == t["blocks"]
        assert ":zbee_zcl:zbee_zcl_se.tun:gbcs_tunnel:gbcs_message" in last[8]
        assert all(":zbee_zcl" not in r[8] for r in mine[:-1])  # fragments alone: no ZCL yet
    # one ack per window of 8 from the meter, all blocks acknowledged
    assert [int(r[3]) for r in acks] == [b for t in tun for b in range(0, t["blocks"], 8)]
    assert all(r[4] == "0xff" for r in acks)
    # tshark reassembled exactly the bytes sent, and its GBCS dissector reads the commands
    text = run(tshark, cap, cap["keys"], "-x", "-Y", "zbee_aps.reassembled.length")
    assert _reassembled_dumps(text) == [t["asdu"] for t in tun]
    g = fields(tshark, cap, cap["keys"], "gbcs_message.grouping_header.message_code",
               "gbcs_message.grouping_header.originator_counter",
               display="zbee_aps.reassembled.length && gbcs_message")
    want = []
    for t in tun:
        m = frame.parse(t["gbcs"])
        want.append(["0x%04x" % m.message_code, str(m.counter)])
    assert g == want
