"""The RTDS Gas Proxy Function 00DB1234567890A3 for the RTDS runner (host_tools/gbcs/runner.py ROLES
"gpf"; shared/reference/gas.md §4; docs/gas.md "GPF"). CPython only.

RTDS publishes no private key for the GPF, only its KA and DS certificates: as for the CHF and the
GSME (host_tools/gbcs/chf_rtds.py) the host computes the static ECDH secret of every KA trust anchor
cell from the party's published private key and the GPF's KA certificate and provisions it ("z"),
so the GPF verifies command MACs, MACs its responses and encrypts its sensitive GBZ replies (KDF
U=04 with the GPF's EUI-64) exactly as the RTDS GPF; its DS key is one of our own. A bench
technique, never a production one.

Per session the GPF's mirror starts from the data RTDS assumes the GSME last reported (seed: the
attribute values and publications its SUCCESS responses read, decrypted on the host with the
recipient's published KA key; host_tools/gbcs/gsme_rtds.py seed_commands on the GPF's GasModel),
reported at the RTDS corpus time 2015-01-01 00:00:00 UTC by a GSME whose clock agreed with the GPF's.
Every answer is then computed by the GPF from its mirror.
"""
import hashlib

from host_tools.gbcs import corpus as C
from host_tools.gbcs.chf_rtds import RTDS_TIME, RtdsBoard, bench_z

GPF_EUI = "00db1234567890a3"
GPF_DS_PRIV = hashlib.sha256(b"smlab RTDS GPF 00DB1234567890A3 DS key").digest()
GPF_BENCH_KA = hashlib.sha256(b"smlab RTDS GPF 00DB1234567890A3 bench KA index").digest()


