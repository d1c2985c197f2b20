"""labgrid as the distributed bench: one coordinator, two exporters on two "hosts" (two network
namespaces made here with `ip netns` + veth pairs; without them, two loopback addresses 127.0.0.2
and 127.0.0.3), virtual boards exported as RawSerialPort resources (ser2net), places tagged by
`smlab lab exporter-config`, a campaign that reserves and acquires places through the coordinator
with labgrid's client API and drives the boards' UARTs over the network; then one exporter killed
mid-campaign: only its boards' steps fail, with that reason, and its places are released while the
other exporter's boards finish."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser

import pytest

from host_tools.boards import registry
from host_tools.keys import pki
from host_tools.lab import exporter as X
from host_tools.lab import procs
from host_tools.lab.client import Lab

# pyserial-labgrid's RFC 2217 client still calls Thread.setDaemon/setName
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:serial.rfc2217")

BIN = os.path.dirname(sys.executable)
HOSTS = ("hosta", "hostb")
BOARDS = {"hosta": ("a1", "a2"), "hostb": ("b1", "b2")}


def _have_ser2net():
    return shutil.which("ser2net") or os.path.exists("/usr/sbin/ser2net")


def _ip(*a):
    return subprocess.run(["ip", *a], capture_output=True, text=True, timeout=20)


class Net:
    """Two lab hosts: network namespaces joined to this one by veth pairs (root only), else two
    loopback addresses. `prefix(host)` runs a command on that host; `addr(host)` its address;
    `coordinator_host` where the coordinator listens."""

    def __init__(self):
        self.ns = {}
        tag = "%d" % (os.getpid() % 100000)
        # SMLAB_LAB_NET=loopback: the fallback even as root (how it is tested)
        if os.geteuid() == 0 and shutil.which("ip") and os.environ.get("SMLAB_LAB_NET") != "loopback":
            ok = True
            for i, h in enumerate(HOSTS):
                ns, veth = "smlab%s%s" % (tag, h[-1]), "sl%s%s" % (tag, h[-1])
                net = "10.231.%d" % ((os.getpid() % 120) * 2 + 1 + i)  # two runs at once do not collide
                steps = [("netns", "add", ns), ("link", "add", veth + "0", "type", "veth", "peer", "name", veth + "1"),
                         ("link", "set", veth + "1", "netns", ns),
                         ("addr", "add", net + ".1/30", "dev", veth + "0"), ("link", "set", veth + "0", "up"),
                         ("-n", ns, "addr", "add", net + ".2/30", "dev", veth + "1"),
                         ("-n", ns, "link", "set", veth + "1", "up"), ("-n", ns, "link", "set", "lo", "up"),
                         ("-n", ns, "route", "add", "default", "via", net + ".1")]
                self.ns[h] = (ns, veth, net)
                for st in steps:
                    r = _ip(*st)
                    if r.returncode != 0:
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                self.kind = "netns"
                self.coordinator_host = self.ns[HOSTS[0]][2] + ".1"
                return
            self.close()
        self.kind = "loopback"
        self.coordinator_host = "127.0.0.1"

    def addr(self, h):
        return self.ns[h][2] + ".2" if self.kind == "netns" else "127.0.0.%d" % (HOSTS.index(h) + 2)

    def prefix(self, h):
        return ("ip", "netns", "exec", self.ns[h][0]) if self.kind == "netns" else ()

    def close(self):
        for ns, veth, _ in self.ns.values():
            _ip("link", "del", veth + "0")
            _ip("netns", "del", ns)
        self.ns = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not _have_ser2net():
        pytest.fail("ser2net is missing: `make setup` installs it as root (sudo make setup-ser2net)")
    top = tmp_path_factory.mktemp("lab")
    home = str(top / "home")
    keys = str(top / "pki")
    pki.create_bench_pki(keys, [("esme", 4)])
    net = Net()
    vbs, exporters, coord = [], {}, None
    try:
        n = 0
        cfgs = {}
        for h in HOSTS:
            for name in BOARDS[h]:
                n += 1
                vbs.append(registry.start_vboard(name, home, eui=pki.bench_device_eui("esme", n).hex()))
        _prepare(vbs, keys)
        coord, address = procs.start_coordinator(str(top / "coordinator"), net.coordinator_host)
        for h in HOSTS:
            boards = X.virtual_boards(home, list(BOARDS[h]))
            cfgs[h] = X.write(boards, h, str(top / h))
            exporters[h] = procs.start_exporter(cfgs[h][0], address, h, net.addr(h), str(top / h), net.prefix(h))
        for h in HOSTS:
            procs.wait_exporter(exporters[h], address, h, str(top / h))
        with Lab(address) as lb:
            for h in HOSTS:
                lb.ensure_places(X.load_places(cfgs[h][1]))
        yield {"top": top, "home": home, "keys": keys, "address": address, "net": net,
               "exporters": exporters, "cfgs": cfgs}
    finally:
        for p in exporters.values():
            procs.stop(p)
        procs.stop(coord)
        for vb in vbs:
            vb.stop()
        net.close()


def _prepare(vbs, keys):
    """Flash and provision the boards on their own host (ptys), as a lab's owner would."""
    import tempfile

    from host_tools.boards import flash
    from host_tools.keys import provision

    with tempfile.TemporaryDirectory() as tmp:
        _, err = flash.flash_many([vb.console for vb in vbs], flash.firmware_files("host", tmp))
    assert not err, err

    errs = []

    def prov(vb):
        try:
            provision.provision_board(vb.console, provision.payload(keys, bytes.fromhex(registry.meta(vb.path)["eui"])))
            vb.reset_to_app(timeout=180)  # a loaded 2-core machine boots four boards slowly
        except Exception as e:  # reported below, for the board it concerns
            errs.append("%s: %s" % (vb.path, e))

    ts = [threading.Thread(target=prov, args=(vb,)) for vb in vbs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errs, errs


def test_exporter_config_and_places(lab):
    exp = X.load_places(lab["cfgs"]["hosta"][0])  # the YAML loads; Jinja comments are not data
    assert set(exp) == {"a1", "a2"}
    assert exp["a1"]["console"]["cls"] == "RawSerialPort" and exp["a1"]["console"]["port"].startswith("/dev/pts/")
    assert set(exp["a1"]) == {"console", "optical", "keypad", "location"}
    with Lab(lab["address"]) as lb:
        pl = lb.places()
        res = lb.resources()
    assert set(pl) == {"hosta-a1", "hosta-a2", "hostb-b1", "hostb-b2"}
    assert pl["hostb-b1"]["tags"] == {"role": "esme", "board": "virtual", "eui": pki.bench_device_eui("esme", 3).hex()}
    assert pl["hosta-a2"]["matches"] == ["hosta/a2/*"]
    # exported as network serial ports, at each host's own address
    assert res["hostb"]["b2"]["optical"]["cls"] == "NetworkSerialPort"
    for h in HOSTS:
        for g in res[h].values():
            assert {r["params"]["host"] for r in g.values()} == {lab["net"].addr(h)}


def test_one_scenario_across_two_exporters(lab, tmp_path):
    """The CLI: reserve the 4 places by tag, provision the boards again through their exporters
    (mpremote's raw REPL over RFC 2217), run top-ups, a replay, a signed command and a forged code
    on each."""
    out = tmp_path / "out"
    env = dict(os.environ, SMLAB_HOME=lab["home"])
    r = subprocess.run([os.path.join(BIN, "smlab"), "--json", "lab", "bench", "bench/scenarios/lab-topup.json",
                        "--coordinator", lab["address"], "--tag", "role=esme", "--count", "4",
                        "--keys", lab["keys"], "--provision", "--out", str(out)],
                       capture_output=True, text=True, timeout=300, env=env,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    rep = json.loads((out / "report.json").read_text())
    assert r.returncode == 0, (r.stderr, rep["failed"])
    assert rep["boards"] == 4 and rep["steps"] == 32 and rep["failures"] == 0
    ex = rep["lab"]["exporters"]
    assert set(ex) == {"hosta", "hostb"}
    assert sorted(ex["hosta"]["places"]) == ["hosta-a1", "hosta-a2"] and ex["hostb"]["steps"] == 16
    assert not rep["lab"]["lost"]
    assert rep["setup_s"]["provision"] > 0
    # the places are free again and no reservation is left
    with Lab(lab["address"]) as lb:
        assert all(p["acquired"] is None for p in lb.places().values())
    # the HTML report: histograms and a timeline row per board, inline SVG only
    page = (out / "report.html").read_text()
    p = _Page()
    p.feed(page)
    assert p.svgs == 4 + 1  # one histogram per step kind + the timeline
    assert p.step_bars == 32 and p.failed_bars == 0
    assert not p.external, p.external
    assert "hostb" in page and "connected" in page


def test_pytest_plugin_on_a_lab_board(lab, tmp_path):
    """The interop example of the pytest plugin, its smlab_board a place of hostb reserved by tags
    and acquired through the coordinator; released after the run."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    log = os.path.join(lab["home"], "boards", "b2", "console.log")
    before = open(log, errors="replace").read().count("ACCEPTED +2.50")
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                        os.path.join(root, "tests", "host", "plugin_example", "interop_example.py"),
                        "--smlab-lab", lab["address"], "--smlab-keys", lab["keys"],
                        "--smlab-tag", "role=esme", "--smlab-tag", "eui=" + pki.bench_device_eui("esme", 4).hex()],
                       capture_output=True, text=True, timeout=120, cwd=root)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert len([ln for ln in out.splitlines() if ln.startswith("PASSED ")]) == 3, out
    assert open(log, errors="replace").read().count("ACCEPTED +2.50") == before + 1  # on board b2
    with Lab(lab["address"]) as lb:
        assert lb.places()["hostb-b2"]["acquired"] is None


def test_pytest_plugin_with_labgrid_lg_env(lab, tmp_path):
    """labgrid's own pytest plugin drives the place: an environment file with a RemotePlace
    (`--lg-env`), the place acquired beforehand as `labgrid-client acquire` does; smlab_board is
    labgrid's `target` and the same interop example passes on it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = tmp_path / "env.yaml"
    env.write_text("targets:\n  main:\n    resources:\n      RemotePlace:\n        name: hosta-a2\n"
                   "options:\n  coordinator_address: '%s'\n" % lab["address"])
    log = os.path.join(lab["home"], "boards", "a2", "console.log")
    before = open(log, errors="replace").read().count("ACCEPTED +2.50")
    with Lab(lab["address"]) as lb:
        lb.acquire("hosta-a2")
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                                os.path.join(root, "tests", "host", "plugin_example", "interop_example.py"),
                                "--lg-env", str(env), "--smlab-keys", lab["keys"]],
                               capture_output=True, text=True, timeout=120, cwd=root)
        finally:
            lb.release("hosta-a2")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert len([ln for ln in out.splitlines() if ln.startswith("PASSED ")]) == 3, out
    # the board behind the place ran it: its display showed the example's top-up
    assert open(log, errors="replace").read().count("ACCEPTED +2.50") == before + 1


