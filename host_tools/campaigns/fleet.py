"""Bench campaigns: one scenario run on many boards at once, with a JUnit XML and a JSON report.

A scenario is a JSON file:

    {"name": "top-up campaign",
     "boards": {"count": 50, "role": "esme", "heap": "512K", "flash_kb": 2048},
     "steps": [
        {"do": "topup", "amount": "10.00", "expect": "ACCEPTED"},
        {"do": "replay", "expect": "REJECTED 8F51"},           # the last code again
        {"do": "code", "op": "enable_supply", "expect": "ACCEPTED"},
        {"do": "keypad", "keys": "123#", "expect": "REJECTED"},
        {"do": "logs", "log": "utrn", "expect": "0x8F51"}],
     "repeat": 3}

Each board runs the steps in order (`repeat` times), boards in parallel (one thread each: a board
is its own process, the host thread mostly waits on its pty). Before the steps every board is
started (virtual), flashed with mpremote and provisioned from a bench PKI made for the campaign.

Real boards (any serial ports: USB-serial of an ESP32 and its optical probe):

    "boards": {"real": [{"repl": "/dev/ttyUSB0", "optical": "/dev/ttyUSB1", "eui": "<hex>"}, ...],
               "keys": "pki/", "flash": true, "provision": true}

use an existing key store holding their EUIs; they are flashed and provisioned when asked, reset
through the board HAL over the REPL, and run the steps that need no virtual hardware: `send`
(a signed use-case command through the optical pass-through, response verified on the host) and
`logs`. Keypad steps need a virtual board's keypad pty and fail on real boards with that reason.

Boards of a labgrid lab (docs/lab.md): places reserved by tags through a labgrid coordinator,
acquired, and driven through the network serial ports their exporters serve:

    "boards": {"lab": {"coordinator": "HOST:PORT", "tags": {"role": "esme"}, "count": 4},
               "keys": "pki/", "flash": false, "provision": false}

(`smlab lab bench` fills "lab" from its options). A place's `eui` tag names the device; keypad steps
work when the place has a `keypad` port (a virtual board). When an exporter is lost mid-campaign
(the coordinator drops it), the steps of its boards fail with that reason, its places are
released, and every other board goes on.

Report: per step and board pass/fail and latency; throughput (steps per second over the whole
campaign), latency percentiles per step kind, memory per virtual board (resident set of its
micropython process and its supervisor, read from /proc).
"""
import json
import os
import threading
import time
import xml.etree.ElementTree as ET

from firmware.gbcs import frame
from host_tools.boards import flash, logs
from host_tools.boards import registry as boards
from host_tools.boards.vboard import VBoard
from host_tools.codes import utrn as U
from host_tools.errors import SmlabError
from host_tools.gbcs import usecases
from host_tools.hht import hht
from host_tools.keys import pki, provision

STEP_KINDS = ("topup", "replay", "code", "keypad", "logs", "send")


class ScenarioError(SmlabError):
    """The scenario file is not usable (one-line reason)."""


def load(path):
    try:
        with open(path) as f:
            sc = json.load(f)
    except (OSError, ValueError) as e:
        raise ScenarioError("%s: %s" % (path, e))
    steps = sc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError("%s: 'steps' must be a non-empty list" % path)
    for i, st in enumerate(steps):
        if st.get("do") not in STEP_KINDS:
            raise ScenarioError("%s: step %d: 'do' must be one of %s" % (path, i, ", ".join(STEP_KINDS)))
    return sc


