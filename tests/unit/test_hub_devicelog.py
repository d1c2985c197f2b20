"""The CHF Device Log and Historic Device Log (firmware/hub/devicelog.py; han.md §5): capacity,
duplicate add, historic overwrite of the oldest, restore, join windows on a virtual clock (install
code, historic key first half), only logged devices join (an unknown joiner refused, logged and
alerted), CS14 queued on every change with the log as it is after it, persistence across a reboot,
the install-code link key (han.md §2 vector for the RTDS CCS01 code), the 8F12 payload and DLMS
date-time. Runs under CPython and the MicroPython unix port (plain directory store).

MP_HEAPSIZE: the hub modules, the store and this test are compiled from source on the heap here
(the hub's working set as frozen bytecode is measured in docs/board-memory.md, tests/host/test_hub_heap.py).
"""
MP_HEAPSIZE = "256K"
import os
from binascii import hexlify, unhexlify

import _t
from firmware.store.durable import Store
from firmware.hub import devicelog as D
from firmware.hub import alerts as A
from firmware.hub import logs as L

T0 = 1420070400  # 2015-01-01 00:00:00 UTC


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-hub-" + hexlify(os.urandom(6)).decode()
        os.mkdir(self.path)
        return self.path

    def __exit__(self, *a):
        _t.rmtree(self.path)


def eui(n):
    return bytes((0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x90, n))


CODE = b"0123456789ABCDEF"  # the RTDS CCS01 install code (16 bytes, no CRC)


def _log(root, **kw):
    st = Store(root)
    ev = []
    dl = D.DeviceLog(st, on_event=lambda c, t, d, s: ev.append((c, t, d, s)), **kw)
    return st, dl, ev


def test_install_code_key_and_hash_vectors():
    # han.md §2: code 30313233...46 (RTDS CCS01) + CRC F5 96 -> link key 17E92CAA...
    assert hexlify(D.install_code_key(CODE)).decode() == "17e92caaa342c367e8eddc58eeba69ed"
    # han.md §2: 83FED3407A939723A5C639B26916D505 -> 66B69009...
    assert hexlify(D.install_code_key(unhexlify("83FED3407A939723A5C639B26916D505"))).decode() == \
        "66b6900981e1ee3ca4206b6b861c02bb"
    # the hashed TC link key is AES-MMO of the key (han.md §2: MMO("C0C1..CF") = A7977E88...)
    assert hexlify(D.hashed_key(bytes(range(0xC0, 0xD0)))).decode() == "a7977e88bc0b61e8210827109a228f2d"


def test_dlms_datetime():
    assert A.dlms_datetime(T0) == b"\x07\xDF\x01\x01\xFF\x00\x00\x00\x00\x80\x00\xFF"
    # 2000-02-29 18:52:54 (a leap day), 2100-03-01 (2100 is not leap), 1999-12-31 23:59:59
    assert A.dlms_datetime(951850374) == b"\x07\xD0\x02\x1D\xFF\x12\x34\x36\x00\x80\x00\xFF"
    assert A.dlms_datetime(4107542400)[:8] == b"\x08\x34\x03\x01\xFF\x00\x00\x00"
    assert A.dlms_datetime(946684799)[:8] == b"\x07\xCF\x0C\x1F\xFF\x17\x3B\x3B"


def test_add_duplicate_capacity_and_cs14_every_change():
    with Tmp() as d:
        st, dl, ev = _log(d, capacity=3)
        assert dl.add(eui(0xA0), CODE, 90, True, T0) == D.ADDED
        assert dl.add(eui(0xA0), b"other-code-16byt", 90, True, T0 + 1) == D.PRESENT  # key discarded
        assert dl.add(eui(0xA1), CODE, 90, True, T0) == D.ADDED
        assert dl.add(eui(0xA3), CODE, 90, True, T0) == D.ADDED
        assert dl.add(eui(0xA4), CODE, 90, True, T0) == D.FULL
        assert dl.euis() == [eui(0xA0), eui(0xA1), eui(0xA3)]
        q = dl.pending()
        assert [x[0] for x in q] == [0x8F12] * 3  # one CS14 per change, none for the duplicate
        assert q[-1][2] == A.cs14_payload(T0, dl.pan(), [(eui(0xA0), b""), (eui(0xA1), b""), (eui(0xA3), b"")])
        assert [e[0] for e in ev] == [0x8F12] * 3
        # the duplicate kept the first install code
        assert dl.may_join(eui(0xA0), T0 + 5) == (D.INSTALL_CODE, D.install_code_key(CODE))
        # durable: a new DeviceLog on the same store (a reboot) reads the same state
        dl2 = D.DeviceLog(Store(d), capacity=3)
        assert dl2.euis() == dl.euis() and len(dl2.pending()) == 3
        dl2.delivered(2)
        assert len(D.DeviceLog(Store(d)).pending()) == 1


