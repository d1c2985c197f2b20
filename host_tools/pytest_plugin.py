"""pytest plugin `smlab`: fixtures for bench interop tests written as ordinary pytest files.

Registered as a `pytest11` entry point (pyproject.toml), so any pytest run in the project's venv
has it; nothing is started unless a test asks for a fixture. In the manner of pytest-embedded and
labgrid's own plugin, the fixture names the device and the command line says where it comes from:

    def test_topup_then_replay(smlab_board):
        code = smlab_board.topup("5.00")
        assert smlab_board.enter(code)[0].startswith("ACCEPTED")
        assert smlab_board.enter(code)[0].startswith("REJECTED 8F51")

Fixtures
* `smlab_keys` (session): a bench key store (`host_tools.keys.pki`: a supplier, network operator,
  4 ESMEs, a CHF), or `--smlab-keys DIR`.
* `smlab_board` (session): one ESME ready to use — a virtual board started, flashed and provisioned
  in a temporary folder, or with `--smlab-lab HOST:PORT` a place reserved by `--smlab-tag`
  (default role=esme) through that labgrid coordinator and acquired; released at the end. Its
  methods drive it as the bench campaign does (`host_tools.campaigns.fleet.Target`):
  `enter(keys)` / `topup(amount)` / `code(op)` at the keypad, `send(use_case)` (signed command over
  the optical port, response verified on the host), `logs(kind)`, `reset()`; `eui`, `ports`.
  With labgrid's own `--lg-env FILE` (labgrid's plugin is installed with labgrid) it is the
  board of labgrid's `target` fixture: a RemotePlace the user acquired (`labgrid-client -p PLACE
  acquire`), its NetworkSerialPort resources console / optical / keypad, its `eui` tag.
* `smlab_premises` (module): a Comms Hub and an ESME on one simulated HAN
  (`host_tools.boards.premises.Premises`), started, flashed and provisioned.
* `smlab_han_capture`: the pcap file of that premises' HAN (every ZEP frame on the air).

Options: `--smlab-lab HOST:PORT`, `--smlab-tag KEY=VALUE` (repeatable), `--smlab-keys DIR` (a key
store holding the lab boards' EUIs; required with --smlab-lab).
"""
import os
import tempfile

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("smlab", "smlab bench fixtures (host_tools/pytest_plugin.py)")
    g.addoption("--smlab-lab", metavar="HOST:PORT", default=None,
                help="labgrid coordinator: smlab_board is a place reserved and acquired there")
    g.addoption("--smlab-tag", metavar="KEY=VALUE", action="append", default=[],
                help="place tag smlab_board must have (repeatable; default role=esme)")
    g.addoption("--smlab-keys", metavar="DIR", default=None,
                help="key store for smlab_keys (required with --smlab-lab: it holds the lab boards' EUIs)")


class LabBoard:
    """A board under test: fleet.Target plus the key store that signs for it."""

    def __init__(self, target, keys, ports):
        from host_tools.keys import pki

        self.t = target
        self.keys = keys
        self.eui = target.eui
        self.ports = ports
        parties = pki.load_keystore(keys)
        sup = [p for _, p in sorted(parties.items()) if p.role == pki.ROLES["supplier"]][0]
        from host_tools.codes import utrn as U

        self._z = U.ecdh_z(sup.private["pp-ka"], parties[self.eui].public["ka"])
        self._sup = sup.eui

    def enter(self, keys, timeout=20.0):
        """Type keys (a UTRN needs its '#'; added when missing); returns the display lines."""
        if keys and keys[-1] not in "#AB":
            keys += "#"
        return self.t.type_keys(keys, timeout)

    def topup(self, amount):
        """A fresh UTRN top-up of `amount` (pounds, "5.00") for this meter (not entered)."""
        from host_tools.codes import utrn as U

        c = U.next_counter(self.keys, self._sup, self.eui)
        return U.topup(self._z, self._sup, self.eui, c, U.parse_amount(str(amount)))

    def code(self, op):
        """A fresh configuration code `op` (e.g. "enable_supply") for this meter (not entered)."""
        from host_tools.codes import utrn as U

        c = U.next_counter(self.keys, self._sup, self.eui)
        return U.config_code(self._z, self._sup, self.eui, c, op)

    def send(self, use_case="ECS45"):
        """A signed use-case command through the optical pass-through; the verified response as a
        dict (`host_tools.gbcs.usecases.verify_response`). HhtError when the meter refuses it."""
        from firmware.gbcs import frame
        from host_tools.gbcs import usecases
        from host_tools.hht import hht

        raw, _ = usecases.build(use_case, self.keys, self.eui)
        cred, priv = hht.load_credential(hht.default_credential(self.keys, self.eui))
        resp = hht.deliver(self.t.optical, cred, priv, self.eui, raw)
        return usecases.verify_response(resp, self.keys, self.eui, frame.parse(raw).counter)

    def logs(self, kind="security"):
        """The board's log `kind` as lines (reading stops the firmware: the board is reset after)."""
        from host_tools.boards import logs

        try:
            return logs.read_logs(self.t.repl, (kind,)).get(kind, [])
        finally:
            self.reset()

    def reset(self):
        self.t.reset()


