"""The RTDS gas meter 00DB1234567890A1 for the RTDS runner (host_tools/gbcs/runner.py ROLES "gsme";
shared/reference/gas.md; docs/gas.md). CPython only.

RTDS publishes no private key for the GSME, only its KA and DS certificates: as for the CHF
(host_tools/gbcs/chf_rtds.py) the host computes the static ECDH secret of every KA trust anchor cell
from the party's published private key and the GSME's KA certificate and provisions it ("z"), so the
GSME verifies command MACs, MACs its responses and encrypts its sensitive GBZ replies (KDF U=04)
exactly as the RTDS GSME; its DS key is one of our own. A bench technique, never a production one.

Per session the GSME starts from the state RTDS assumes, written into its GasModel (seed): the
attribute values its SUCCESS responses read, the data its Get... commands publish (calendar, price,
billing period, snapshots, logs; encrypted replies decrypted on the host with the recipient's
published KA key), the credit before a top-up. Every answer is then computed by the GSME. For an
ERROR command whose RTDS response shows a hardware failure (0xC0) where its SUCCESS command's does
not (a device failure RTDS injected; the command may also differ in a parameter, which no gas ERROR
response points at), the GSME's fault hook (firmware/gas/model.py arm_fault) is armed at the
component (and attribute) where the RTDS ERROR response fails. The clock is the RTDS corpus time, 2015-01-01 00:00:00 UTC.
"""
import hashlib

from host_tools.gbcs import corpus as C
from host_tools.gbcs.chf_rtds import RTDS_TIME, RtdsBoard, bench_z

GSME_EUI = "00db1234567890a1"
GSME_DS_PRIV = hashlib.sha256(b"smlab RTDS GSME 00DB1234567890A1 DS key").digest()
GSME_BENCH_KA = hashlib.sha256(b"smlab RTDS GSME 00DB1234567890A1 bench KA index").digest()


# Trust anchor cells of the keystore the RTDS GSME does not hold: its CS02a answer (6.24.1_CS02aMAC
# ERROR response) lists the ACB's keyAgreement cell alone and answers the network operator's role
# NOT_FOUND (25). (role, key usage)
NOT_HELD = ((4, "ds"), (3, "ds"), (3, "ka"))


class GsmeRole:
    """Role of the runner for the RTDS GSME (the interface of runner.Role; module docstring)."""

    board = RtdsBoard
    # a virtual board's clock stands still at the RTDS instant for the run (runner.ImageResetter):
    # the GCS28 ERROR answer reports the GSME's clock, which in process is that instant
    frozen_clock = RTDS_TIME

    def __init__(self):
        self.name = "gsme"
        self.eui = bytes.fromhex(GSME_EUI)
        self.ka_key = None  # not published
        self.ds_priv = GSME_DS_PRIV

    def ds_pub(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        k = ec.derive_private_key(int.from_bytes(self.ds_priv, "big"), ec.SECP256R1())
        return C.pub_bytes(k.public_key())

    def ka_priv(self, keys):
        return GSME_BENCH_KA

    def ka_pub(self, keys):
        return keys.device_pub(self.eui, "ka")

    def payload(self, keys):
        cells = [{"role": c.role, "usage": c.usage, "cell": c.cell, "eui": c.eui.hex(), "kid": c.kid.hex(),
                  "pub": c.pub.hex()} for c in keys.cells() if (c.role, c.usage) not in NOT_HELD]
        return {"v": 1, "role": self.name, "eui": GSME_EUI, "ka": GSME_BENCH_KA.hex(), "ds": self.ds_priv.hex(),
                "cells": cells,
                "z": [e for e in bench_z(keys, self.ka_pub(keys)) if e["pub"] in [c["pub"] for c in cells]]}

    def provision_store(self, store, keys, table_dir=None):
        from firmware import provisioning

        return provisioning.apply(store, self.payload(keys), self.eui, table_dir)

    def seed(self, dev, commands, folder=None):
        """Seed the GSME `dev` for `commands` (runner Commands) and arm the fault hook for the
        ERROR commands that are their SUCCESS command (looked for in `folder`) with a device
        failure."""
        seed_commands(dev, commands, C.Keystore(C.KEYSTORE), folder)

    @staticmethod
    def split(commands):
        """The sessions of one use case's commands (split_sessions)."""
        return split_sessions(commands, C.Keystore(C.KEYSTORE))

    def board_prep(self, session):
        """The same state for a board: the records seed() writes, through its raw REPL
        (host_tools/gbcs/boardseed.py)."""
        from host_tools.gbcs import boardseed

        code = boardseed.prep(self, session)
        # the GSME's clock on the RTDS corpus time (its durable offset from the board's clock), as
        # in process: GCS28's validity window is around 2015-01-01 00:00
        return code and code.replace("print('PREP-OK')", "_st.put_json('gas_clk', %d - board.get().time())\n"
                                     "print('PREP-OK')" % RTDS_TIME)


def plaintext(keys, dev_eui, rsp, comp):
    """The plaintext of a (possibly encrypted) response component, decrypted with the published KA
    key of the party the response is for."""
    if not comp.encrypted:
        return comp.payload
    from cryptography.hazmat.primitives.asymmetric import ec
    from firmware.crypto.gmac import gbcs_key
    from firmware.gbcs import gbz, gbzinfo

    party = rsp.supp_remote_id or rsp.recipient
    p = keys.parties.get(party)
    pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.device_pub(dev_eui, "ka"))
    z = p.priv["ka"].exchange(ec.ECDH(), pub)
    ctr = rsp.supp_orig_counter or rsp.counter
    k = gbcs_key(z, dev_eui, 4, ctr.to_bytes(8, "big"), party)
    return gbzinfo.unseal(k, dev_eui, comp.payload)


