"""A campaign over many pre-configured premises on this machine (docs/lab.md "Pre-configured
premises"): N premises, each a Comms Hub carrying the Gas Proxy Function, an ESME, an IHD and a
GSME as virtual boards (4N MicroPython processes under shared supervisors; `--no-gas`: without the
GSME and the GPF, 3N), flashed from one prebuilt image and provisioned already paired
(host_tools/boards/premises.py, firmware/han/preset.py), all on one air whose topology keeps each
premises' frames to itself (every frame to one pcap). Then, in every premises at once, `--rounds`
times: a UTRN top-up typed on the ESME's keypad (accepted), the IHD following it over the HAN (its
display shows the new balance, read with ZCL from the meter), a hub-routed WAN command (ECS42,
signed: WAN -> hub -> HAN tunnel -> ESME -> back, verified on the host); and for gas a UTRN top-up
typed on the GSME's keypad (accepted), the GSME's next wake (the hub's and the GSME's clocks 30 min
on: the GSME reports to its mirror on the GPF over the HAN tunnel) and a GPF read via the WAN
(GCS60a "Read Meter Balance", MAC verified on the host) whose CreditRemaining is the GSME's credit
(read again until it is, at most MIRROR_S after the wake: the hub applies the wake's mirror report
when its loop reaches the frame; "mirror_credit" is the time from the wake to the credit shown).

Printed: failures (a step that did not give its expected result: must be 0), latency p50/p95 per
kind and over all steps, the campaign's wall time, set-up times, whether any join frame crossed the
air (the capture decoded with each premises' network key), memory per board.

    .venv/bin/python bench/bench_premises_campaign.py                      # 50 premises, 3 rounds
    .venv/bin/python bench/bench_premises_campaign.py --premises 2 --rounds 2 --json
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.boards import premises as P  # noqa: E402
from host_tools.boards import simctl  # noqa: E402
from host_tools.boards.vboard import stop_many  # noqa: E402
from host_tools.campaigns.fleet import percentile, rss_kb  # noqa: E402
from host_tools.codes import utrn as U  # noqa: E402
from host_tools.gbcs import hub as H  # noqa: E402
from host_tools.gbcs import usecases  # noqa: E402
from host_tools.han.air import Air, Topology  # noqa: E402
from host_tools.keys import pki  # noqa: E402


MIRROR_S = 10.0  # how long after the GSME's wake the GPF's mirror may take to show its credit


def _money(p):
    return "%d.%02d" % (p // 100, p % 100)


def _wait_ihd(vb, text, timeout):
    """Seconds until the IHD's display showed a line containing `text`, else None."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    sub = vb._displays()
    while time.monotonic() < deadline:
        if any(text in ln for ln in vb.display_lines()[-3:]):
            return time.monotonic() - t0
        if sub is not None:
            start = sub.count(vb.path)
            sub.wait(vb.path, start, lambda ls: any(text in ln for ln in ls), min(1.0, deadline - time.monotonic()))
        else:
            time.sleep(0.05)
    return None


def _wait_console(vb, text, offset, timeout):
    """Seconds until `text` appeared on the board's console after byte `offset`, else None."""
    t0 = time.monotonic()
    path = os.path.join(vb.path, "console.log")
    while True:
        with open(path, "rb") as f:
            f.seek(offset)
            if text in f.read().decode(errors="replace"):
                return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.05)


