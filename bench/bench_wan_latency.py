"""WAN -> meter -> WAN round-trip latency of GBCS commands through the Comms Hub (issue acceptance:
ECS42 and ECS45, p50 and p99, target p50 <= 50 ms with one premises; docs/wan.md §6).

One premises of virtual boards (host_tools/boards/premises.py): a virtual Comms Hub and a virtual
ESME, MicroPython unix port, on one air (ZEP v2 over UDP), flashed and provisioned from a fresh
bench PKI; CCS01 logs the meter, the meter joins with its install code (CBKE). Then N commands of
each use case go over one TCP connection to the hub's WAN endpoint: each is built and signed on the
host before the clock starts, the clock runs from the send to the complete response frame, and
every response is verified on the host with `cryptography` (a response that does not verify fails
the run). The hub forwards each over the HAN in the GBCS tunnel (ZSE Tunneling 0x0704, APS-secured,
fragmented), the meter's gate authenticates it (ECS42: KRP signature verify, response signed;
ECS45: MACs) and the answer comes back the same way.

    .venv/bin/python bench/bench_wan_latency.py [--n 50] [--json] [--heap 1024K] [--keep DIR]
                                                [--compare-readsize 32]

The same premises is then run again with littlefs's default readsize (32) on every board, what the
virtual boards mounted with before board.flash.READSIZE, and the p50 ratio printed (one run, one
machine load).

Prints p50 / p99 / min / max per use case; exit status 1 if a command failed to verify or the
premises did not come up; the p50 target is reported, not enforced.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGET_P50_MS = 50.0
JOIN_WAIT_S = 60


def pct(xs, p):
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    i = int(k)
    j = min(i + 1, len(s) - 1)
    return s[i] + (s[j] - s[i]) * (k - i)


def _set_readsize(vb, readsize):
    """The littlefs readsize the board's ROM mounts with from its next boot (board.json)."""
    path = os.path.join(vb.path, "board.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["lfs_readsize"] = readsize
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def run(n, heap, workdir, readsize=None):
    from host_tools.boards.premises import DetachedAir, Premises, install_code
    from host_tools.gbcs import hub as H
    from host_tools.gbcs import usecases
    from host_tools.keys import pki

    keys = os.path.join(workdir, "pki")
    pki.create_bench_pki(keys, [("esme", 1), ("chf", 1)])
    # the air in its own process, as `smlab han start` runs it (not a thread beside this client)
    prem = Premises(workdir, keys, meters=1, heap=heap, pcap=False, air=DetachedAir(os.path.join(workdir, "air")))
    dev = prem.meter_euis[0]
    out = {"n": n, "heap": heap, "use_cases": {}, "lfs_readsize": readsize or "default (board.flash.READSIZE)"}
    try:
        t0 = time.monotonic()
        prem.start()
        if readsize is not None:
            for vb in prem.boards():
                _set_readsize(vb, readsize)
        prem.flash()
        prem.provision()
        with H.WanClient(prem.wan[0], prem.wan[1], timeout=30) as c:
            raw, _ = H.ccs01(keys, prem.hub_eui, dev, install_code(dev), 600)
            if not H.verify_hub_message(c.request(raw), keys, prem.hub_eui)["ok"]:
                raise RuntimeError("CCS01 refused")
            if not H.wait_joined(c, keys, prem.hub_eui, [dev], JOIN_WAIT_S):
                raise RuntimeError("the meter did not join within %d s" % JOIN_WAIT_S)
            out["setup_s"] = round(time.monotonic() - t0, 1)
            for uc in ("ECS42", "ECS45"):
                cmds = [usecases.build(uc, keys, dev) for _ in range(n + 1)]
                times = []
                for i, (cmd, ctr) in enumerate(cmds):
                    t1 = time.perf_counter()
                    rsp = c.request(cmd)
                    dt = (time.perf_counter() - t1) * 1000.0
                    if not usecases.verify_response(rsp, keys, dev, ctr)["ok"]:
                        raise RuntimeError("%s response %d did not verify" % (uc, i))
                    if i:  # the first one opens the tunnel: reported apart
                        times.append(dt)
                    else:
                        out.setdefault("first_ms", {})[uc] = round(dt, 1)
                out["use_cases"][uc] = {"p50_ms": round(pct(times, 50), 1), "p99_ms": round(pct(times, 99), 1),
                                        "min_ms": round(min(times), 1), "max_ms": round(max(times), 1),
                                        "samples": len(times), "command_bytes": len(cmds[0][0])}
    finally:
        prem.stop()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="commands per use case (default 50)")
    ap.add_argument("--heap", default="1024K", help="MicroPython heap of each virtual board (default 1024K)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--keep", help="work directory to keep (default: a temporary one, removed)")
    ap.add_argument("--compare-readsize", type=int, default=32, metavar="N",
                    help="then run the same premises with littlefs readsize N on every board (default 32, "
                         "littlefs's own default, which the boards used before board.flash.READSIZE); 0: skip")
    a = ap.parse_args(argv)
    d = a.keep or tempfile.mkdtemp(prefix="smlab-wanlat-")
    os.makedirs(d, exist_ok=True)
    runs = [None] + ([a.compare_readsize] if a.compare_readsize else [])
    res = []
    try:
        for i, rs in enumerate(runs):
            try:
                res.append(run(a.n, a.heap, os.path.join(d, "run%d" % i), rs))
            except Exception as e:  # the premises did not come up or a response failed: say why, exit 1
                print("bench_wan_latency: FAILED: %s: %s" % (type(e).__name__, e))
                return 1
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    r = res[0]
    if len(res) > 1:
        r["compare"] = res[1]
        r["ratio_p50_compare_over_now"] = {uc: round(res[1]["use_cases"][uc]["p50_ms"] / v["p50_ms"], 2)
                                           for uc, v in r["use_cases"].items()}
    if a.json:
        print(json.dumps(r, indent=1, sort_keys=True))
        return 0
    for label, x in zip(("now", "compare"), res):
        print("-- %s: littlefs readsize %s" % (label, x["lfs_readsize"]))
        for uc, v in x["use_cases"].items():
            print("%s  WAN -> hub -> HAN -> meter -> WAN: p50 %.1f ms  p99 %.1f ms  (min %.1f, max %.1f, n %d; "
                  "first with tunnel set-up %.1f ms)  target p50 <= %.0f ms: %s" % (
                      uc, v["p50_ms"], v["p99_ms"], v["min_ms"], v["max_ms"], v["samples"], x["first_ms"][uc],
                      TARGET_P50_MS, "met" if v["p50_ms"] <= TARGET_P50_MS else "NOT met"))
        print("one premises (hub + 1 ESME), heap %s, set-up %.1f s" % (x["heap"], x["setup_s"]))
    if len(res) > 1:
        print("p50 with readsize %d / p50 now: %s" % (a.compare_readsize, ", ".join(
            "%s %.2fx" % kv for kv in sorted(r["ratio_p50_compare_over_now"].items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