def seed_commands(dev, commands, keys, folder=None):
    """Seed GSME `dev` for `commands` (one session) and arm its fault hook; `folder`: every command
    of the use case, where an ERROR command's SUCCESS partner is looked for (default `commands`)."""
    from firmware.gbcs import frame, gbz
    from firmware.gas import life

    gas = dev.gas
    w = gas.begin()
    done = set()
    sucs = [c for c in commands if c.variant == "SUCCESS" and c.expected is not None]
    seed_snapshots(w, [r for c in commands for r in snapshot_reads(keys, dev.eui, c)])
    for cmd in sucs:
        if cmd.msg.content[:2] != b"\x01\x09":
            _seed_der(dev, cmd)
            continue
        rsp = frame.parse(cmd.expected)
        g = gbz.parse(bytes(cmd.msg.content))
        r = gbz.parse(bytes(rsp.content))
        local = set()
        for rc in r.components:
            if rc.seq >= len(g.components):
                continue
            cc = g.components[rc.seq]
            pl = plaintext(keys, dev.eui, rsp, rc)
            _seed_one(gas, w, cc, rc, pl, done, local)
        done |= local
    gas.commit()
    for c in commands:
        if c.variant != "ERROR" or c.expected is None or c.msg.content[:2] != b"\x01\x09":
            continue
        # the SUCCESS command with the same GBZ content, else its namesake: a hardware failure
        # (0xC0) names a device condition whatever parameter differs (gas.md §1.5: no content
        # reason is known for GCS05, GCS15c, GCS16a, GCS20, GCS23, GCS25a)
        partners = [x for x in (folder or commands) if x.variant == "SUCCESS" and x.expected is not None]
        s = next((x for x in partners if bytes(x.msg.content) == bytes(c.msg.content)), None) or \
            next((x for x in partners if x.name == c.name.replace("_ERROR_", "_SUCCESS_")), None)
        if s is None:
            continue
        hit = fault_point(keys, dev.eui, frame.parse(c.expected), frame.parse(s.expected))
        if hit is not None:
            life.arm_fault(dev.store, hit[0], hit[1], c.msg.counter)


# Snapshot reads: GetSnapshot (Metering 0x0702 command 0x06 -> PublishSnapshot 0x06) and
# GetPrepaySnapshot (Prepayment 0x0705 command 0x07 -> PublishPrepaySnapshot 0x01); payload: start
# time, end time (LE 4 each), offset (1), snapshot cause (LE 4); a publication carries its snapshot
# time at bytes 4..8 (shared/reference/gas.md GCS15c, GCS16a).
_SNAPSHOT_READS = {(0x0702, 0x06): 0x06, (0x0705, 0x07): 0x01}


