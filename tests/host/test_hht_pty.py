"""Host HHT program (host_tools.hht.hht over pyserial) against the firmware optical port on a pty pair:
readout, login, restricted reads and refusals, wrong credentials and lockout across a reboot,
random frames (docs/hht.md)."""
import os
import random
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from firmware.optical import auth, iec
from host_tools.hht import hht as H
from test_optical_rig import PtyMeter

EUI = bytes.fromhex("00DB1234567890A0")
SUP_EUI = bytes.fromhex("90B3D51F30010000")
SUP = ec.derive_private_key(0x5EED5, ec.SECP256R1())
OTHER_SUP = ec.derive_private_key(0xBAD5, ec.SECP256R1())
SUP_PUB = b"\x04" + H.pub64(SUP)


def anchors(issuer):
    return SUP_PUB if issuer == SUP_EUI else None


@pytest.fixture
def meter():
    m = PtyMeter(EUI, anchors).start()
    yield m
    m.close()


def test_readout_and_restricted_session(meter, tmp_path):
    ser = meter.hht_serial()
    h = H.Hht(ser)
    ds = h.readout()
    assert ("C.1.0", "00DB1234567890A0", "") in ds and ("1.8.0", "0001234.567", "kWh") in ds
    assert h.ident == "SMl5SMLAB-ESME"
    cred, key = H.issue_credential(SUP, SUP_EUI, bytes.fromhex("4848540000000001"), EUI,
                                   auth.PERM_READ, int(time.time()) + 3600)
    path = str(tmp_path / "cred.json")
    H.save_credential(path, cred, key)
    cred, key = H.load_credential(path)
    h.login(cred, key, EUI)
    assert h.read("C.LS") == ("connected", "")
    assert h.read("1.8.0") == ("0001234.567", "kWh")
    assert h.read("C.LOG.O", "0")[0] == "81A5 optical login hht=4848540000000001 perms=1"
    assert h.execute("C.DT") == "OK" and meter.shown == ["88888888 DISPLAY TEST"]
    for cmd, data in (("W1", "C.LS(0)"), ("E2", "C.LS(0)"), ("R1", "C.KEY()")):
        with pytest.raises(H.HhtError) as e:
            h.command(cmd, data)
        assert e.value.text == "ER02"
    with pytest.raises(H.HhtError) as e:  # no pass-through permission in this credential
        h.gbcs(b"\xdd\x00")
    assert e.value.text == "ER02"
    h.sign_off()
    assert meter.model.supply == "connected"
    ents = meter.security()
    assert sum(e.startswith("8F30 optical refused") for e in ents) == 3


def test_wrong_credentials_lock_across_reboot(meter):
    h = H.Hht(meter.hht_serial())
    good, gkey = H.issue_credential(SUP, SUP_EUI, bytes.fromhex("4848540000000002"))
    forged, fkey = H.issue_credential(OTHER_SUP, SUP_EUI, bytes.fromhex("4848540000000002"))
    texts = []
    for _ in range(3):
        with pytest.raises(H.HhtError) as e:
            h.login(forged, fkey, EUI)
        texts.append(e.value.text)
    assert texts == ["ER04", "ER04", "ER05"]
    meter.reboot()
    with pytest.raises(H.HhtError) as e:
        h.login(good, gkey, EUI)
    assert e.value.text.startswith("ER05 ")
    left = int(e.value.text.split()[1])
    assert 55 <= left <= 60
    # after the lock expires (meter clock moved on) the good credential works
    meter.clock.offset += 61
    h.login(good, gkey, EUI)
    assert h.read("C.1.0") == ("00DB1234567890A0", "")
    h.sign_off()
    assert sum(e.startswith("8F3D optical login failed: login-cert") for e in meter.security()) == 3


def test_credential_for_other_meter_and_expired(meter):
    h = H.Hht(meter.hht_serial())
    other, k1 = H.issue_credential(SUP, SUP_EUI, bytes(8), bytes.fromhex("00DB1234567890A1"))
    with pytest.raises(H.HhtError) as e:
        h.login(other, k1, EUI)
    assert e.value.text == "ER04"
    old, k2 = H.issue_credential(SUP, SUP_EUI, bytes(8), not_after=int(time.time()) - 10)
    with pytest.raises(H.HhtError):
        h.login(old, k2, EUI)
    ents = meter.security()
    assert any("login-scope" in e for e in ents) and any("login-expired" in e for e in ents)


def test_random_frames_over_the_pty(meter):
    """10,000 random frames (valid BCC, random command letters and data, some over-long or
    corrupted) in every session state: only well-formed replies or silence, no crash, no state
    change."""
    rnd = random.Random(62056)
    ser = meter.hht_serial()
    h = H.Hht(ser, timeout=0.3)
    cred, key = H.issue_credential(SUP, SUP_EUI, bytes.fromhex("4848540000000003"), EUI,
                                   auth.PERM_READ)
    h.login(cred, key, EUI)
    before = (meter.store.get("meter"), meter.store.get("optical_lock"))
    frames = []
    for i in range(10000):
        k = rnd.random()
        cmd = rnd.choice("RWEPBSX") + rnd.choice("0123456789")
        n = rnd.choice((0, 3, 3, 20, 20, 40, 60, 200)) if rnd.random() > 0.01 else 1200
        data = bytes(rnd.randrange(0x20, 0x7F) for _ in range(n))
        f = iec.command(cmd, data if n else None, partial=rnd.random() < 0.1)
        if k < 0.1:
            f = bytearray(f)
            f[rnd.randrange(len(f))] ^= rnd.randrange(1, 128)  # corrupted byte (usually BCC)
        elif k < 0.15:
            f = f[:rnd.randrange(1, len(f))]  # truncated
        elif k < 0.2:
            f = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 30)))  # noise
        if cmd == "B0" or cmd == "P2":
            cmd = "R9"  # stay in the session (B0 ends it, P2 is answered with an error anyway)
            f = iec.command(cmd, data)
        frames.append(bytes(f))
    blob = b"".join(frames)
    got = b""
    for i in range(0, len(blob), 1024):  # read replies while sending: the pty buffers are small
        ser.write(blob[i:i + 1024])
        time.sleep(0.004)
        got += ser.read(ser.in_waiting)
    deadline = time.time() + 10
    while time.time() < deadline:
        time.sleep(0.2)
        chunk = ser.read(ser.in_waiting)
        got += chunk
        if not chunk:
            break
    meter.stop()
    assert meter.errors == []
    # every reply is a well-formed message
    i = 0
    kinds = set()
    while i < len(got):
        c = got[i]
        if c in (iec.ACK, iec.NAK):
            kinds.add(c)
            i += 1
            continue
        assert c == iec.STX, got[i:i + 20]
        j = got.index(bytes((iec.ETX,)), i)
        assert iec.bcc(got[i + 1:j + 1]) == got[j + 1]
        kinds.add(got[i + 1:i + 4])
        i = j + 2
    assert iec.NAK in kinds and b"(ER" in kinds
    assert (meter.store.get("meter"), meter.store.get("optical_lock")) == before
    assert len(meter.security()) <= 64
