"""Gas end to end on virtual boards (docs/gas.md "On virtual boards"): the RTDS Comms Hub carrying the
RTDS Gas Proxy Function on one virtual board, the RTDS gas meter (GSME) on another, their radios on
one ZEP air (host_tools/boards/gaspremises.py). The ACB's CCS01 over the WAN logs the GSME (response
MAC verified); the GSME joins by CBKE and at its first wake reports to its mirror on the GPF. Then,
through `smlab send --via wan` (the CLI, a separate process):
  * GCS13a to the GPF is answered at once from the mirror (MAC verified on the host);
  * the RTDS valve close GCS32 (KRP-signed) for the GSME gets no answer while the GSME sleeps — the
    command waits at the hub — and when both boards' clocks move 30 min on the GSME wakes, fetches
    it over the HAN tunnel, closes its valve and PUTs its signed response, which comes back on the
    CLI's WAN connection (signature verified on the host);
  * an HHT at the GSME board's optical port (pass-through, host_tools/hht) applies item 1 of a
    supplier-signed gas work order (GCS39 arm; GCS32 close not applied): signed response verified;
  * a £10.00 UTRN typed at the GSME board's keypad is accepted;
  * after the next wake, read from the boards' flash: the GSME's valve armed (closed by the WAN
    command, then armed by the HHT), and the GPF's mirror the same, its credit £10.00.
The hub runs with HUB_HEAP (the hub with the GPF boots and passes at 448K; at 384K the GPF's store
does not load at boot — docs/gas.md). Skips without ../shared's RTDS corpus and keystore."""
import json
import os
import subprocess
import time

import pytest

from conftest import smlab_runner
from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

HUB_HEAP = "448K"
GSME_HEAP = "512K"


def _hex_file(path, raw):
    with open(path, "w") as f:
        f.write(raw.hex().upper() + "\n")
    return str(path)


def _mirror_supply(vb, root_suffix):
    """Metering SupplyStatus of the GasModel in the board's store (root_suffix "" for the GSME's,
    "/gpf" for the GPF's mirror on the hub), read through the board's raw REPL."""
    out = vb.exec("import board\nfrom firmware.store.durable import Store\nfrom firmware.gas.model import GasModel\n"
                  "print('SUPPLY', GasModel(Store(board.get().storage_root().rstrip('/') + %r)).supply())\n"
                  % root_suffix)
    line = [ln for ln in out.splitlines() if ln.startswith("SUPPLY ")]
    assert line, out
    return int(line[0].split()[1])


def _mirror_credit(vb):
    """The credit remaining (1e-5 GBP) in the GPF's mirror on the hub's flash, as the GSME last
    reported it (the mirror's credit base: a GPF has no UTRN acceptor)."""
    out = vb.exec("import board\nfrom firmware.store.durable import Store\nfrom firmware.gas.model import GasModel\n"
                  "g = GasModel(Store(board.get().storage_root().rstrip('/') + '/gpf'))\n"
                  "print('CREDIT', g.credit())\n")
    line = [ln for ln in out.splitlines() if ln.startswith("CREDIT ")]
    assert line, out
    return int(line[0].split()[1])