def snapshot_reads(keys, dev_eui, cmd):
    """[(publication key, start, end, offset, shown)] of the snapshot reads of RTDS command `cmd`,
    `shown` what its RTDS response holds there: (snapshot time, plaintext hex) of a publication,
    None for not found, or "fault" (a hardware failure, 0xC0, or the 0xFF/0x01 after one)."""
    from firmware.gbcs import frame, gbz, gbzinfo
    from firmware.gas import model as M

    if cmd.expected is None or cmd.msg.content[:2] != b"\x01\x09":
        return []
    g = gbz.parse(bytes(cmd.msg.content))
    rsp = frame.parse(cmd.expected)
    out = []
    for rc in gbz.parse(bytes(rsp.content)).components:
        if rc.seq >= len(g.components):
            continue
        cc = g.components[rc.seq]
        pcmd = _SNAPSHOT_READS.get((cc.cluster, cc.cmd)) if cc.fc & 1 else None
        if pcmd is None:
            continue
        p = cc.payload
        k = M.pkey(cc.cluster, pcmd, gbz.le(p, 9, 4))
        pl = plaintext(keys, dev_eui, rsp, rc)
        if rc.fc & 1 and rc.cmd == pcmd:
            shown = (gbz.le(pl, 4, 4), pl.hex())
        elif rc.cmd == gbzinfo.DEFAULT_RESPONSE and pl[1:2] == bytes((gbzinfo.NOT_FOUND,)):
            shown = None
        else:
            shown = "fault"
        out.append((k, gbz.le(p, 0, 4), gbz.le(p, 4, 4), p[8], shown))
    return out


def _consistent(reads):
    """True when one set of stored snapshots answers every read in `reads` as RTDS did."""
    held = {}
    for k, _, _, _, shown in reads:
        if shown is not None and shown != "fault":
            if held.setdefault((k, shown[0]), shown[1]) != shown[1]:
                return False  # one snapshot, two contents
    for k, start, end, off, shown in reads:
        if shown == "fault":
            continue
        times = sorted(t for (kk, t) in held if kk == k and start <= t <= end)
        if (times[off] if off < len(times) else None) != (shown[0] if shown else None):
            return False
    return True


def split_sessions(commands, keys):
    """Groups of consecutive commands run from one GSME state: a command whose snapshot reads
    cannot be answered from the same stored snapshots as its group's (RTDS captured the variants of
    one folder from devices holding different snapshots) starts a new group."""
    groups, cur, reads = [], [], []
    for c in commands:
        mine = snapshot_reads(keys, bytes.fromhex(GSME_EUI), c)
        if cur and mine and not _consistent(reads + mine):
            groups.append(cur)
            cur, reads = [], []
        cur.append(c)
        reads += mine
    if cur:
        groups.append(cur)
    return groups


def seed_snapshots(w, reads):
    """The snapshots RTDS's responses publish in `reads` (snapshot_reads), each once, into the
    GasModel working copy `w` (firmware/gas/route.py snapshots answers from them)."""
    seen = set()
    for k, _, _, _, shown in reads:
        if shown is not None and shown != "fault" and (k, shown[0]) not in seen:
            seen.add((k, shown[0]))
            w["p"].setdefault(k, []).append(shown[1])


def _seed_der(dev, cmd):
    """The device log RTDS assumes: the entry a CS04B unjoin removes, the entries CS07 reads."""
    from firmware.meter import der
    from firmware.gbcs import frame

    c = bytes(cmd.msg.content)
    if cmd.msg.message_code in (0x000F, 0x0010) and c[:2] == b"\x04\x08":
        der.join(dev.store, c[2:10], 0)
    elif cmd.msg.message_code == 0x0013:
        r = bytes(frame.parse(cmd.expected).content)
        q = r.find(b"\x30\x0d\x04\x08")
        while q >= 0 and q + 15 <= len(r):
            der.join(dev.store, r[q + 4:q + 12], r[q + 14])
            q = r.find(b"\x30\x0d\x04\x08", q + 15)


def fault_point(keys, dev_eui, err, suc):
    """(component, attribute) where RTDS ERROR response `err` shows the device failure, or None."""
    from firmware.gbcs import gbz, gbzinfo

    e = gbz.parse(bytes(err.content)).components
    s = gbz.parse(bytes(suc.content)).components
    for i, rc in enumerate(e):
        pl = plaintext(keys, dev_eui, err, rc)
        if rc.cmd == gbzinfo.DEFAULT_RESPONSE and not rc.fc & 1 and pl[1:2] == b"\xc0":
            return rc.seq, 0
        if rc.cmd == gbzinfo.READ_ATTRIBUTES_RESPONSE and not rc.fc & 1:
            recs = gbzinfo.attribute_records(pl)
            for j, rec in enumerate(recs):
                if rec[1] == gbzinfo.HARDWARE_FAILURE:
                    return rc.seq, j
        if rc.fc & 1 and i < len(s) and s[i].cmd == rc.cmd and s[i].cluster == rc.cluster \
                and (rc.cluster, rc.cmd) in ((0x0702, 0x0D), (0x0709, 0x02)) \
                and plaintext(keys, dev_eui, suc, s[i]) != pl:
            return rc.seq, 0
    return None