@pytest.fixture(scope="session")
def smlab_keys(request, tmp_path_factory):
    given = request.config.getoption("smlab_keys")
    if given:
        if not os.path.exists(os.path.join(given, "index.json")):
            pytest.fail("--smlab-keys %s: no key store there" % given)
        return given
    from host_tools.keys import pki

    d = str(tmp_path_factory.mktemp("smlab") / "pki")
    pki.create_bench_pki(d, [("esme", 4), ("chf", 1)])
    return d


def _lab_board(request, keys):
    from host_tools.campaigns import fleet
    from host_tools.lab.client import Lab

    tags = {}
    for t in request.config.getoption("smlab_tag") or ["role=esme"]:
        k, _, v = t.partition("=")
        tags[k] = v
    lab = Lab(request.config.getoption("smlab_lab"))
    tokens, names = lab.reserve(tags, 1)
    place = names[0]
    lab.acquire(place)
    ports = lab.ports(place)
    eui = bytes.fromhex(lab.session.places[place].tags["eui"])
    t = fleet.Target(place, ports["console"], ports["optical"], eui, keypad=ports.get("keypad"),
                     exporter=lab.exporter_of(place), place=place)

    def done():
        t.close()
        lab.release(place)
        for tok in tokens:
            lab.cancel(tok)
        lab.close()

    return t, ports, done


def _lg_env_board(request):
    """The board of labgrid's own `target` fixture (`--lg-env FILE`: a target "main" with a
    RemotePlace the user acquired, e.g. `labgrid-client -p PLACE acquire`): its NetworkSerialPort
    resources console / optical / keypad, its EUI-64 from the place's `eui` tag."""
    from labgrid.resource import NetworkSerialPort
    from labgrid.resource.remote import RemotePlace
    from labgrid.util.proxy import proxymanager

    from host_tools.campaigns import fleet

    target = request.getfixturevalue("target")
    place = target.get_resource(RemotePlace)
    ports = {}
    for r in target.resources:
        if isinstance(r, NetworkSerialPort):
            target.await_resources([r])
            host, port = proxymanager.get_host_and_port(r)
            ports[r.name] = ("socket://%s:%d" % (host, port) if r.protocol == "raw" else
                             "rfc2217://%s:%d?ign_set_control" % (host, port))
    if "console" not in ports or "optical" not in ports or not place.tags.get("eui"):
        pytest.fail("--lg-env place %s needs console and optical ports and an eui tag "
                    "(smlab lab exporter-config writes them)" % place.name)
    t = fleet.Target(place.name, ports["console"], ports["optical"], bytes.fromhex(place.tags["eui"]),
                     keypad=ports.get("keypad"), place=place.name)
    return t, ports, t.close


def _virtual_board(keys, workdir):
    from host_tools.boards import flash, registry
    from host_tools.boards.vboard import VBoard
    from host_tools.campaigns import fleet
    from host_tools.keys import pki, provision

    eui = pki.bench_device_eui("esme", 1)
    d = os.path.join(workdir, "board")
    registry.write_meta(d, {"role": "esme", "eui": eui.hex()})
    vb = VBoard(d, flash_kb=2048, heap="512K", eui64=eui.hex()).start(timeout=60)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            flash.flash_board(vb.console, flash.firmware_files("host", tmp))
        provision.provision_board(vb.console, provision.payload(keys, eui))
        vb.reset_to_app()
    except BaseException:
        vb.stop()
        raise
    t = fleet.Target("board", vb.console, vb.optical, eui, vb)
    return t, {"console": vb.console, "optical": vb.optical, "keypad": vb.keypad}, vb.stop


@pytest.fixture(scope="session")
def smlab_board(request, smlab_keys, tmp_path_factory):
    if getattr(request.config.option, "lg_env", None):  # labgrid's plugin: --lg-env
        if not request.config.getoption("smlab_keys"):
            pytest.fail("--lg-env needs --smlab-keys: the key store the lab's boards were provisioned from")
        t, ports, done = _lg_env_board(request)
    elif request.config.getoption("smlab_lab"):
        if not request.config.getoption("smlab_keys"):
            pytest.fail("--smlab-lab needs --smlab-keys: the key store the lab's boards were provisioned from")
        t, ports, done = _lab_board(request, smlab_keys)
    else:
        t, ports, done = _virtual_board(smlab_keys, str(tmp_path_factory.mktemp("smlab-board")))
    try:
        yield LabBoard(t, smlab_keys, ports)
    finally:
        done()


@pytest.fixture(scope="module")
def smlab_premises(smlab_keys, tmp_path_factory):
    try:
        from host_tools.boards.premises import Premises
    except ImportError as e:
        pytest.skip("premises are not available in this tree (%s)" % e)
    p = Premises(str(tmp_path_factory.mktemp("smlab-premises")), smlab_keys, meters=1)
    try:
        p.start()
        p.flash()
        p.provision()
        yield p
    finally:
        p.stop()


@pytest.fixture
def smlab_han_capture(smlab_premises):
    """The pcap of the premises' HAN (ZEP v2 frames as the air carried them)."""
    if not smlab_premises.pcap_path:
        pytest.skip("this premises records no capture")
    return smlab_premises.pcap_path