def _keypad_top_up(p, keys, pennies):
    """A UTRN for `pennies` from the RTDS supplier (its prepayment KA key x the GSME's KA key) typed at
    the GSME board's keypad; the display lines it printed."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from host_tools.boards.gaspremises import GSME, SUPPLIER
    from host_tools.codes import utrn

    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.device_pub(GSME, "ka"))
    z = keys.parties[SUPPLIER].priv["pp-ka"].exchange(ec.ECDH(), pub)
    return p.gsme.type_keys(utrn.topup(z, SUPPLIER, GSME, 500, pennies) + "#", 20)


def _hht_work_order(p, keys, tmp_path):
    """The pass-through HHT (host_tools/hht) at the GSME board's optical pty: a work order of the RTDS
    GCS39 (arm) and GCS32 (close) re-signed for the visit by the RTDS supplier (DS key, ACB MAC,
    fresh counters), its credential issued by the same supplier; item 1 applied. Returns the parsed
    response (its signature verified with the GSME's DS key)."""
    from firmware.gbcs import frame
    from firmware.optical import auth
    from host_tools.boards.gaspremises import ACB, GSME, SUPPLIER
    from host_tools.gbcs import verify as V
    from host_tools.gbcs.gas_premises import rtds_command
    from host_tools.gbcs.gsme_rtds import GsmeRole
    from host_tools.hht import hht as H
    from host_tools.hht import workorder as W
    from cryptography.hazmat.primitives import serialization

    sk = keys.parties[SUPPLIER].priv["ds"]
    pub = str(tmp_path / "sup.pem")
    with open(pub, "wb") as f:
        f.write(sk.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))

    def cmd(name):
        _, m = rtds_command(name)
        return V.build_command(SUPPLIER, GSME, p.next_counter(), m.message_code, m.content, ds_priv=sk,
                               acb_ka_priv=keys.parties[ACB].priv["ka"], device_ka_pub=keys.device_pub(GSME, "ka"))
    items = [("command", "arm the gas valve (GCS39)", cmd("GCS39_7.3_SUCCESS_COMMAND_GBCS.HEX")),
             ("command", "close the gas valve (GCS32)", cmd("GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX"))]
    wo = str(tmp_path / "wo.json")
    W.save(wo, W.build(GSME, SUPPLIER, sk, items, wo_id="WO-GAS-BOARD"))
    cred, hk = H.issue_credential(sk, SUPPLIER, bytes.fromhex("4848540000000021"), GSME, auth.PERM_PASS)
    cred_path = str(tmp_path / "cred.json")
    H.save_credential(cred_path, cred, hk)
    out = str(tmp_path / "responses.json")
    rc = H.main(["workorder", "--port", p.gsme.optical, "--cred", cred_path, "--wo", wo, "--supplier-pub", pub,
                 "--apply", "1", "--out", out])
    assert rc == 0
    with open(out) as f:
        up = json.load(f)
    assert [r["id"] for r in up["results"]] == [1] and up["results"][0]["status"] == "applied", up
    resp = frame.parse(bytes.fromhex(up["results"][0]["response"]))
    assert resp.counter == frame.parse(items[0][2]).counter
    assert V.verify_signature(GsmeRole().ds_pub(), resp)  # the device-signed critical response
    return resp