def _seed_one(gas, w, cc, rc, pl, done, local):
    from firmware.gbcs import gbz, gbzinfo
    from firmware.gas import life, model as M

    specific = rc.fc & 1
    if not specific and rc.cmd == gbzinfo.READ_ATTRIBUTES_RESPONSE:
        for a, st, typ, val in gbzinfo.attribute_records(pl):
            k = M.key(rc.cluster, a)
            if st or k in done:
                continue
            done.add(k)
            if k == life.CREDIT:
                v = gbz.le(val, 0, 4)
                w["cb"] = (v - (1 << 32) if v & 0x80000000 else v) - (gas.credit(w) - w["cb"])
            else:
                gas.set_attr(w, rc.cluster, a, typ, val)
        return
    if not specific:
        return
    cl, cmd = rc.cluster, rc.cmd
    p = cc.payload
    if cl == 0x0705 and cmd == 0x03:  # ConsumerTopUpResponse: the credit before the top-up
        if pl[0] == 0 and "cb" not in done:
            done.add("cb")
            rem, val = gbz.le(pl, 6, 4), gbz.le(pl, 1, 4)
            w["cb"] = rem - val - (gas.credit(w) - w["cb"])
        return
    if cl == 0x0705 and cmd == 0x02:  # ChangePaymentModeResponse: friendly credit, EC limit/threshold
        w["a"].setdefault("friendly", pl[:5].hex())
        for a, off in ((0x0010, 5), (0x0011, 9)):
            if M.key(cl, a) not in done:
                done.add(M.key(cl, a))
                gas.set_attr(w, cl, a, 0x23, pl[off:off + 4])
        return
    if cl == 0x0705 and cmd == 0x05:  # PublishTopUpLog: the top-up log
        if "tul" in done:
            return
        done.add("tul")
        q = 2
        while q < len(pl):
            n = pl[q]
            u = pl[q + 1:q + 1 + n].decode()
            amt = gbz.le(pl, q + 1 + n, 4)
            t = gbz.le(pl, q + 5 + n, 4)
            w["tul"].append([u, amt, t, 0, 1])
            q += 9 + n
        return
    if (cl, cmd) in ((0x0702, 0x0C), (0x0702, 0x0D), (0x0709, 0x02)):
        return  # replies computed from the command itself
    if cl == 0x0702 and cmd == 0x07:
        k = M.pkey(cl, cmd, gbz.le(p, 0, 2))
    elif (cl, cmd) in ((0x0702, 0x06), (0x0705, 0x01)):
        return  # snapshots: seed_snapshots
    elif cl == 0x0709 and cmd == 0x01:
        k = M.pkey(cl, cmd, p[0] & 0x0F)
    else:
        k = M.pkey(cl, cmd)
    if k in done:
        return  # an earlier command's reply seeded it
    if k not in local:
        local.add(k)
        w["p"][k] = []
    w["p"][k].append(pl.hex())


def in_process(keys, workdir=None):
    """A runner device (runner.InProcess interface) for the GSME in this process, per session freshly
    provisioned, on the RTDS clock, seeded and its fault hook armed (the runner's own InProcess does
    the same through ROLES["gsme"]; this one serves tests that drive runner.run directly)."""
    from host_tools.gbcs import runner

    class GsmeInProcess(runner.InProcess):
        def begin(self, uc, session=None):
            from firmware import roles
            from firmware.store.durable import Store
            import os

            self.n += 1
            st = Store(os.path.join(self.workdir, "uc%03d" % self.n))
            self.role.provision_store(st, self.keys, self.table_dir)
            self.dev = roles.build("gsme", RtdsBoard(), st, self.table_dir)
            if session is None:
                self.role.seed(self.dev, uc.commands)
            else:
                self.role.seed(self.dev, session.commands, session.folder)

    return GsmeInProcess(GsmeRole(), keys, workdir)