def test_killing_an_exporter_fails_only_its_steps_and_releases_its_places(lab, tmp_path):
    from host_tools.campaigns import fleet

    sc = {"name": "kill", "repeat": 6,
          "steps": [{"do": "topup", "amount": "1.00", "expect": "ACCEPTED +1.00"},
                    {"do": "replay", "expect": "REJECTED 8F51"}],
          "boards": {"lab": {"coordinator": lab["address"], "tags": {"role": "esme"}, "count": 4},
                     "keys": lab["keys"], "flash": False, "provision": False}}
    r = fleet.Runner(sc, str(tmp_path / "w"))
    r.setup()
    try:
        th = threading.Thread(target=r.run)
        th.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(1 for x in r.results if x[0].startswith("hostb")) < 4:
            time.sleep(0.05)
        procs.stop(lab["exporters"]["hostb"])  # the host's exporter (and its ser2net) dies
        t_kill = time.monotonic() - r.t_run
        th.join(240)
        assert not th.is_alive()
        rep = r.report()
        # the coordinator now: hostb's places released mid-campaign, hosta's still held by us
        with Lab(lab["address"]) as lb:
            pl = lb.places()
        why = json.dumps([rep["lab"], [(s["board"], s["output"]) for s in r.steps() if not s["ok"]][:3]])
        assert pl["hostb-b1"]["acquired"] is None and pl["hostb-b2"]["acquired"] is None, why
        assert pl["hosta-a1"]["acquired"] and pl["hosta-a2"]["acquired"]
    finally:
        r.stop()
    steps = r.steps()
    a = [s for s in steps if s["board"].startswith("hosta")]
    b = [s for s in steps if s["board"].startswith("hostb")]
    assert len(a) == len(b) == 2 * 12
    assert all(s["ok"] for s in a), [s for s in a if not s["ok"]][:3]
    failed_b = [s for s in b if not s["ok"]]
    assert failed_b and all("exporter hostb lost" in s["output"] for s in failed_b)
    # steps before the kill passed; after the first loss every later step of the board is failed
    assert all(s["ok"] for s in b if s["start"] + s["seconds"] < t_kill)
    for board in ("hostb-b1", "hostb-b2"):
        mine = [s for s in b if s["board"] == board]
        first = next(i for i, s in enumerate(mine) if not s["ok"])
        assert not any(s["ok"] for s in mine[first:])
    lab_rep = rep["lab"]
    assert lab_rep["lost"] == ["hostb"] and sorted(lab_rep["released_lost"]) == ["hostb-b1", "hostb-b2"]
    assert lab_rep["exporters"]["hosta"]["failures"] == 0 and lab_rep["exporters"]["hostb"]["lost"]
    # detected when the first of its steps failed after the kill (seconds on the steps' clock)
    first_fail = min(s["start"] + s["seconds"] for s in failed_b)
    assert t_kill - 1.0 <= lab_rep["exporters"]["hostb"]["lost_after_s"] <= first_fail + 0.5
    # the HTML report says so: the exporter lost, its places released, its failed steps in red
    from host_tools.campaigns import report

    report.write(str(tmp_path / "report.html"), rep, steps)
    page = (tmp_path / "report.html").read_text()
    assert "places released" in page and page.count('class="step failed"') == len(failed_b)
    # after the campaign every place is free again
    with Lab(lab["address"]) as lb:
        assert all(p["acquired"] is None for p in lb.places().values())


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs = self.step_bars = self.failed_bars = 0
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "rect" and (a.get("class") or "").startswith("step"):
            self.step_bars += 1
            self.failed_bars += "failed" in a["class"]
        for k in ("src", "href"):
            if a.get(k):
                self.external.append(a[k])
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)