class Campaign:
    def __init__(self, n, workdir, rounds=3, interval_ms=5000, heap="512K", per_process=0, workers=8,
                 amount=100, ihd_timeout=60.0, gas=True):
        self.n, self.dir, self.rounds, self.gas = n, workdir, rounds, gas
        self.per = 4 if gas else 3  # boards per premises
        self.interval_ms, self.heap, self.per_process, self.workers = interval_ms, heap, per_process, workers
        self.amount, self.ihd_timeout = amount, ihd_timeout
        self.results = []  # (premises, kind, ok, seconds, detail)
        self.lock = threading.Lock()
        self.setup_s = {}
        self.prem = []

    def setup(self):
        t0 = time.monotonic()
        self.keys = os.path.join(self.dir, "pki")
        if not os.path.exists(os.path.join(self.keys, "index.json")):
            pki.create_bench_pki(self.keys, [("esme", self.n), ("chf", self.n)]
                                 + ([("gsme", self.n), ("gpf", self.n)] if self.gas else []))
        parties = pki.load_keystore(self.keys)
        self.setup_s["pki"] = time.monotonic() - t0
        k = self.per
        topo = "\n".join("%d %d 1.0" % (k * i + a, k * i + b) for i in range(self.n)
                         for a in range(1, k + 1) for b in range(a + 1, k + 1))
        self.air = Air(0, topology=Topology.parse(topo), seed=1, pcap_path=os.path.join(self.dir, "han.pcap"))
        self.air.start()
        self.prem = [P.Premises(os.path.join(self.dir, "p%03d" % (i + 1)), self.keys, meters=1, heap=self.heap,
                                air=self.air, ihd=True, preconfigured=True, index=i, id_base=k * i,
                                ihd_interval_ms=self.interval_ms, parties=parties, gsme=self.gas)
                     for i in range(self.n)]
        t0 = time.monotonic()
        P.start_many_premises(self.prem, self.air.port, self.dir, per_process=self.per_process,
                              timeout=max(180, k * self.n))
        self.setup_s["flash_and_boot"] = time.monotonic() - t0
        t0 = time.monotonic()
        P.provision_many(self.prem, workers=self.workers)
        self.setup_s["provision"] = time.monotonic() - t0
        t0 = time.monotonic()
        for p in self.prem:
            if _wait_ihd(p.ihd, "IHD BAL 0.00", max(60, self.n)) is None:
                raise RuntimeError("%s: the IHD shows no reading: %r" % (p.dir, p.ihd.display_lines()[-3:]))
        self.setup_s["first_ihd_reading"] = time.monotonic() - t0
        if self.gas:
            t0 = time.monotonic()
            for p in self.prem:
                if _wait_console(p.gsme, "gsme wake 1: fetched 0, answered 0", 0, max(60, self.n)) is None:
                    raise RuntimeError("%s: the GSME did not wake: %r" % (p.dir, p.gsme.display_lines()[-3:]))
            self.setup_s["first_gsme_wake"] = time.monotonic() - t0
        self.ledger = pki.Ledger(self.keys, U.LEDGER)
        sup = [q for _, q in sorted(parties.items()) if q.role == pki.ROLES["supplier"]][0]
        self.sup = sup
        self.z = {e: U.ecdh_z(sup.private["pp-ka"], parties[e].public["ka"])
                  for p in self.prem for e in [p.meter_euis[0]] + ([p.gsme_eui] if self.gas else [])}

    def _record(self, p, kind, ok, dt, detail):
        with self.lock:
            self.results.append((os.path.basename(p.dir), kind, ok, dt, detail))

    def run_premises(self, p):
        esme, ihd, eui = p.meters[0], p.ihd, p.meter_euis[0]
        credit = gas_credit = 0
        for r in range(self.rounds):
            # a top-up at the ESME's keypad
            t0 = time.monotonic()
            try:
                c = U.next_counter(self.keys, self.sup.eui, eui, ledger=self.ledger)
                code = U.topup(self.z[eui], self.sup.eui, eui, c, self.amount)
                shown = esme.type_keys(code + "#", 30)
                ok = any(ln.startswith("ACCEPTED") for ln in shown)
                detail = " | ".join(shown)
            except Exception as e:  # a failed step of this premises, reported
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
            self._record(p, "topup", ok, time.monotonic() - t0, detail)
            if ok:
                credit += self.amount
                # the IHD follows over the HAN
                t0 = time.monotonic()
                want = "IHD BAL %s " % _money(credit)
                dt = _wait_ihd(ihd, want, self.ihd_timeout)
                self._record(p, "ihd_follow", dt is not None, time.monotonic() - t0,
                             "shown" if dt is not None else "IHD shows %r, wanted %r" % (ihd.display_lines()[-1:], want))
            # a hub-routed WAN command
            t0 = time.monotonic()
            try:
                raw, counter = usecases.build("ECS42", self.keys, eui)
                t0 = time.monotonic()
                with H.WanClient(p.wan[0], p.wan[1], timeout=30) as cl:
                    resp = cl.request(raw)
                v = usecases.verify_response(resp, self.keys, eui, counter)
                ok = bool(v.get("auth")) and "success" in " ".join(v.get("results", []))
                detail = "%s %s" % (v.get("auth"), v.get("results"))
            except Exception as e:  # a failed step of this premises, reported
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
            self._record(p, "wan_ecs42", ok, time.monotonic() - t0, detail)
            if self.gas:
                gas_credit = self.run_gas(p, r, gas_credit)

    def run_gas(self, p, r, credit):
        """Round `r` of gas in premises `p`: a top-up at the GSME's keypad, its next wake (both clocks
        30 min on), the balance read from the GPF's mirror over the WAN. Returns the credit (pennies)
        the GSME holds after it."""
        gsme, eui = p.gsme, p.gsme_eui
        t0 = time.monotonic()
        try:
            c = U.next_counter(self.keys, self.sup.eui, eui, ledger=self.ledger)
            shown = gsme.type_keys(U.topup(self.z[eui], self.sup.eui, eui, c, self.amount) + "#", 30)
            ok = any("ACCEPTED" in ln for ln in shown)
            detail = " | ".join(shown)
        except Exception as e:  # a failed step of this premises, reported
            ok, detail = False, "%s: %s" % (type(e).__name__, e)
        self._record(p, "gas_topup", ok, time.monotonic() - t0, detail)
        credit += self.amount if ok else 0
        off = gsme.log_size()
        t0 = time.monotonic()
        for vb in (p.hub, gsme):
            simctl.clock(vb.path, advance=1800)
        want = "gsme wake %d: fetched 0, answered 0" % (r + 2)
        dt = _wait_console(gsme, want, off, 30)
        self._record(p, "gsme_wake", dt is not None, time.monotonic() - t0,
                     "woke" if dt is not None else "no %r: %r" % (want, gsme.display_lines()[-2:]))
        # the wake's last frame is the mirror report, which the hub applies when its loop reaches it:
        # under load a read may come first, so the balance is read again until it shows the credit
        t_woke = time.monotonic()
        reads = 0
        got = None
        while True:
            try:
                raw, counter = p.gas_read("GCS60a")
                t0 = time.monotonic()
                with H.WanClient(p.wan[0], p.wan[1], timeout=30) as cl:
                    resp = cl.request(raw)
                got = P.credit_remaining(p.check_gas_read(resp, counter))
                reads += 1
                ok = got is not None
                detail = "credit %r" % (got,)
            except Exception as e:  # a failed step of this premises, reported
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
            self._record(p, "wan_gcs60a", ok, time.monotonic() - t0, detail)
            if not ok or got == credit * 1000 or time.monotonic() - t_woke > MIRROR_S:
                break
            time.sleep(0.1)
        self._record(p, "mirror_credit", got == credit * 1000, time.monotonic() - t_woke,
                     "credit %r after %d reads, wanted %d" % (got, reads, credit * 1000))
        return credit

    def run(self):
        t0 = time.monotonic()
        ts = [threading.Thread(target=self.run_premises, args=(p,)) for p in self.prem]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.wall = time.monotonic() - t0

    def joins_on_air(self):
        keys = {}
        for p in self.prem:
            with open(os.path.join(p.dir, "han-keys.json")) as f:
                k = bytes.fromhex(json.load(f)["nwk"])
            for dev in p.device_ids():
                keys[dev] = k
        return P.capture_kinds(os.path.join(self.dir, "han.pcap"), keys)

    def memory(self):
        sts = [vb.status() for p in self.prem for vb in p.boards()]
        sups = {st.get("supervisor") for st in sts if st.get("supervisor")}
        mp = [rss_kb(st.get("micropython") or 0) for st in sts]
        mp = [m for m in mp if m]
        sup_total = sum(rss_kb(s) or 0 for s in sups)
        return {"micropython_rss_kb_median": percentile(mp, 50),
                "supervisors": len(sups), "supervisor_rss_kb_per_board": sup_total // max(1, len(sts))}

    def report(self):
        lat = {}
        for _, kind, ok, dt, _ in self.results:
            lat.setdefault(kind, []).append(dt * 1000)
        # commands answered at once (the IHD's following and the GSME's wake wait for their schedules)
        allv = [dt * 1000 for _, k, _, dt, _ in self.results if k not in ("ihd_follow", "gsme_wake", "mirror_credit")]
        fails = [r for r in self.results if not r[2]]
        air = self.joins_on_air()
        return {"premises": self.n, "boards": self.per * self.n, "gas": self.gas, "rounds": self.rounds, "ihd_interval_ms": self.interval_ms,
                "steps": len(self.results), "failures": len(fails), "wall_s": round(self.wall, 2),
                "latency_ms": {k: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1),
                                   "max": round(max(v), 1), "n": len(v)}
                               for k, v in sorted(list(lat.items()) + [("commands", allv)])},
                "setup_s": {k: round(v, 2) for k, v in self.setup_s.items()},
                "air": {"frames": air["frames"], "join_frames": air["beacon"] + air["mac_command"]
                        + air["nwk_unsecured"] + air["zdp"] + air["clusters"].get(0x0800, 0),
                        "undecoded": air["undecoded"],
                        "clusters": {"%04X" % c: n for c, n in sorted(air["clusters"].items())}},
                "memory": self.memory(), "load_avg": os.getloadavg(),
                "failed": [{"premises": p, "kind": k, "detail": d[:200]} for p, k, _, _, d in fails[:20]]}

    def stop(self):
        if getattr(self, "ledger", None) is not None:
            self.ledger.close()
        stop_many([vb for p in self.prem for vb in p.boards()])
        self.air.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--premises", type=int, default=50, help="number of premises (4 boards each; default 50)")
    ap.add_argument("--rounds", type=int, default=3, help="top-up + WAN command rounds per premises (default 3)")
    ap.add_argument("--no-gas", action="store_true", help="premises without the GSME and the GPF (3 boards each)")
    ap.add_argument("--interval-ms", type=int, default=5000, help="IHD read interval (default 5000)")
    ap.add_argument("--heap", default="512K", help="MicroPython heap per board (default 512K)")
    ap.add_argument("--per-process", type=int, default=0, help="boards per supervisor process (0: one for all)")
    ap.add_argument("--workers", type=int, default=8, help="boards provisioned at a time (default 8)")
    ap.add_argument("--workdir", help="keep the boards here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    tmp = None
    wd = a.workdir
    if wd is None:
        tmp = tempfile.TemporaryDirectory(prefix="premises-")
        wd = tmp.name
    os.makedirs(wd, exist_ok=True)
    c = Campaign(a.premises, wd, a.rounds, a.interval_ms, a.heap, a.per_process, a.workers, gas=not a.no_gas)
    try:
        c.setup()
        c.run()
        rep = c.report()
    finally:
        c.stop()
        if tmp is not None:
            tmp.cleanup()
    if a.json:
        print(json.dumps(rep, indent=1))
    else:
        print("%d premises (%d boards%s), %d rounds: %d steps, %d failures, wall %.1f s"
              % (rep["premises"], rep["boards"], ", with gas" if rep["gas"] else "", rep["rounds"], rep["steps"], rep["failures"], rep["wall_s"]))
        for k, v in rep["latency_ms"].items():
            print("  %-13s p50 %8.1f ms  p95 %8.1f ms  max %8.1f ms  n %d" % (k, v["p50"], v["p95"], v["max"], v["n"]))
        print("  setup: %s" % ", ".join("%s %.1f s" % kv for kv in rep["setup_s"].items()))
        print("  air: %d frames, %d join frames, clusters %s" % (rep["air"]["frames"], rep["air"]["join_frames"],
                                                                rep["air"]["clusters"]))
        print("  memory: %s; load average %s" % (rep["memory"], ", ".join("%.2f" % x for x in rep["load_avg"])))
        for f in rep["failed"]:
            print("  FAILED %s %s: %s" % (f["premises"], f["kind"], f["detail"]))
    return 0 if rep["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