class GpfRole:
    """Role of the runner for the RTDS GPF (the interface of runner.Role; module docstring)."""

    board = RtdsBoard

    def __init__(self):
        self.name = "gpf"
        self.eui = bytes.fromhex(GPF_EUI)
        self.ka_key = None  # not published
        self.ds_priv = GPF_DS_PRIV

    def ds_pub(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        k = ec.derive_private_key(int.from_bytes(self.ds_priv, "big"), ec.SECP256R1())
        return C.pub_bytes(k.public_key())

    def ka_priv(self, keys):
        return GPF_BENCH_KA

    def ka_pub(self, keys):
        return keys.device_pub(self.eui, "ka")

    def payload(self, keys):
        cells = [{"role": c.role, "usage": c.usage, "cell": c.cell, "eui": c.eui.hex(), "kid": c.kid.hex(),
                  "pub": c.pub.hex()} for c in keys.cells()]
        return {"v": 1, "role": self.name, "eui": GPF_EUI, "ka": GPF_BENCH_KA.hex(), "ds": self.ds_priv.hex(),
                "cells": cells, "z": bench_z(keys, self.ka_pub(keys)) + urp_z(keys, self.ka_pub(keys))}

    def provision_store(self, store, keys, table_dir=None):
        from firmware import provisioning

        return provisioning.apply(store, self.payload(keys), self.eui, table_dir)

    def seed(self, dev, commands, folder=None):
        """The mirror RTDS assumes for `commands` (runner Commands), reported at the corpus time."""
        seed_mirror(dev, commands, C.Keystore(C.KEYSTORE))

    def board_prep(self, session):
        """The same state for a board (runner.VirtualBoard/real boards: code for its raw REPL)."""
        return board_prep(self, session)


def board_prep(role, session):
    """MicroPython source for a board's raw REPL (runner: the store as the reset left it) that writes
    the state seed() gives the GPF for `session`: the mirror record, the trust anchor cells, the
    supplementary originator counter — computed here on a scratch in-process GPF. Prints PREP-OK."""
    import json
    import os
    import tempfile

    from firmware import roles
    from firmware.core.trust import CELLS_REC
    from firmware.gas.gpf import URP_COUNTER
    from firmware.store.durable import Store

    if session is None:
        return None
    keys = C.Keystore(C.KEYSTORE)
    with tempfile.TemporaryDirectory() as d:
        st = Store(os.path.join(d, "gpf"))
        role.provision_store(st, keys)
        dev = roles.build("gpf", RtdsBoard(), st)
        # the bench HHT logs in at the board's optical port with the supplier's credential: the
        # supplier cells keep the supplier (a SupplierBySupplier handover's prior state is not seeded)
        seed_mirror(dev, session.commands, keys, handover=(0x0103,))
        gas = json.dumps(dev.gas.st, separators=(",", ":"))
        cells = json.dumps(st.get_json(CELLS_REC, []), separators=(",", ":"))
        urp = st.counter(URP_COUNTER).value
    return ("import board, json\n"
            "from firmware.store.durable import Store\n"
            "_st = Store(board.get().storage_root().rstrip('/'))\n"
            "_st.put_json('gas', json.loads(%r))\n"
            "_st.put_json(%r, json.loads(%r))\n"
            "if %d:\n"
            "    _st.counter(%r).advance_to(%d)\n"
            "print('PREP-OK')\n" % (gas, CELLS_REC, cells, urp, URP_COUNTER, urp))


def urp_z(keys, device_ka_pub):
    """[{"pub", "z"}] for the published KA keys of parties with no trust anchor cell (an unknown
    remote party, URP, whose KA certificate a command carries: GCS16b URP)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    dev = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), device_ka_pub)
    have = {c.eui for c in keys.cells()}
    out = []
    for eui, p in sorted(keys.parties.items()):
        priv = p.priv.get("ka")
        if eui in have or priv is None:
            continue
        out.append({"pub": C.pub_bytes(priv.public_key()).hex(), "z": priv.exchange(ec.ECDH(), dev).hex()})
    return out


def seed_urp(dev, commands):
    """The GPF's supplementary originator counter RTDS assumes: one below the first URP response's."""
    from firmware.gbcs import frame
    from firmware.gas.gpf import URP_COUNTER

    for c in commands:
        if c.msg.ka_cert is not None and c.expected is not None:
            v = frame.parse(c.expected).supp_orig_counter
            if v:
                dev.store.counter(URP_COUNTER).advance_to(v - 1)
                return


def seed_handover(dev, commands, codes=(0x0102, 0x0103)):
    """A DCC-controlled device before a CS02b handover (0x0102 supplier, 0x0103 network operator;
    those of `codes`): the cells of the party handed over hold the ACB's (DCC's) keys, as RTDS's
    responses show."""
    from firmware.core.trust import CELLS_REC, Cell, MANAGEMENT
    from firmware.gbcs import parties as P

    roles = [{0x0102: P.SUPPLIER, 0x0103: P.NETWORK_OPERATOR}[c.msg.message_code] for c in commands
             if c.msg.message_code in codes]
    if not roles:
        return
    t = dev.trust
    for r in roles:
        for i, c in enumerate(t.cells):
            if c.role == r:  # management and prepayment cells alike
                acb = t.cell(P.ACB, c.usage, MANAGEMENT)
                if acb is not None:
                    t.cells[i] = Cell(r, c.usage, acb.eui, acb.pub, acb.kid, c.cell)
    dev.store.put_json(CELLS_REC, [c.to_json() for c in t.cells])


def seed_mirror(dev, commands, keys, handover=(0x0102, 0x0103)):
    from host_tools.gbcs.gsme_rtds import seed_commands
    from firmware.gas import gpf

    seed_handover(dev, commands, handover)
    seed_urp(dev, commands)

    seed_commands(dev, [c for c in commands if c.variant == "SUCCESS"], keys)
    gas = dev.gas
    gpf.gpf_state(gas)
    w = gas.begin()
    w["mt"] = [RTDS_TIME - 946684800, 0]
    gas.commit()


def in_process(keys, workdir=None):
    """A runner device (runner.InProcess interface) for the GPF in this process, per session freshly
    provisioned, on the RTDS clock, its mirror seeded."""
    from host_tools.gbcs import runner

    class GpfInProcess(runner.InProcess):
        def begin(self, uc, session=None):
            from firmware import roles
            from firmware.store.durable import Store
            import os

            self.n += 1
            st = Store(os.path.join(self.workdir, "uc%03d" % self.n))
            self.role.provision_store(st, self.keys, self.table_dir)
            self.dev = roles.build("gpf", RtdsBoard(), st, self.table_dir)
            if session is None:
                self.role.seed(self.dev, uc.commands)
            else:
                self.role.seed(self.dev, session.commands, session.folder)

    return GpfInProcess(GpfRole(), keys, workdir)
