"""The RTDS Comms Hub 00DB1234567890A2 for the RTDS runner (host_tools/gbcs/runner.py ROLES "chf";
shared/reference/gbcs.md §5.3, §10; docs/hub.md). CPython only.

RTDS publishes no private key for the CHF, only its KA and DS certificates, but it publishes the
KA private keys of the remote parties (ACB, supplier, network operator, WAN provider, ...). The
static ECDH secret of each KA trust anchor cell is symmetric, Z = d_party x Q_CHF = d_CHF x Q_party,
so the host computes it from the party's private key and the CHF's KA certificate and provisions it
("z" of the firmware/provisioning.py payload): the hub then verifies the RTDS command MACs and MACs
its responses and alerts exactly as the real CHF would, though its own KA private key is a bench
key that only indexes those secrets. A bench technique, never a production one. The DS key is one
of our own (responses to critical commands are signed with it and checked with its public key).

Per use case the hub starts from the state RTDS assumes, written through the hub's own model
(seed): the values its SUCCESS responses read (identity strings, channel configuration, the
Device Log entries with their radio statistics, both logs' hashed keys and PAN identifier, the
security / event / channel log entries), so every answer is computed by the hub from its model.
The hub's clock is the RTDS corpus time, 2015-01-01 00:00:00 UTC.
"""
import hashlib

from host_tools.gbcs import corpus as C

CHF_EUI = "00db1234567890a2"
CHF_DS_PRIV = hashlib.sha256(b"smlab RTDS CHF 00DB1234567890A2 DS key").digest()
# the bench's own KA private key: it only names the provisioned Z values (z_id), no ECDH uses it
CHF_BENCH_KA = hashlib.sha256(b"smlab RTDS CHF 00DB1234567890A2 bench KA index").digest()
RTDS_TIME = 1420070400  # 2015-01-01 00:00:00 UTC


class RtdsBoard:
    """The board services the hub asks for in process: the RTDS corpus clock."""

    @staticmethod
    def time():
        return RTDS_TIME