def percentile(xs, q):
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Target:
    """One board of a campaign: its REPL and optical ports (paths or pyserial URLs), EUI-64, its
    VBoard when virtual and local, its keypad port when reached through a lab place."""

    def __init__(self, name, repl, optical, eui, vb=None, keypad=None, exporter=None, place=None):
        self.name, self.repl, self.optical, self.eui, self.vb = name, repl, optical, eui, vb
        self.keypad, self.exporter, self.place = keypad, exporter, place
        self.keys = None

    def has_keypad(self):
        return self.vb is not None or self.keypad is not None

    def type_keys(self, keys, timeout=20.0):
        if self.vb is not None:
            return self.vb.type_keys(keys, timeout)
        if self.keys is None:
            from host_tools.lab.remote import RemoteKeys

            self.keys = RemoteKeys(self.repl, self.keypad)
        return self.keys.type_keys(keys, timeout)

    def close(self):
        if self.keys is not None:
            self.keys.close()

    def reset(self, timeout=60.0):
        """Reset and wait until the firmware answers again."""
        if self.vb is not None:
            self.vb.reset_to_app(timeout)
            return
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        port = self.repl if "://" in self.repl else os.path.realpath(self.repl)
        for attempt in range(3):  # a board still busy (e.g. just provisioned) can miss one Ctrl-C
            t = SerialTransport(port, baudrate=115200, timeout=5)
            try:
                t.enter_raw_repl(soft_reset=False)
                # raw REPL: code then Ctrl-D. Nothing is awaited: the board may reset before its
                # "OK" reaches us (a lost acknowledgement must not hang the campaign)
                t.serial.write(b"import board\nboard.get().reset()\x04")
                t.serial.flush()
                break
            except TransportError as e:
                err = e
            finally:
                t.close()
        else:
            raise ScenarioError("%s: no raw REPL on %s to reset the board (%s)" % (self.name, self.repl, err))
        wait_optical(self.optical, timeout)


def wait_optical(port, timeout):
    """Wait until the meter answers an IEC 62056-21 sign-on on its optical port."""
    try:
        hht.wait_optical(port, timeout)
    except hht.HhtError as e:
        raise ScenarioError(str(e))


def wait_shown(vb, prefixes, timeout):
    """Wait until the board's display showed a line starting with one of `prefixes` (any boot)."""
    deadline = time.monotonic() + timeout
    while not any(ln.startswith(prefixes) for ln in vb.display_lines()):
        if time.monotonic() > deadline:
            raise ScenarioError("%s: the firmware showed none of %s within %.0f s"
                                % (os.path.basename(vb.path), "/".join(prefixes), timeout))
        time.sleep(0.05)


