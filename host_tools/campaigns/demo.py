"""`make demo`: the mission on a virtual board, narrated step by step with timings.

A virtual ESME is started, flashed with mpremote over its REPL pty, provisioned from a fresh bench
PKI; then a hand-held terminal logs in over the optical port and applies a supplier-signed work
order, a replay is refused, the consumer tops up at the keypad, a duplicate is refused, a
configuration code re-enables the supply, and the security log is read back. Every response is
verified on the host with `cryptography`, independently of the firmware.

    python -m host_tools.campaigns.demo [--quiet] [--keep DIR]

Exit status 0 only when every step gave the expected result.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from firmware.core import seclog
from firmware.gbcs import frame
from host_tools.boards import flash, logs
from host_tools.boards import registry as boards
from host_tools.boards.vboard import VBoard
from host_tools.codes import utrn as U
from host_tools.gbcs import usecases
from host_tools.hht import hht, workorder
from host_tools.keys import pki, provision


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
        dev = pki.bench_device_eui("esme", 1)
        vb = VBoard(os.path.join(self.dir, "esme1"), flash_kb=2048, heap="512K", eui64=dev.hex())
        boards.write_meta(vb.path, {"role": "esme", "eui": dev.hex()})
        st = {}
        try:
            self.step("bench PKI", "bench PKI: root, recovery, supplier, network operator, ACB + 1 ESME",
                      lambda: (bool(pki.create_bench_pki(keys, [("esme", 1)])), "keys and X.509 certificates in %s" % keys))
            self.step("start virtual ESME", "start a virtual ESME (MicroPython unix port, littlefs flash image, ptys)",
                      lambda: (bool(vb.start(timeout=60)), "REPL %s, optical %s" % (
                          os.path.realpath(vb.console), os.path.realpath(vb.optical))))

            def do_flash():
                with tempfile.TemporaryDirectory() as tmp:
                    files = flash.firmware_files("host", tmp)
                    r = flash.flash_board(vb.console, files)
                return r["verified"] == r["files"], "%d files, %d bytes copied with mpremote, SHA-256 verified on the board" % (
                    r["files"], r["bytes"])
            self.step("flash with mpremote", "flash the firmware (.mpy) with mpremote", do_flash)

            def do_provision():
                s = provision.provision_board(vb.console, provision.payload(keys, dev))
                vb.reset_to_app()
                return True, "identity %s, %d trust anchor cells; board reset, firmware running from flash" % (
                    s["eui"], s["cells"])
            self.step("provision + reset", "provision identity, keys and trust anchors; reset", do_provision)

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
            vb.stop()
        return self.summary()

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
