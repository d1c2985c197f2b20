"""Full single-bit-flip sweep of the implemented RTDS commands (ECS42, ECS43, ECS44, ECS45, ECS02,
ECS03 SUCCESS commands) against the ESME pipeline (gbcs.md §6; regions and expected reasons in
host_tools/gbcs/negative.py). Every bit of header, content, signature and MAC is flipped; each
variant must be rejected with the reason of the first check it reaches and change no state. A second
sweep recomputes the MAC after each flip of counter, message code, content or signature of the
critical commands (published ACB key), so the KRP signature check alone must catch it.

Run: .venv/bin/python bench/bench_gbcs_bitflip.py [--step N] [--no-remac]
Prints counts per (command, region, reason); exits 1 on any accepted or wrongly classified flip.
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.gbcs import corpus as R  # noqa: E402

CMDS = ["7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX", "7.2_ECS43/ECS43_7.2_SUCCESS_COMMAND_GBCS.HEX",
        "7.3_ECS44/ECS44_7.3_SUCCESS_COMMAND_GBCS.HEX", "7.4_ECS45/ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX",
        "1.6_ECS02/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX",
        "1.6_ECS03/ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", type=int, default=1, help="flip every N-th bit (1 = all)")
    ap.add_argument("--no-remac", action="store_true")
    a = ap.parse_args()
    if not R.available():
        print("../shared not present: skipped")
        return
    from firmware.roles.esme import Esme, RTDS_CLOCK
    from firmware.store.durable import Store
    from host_tools.gbcs import negative as N
    from host_tools.gbcs import verify as V

    ks = R.keystore()
    acb = ks.parties[bytes.fromhex("90b3d51f30000002")].priv["ka"]
    dev = ks.device_pub(R.ESME_EUI, "ka")
    remac = lambda raw: V.remac(raw, acb, dev)  # noqa: E731
    total = bad = 0
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        vk = os.path.join(tmp, "vk")
        os.mkdir(vk)
        sweeps = [(c, None) for c in CMDS]
        if not a.no_remac:
            sweeps += [(c, remac) for c in CMDS if "ECS45" not in c]
        for i, (rel, rm) in enumerate(sweeps):
            raw = R.load_hex(os.path.join(R.RTDS, rel))
            st = Store(os.path.join(tmp, "s%d" % i))
            R.provision_rtds_esme(st)
            e = Esme(st, clock=lambda: RTDS_CLOCK, table_dir=vk)
            before = (e.model.supply, e.model.payment_mode, st.get_json("meter"))
            only = ("counter", "code", "content", "sig") if rm else None
            counts, wrong, accepted = N.sweep(e, raw, range(0, len(raw) * 8, a.step), remac=rm,
                                              only=only)
            n = sum(counts.values()) + len(accepted)
            after = (e.model.supply, e.model.payment_mode, st.get_json("meter"))
            e.process(raw)  # intact command still accepted: counter untouched by the sweep
            name = os.path.basename(rel).split("_")[0] + (" (MAC recomputed)" if rm else "")
            print("%-26s %5d flips: %s" % (name, n, ", ".join(
                "%s->%s %d" % (r, why, c) for (r, why), c in sorted(counts.items()))))
            if accepted or wrong or before != after:
                print("   FAIL accepted=%s wrong=%s state-changed=%s" % (
                    accepted[:10], wrong[:10], before != after))
                bad += len(accepted) + len(wrong) + (before != after)
            total += n
    print("total %d flips, %d accepted or misclassified, %.1f s" % (total, bad, time.time() - t0))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
