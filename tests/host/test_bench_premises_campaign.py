"""A bounded slice of bench/bench_premises_campaign.py: two pre-configured premises (hub with the GPF
+ ESME + IHD + GSME each, eight virtual boards under one supervisor, one air keeping each premises'
frames to itself), two rounds in each of a keypad top-up, the IHD showing the new balance over the
HAN, ECS42 routed WAN -> hub -> ESME, a top-up at the GSME's keypad, the GSME's next wake and the
balance read from the GPF's mirror via the WAN (GCS60a): no failure, no join frame on the air, the
IHD's reads and the tunnels there."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_two_premises_campaign(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_premises_campaign.py"),
                        "--premises", "2", "--rounds", "2", "--interval-ms", "1000", "--json",
                        "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout)
    assert rep["failures"] == 0 and rep["boards"] == 8, rep["failed"]
    lat = rep["latency_ms"]
    assert [lat[k]["n"] for k in ("topup", "ihd_follow", "wan_ecs42", "gas_topup", "gsme_wake", "mirror_credit")] \
        == [4] * 6, lat
    assert lat["wan_gcs60a"]["n"] >= 4 and lat["mirror_credit"]["max"] < 10000, lat
    assert lat["gsme_wake"]["max"] < 5000  # the GSME reads its clock at least once a second
    assert lat["ihd_follow"]["max"] < 10000  # within a few IHD intervals
    air = rep["air"]
    assert air["join_frames"] == 0 and air["undecoded"] == 0, air
    assert air["clusters"].get("0702", 0) >= 8 and air["clusters"].get("0705", 0) >= 8, air
    # ESME tunnel: request/response + 4 x ECS42 each way; GSME: 5 frames a wake, 3 wakes each
    assert air["clusters"].get("0704", 0) >= 8 + 30, air
    assert rep["memory"]["supervisors"] == 1