def test_gas_premises_on_boards(tmp_path):
    from firmware.gbcs import frame
    from host_tools.boards.gaspremises import GPF, GSME, GasPremises
    from host_tools.gbcs import hub as H
    from host_tools.gbcs.gas_premises import remac, rtds_command

    t_start = time.monotonic()
    home = tmp_path / "home"
    run = smlab_runner(home)
    run("pki", "import", C.KEYSTORE)
    p = GasPremises(str(tmp_path / "premises"), hub_heap=HUB_HEAP, gsme_heap=GSME_HEAP,
                    boards_dir=str(home / "boards"))
    keys = p.keys
    try:
        p.start()
        p.flash()
        p.provision()
        with H.WanClient(p.wan[0], p.wan[1], timeout=30) as c:
            ok, why = p.log_gsme(c)
            assert ok, why
        off = p.gsme.log_size()
        p.provision_gsme()
        assert p.wait_console(p.gsme, "gsme wake 1: fetched 0", off, 60), p.console(p.gsme, off)[-2000:]

        # a GPF read over the WAN: answered at once from the mirror
        read = remac(keys, "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", p.next_counter(),
                     keys.device_pub(GPF, "ka"))
        t0 = time.monotonic()
        r = run("send", "sim:hub", "--via", "wan", "--eui", GPF.hex(), "--raw", _hex_file(tmp_path / "r.hex", read),
                "--timeout", "5", "--json")
        dt_read = time.monotonic() - t0
        out = json.loads(r.stdout)
        assert out["verified"] is True and out["auth"] == "MAC", out
        assert frame.parse(bytes.fromhex(out["response"])).originator == GPF
        stamp1 = frame.parse(bytes.fromhex(out["response"])).date_time

        # the valve close for the sleeping GSME: it waits at the hub until the GSME's next wake
        path, m = rtds_command("GCS32_7.2_SUCCESS_COMMAND_GBCS.HEX")
        off = p.gsme.log_size()
        env = dict(os.environ, SMLAB_HOME=str(home))
        proc = subprocess.Popen([os.path.join(os.path.dirname(__import__("sys").executable), "smlab"), "send",
                                 "sim:gsme", "--via", "wan", "--raw", path, "--timeout", "60", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            time.sleep(3.0)
            assert proc.poll() is None, proc.communicate()  # no answer while the GSME sleeps
            assert "gsme wake 2" not in p.console(p.gsme, off)
            t_wake = time.monotonic()
            p.advance(1800)  # 30 min on both boards' clocks: the GSME's next wake
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        dt_wake = time.monotonic() - t_wake
        assert proc.returncode == 0, (stdout, stderr)
        out = json.loads(stdout)
        assert out["verified"] is True and out["auth"] == "signature", out
        rsp = frame.parse(bytes.fromhex(out["response"]))
        assert rsp.originator == GSME and rsp.counter == m.counter and rsp.cra == frame.CRA_RESPONSE
        assert p.wait_console(p.gsme, "gsme wake 2: fetched 1, answered 1", off, 10), p.console(p.gsme, off)

        # the mirror was refreshed at that wake: a GPF read now carries the later GSME time
        read2 = remac(keys, "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX", p.next_counter(),
                      keys.device_pub(GPF, "ka"))
        r = run("send", "sim:hub", "--via", "wan", "--eui", GPF.hex(), "--raw",
                _hex_file(tmp_path / "r2.hex", read2), "--timeout", "5", "--json")
        out2 = json.loads(r.stdout)
        assert out2["verified"] is True, out2
        assert frame.parse(bytes.fromhex(out2["response"])).date_time != stamp1

        # an HHT at the GSME's optical port: a supplier-signed work order, item 1 (arm the valve,
        # GCS39) applied through the pass-through; item 2 (close) not applied
        t_hht = time.monotonic()
        resp_arm = _hht_work_order(p, keys, tmp_path)
        dt_hht = time.monotonic() - t_hht
        assert resp_arm.originator == GSME and resp_arm.cra == frame.CRA_RESPONSE
        # a £10.00 UTRN top-up typed at the GSME board's keypad (the RTDS supplier's prepayment key)
        shown = _keypad_top_up(p, keys, 1000)
        assert any("ACCEPTED" in ln for ln in shown), shown
        off = p.gsme.log_size()
        p.advance(1800)  # the next wake reports the armed valve and the credit to the mirror
        assert p.wait_console(p.gsme, "gsme wake 3: fetched 0, answered 0", off, 20), p.console(p.gsme, off)

        # the state on the boards' flash: the valve closed by the WAN command, then armed by the HHT
        # on the GSME, and the same in the GPF's mirror after the wake
        assert _mirror_supply(p.gsme, "") == 1
        assert _mirror_supply(p.hub, "/gpf") == 1
        assert _mirror_credit(p.hub) == 1000 * 1000  # £10.00 in 1e-5 GBP (the GSME started at 0)
    finally:
        p.stop()
    total = time.monotonic() - t_start
    print("gas boards: GPF read via the CLI %.2f s, GCS32 answered %.2f s after the clocks moved, HHT work order "
          "%.2f s, whole test %.1f s" % (dt_read, dt_wake, dt_hht, total))
    assert total < 90
