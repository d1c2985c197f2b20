"""Optical port and engineering menu on a virtual board (host_tools.vboard): the firmware runs from
the board's littlefs flash (main.py = firmware.optical.service loop), the HHT program talks to the
board's optical pty with pyserial, keys go to the keypad pty. Login ok / wrong / lockout survives a
reset; allowed vs refused restricted commands; menu PIN lockout survives a reset."""
import os
import re
import time

import pytest
import serial
from cryptography.hazmat.primitives.asymmetric import ec

from firmware.optical import auth
from host_tools import hht as H
from host_tools.vboard import VBoard

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EUI = "00DB1234567890A0"
SUP_EUI = bytes.fromhex("90B3D51F30010000")
SUP = ec.derive_private_key(0x5EED5, ec.SECP256R1())
FORGER = ec.derive_private_key(0xBAD5, ec.SECP256R1())

MAIN = r'''
import time
import board
from firmware.optical.service import OpticalService
b = board.get()
svc = OpticalService(b, b.store(), registers=lambda: [("1.8.0", "0000042.000", "kWh")])
print("SMLAB-OPTICAL-READY")
while True:
    svc.poll()
    time.sleep_ms(2)
'''

PROVISION = r'''
import board, binascii
from firmware.meter import security
from firmware.optical import menu
u = binascii.unhexlify
st = board.get().store()
cells = [security.Cell(security.SUPPLIER, security.DS, u("90B3D51F30010000"), u("%s"))]
security.provision(st, u("%s"), b"\x11" * 32, b"\x22" * 32, cells)
menu.set_pin(st, "2468", b"salt-salt-salt-1")
print("PROVISIONED")
'''

FIRMWARE_DIRS = ("firmware", "firmware/store", "firmware/crypto", "firmware/meter", "firmware/optical")


def _install(b, tmp_path):
    args = []
    for d in FIRMWARE_DIRS:
        args += ["fs", "mkdir", ":" + d, "+"]
    for d in FIRMWARE_DIRS:
        for f in sorted(os.listdir(os.path.join(ROOT, d))):
            if f.endswith(".py") or f.endswith(".bin"):
                args += ["fs", "cp", os.path.join(ROOT, d, f), ":%s/%s" % (d, f), "+"]
    b.mpremote(*args[:-1], timeout=300)
    pub = (b"\x04" + H.pub64(SUP)).hex()
    assert "PROVISIONED" in b.exec(PROVISION % (pub, EUI))
    main = tmp_path / "main.py"
    main.write_text(MAIN)
    b.mpremote("fs", "cp", str(main), ":main.py")


def _wait_console(b, text, n=1, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if b.console_log().count(text) >= n:
            return
        time.sleep(0.1)
    raise AssertionError("board never printed %r:\n%s" % (text, b.console_log()[-2000:]))


@pytest.fixture(scope="module")
def vb(tmp_path_factory):
    d = tmp_path_factory.mktemp("optical-vboard")
    # heap: every module is compiled from source into the heap here (frozen into flash on an ESP32)
    b = VBoard(str(d / "board"), flash_kb=1024, heap="512K", eui64=EUI.lower()).start(watch_pid=os.getpid())
    _install(b, d)
    b.reset()
    _wait_console(b, "SMLAB-OPTICAL-READY", 1)
    yield b
    b.stop()


def _hht(b):
    return H.Hht(serial.Serial(b.optical, 300, bytesize=7, parity="E", timeout=0.05), timeout=20)


def test_hht_session_and_lockout_survive_reset(vb):
    good, gk = H.issue_credential(SUP, SUP_EUI, bytes.fromhex("4848540000000020"),
                                  bytes.fromhex(EUI), auth.PERM_READ)
    forged, fk = H.issue_credential(FORGER, SUP_EUI, bytes.fromhex("4848540000000020"))
    h = _hht(vb)
    ds = h.readout()
    assert ("C.1.0", EUI, "") in ds and ("1.8.0", "0000042.000", "kWh") in ds
    h.login(good, gk, bytes.fromhex(EUI))
    assert h.read("C.LS") == ("connected", "")
    assert h.execute("C.DT") == "OK"
    with pytest.raises(H.HhtError) as e:
        h.command("W1", "C.LS(0)")
    assert e.value.text == "ER02"
    h.sign_off()
    texts = []
    for _ in range(3):
        with pytest.raises(H.HhtError) as e:
            h.login(forged, fk, bytes.fromhex(EUI))
        texts.append(e.value.text)
    assert texts == ["ER04", "ER04", "ER05"]
    n = vb.console_log().count("SMLAB-OPTICAL-READY")
    vb.reset()
    _wait_console(vb, "SMLAB-OPTICAL-READY", n + 1)
    h = _hht(vb)
    with pytest.raises(H.HhtError) as e:
        h.login(good, gk, bytes.fromhex(EUI))
    assert re.match(r"ER05 \d+$", e.value.text)
    # the meter's clock moves past the lock (set_time over the REPL would stop main.py; the lock
    # length is checked in the unit tests) -- here: the readout still works while locked
    assert ("C.1.0", EUI, "") in h.readout()


def test_menu_pin_lockout_survives_reset(vb):
    with serial.Serial(vb.keypad, 9600, timeout=1) as kp:
        for pin in (b"1111#", b"2222#", b"3333#"):
            kp.write(pin)
            kp.flush()
            time.sleep(0.3)
        _wait_console(vb, "[display] LOCKED 60 S")
        n = vb.console_log().count("SMLAB-OPTICAL-READY")
        vb.reset()
        _wait_console(vb, "SMLAB-OPTICAL-READY", n + 1)
        kp.write(b"2468#")
        kp.flush()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            tail = vb.console_log().split("SMLAB-OPTICAL-READY")[-1]
            if "[display] LOCKED" in tail:
                break
            time.sleep(0.1)
        assert re.search(r"\[display\] LOCKED \d+ S", tail), tail
        assert "1TEST" not in tail
