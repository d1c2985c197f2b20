"""The HAN on virtual boards (docs/han.md §9-§11): an air (host_tools/han/air.py) and three
virtual boards, each its own MicroPython process — a Comms Hub and two ESMEs — flashed and
provisioned from one bench PKI through `smlab`, each given its "han" record (install code, Trust
Centre and KA keys) and its radio.json. CCS01 from the bench ACB (`smlab hub add`, over the hub's
WAN endpoint, response verified) logs meter 1 only. Then on the air:
  * meter 1 associates (status success), receives the network key and completes CBKE: the hub's
    Device Log holds its TC link key (hash shown by `smlab hub log`), equal to the meter's;
  * meter 2 (not logged) is refused at association (status 0x02, PAN access denied) and never
    gets further; the hub's security log records the refused join (0x8F48) with its EUI-64;
  * tshark decodes the air's pcap ZEP -> 802.15.4 -> ZigBee NWK -> APS -> ZCL with 0 malformed
    frames and decrypts the Transport-Key (install-code link key) and the NWK-secured CBKE
    frames (network key) with the keys printed here.
tshark as in tests/host/test_zigbee_tshark.py: skipped outside CI when missing, never in CI."""
import binascii
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import smlab_runner
from firmware.zigbee import aps, cbke, mac, nwk, zcl
from host_tools.han import air as A
from host_tools.han import capture

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NWK_KEY = bytes.fromhex("5A1B2C3D4E5F60718293A4B5C6D7E8F9")
CODE1 = bytes.fromhex("83FED3407A939723A5C639B26916D505")
HEAP = "512K"  # the virtual board default
CODE2 = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")


def _exec(vb, code):
    return vb.exec(code, timeout=60)


def _han_record(vb, rec, extra=None):
    code = "import board, json\ns = board.get().store()\ns.put_json('han', json.loads(%r))\n" % (
        json.dumps(rec))
    if extra:
        for k, v in extra.items():
            code += "s.put_json(%r, json.loads(%r))\n" % (k, json.dumps(v))
    _exec(vb, code + "print('HAN OK')")


def _decode(frames, nwk_key):
    """Facts of the air's frames: association responses (dst EUI-64, status) and the CBKE
    commands (src short, dst short, direction, command) of NWK-secured frames."""
    assoc, ke = [], []
    for _, _, psdu in frames:
        try:
            m = mac.parse(psdu)
            if m.ftype == mac.COMMAND and m.cmd == mac.CMD_ASSOC_RSP:
                assoc.append((m.dst, m.payload[2]))
                continue
            if m.ftype != mac.DATA:
                continue
            n = nwk.parse(m.payload)
            if not n.security:
                continue
            nwk.open_(n, nwk_key)
            a = aps.parse(n.payload)
            if a.ftype == aps.DATA and a.cluster == cbke.CLUSTER and not a.security:
                h, _ = zcl.parse(a.payload)
                ke.append((n.src, n.dst, h.direction, h.cmd))
        except Exception:  # noqa: BLE001 - frames this decoder does not need
            continue
    return assoc, ke


@pytest.fixture(scope="module")
def han(tmp_path_factory):
    from host_tools.boards import registry
    from host_tools.keys import pki, provision

    base = tmp_path_factory.mktemp("hanvb")
    home = base / "home"
    run = smlab_runner(home)
    ks = str(base / "pki")
    made = pki.create_bench_pki(ks, [("esme", 2), ("chf", 1)])
    esmes = sorted(e for e in made if e[5] == pki.DEVICE_TYPES["esme"])
    hub_eui = next(e for e in made if e[5] == pki.DEVICE_TYPES["chf"])
    ka = {e: bytes.fromhex(provision.payload(ks, e, role="chf" if e == hub_eui else "esme")["ka"])
          for e in esmes + [hub_eui]}
    pub = {e: cbke.public_key_of(k) for e, k in ka.items()}
    cap = str(base / "han.pcap")
    air = A.Air(pcap_path=cap, seed=1)
    air.keep_frames = True
    air.start()
    boards = [("hub", "chf", hub_eui, 1), ("m1", "esme", esmes[0], 2), ("m2", "esme", esmes[1], 3)]
    vbs = {}
    try:
        for name, role, eui, dev in boards:
            A.configure_board(registry.board_dir(name, str(home)), air.port, dev)
            run("sim", "start", name, "--role", role, "--eui", eui.hex(), "--heap", HEAP)
            run("flash", "sim:" + name)
            run("provision", "sim:" + name, "--keys", ks, "--role", role)
            vbs[name] = registry.vboard(name, str(home))
        _han_record(vbs["hub"], {"pan": 0x1A62, "peers": {e.hex(): pub[e].hex() for e in esmes}},
                    {"han_hub": {"nwk": NWK_KEY.hex(), "seq": 0}})
        for (name, code) in (("m1", CODE1), ("m2", CODE2)):
            _han_record(vbs[name], {"install_code": code.hex(), "tc": hub_eui.hex(),
                                    "tc_ka": pub[hub_eui].hex()})
        for vb in vbs.values():
            vb.reset_to_app(timeout=90)
        r = run("hub", "add", "sim:hub", "sim:m1", "--install-code", CODE1.hex(), "--keys", ks,
                "--join-timeout", "600")
        yield {"air": air, "run": run, "vbs": vbs, "hub": hub_eui, "m1": esmes[0], "m2": esmes[1],
               "cap": cap, "add": r.stdout, "home": home}
    finally:
        run("sim", "stop", check=False)
        air.stop()