def bench_z(keys, device_ka_pub):
    """[{"pub", "z"}] for every KA cell of the keystore whose party's KA private key is published:
    Z = ECDH(party KA private, device KA public)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    dev = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), device_ka_pub)
    out = []
    for c in keys.cells():
        if c.usage != "ka":
            continue
        p = keys.parties.get(c.eui)
        kind = "ka" if c.cell == "management" else "pp-ka"
        priv = p.priv.get(kind) if p is not None else None
        if priv is None or C.pub_bytes(priv.public_key()) != c.pub:
            continue
        out.append({"pub": c.pub.hex(), "z": priv.exchange(ec.ECDH(), dev).hex()})
    return out


class ChfRole:
    """Role of the runner for the RTDS CHF (the interface of runner.Role; module docstring)."""

    board = RtdsBoard

    def __init__(self):
        self.name = "chf"
        self.eui = bytes.fromhex(CHF_EUI)
        self.ka_key = None  # not published
        self.ds_priv = CHF_DS_PRIV

    def ds_pub(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        k = ec.derive_private_key(int.from_bytes(self.ds_priv, "big"), ec.SECP256R1())
        return C.pub_bytes(k.public_key())

    def ka_priv(self, keys):
        return CHF_BENCH_KA

    def ka_pub(self, keys):
        return keys.device_pub(self.eui, "ka")

    def payload(self, keys):
        """Provisioning payload: identity, the bench KA index key, our DS key, every organisation
        cell of the keystore and the bench Z of every KA cell."""
        cells = [{"role": c.role, "usage": c.usage, "cell": c.cell, "eui": c.eui.hex(), "kid": c.kid.hex(),
                  "pub": c.pub.hex()} for c in keys.cells()]
        return {"v": 1, "role": self.name, "eui": CHF_EUI, "ka": CHF_BENCH_KA.hex(), "ds": self.ds_priv.hex(),
                "cells": cells, "z": bench_z(keys, self.ka_pub(keys))}

    def provision_store(self, store, keys, table_dir=None):
        from firmware import provisioning

        return provisioning.apply(store, self.payload(keys), self.eui, table_dir)

    def seed(self, dev, commands, folder=None):
        """Write the state RTDS assumes for `commands` (runner Commands) into the hub `dev`
        (module docstring), and arm the runner's fault hook (firmware/core/faults.py) for every
        ERROR command the runner classifies as a device fault (the RTDS "same cmd" hardware-fault
        variants), as the runner does for roles it seeds itself."""
        from firmware.core import faults
        from firmware.gbcs import frame
        from host_tools.gbcs import runner

        for cmd in commands:
            if cmd.variant == "SUCCESS" and cmd.expected is not None:
                seed_from(dev, cmd.msg, frame.parse(cmd.expected))
        analysis = runner.classify(runner.UseCase("", list(commands)))
        for c in commands:
            a = analysis.get(c.name)
            if a is not None and a["cause"] == "fault":
                faults.arm(dev.store, a["item"], c.msg.counter)


def seed_from(dev, cmd, rsp):
    """Seed hub `dev` with the values response `rsp` reports for command `cmd` (DLMS reads only)."""
    from firmware.gbcs import dlms, dlms_client
    from firmware.hub import handlers as H, logs
    from firmware.meter import objects

    if cmd.content[:1] != b"\xd9":
        return
    req = dlms.parse_request(cmd.content)
    _, items, res = dlms_client.parse_response(rsp.content)
    dl = dev.devlog
    quiet, dl.on_event = dl.on_event, None  # seeding is not an event of the hub
    for i, (kind, cid, obis, ident) in enumerate(req.specs):
        data = items[i]
        if res[i][1] != 0 or data[0] == dlms.NULL:
            continue
        if cid == 1 and kind == dlms.GET and obis != H.DEVICE_ID:
            objects.of(dev).set(cid, obis, ident, dlms.encode(data))
        elif cid == 7 and kind == dlms.GET_WITH_SELECTION:
            desc, body = data[1]
            det = desc == b"\x02\x03\x06\x12\x09"
            p = 0
            while p < len(body):
                t = int.from_bytes(body[p:p + 4], "big")
                code = int.from_bytes(body[p + 4:p + 6], "big")
                p += 6
                d = None
                if det:
                    n = body[p]
                    d = body[p + 1:p + 1 + n]
                    p += 1 + n
                logs.append(dev.store, obis, t, code, d)
        elif cid == 104 and kind == dlms.GET and ident == 4:
            for it in data[1]:
                dl.put_entry(it[1][0][1], b"", H.stats_from_item(it))
        elif cid == 104 and kind == dlms.ACTION and ident == 4:
            pan = data[1][1][1]
            devs = [(d[1][0][1], d[1][1][1]) for d in data[1][2][1]]
            if obis == H.HISTLOG:
                for e, h in devs:
                    dl.put_historic(e, b"", h)
            else:
                dl.set_pan(pan)
                for e, h in devs:
                    dl.put_entry(e, h)
    dl.on_event = quiet
    if dl.pending():
        dl.delivered(len(dl.pending()))


def in_process(keys, workdir=None):
    """A runner device (runner.InProcess interface) for the hub in this process, per use case
    freshly provisioned, on the RTDS clock, seeded and its faults armed (the runner's own InProcess does the same
    through ROLES["chf"]; this one serves tests that drive runner.run directly)."""
    from host_tools.gbcs import runner

    class ChfInProcess(runner.InProcess):
        def begin(self, uc, session=None):
            from firmware import roles
            from firmware.store.durable import Store
            import os

            self.n += 1
            st = Store(os.path.join(self.workdir, "uc%03d" % self.n))
            self.role.provision_store(st, self.keys, self.table_dir)
            self.dev = roles.build("chf", RtdsBoard(), st, self.table_dir)
            if session is None:
                self.role.seed(self.dev, uc.commands)
            else:
                self.role.seed(self.dev, session.commands, session.folder)
            if st.get("fault") is not None:
                from firmware.core import faults

                faults.load(self.dev.table, st)

    return ChfInProcess(ChfRole(), keys, workdir)
