"""The GSME's front panel (firmware/frontpanel.py on firmware/roles/gsme.py): a UTRN typed at its
keypad goes through the GSME's own top-up path (firmware/gas/life.py keypad_accept ->
firmware/gas/prepay.py top_up), so it is credited once and lands in the top-up log GCS15e reads;
wrong codes are refused, logged and counted towards the keypad lockout (GBCS §9.6), as on the ESME.

The GSME is provisioned as the RTDS GSME (tests/vectors/gas/gsme_rtds.json); codes are made with
its provisioned prepayment secret. Runs under CPython and the MicroPython unix port.
"""
import os
from binascii import hexlify

import _t

MP_HEAPSIZE = "512K"
EUI = "00db1234567890a1"


def _code(dev, counter, pennies, forged=False):
    """A credit UTRN for the GSME; forged: a well-formed code (check digit right) with a wrong MAC."""
    from firmware.core.trust import KA, PREPAYMENT
    from firmware.gbcs.parties import SUPPLIER
    from firmware.utrn import codec, mac

    t = dev.trust
    cell = t.cell(SUPPLIER, KA, PREPAYMENT)
    hi = ((counter & 0x3FF) << 15) | pennies
    tag = mac.tag4(t.z(cell), cell.eui, t.eui, counter, hi.to_bytes(4, "big"))
    if forged:
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    return codec.encode(counter & 0x3FF, 0, pennies, tag)


class _Gsme:
    def __enter__(self):
        import json

        from board import unix
        from firmware import provisioning, roles
        from firmware.frontpanel import FrontPanel
        from firmware.store.durable import Store

        self.root = "/tmp/smlab-gsmekp-" + hexlify(os.urandom(6)).decode()
        os.mkdir(self.root)
        with open(_t.ROOT + "/tests/vectors/gas/gsme_rtds.json") as f:
            payload = json.load(f)["payload"]
        st = Store(self.root + "/state")
        provisioning.apply(st, payload, _t.unhex(EUI), None)
        self.board = unix.Board(root=self.root)
        self.dev = roles.build("gsme", self.board, st)
        self.panel = FrontPanel(self.board, self.dev)
        return self

    def type(self, keys):
        self.board.keypad().stream.feed(keys.encode())
        n = len(self.board.displayed)
        self.panel.poll()
        return self.board.displayed[n:]

    def __exit__(self, *a):
        _t.rmtree(self.root)


def test_keypad_top_up_lands_in_the_top_up_log_once():
    with _Gsme() as g:
        dev = g.dev
        before = dev.gas.credit()
        code = _code(dev, 120, 1000)
        shown = g.type(code + "#")
        assert shown and shown[-1].startswith("ACCEPTED +10.00"), shown
        assert dev.gas.credit() == before + 1000 * 1000
        log = dev.gas.st["tul"]
        assert log[0][0] == code and log[0][1] == 1000 * 1000 and log[0][4] == 1, log[:1]
        n = len(log)
        shown = g.type(code + "#")  # the same UTRN again: refused as used, nothing added
        assert shown and shown[-1].startswith("REJECTED 8F51"), shown
        assert dev.gas.credit() == before + 1000 * 1000 and len(dev.gas.st["tul"]) == n


def test_wrong_keypad_codes_are_logged_and_count_towards_the_lockout():
    with _Gsme() as g:
        acc = g.dev.acceptor
        tul = list(g.dev.gas.st["tul"])
        credit = g.dev.gas.credit()
        for i, bad in enumerate((_code(g.dev, 130, 500, forged=True),  # decodes, MAC wrong: top_up's path
                                 "12345678901234567890")):  # does not decode: the acceptor's path
            fails, logged = len(acc.lock.times), len(acc.log.entries())
            shown = g.type(bad + "#")
            assert shown and shown[-1].startswith("REJECTED"), (i, shown)
            assert len(acc.lock.times) == fails + 1, (i, acc.lock.times)  # counted towards the lockout
            assert len(acc.log.entries()) == logged + 1, i  # and logged
        assert g.dev.gas.st["tul"] == tul and g.dev.gas.credit() == credit  # nothing credited or logged