class Runner:
    def __init__(self, scenario, workdir, progress=None, boards_n=None):
        self.sc = scenario
        self.dir = os.path.abspath(workdir)
        self.progress = progress or (lambda *a: None)
        b = scenario.get("boards", {})
        self.real = b.get("real")
        self.labcfg = b.get("lab")
        if self.labcfg:
            self.n = boards_n or int(self.labcfg.get("count", 1))
        else:
            self.n = len(self.real) if self.real else (boards_n or int(b.get("count", 1)))
        self.heap = b.get("heap", "512K")
        self.flash_kb = int(b.get("flash_kb", 2048))
        external = self.real or self.labcfg
        self.keys = b.get("keys") if external else os.path.join(self.dir, "pki")
        if external and not self.keys:
            raise ScenarioError("%s boards need \"keys\": a key store holding their EUIs"
                                % ("lab" if self.labcfg else "real"))
        self.do_flash = b.get("flash", not self.labcfg)
        self.do_provision = b.get("provision", not self.labcfg)
        self.vbs = []
        self.targets = []
        self.results = []  # (board, step index, kind, ok, seconds, detail, start offset s)
        self.lock = threading.Lock()
        self.setup_s = {}
        self.lab = None
        self.tokens = []
        self.acquired = []      # places this campaign holds
        self.released = []      # places released because their exporter was lost
        self.lost = {}          # exporter -> first failed step's detail
        self.t_start = time.monotonic()

    # -- setup ----------------------------------------------------------------------------------
    def setup(self):
        if self.labcfg:
            return self._setup_lab()
        if self.real:
            return self._setup_real()
        t0 = time.monotonic()
        if not os.path.exists(os.path.join(self.keys, "index.json")):
            pki.create_bench_pki(self.keys, [("esme", self.n)])
        self.setup_s["pki"] = time.monotonic() - t0
        self.vbs = []
        for i in range(self.n):
            eui = pki.bench_device_eui("esme", i + 1).hex()
            d = os.path.join(self.dir, "boards", "b%03d" % (i + 1))
            boards.write_meta(d, {"role": "esme", "eui": eui})
            self.vbs.append(VBoard(d, flash_kb=self.flash_kb, heap=self.heap, eui64=eui))
        if self.legacy:
            self._setup_virtual_legacy()
        else:
            self._setup_virtual()
        self.targets = [Target(os.path.basename(vb.path), vb.console, vb.optical,
                               bytes.fromhex(boards.meta(vb.path)["eui"]), vb) for vb in self.vbs]
        self._secrets()

    legacy = False  # True: the per-board path (one supervisor each, mpremote copy, ledger file lock)
    ledger = None  # the campaign's UTRN counter allocator (pki.Ledger), held from setup to stop

    def _setup_virtual(self):
        """Virtual boards: the firmware image built once (host_tools/boards/image.py) and copied to
        every board, all boards under one supervisor process, each board's own hash check at its
        first boot; the key store read once for every payload; one in-process counter ledger."""
        import tempfile

        from host_tools.boards import image, vboard

        t0 = time.monotonic()
        img = os.path.join(self.dir, "firmware-%dk.img" % self.flash_kb)
        with tempfile.TemporaryDirectory() as tmp:
            image.write_image(img, self.files or flash.firmware_files("host", tmp), self.flash_kb)
        self.setup_s["image"] = time.monotonic() - t0
        t0 = time.monotonic()
        offsets = [image.copy_to(img, vb.path) for vb in self.vbs]
        vboard.start_many(self.vbs, timeout=max(120, self.n))
        try:
            image.wait_verified(self.vbs, offsets, timeout=max(120, self.n))
        except flash.FlashError as e:
            raise ScenarioError("flash failed: %s" % e)
        self.setup_s["flash"] = time.monotonic() - t0
        # the firmware boots straight from the image: take the REPL only once it idles (shows
        # its first line), never while it imports (a Ctrl-C there can wedge the unix port)
        self._parallel(lambda vb: wait_shown(vb, ("NOT PROVISIONED", "READY"), max(60, self.n)), "boot")
        t0 = time.monotonic()
        parties = pki.load_keystore(self.keys)
        utrn = self.sc.get("utrn", {})

        def prov(vb):
            eui = bytes.fromhex(boards.meta(vb.path)["eui"])
            with self.lock:  # a DS key generated for one board is added to the shared parties
                p = provision.payload(self.keys, eui, utrn=utrn, parties=parties)
            provision.provision_board(vb.console, p)
            vb.reset_to_app()

        self._parallel(prov, "provision")
        self.setup_s["provision"] = time.monotonic() - t0
        self._parties = parties
        self.ledger = pki.Ledger(self.keys, U.LEDGER)

    files = None  # [(dest, bytes)] to flash instead of building the firmware (a bench's old build)

    def _setup_virtual_legacy(self):
        """The per-board path: a supervisor process per board, files copied over each REPL with
        mpremote, the key store read per payload (kept to measure against; bench_fleet_scale.py)."""
        t0 = time.monotonic()
        for vb in self.vbs:
            vb.display_events = False
        self._parallel(lambda vb: vb.start(timeout=120), "start")
        self.setup_s["start"] = time.monotonic() - t0
        t0 = time.monotonic()
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            files = self.files or flash.firmware_files("host", tmp)
            res, err = flash.flash_many([vb.console for vb in self.vbs], files, self._flash_done)
        if err:
            raise ScenarioError("flash failed: %s" % "; ".join(sorted(err.values())[:3]))
        self.setup_s["flash"] = time.monotonic() - t0
        t0 = time.monotonic()

        def prov(vb):
            eui = bytes.fromhex(boards.meta(vb.path)["eui"])
            provision.provision_board(vb.console, provision.payload(self.keys, eui,
                                                                    utrn=self.sc.get("utrn", {})))
            vb.reset_to_app()

        self._parallel(prov, "provision")
        self.setup_s["provision"] = time.monotonic() - t0

    def _setup_real(self):
        for i, r in enumerate(self.real):
            try:
                eui = bytes.fromhex(r["eui"])
                self.targets.append(Target(r.get("name", "real%02d" % (i + 1)), r["repl"], r["optical"], eui))
            except (KeyError, ValueError) as e:
                raise ScenarioError("real board %d: needs repl, optical and a hex eui (%s)" % (i + 1, e))
        t0 = time.monotonic()
        if self.do_flash:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                files = flash.firmware_files(self.sc.get("target", "esp32"), tmp)
                res, err = flash.flash_many([t.repl for t in self.targets], files, self._flash_done)
            if err:
                raise ScenarioError("flash failed: %s" % "; ".join(sorted(err.values())[:3]))
        self.setup_s["flash"] = time.monotonic() - t0
        t0 = time.monotonic()
        for t in self.targets:
            if self.do_provision:
                provision.provision_board(t.repl, provision.payload(self.keys, t.eui,
                                                                    utrn=self.sc.get("utrn", {})))
            t.reset()
        self.setup_s["provision"] = time.monotonic() - t0
        self._secrets()

    def _setup_lab(self):
        """Reserve places by tags, acquire them, and reach their UARTs through their exporters."""
        from host_tools.lab.client import Lab, LabError

        cfg = self.labcfg
        if not cfg.get("coordinator"):
            raise ScenarioError("lab boards need \"coordinator\": HOST:PORT")
        t0 = time.monotonic()
        try:
            self.lab = Lab(cfg["coordinator"])
            self.tokens, names = self.lab.reserve(cfg.get("tags", {}), self.n, float(cfg.get("timeout", 60)))
            for name in names:
                self.lab.acquire(name)
                self.acquired.append(name)
                self.progress("acquire", name)
            for name in names:
                ports = self.lab.ports(name)
                tags = self.lab.session.places[name].tags
                if "console" not in ports or "optical" not in ports:
                    raise ScenarioError("place %s has no console and optical ports" % name)
                if not tags.get("eui"):
                    raise ScenarioError("place %s has no eui tag (smlab lab exporter-config writes it)" % name)
                self.targets.append(Target(name, ports["console"], ports["optical"], bytes.fromhex(tags["eui"]),
                                           keypad=ports.get("keypad"), exporter=self.lab.exporter_of(name),
                                           place=name))
        except LabError as e:
            raise ScenarioError(str(e))
        self.setup_s["acquire"] = time.monotonic() - t0
        t0 = time.monotonic()
        if self.do_flash:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                files = flash.firmware_files(self.sc.get("target", "host"), tmp)
                res, err = flash.flash_many([t.repl for t in self.targets], files, self._flash_done)
            if err:
                raise ScenarioError("flash failed: %s" % "; ".join(sorted(err.values())[:3]))
            self.setup_s["flash"] = time.monotonic() - t0
        t0 = time.monotonic()

        def prov(t):
            if self.do_provision:
                provision.provision_board(t.repl, provision.payload(self.keys, t.eui, utrn=self.sc.get("utrn", {})))
            t.reset()

        self._parallel(prov, "provision" if self.do_provision else "reset", self.targets)
        self.setup_s["provision" if self.do_provision else "reset"] = time.monotonic() - t0
        self._secrets()

    def _exporter_lost(self, t):
        """True when the lab's coordinator no longer has the exporter of t's place."""
        if self.lab is None or not t.exporter:
            return False
        if t.exporter in self.lost:
            return True
        try:
            alive = self.lab.exporter_alive(t.exporter)
        except Exception:  # the coordinator itself is unreachable: not this exporter's fault
            return False
        if not alive:
            with self.lock:
                # seconds since the steps began (the timeline's origin)
                self.lost.setdefault(t.exporter, time.monotonic() - getattr(self, "t_run", self.t_start))
        return not alive

    def _release_lost(self, t):
        t.close()
        with self.lock:
            if t.place not in self.acquired:
                return
            self.acquired.remove(t.place)
        try:
            self.lab.release(t.place)
        except Exception as e:  # reported; the campaign goes on with the other exporters
            with self.lock:
                self.released.append("%s (release failed: %s)" % (t.place, e))
            return
        with self.lock:
            self.released.append(t.place)

    def _flash_done(self, port, done, total, phase):
        """flash.flash_many's progress: one "flash" tick per board once all its files verified."""
        if phase == "verify" and done == total:
            self.progress("flash", port)

    def _secrets(self):
        """The supplier side's static UTRN secrets, one key-store load for the whole fleet."""
        parties = getattr(self, "_parties", None) or pki.load_keystore(self.keys)
        sup = [p for e, p in sorted(parties.items()) if p.role == pki.ROLES["supplier"]][0]
        self.z = {}
        for t in self.targets:
            self.z[t.eui] = (U.ecdh_z(sup.private["pp-ka"], parties[t.eui].public["ka"]), sup.eui)

    def _parallel(self, fn, what, items=None):
        errs = []

        def work(vb):
            try:
                fn(vb)
            except Exception as e:  # collected and reported for the board that failed
                errs.append("%s: %s" % (os.path.basename(vb.path) if hasattr(vb, "path") else vb.name, e))
            self.progress(what, vb)

        ts = [threading.Thread(target=work, args=(vb,)) for vb in (self.vbs if items is None else items)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise ScenarioError("%s failed on %d board(s): %s" % (what, len(errs), errs[0]))

    # -- steps ----------------------------------------------------------------------------------
    def _send(self, t, st):
        raw, counter = usecases.build(st.get("use_case", "ECS45"), self.keys, t.eui)
        with self.lock:  # one credential file per device, created once
            cred, priv = hht.load_credential(hht.default_credential(self.keys, t.eui))
        try:
            resp = hht.deliver(t.optical, cred, priv, t.eui, raw)
        except hht.HhtError as e:
            return "rejected %s" % e.text
        v = usecases.verify_response(resp, self.keys, t.eui, frame.parse(raw).counter)
        return "%s verified by %s: %s" % (st.get("use_case", "ECS45"), v["auth"], ", ".join(v.get("results", [])))

    def _step(self, t, st, state):
        kind = st["do"]
        eui = t.eui
        if kind == "send":
            out = self._send(t, st)
            exp = st.get("expect")
            return (exp is None or exp in out), out
        if kind == "logs":
            try:
                got = logs.read_logs(t.repl, (st.get("log", "utrn"),))
            finally:  # the read stopped the firmware: the next steps need it running either way
                t.reset()
            out = "\n".join(got.get(st.get("log", "utrn"), []))
            exp = st.get("expect")
            return (exp is None or exp in out), out
        if not t.has_keypad():
            return False, "%s steps need a virtual board's keypad (real boards have physical keys)" % kind
        if kind in ("topup", "code"):
            z, sup = self.z[eui]
            c = U.next_counter(self.keys, sup, eui, ledger=self.ledger)  # in process, or file-locked
            if kind == "topup":
                code = U.topup(z, sup, eui, c, U.parse_amount(str(st.get("amount", "10"))))
            else:
                code = U.config_code(z, sup, eui, c, st["op"])
            state["last"] = code
            out = "\n".join(t.type_keys(code + "#", st.get("timeout", 20)))
        elif kind == "replay":
            out = "\n".join(t.type_keys(state.get("last", "") + "#", st.get("timeout", 20)))
        else:  # keypad
            out = "\n".join(t.type_keys(st["keys"], st.get("timeout", 20)))
        exp = st.get("expect")
        return (exp is None or exp in out), out

    def run_board(self, t):
        state = {}
        name = t.name
        lost = False
        for rep in range(int(self.sc.get("repeat", 1))):
            for i, st in enumerate(self.sc["steps"]):
                t0 = time.monotonic()
                if lost:
                    ok, out = False, "exporter %s lost (the coordinator dropped it): step not run" % t.exporter
                else:
                    try:
                        ok, out = self._step(t, st, state)
                    except Exception as e:  # a failing step is a test failure of that board, not a crash
                        ok, out = False, "%s: %s" % (type(e).__name__, e)
                    if not ok and self._exporter_lost(t):
                        lost = True
                        out = "exporter %s lost (the coordinator dropped it): %s" % (t.exporter, out)
                        self._release_lost(t)
                dt = time.monotonic() - t0
                with self.lock:
                    self.results.append((name, rep * len(self.sc["steps"]) + i, st["do"], ok, dt, out,
                                         t0 - self.t_run))
                self.progress("step", t)

    def run(self):
        t0 = self.t_run = time.monotonic()
        ts = [threading.Thread(target=self.run_board, args=(t,)) for t in self.targets]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.elapsed = time.monotonic() - t0
        return self.report()

    def memory(self):
        """Resident KB per board: its micropython process, and its supervisor's share (a
        supervisor serving n boards counts 1/n for each)."""
        out = []
        sts = [vb.status() for vb in self.vbs]
        served = {}
        for st in sts:
            served[st.get("supervisor")] = served.get(st.get("supervisor"), 0) + 1
        for vb, st in zip(self.vbs, sts):
            mp, sup = rss_kb(st.get("micropython") or 0), rss_kb(st.get("supervisor") or 0)
            if sup:
                sup = sup // served[st.get("supervisor")]
            out.append({"board": os.path.basename(vb.path), "micropython_kb": mp, "supervisor_kb": sup})
        return out

    def report(self):
        lat = {}
        for _, _, kind, ok, dt, _, _ in self.results:
            lat.setdefault(kind, []).append(dt * 1000)
        allv = [dt * 1000 for _, _, _, _, dt, _, _ in self.results]
        mem = self.memory()
        mps = [m["micropython_kb"] for m in mem if m["micropython_kb"]]
        sps = [m["supervisor_kb"] for m in mem if m["supervisor_kb"]]
        fails = [r for r in self.results if not r[3]]
        return {
            "scenario": self.sc.get("name", "scenario"), "boards": self.n,
            "steps": len(self.results), "failures": len(fails),
            "elapsed_s": round(self.elapsed, 3),
            "throughput_steps_per_s": round(len(self.results) / self.elapsed, 2) if self.elapsed else None,
            "latency_ms": {k: {"p50": round(percentile(v, 50), 1), "p90": round(percentile(v, 90), 1),
                               "p99": round(percentile(v, 99), 1), "max": round(max(v), 1), "n": len(v)}
                           for k, v in sorted(list(lat.items()) + [("all", allv)])},
            "memory_kb_per_board": {
                "micropython_median": percentile(mps, 50), "supervisor_median": percentile(sps, 50),
                "total_median": percentile([a + b for a, b in zip(mps, sps)], 50)},
            "setup_s": {k: round(v, 2) for k, v in self.setup_s.items()},
            "failed": [{"board": b, "step": i, "kind": k, "output": o[:200]} for b, i, k, _, _, o, _ in fails[:20]],
            "lab": self.lab_report(),
        }

    def lab_report(self):
        """Per exporter: its boards (places), steps and failures; exporters lost; places released."""
        if not self.labcfg:
            return None
        by = {}
        exp = {t.name: t.exporter for t in self.targets}
        for t in self.targets:
            by.setdefault(t.exporter, {"places": [], "steps": 0, "failures": 0, "lost": False})["places"].append(t.name)
        for b, _, _, ok, _, _, _ in self.results:
            e = by[exp[b]]
            e["steps"] += 1
            e["failures"] += 0 if ok else 1
        for e, at in self.lost.items():
            by[e]["lost"] = True
            by[e]["lost_after_s"] = round(at, 2)
        return {"coordinator": self.labcfg.get("coordinator"), "tags": self.labcfg.get("tags", {}),
                "exporters": by, "lost": sorted(self.lost), "released_lost": sorted(self.released)}

    def steps(self):
        """Every step result as a dict (for the HTML report)."""
        return [{"board": b, "step": i, "kind": k, "ok": ok, "seconds": dt, "output": o, "start": st}
                for b, i, k, ok, dt, o, st in sorted(self.results, key=lambda r: (r[0], r[6]))]

    def junit(self, path):
        suite = ET.Element("testsuite", name=self.sc.get("name", "scenario"), tests=str(len(self.results)),
                           failures=str(sum(1 for r in self.results if not r[3])),
                           time="%.3f" % getattr(self, "elapsed", 0))
        for board, i, kind, ok, dt, out, _ in sorted(self.results):
            tc = ET.SubElement(suite, "testcase", classname=board, name="%03d_%s" % (i, kind), time="%.4f" % dt)
            if not ok:
                f = ET.SubElement(tc, "failure", message="unexpected output")
                f.text = out
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)

    def stop(self):
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
        from host_tools.boards.vboard import stop_many

        stop_many(self.vbs)
        for t in self.targets:
            t.close()
        if self.lab is not None:
            for place in list(self.acquired):
                try:
                    self.lab.release(place)
                except Exception:  # the coordinator reports it; releasing the others matters more
                    pass
                self.acquired.remove(place)
            for tok in self.tokens:
                self.lab.cancel(tok)
            self.lab.close()
            self.lab = None
