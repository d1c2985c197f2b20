"""`make demo`: the mission on virtual boards, narrated step by step with timings.

A premises is started (host_tools/boards/premises.py): a virtual Comms Hub and a virtual ESME on one
HAN (the air: ZEP over UDP, every frame to a pcap), flashed with mpremote over their REPL ptys and
provisioned from a fresh bench PKI. The bench ACB's CCS01 reaches the hub over its WAN endpoint and
logs the meter (CS14); the meter joins with its install code (network key under the install-code
link key, then CBKE: its TC link key's hash comes back in the next CS14); a device that is not in
the Device Log is refused; ECS42 travels WAN -> hub -> HAN (GBCS tunnel, ZSE Tunneling) -> meter and
its signed response back. Then a hand-held terminal logs in over the optical port and applies a
supplier-signed work order, a replay is refused, the consumer tops up at the keypad, a duplicate is
refused, a configuration code re-enables the supply, and the security log is read back. Gas
(host_tools/campaigns/gasdemo.py add_board_steps, on two more virtual boards: the RTDS hub carrying
the Gas Proxy Function and the RTDS GSME, host_tools/boards/gaspremises.py): the GSME joins the hub
and reports to its mirror on the GPF, a GPF read over the WAN is answered at once from the mirror, a
valve close over the WAN waits at the hub until the sleepy GSME's wake fetches it and its signed
response comes back on the WAN, and a top-up at the gas meter's keypad is reported to the mirror at
the next wake. Last, the
HAN capture is written (and summarised by tshark when it is installed). Every response and alert is
verified on the host with `cryptography`, independently of the firmware.

    python -m host_tools.campaigns.demo [--quiet] [--keep DIR]

Exit status 0 only when every step gave the expected result.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from firmware.core import seclog
from firmware.gbcs import dlms, frame
from host_tools.boards import logs
from host_tools.boards.premises import Premises, install_code
from host_tools.campaigns import gasdemo
from host_tools.codes import utrn as U
from host_tools.gbcs import hub as H
from host_tools.gbcs import usecases
from host_tools.hht import hht, workorder
from host_tools.keys import pki


HEAP = "2048K"  # each virtual board's heap: hub and meter with HAN + WAN fragment 512K (docs/wan.md §7)
JOIN_WAIT = 40  # seconds the demo waits for the meter's join (CBKE included)


class Demo:
    def __init__(self, workdir, quiet=False):
        self.dir = workdir
        self.quiet = quiet
        self.rows = []
        self.t_start = time.monotonic()

    def say(self, text):
        if not self.quiet:
            print(text, flush=True)

    def step(self, label, title, fn, expect_ok=True):
        """Run one step; label is its row in the summary table, title the narration."""
        self.say("\n-- %s" % title)
        t0 = time.monotonic()
        try:
            ok, detail = fn()
        except Exception as e:  # a demo step that breaks is reported as failed, with its reason
            ok, detail = False, "%s: %s" % (type(e).__name__, e)
        dt = time.monotonic() - t0
        passed = ok == expect_ok
        self.rows.append((label, "ok" if passed else "FAILED", dt, detail))
        self.say("   %s  (%.2f s)%s" % (detail, dt, "" if passed else "   <-- UNEXPECTED"))
        return passed

    # -- the scenario -------------------------------------------------------------------------
    def run(self):
        keys = os.path.join(self.dir, "pki")
        st = {}
        self.step("bench PKI", "bench PKI: root, recovery, supplier, network operator, ACB + 1 ESME + 1 Comms Hub",
                  lambda: (bool(pki.create_bench_pki(keys, [("esme", 1), ("chf", 1)])), "keys and X.509 certificates in %s" % keys))
        prem = Premises(self.dir, keys, meters=1, heap=HEAP)
        vb = prem.meters[0]
        dev = prem.meter_euis[0]
        try:
            self.step("start hub + ESME + air", "start a virtual Comms Hub and a virtual ESME (MicroPython unix port, "
                      "littlefs flash images, ptys) and the HAN air (ZEP v2 over UDP, pcap)",
                      lambda: (bool(prem.start(timeout=60)), "hub REPL %s, WAN %s:%d; ESME optical %s; air udp %d" % (
                          os.path.realpath(prem.hub.console), prem.wan[0], prem.wan[1], os.path.realpath(vb.optical),
                          prem.air.port)))

            def do_flash():
                r = prem.flash()
                return True, "%d bytes of .mpy to each of %d boards with mpremote (in parallel), SHA-256 verified" % (
                    max(r.values()), len(r))
            self.step("flash with mpremote", "flash the firmware (.mpy) with mpremote", do_flash)

            def do_provision():
                prem.provision([prem.hub])
                return True, "hub %s: identity, keys, trust anchors, HAN record (PAN, its meter's KA key); reset" % (
                    prem.hub_eui.hex().upper())
            self.step("provision hub + reset", "provision the hub's identity, keys, trust anchors and HAN settings; reset",
                      do_provision)
            self.hub_steps(prem, keys, dev, st)
            sup = pki.find_role(pki.load_keystore(keys), "supplier")
            items = []
            for uc in ("ECS42", "ECS43", "ECS45"):
                raw, c = usecases.build(uc, keys, dev)
                items.append(("command", uc, raw))
            wo = workorder.build(dev, sup.eui, sup.private["ds"], items)
            cred, hpriv = hht.issue_credential(sup.private["ds"], sup.eui, bytes.fromhex("48485400000000a7"), dev)

            def apply(n, expect):
                raw = bytes.fromhex(wo["items"][n - 1]["gbcs"])
                try:
                    resp = hht.deliver(vb.optical, cred, hpriv, dev, raw)
                except hht.HhtError as e:
                    return False, "meter refused it: %s" % e.text
                v = usecases.verify_response(resp, keys, dev, frame.parse(raw).counter)
                return v["ok"], "%s -> response verified by %s: %s" % (
                    wo["items"][n - 1]["label"], v["auth"], ", ".join(v.get("results", [])))

            self.step("ECS42 close via HHT", "HHT logs in (supplier-certified key, challenge-response) and applies the "
                      "supplier-signed ECS42 (close load switch) from the work order", lambda: apply(1, True))
            self.step("ECS42 replay refused", "the same ECS42 replayed through the HHT is refused (originator counter)",
                      lambda: apply(1, False), expect_ok=False)
            self.step("ECS43 open via HHT", "ECS43 (open load switch): supply off, as for a debt disconnection",
                      lambda: apply(2, True))
            z, supeui = U.supplier_secret(keys, dev)

            def keypad(code, want):
                out = "\n".join(vb.type_keys(code + "#", 20))
                return want in out, "display: %s" % out

            def topup():
                c = U.next_counter(keys, supeui, dev)
                st["utrn"] = U.topup(z, supeui, dev, c, 1000)
                return keypad(st["utrn"], "ACCEPTED")
            self.step("UTRN top-up at keypad", "consumer tops up £10.00 with a UTRN at the keypad", topup)
            self.step("duplicate UTRN refused", "the same UTRN entered again is refused", lambda: keypad(st["utrn"], "8F51"))

            def enable():
                c = U.next_counter(keys, supeui, dev)
                ok, d = keypad(U.config_code(z, supeui, dev, c, "enable_supply"), "ARMED")
                if not ok:
                    return ok, d
                ok2, d2 = keypad("A", "SUPPLY ON")
                return ok2, d + "; consumer presses A -> " + d2.replace("display: ", "")
            self.step("code: Enable Supply", "configuration code Enable Supply (no WAN needed): supply armed, consumer reconnects",
                      enable)
            self.step("ECS45 read via HHT", "ECS45 read load switch state through the HHT", lambda: apply(3, True))

            def read_seclog():
                got = logs.read_logs(vb.console, (seclog.GBCS, "utrn"))
                vb.reset_to_app()
                lines = [logs.decode(e)[0] for e in got[seclog.GBCS] + got["utrn"]]
                for ln in lines:
                    self.say("      " + ln)
                return any("8F60" in ln for ln in lines) and any("8F51" in ln for ln in lines), \
                    "%d security-log and %d UTRN-log entries read back" % (len(got[seclog.GBCS]), len(got["utrn"]))
            self.step("security log read back", "read back the security log", read_seclog)
        finally:
            if st.get("wan") is not None:
                st["wan"].close()
            prem.stop()
        gasdemo.add_board_steps(self, self.dir)
        self.step("HAN capture", "the HAN capture (every frame the air carried), summarised by tshark when installed",
                  lambda: self.capture(prem))
        return self.summary()

    # -- the Comms Hub part -------------------------------------------------------------------------
    def hub_steps(self, prem, keys, dev, st):
        c = st["wan"] = H.WanClient(prem.wan[0], prem.wan[1], timeout=30)
        hub = prem.hub_eui

        def cs14_log(m):
            return dlms.decode(bytes(m.content[6:]))[1][2][1][2][1]

        def show(alert):
            v = H.verify_hub_message(alert, keys, hub)
            m = frame.parse(alert)
            text = "alert %s (message code %s, %s)" % (v["alert"], v["message_code"], v["auth"])
            if v["alert"] == "8F12":
                text += ": Device Log " + ", ".join(
                    "%s key hash %s" % (e[1][0][1].hex().upper(), e[1][1][1].hex().upper()[:8] or "(none yet)")
                    for e in cs14_log(m))
            self.say("      " + text)
            return v, m

        def ccs01():
            raw, ctr = H.ccs01(keys, hub, dev, install_code(dev), 90)
            v = H.verify_hub_message(c.request(raw), keys, hub)
            al = [show(a)[0] for a in c.drain_alerts(1.0)]
            return v["ok"] and any(a["alert"] == "8F12" for a in al), \
                "CCS01 counter %d -> hub response verified by %s; CS14 received" % (ctr, v["auth"])
        self.step("CCS01 via WAN", "the bench ACB's CCS01 over the hub's WAN endpoint: the hub logs the meter "
                  "(install code, join window 90 s) and sends CS14", ccs01)

        def joined():
            prem.provision(prem.meters)
            self.say("      ESME %s provisioned (install code %s, its hub %s) and reset: it joins" % (
                dev.hex().upper(), install_code(dev).hex().upper(), hub.hex().upper()))
            end = time.monotonic() + JOIN_WAIT
            while time.monotonic() < end:
                for a in c.drain_alerts(0.5):
                    v, m = show(a)
                    if v["alert"] == "8F12" and any(e[1][0][1] == dev and e[1][1][1] for e in cs14_log(m)):
                        return True, "TC link key established by CBKE; CS14 carries its hash"
            return False, "no CS14 with the meter's TC link key hash within %d s" % JOIN_WAIT
        self.step("ESME provisioned, joins", "provision the ESME (identity, keys, trust anchors, its install code); it "
                  "joins: association, network key under its install-code link key, CBKE (P-256 deviation) -> TC "
                  "link key; CS14 shows its hash", joined)

        def rogue():
            from board.zepradio import UdpZepRadio
            from firmware.compat import ticks_ms
            from firmware.han.device import Joiner
            from firmware.store.durable import Store

            eui = bytes.fromhex("02534D4C01010099")
            d = os.path.join(self.dir, "rogue")
            os.makedirs(d, exist_ok=True)
            hub_ka = prem.payload(prem.meters[0])["han"]["tc_ka"]
            radio = UdpZepRadio(("127.0.0.1", prem.air.port), 99)
            j = Joiner(radio, Store(d), eui, ticks_ms,
                       cfg={"install_code": "00112233445566778899AABBCCDDEEFF", "tc": hub.hex(), "tc_ka": hub_ka})
            end = time.monotonic() + 10
            try:
                while time.monotonic() < end and not j.refusals:
                    j.poll()
                    time.sleep(0.005)
            finally:
                radio.close()
            al = [show(a)[0]["alert"] for a in c.drain_alerts(1.0)]
            return j.refusals > 0 and not j.joined and "8F48" in al, \
                "%s (not in the Device Log): association refused (PAN access denied), hub alert %s" % (
                    eui.hex().upper(), "8F48" if "8F48" in al else "missing")
        self.step("unlogged join refused", "a device not in the Device Log tries to join", rogue)

        def ecs42():
            raw, ctr = usecases.build("ECS42", keys, dev)
            t0 = time.monotonic()
            rsp = c.request(raw)
            dt = (time.monotonic() - t0) * 1000
            v = usecases.verify_response(rsp, keys, dev, ctr)
            return v["ok"], "ECS42 counter %d -> response from the meter verified by %s: %s (round trip %.0f ms)" % (
                ctr, v["auth"], ", ".join(v.get("results", [])), dt)
        self.step("ECS42 WAN->HAN->meter", "ECS42 (close load switch) over the WAN to the hub, through the GBCS "
                  "tunnel (ZSE Tunneling 0x0704) to the meter, and its signed response back", ecs42)

    def capture(self, prem):
        path = prem.pcap_path
        n = prem.air.stats().get("frames", 0)
        if not path or not os.path.exists(path):
            return False, "no capture written"
        detail = "%s: %d frames" % (path, n)
        ts = shutil.which("tshark")
        if ts:
            r = subprocess.run([ts, "-r", path, "-q", "-z", "io,phs"], capture_output=True, text=True, timeout=60)
            for ln in r.stdout.splitlines():
                if any(k in ln for k in ("zep", "wpan", "zbee")):
                    self.say("      " + ln.strip())
            detail += "; tshark: %s" % ("protocol hierarchy above" if r.returncode == 0 else r.stderr.strip()[:80])
        else:
            detail += " (tshark not installed: no summary)"
        return n > 0, detail

    def summary(self):
        total = time.monotonic() - self.t_start
        failed = [r for r in self.rows if r[1] != "ok"]
        w = max(len(r[0]) for r in self.rows)
        out = ["", "%-*s  %-6s  %7s" % (w, "step", "result", "seconds")]
        for title, res, dt, _ in self.rows:
            out.append("%-*s  %-6s  %7.2f" % (w, title, res, dt))
        out.append("%d steps, %d failed, %.1f s in all" % (len(self.rows), len(failed), total))
        if self.quiet:
            for title, _, _, detail in failed:
                out.append("FAILED: %s: %s" % (title, detail))
            print("\n".join(out[-1 - len(failed):] if not failed else out))
        else:
            print("\n".join(out))
        return 0 if not failed else 1


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.campaigns.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="print only the closing line (and failures)")
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one, removed)")
    a = ap.parse_args(argv)
    d = a.keep or tempfile.mkdtemp(prefix="smlab-demo-")
    os.makedirs(d, exist_ok=True)
    try:
        return Demo(d, a.quiet).run()
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
