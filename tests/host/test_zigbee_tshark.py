"""The HAN capture judged by an independent dissector: host_tools.han.capture writes a scripted
install-code join (frames built by firmware/zigbee) as Ethernet/IPv4/UDP/ZEP v2 pcap, and tshark
(Wireshark's dissectors) must decode ZEP -> IEEE 802.15.4 (FCS valid) -> ZigBee NWK -> APS -> ZCL
with 0 malformed frames, decrypting NWK and APS payloads only with the keys given to it.

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
    assert len(zcl) == 6 + 6 + 3  # CBKE, Basic/Metering/Prepayment reads, tunnel
    assert sum(":zbee_zcl_se.ke" in r[1] for r in rows) == 6
    assert sum(":zbee_zcl_se.tun" in r[1] for r in rows) == 3
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
    assert len(rows) == 9
    for cluster, label, keys in rows:
        assert cluster in ("0x0000", "0x0702", "0x0705", "0x0704"), cluster
        assert label == "TC link key ESME (CBKE)"
        assert cap["tc_link_key"].hex() in keys.replace(":", "")
        assert cap["nwk_key"].hex() in keys.replace(":", "")  # NWK layer too
    # the tunnelled GBCS message reached the GBCS dissector
    assert run(tshark, cap, cap["keys"], "-Y", "gbcs_message").count("\n") == 1


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