def _joined(h, timeout=60):
    m1 = int.from_bytes(h["m1"], "big")
    m2 = int.from_bytes(h["m2"], "big")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assoc, ke = _decode(list(h["air"].frames), NWK_KEY)
        if ((m1, mac.ASSOC_SUCCESS) in assoc and (m2, mac.ASSOC_ACCESS_DENIED) in assoc
                and any(k[2] == zcl.TO_CLIENT and k[3] == cbke.CMD_CONFIRM for k in ke)):
            return assoc, ke
        time.sleep(0.5)
    raise AssertionError("no join seen on air: %r" % (_decode(list(h["air"].frames), NWK_KEY),))


def test_logged_meter_joins_unlogged_refused(han):
    assert "CCS01" in han["add"] and "verified" in han["add"]
    assoc, ke = _joined(han)
    m1 = int.from_bytes(han["m1"], "big")
    m2 = int.from_bytes(han["m2"], "big")
    assert (m2, mac.ASSOC_SUCCESS) not in assoc  # the unlogged meter is never admitted
    assert [k[3] for k in ke if k[2] == zcl.TO_SERVER][:3] == [0, 1, 2]  # Initiate, Ephemeral, Confirm
    time.sleep(1.0)
    hub = han["vbs"]["hub"]
    out = _exec(hub, "import board, binascii\nfrom firmware.hub import devicelog as D\n"
                     "d = D.DeviceLog(board.get().store())\n"
                     "for e in d.euis(): print('LK', binascii.hexlify(e).decode(), "
                     "binascii.hexlify(d.link_key(e) or b'').decode())\n")
    lk = dict(line.split()[1:3] for line in out.splitlines() if line.startswith("LK "))
    assert list(lk) == [han["m1"].hex()] and len(lk[han["m1"].hex()]) == 32
    m1 = han["vbs"]["m1"]
    mo = _exec(m1, "import board\nprint('J', board.get().store().get_json('han_join')['tc_link'])")
    assert mo.split("J ")[1].split()[0] == lk[han["m1"].hex()]
    han["tc_link"] = bytes.fromhex(lk[han["m1"].hex()])
    r = han["run"]("hub", "log", "sim:hub")
    assert han["m1"].hex().upper() in r.stdout.upper()
    assert han["m2"].hex().upper() in r.stdout.upper()  # the refusal in the join history
    for vb in han["vbs"].values():
        vb.reset_to_app(timeout=90)


def test_capture_decodes_in_tshark_with_keys(han):
    path = shutil.which("tshark")
    if path is None:
        if CI:
            pytest.fail("tshark is missing in CI: .ci/run installs it (make setup-tshark)")
        pytest.skip("tshark not installed (make setup-tshark)")
    _joined(han)
    from firmware.crypto import zigbee as zb

    keys = [("NWK key", NWK_KEY), ("install-code link key m1", zb.install_code_link_key_without_crc(CODE1))]
    if han.get("tc_link"):
        keys.append(("TC link key m1", han["tc_link"]))
    print("keys:", [(l, k.hex().upper()) for l, k in keys])
    cmd = [path, "-n", "-r", han["cap"]] + capture.wireshark_key_prefs(keys) + [
        "-T", "fields", "-E", "occurrence=a", "-e", "frame.protocols", "-e", "_ws.malformed",
        "-e", "zbee_aps.cmd.id", "-e", "zbee_zcl.cmd.id", "-e", "wpan.fcs_ok"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=os.path.dirname(han["cap"])))
    assert p.returncode == 0, p.stderr
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    assert len(rows) >= 10
    assert all("zep" in r[0] and "wpan" in r[0] for r in rows)
    assert not any(r[1] for r in rows), [r for r in rows if r[1]]  # 0 malformed
    assert all(r[4] in ("1", "True") for r in rows)  # every FCS valid
    assert any(r[2] == "0x05" or r[2] == "5" for r in rows)  # the Transport-Key, decrypted
    assert sum(1 for r in rows if "zbee_zcl" in r[0]) >= 6  # CBKE: NWK decrypted down to ZCL