def test_join_window_and_unknown_joiner_refused_logged_alerted():
    with Tmp() as d:
        st, dl, ev = _log(d)
        dl.add(eui(0xA0), CODE, 90, True, T0)
        assert dl.may_join(eui(0xA0), T0 - 1) == (D.REFUSED_CLOSED, None)
        assert dl.may_join(eui(0xA0), T0) == (D.INSTALL_CODE, D.install_code_key(CODE))
        assert dl.may_join(eui(0xA0), T0 + 89)[0] == D.INSTALL_CODE
        assert dl.may_join(eui(0xA0), T0 + 90) == (D.REFUSED_CLOSED, None)
        n = len(dl.pending())
        assert dl.may_join(eui(0x77), T0 + 1) == (D.REFUSED_UNKNOWN, None)
        q = D.DeviceLog(Store(d)).pending()  # durably queued
        assert len(q) == n + 1 and q[-1][0] == 0x8F48 and q[-1][2] == eui(0x77)
        assert ev[-1] == (0x8F48, T0 + 1, eui(0x77), True)
        assert dl.euis() == [eui(0xA0)]  # the refused device was not added
        # joining disabled: no window at all
        dl.add(eui(0xA1), CODE, 90, False, T0)
        assert dl.may_join(eui(0xA1), T0 + 1) == (D.REFUSED_CLOSED, None)


def test_joined_link_key_remove_to_historic_and_rejoin_halves():
    with Tmp() as d:
        st, dl, ev = _log(d)
        lk = bytes(range(16))
        dl.add(eui(0xA0), CODE, 90, True, T0)
        assert dl.joined(eui(0xA0), lk, T0 + 3)
        assert dl.entries()[0][1] == D.hashed_key(lk)
        assert dl.may_join(eui(0xA0), T0 + 1000) == (D.LINK_KEY, lk)
        assert dl.pending()[-1][2] == A.cs14_payload(T0 + 3, dl.pan(), [(eui(0xA0), D.hashed_key(lk))])
        assert dl.remove(eui(0xA0), T0 + 10) == D.REMOVED
        assert dl.remove(eui(0xA0), T0 + 11) == D.ABSENT
        assert dl.historic() == [(eui(0xA0), D.hashed_key(lk))]
        assert dl.pending()[-1][2] == A.cs14_payload(T0 + 10, dl.pan(), [])
        # re-added: first half of the window with the historic key, second half install code
        dl.add(eui(0xA0), CODE, 100, True, T0 + 20)
        assert dl.may_join(eui(0xA0), T0 + 20) == (D.HISTORIC_KEY, lk)
        assert dl.may_join(eui(0xA0), T0 + 69) == (D.HISTORIC_KEY, lk)
        assert dl.may_join(eui(0xA0), T0 + 70) == (D.INSTALL_CODE, D.install_code_key(CODE))
        n = len(dl.pending())
        assert dl.joined(eui(0xA0), lk, T0 + 30)  # re-adopted the historic key: CS14 with its hash
        assert len(dl.pending()) == n + 1


def test_historic_log_overwrites_oldest_and_updates_same_device():
    with Tmp() as d:
        st, dl, ev = _log(d, capacity=20, historic=15)
        for i in range(17):
            dl.add(eui(i), CODE, 90, True, T0)
            dl.joined(eui(i), bytes((i,)) * 16, T0)
        for i in range(17):
            dl.remove(eui(i), T0 + i)
        h = dl.historic()
        assert len(h) == 15 and [x[0] for x in h] == [eui(i) for i in range(2, 17)]
        # the same device again: its record updated (moved to newest), no duplicate
        dl.add(eui(5), CODE, 90, True, T0)
        dl.joined(eui(5), b"\x55" * 16, T0)
        dl.remove(eui(5), T0 + 50)
        h = dl.historic()
        assert len(h) == 15 and h[-1] == (eui(5), D.hashed_key(b"\x55" * 16))
        assert [x[0] for x in h].count(eui(5)) == 1
        assert dl.historic_key(eui(5)) == b"\x55" * 16


def test_restore_replaces_the_log_with_hashed_keys():
    with Tmp() as d:
        st, dl, ev = _log(d, capacity=2)
        dl.add(eui(0xA5), CODE, 90, True, T0)
        pan = unhexlify("0000000000000140")
        devs = [(eui(0xA0), b"\x11" * 16), (eui(0xA1), b"\x22" * 16)]
        assert dl.restore(pan, devs, T0 + 1) == D.RESTORED
        assert dl.pan() == pan and dl.backup() == devs
        assert dl.pending()[-1][2] == A.cs14_payload(T0 + 1, pan, devs)
        assert dl.restore(pan, devs + [(eui(0xA3), b"")], T0 + 2) == D.FULL
        assert dl.backup() == devs
        assert dl.may_join(eui(0xA0), T0 + 3) == (D.REFUSED_CLOSED, None)  # restored: no key yet


def test_hub_log_selective_read():
    with Tmp() as d:
        st = Store(d)
        for i in range(5):
            L.append(st, L.SECURITY, 1000 + i, 0x8154, b"\x00\x9b")
            L.append(st, L.EVENT, 1000 + i, 0x8F12)
        sel = (1, (2, [(2, []), (6, 1001), (6, 1003), (1, [])]))
        it = L.select(st, L.SECURITY, sel)
        assert it == (0x13, (b"\x02\x03\x06\x12\x09", b"".join(
            bytes((0, 0, 3, 0xE8 + i, 0x81, 0x54, 2, 0, 0x9B)) for i in (1, 2, 3))))
        it = L.select(st, L.EVENT, sel)
        assert it[1][1] == b"".join(bytes((0, 0, 3, 0xE8 + i, 0x8F, 0x12)) for i in (1, 2, 3))
        assert L.select(st, L.EVENT, (2, (2, []))) is None  # entry selector: not served
