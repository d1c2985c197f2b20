"""RTDS conformance runner: DCC's Reference Test Data Set commands for one device role, fed to a device
and every answer judged on the host (shared/reference/gbcs.md §10; GBCS §6-§7 for what a response
must carry). CPython only.

The device is one of:

* `InProcess`: the firmware role itself under CPython (firmware.roles.build), a fresh store per
  use case;
* `OpticalDevice`: a board (virtual `sim:NAME` or real) reached the way a terminal reaches it: the
  optical port (IEC 62056-21 mode C), an HHT login by challenge-response with a credential the
  RTDS supplier's DS key certifies, then GBCS pass-through (host_tools.hht.hht).

Test-state rules (gbcs.md §10): every use-case folder starts from the freshly provisioned device
(counters, meter model, UTRN cache and logs as provisioning left them); within a folder the
commands run in ascending originator-counter order. A board is provisioned once over its REPL and
then reset per use case by a `Resetter`:

* `ImageResetter` (virtual board): the flash image saved right after provisioning is put back and
  micropython restarted, a power-on into exactly the provisioned state; the running process keeps
  the image it opened, so the swap never races a write.
* `ReplResetter` (real board, console port given): after provisioning the store's record files are
  copied on the board into a snapshot folder; per use case they are copied back over the store and
  the board reset. Comb tables of trust-anchor DS keys are kept (they depend on public keys only).

Seeding and faults (docs/host-tools.md): before a folder (a session of it) runs, the values its RTDS
responses read back are seeded into the device's COSEM object store (`seeds`), and the device's test
fault (firmware/core/faults.py) is armed for each ERROR command that is its SUCCESS command again,
at the item where the RTDS ERROR response fails (`classify`); `sessions` splits a folder where two
commands need different values, and runs each command of a trust-anchor replacement folder
alone. In process the store is written through a role built on it; on a virtual board the same code
runs offline on a copy of its flash image (`ImagePrep`); on a real board over its raw REPL.

Each command's result: the device answered (authenticated) or refused (alert code); the response
verified with `cryptography` independently of the firmware (frame fields echo the command; critical
commands and SIGNED_RESPONSE_EXTRA answered device-signed, checked with the device DS key; others
MAC'd, checked with the command originator's KA private key x the device KA key; a DLMS request
gets one result per item under its invoke-id); content (the DLMS / response payload) equal to the
RTDS response of that command, SUCCESS and ERROR variants counted apart. Signatures, MACs and the
Grouping Header date-time are allowed to differ.

    role = runner.role("esme")
    report = runner.run(runner.InProcess(role, keys), role, runner.use_cases(corpus_dir, role.eui), keys)
"""
import binascii
import json
import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.asymmetric import ec

from host_tools.errors import SmlabError, UsageError
from host_tools.gbcs import corpus as C
from host_tools.gbcs import verify as V
from host_tools.util import write_atomic

HHT_ID = bytes.fromhex("48485400000000d2")  # the runner's terminal identity in its HHT credential
RATE_RETRIES = 20  # a block refused by the optical port's rate limit is sent again, this many times
RATE_PAUSE = 0.6  # seconds between: a little over the port's token refill (2 commands/s)


class RunnerError(SmlabError):
    """The run could not be carried out (a board not provisionable, a corpus that does not load)."""


class Role:
    """What the runner needs to stand in for one RTDS device: its EUI-64, the name of its published
    KA private key in the keystore, and the seed of a DS key of our own when RTDS did not publish
    the device's DS key (responses are signed with it and verified with its public key)."""

    def __init__(self, name, eui_hex, ka_key, ds_priv):
        self.name = name
        self.eui = bytes.fromhex(eui_hex)
        self.ka_key = ka_key
        self.ds_priv = ds_priv  # 32 bytes

    def ds_pub(self):
        k = ec.derive_private_key(int.from_bytes(self.ds_priv, "big"), ec.SECP256R1())
        return C.pub_bytes(k.public_key())

    def ka_priv(self, keys):
        return C.priv_bytes(keys.private_key(self.ka_key))

    def ka_pub(self, keys):
        return keys.device_pub(self.eui, "ka")

    def payload(self, keys):
        """Provisioning payload (firmware/provisioning.py format): identity, KA and DS private keys
        and every organisation cell of the keystore."""
        cells = [{"role": c.role, "usage": c.usage, "cell": c.cell, "eui": c.eui.hex(), "kid": c.kid.hex(),
                  "pub": c.pub.hex()} for c in keys.cells()]
        return {"v": 1, "role": self.name, "eui": self.eui.hex(), "ka": self.ka_priv(keys).hex(),
                "ds": self.ds_priv.hex(), "cells": cells}

    def provision_store(self, store, keys, table_dir=None):
        from firmware import provisioning

        return provisioning.apply(store, self.payload(keys), self.eui, table_dir)


# role name -> the RTDS device standing for it. RTDS publishes no private key for the CHF
# (00DB1234567890A2), GSME (..A1) or GPF (..A3): an entry for one of them carries a KA key of our own,
# and its commands are re-MAC'd with the published ACB KA key before they are sent.
ROLES = {
    "esme": Role("esme", "00db1234567890a0", "00db1234567890a0-ka", C.ESME_DS_PRIV),
}


def _chf_role():
    # the RTDS Comms Hub (host_tools/gbcs/chf_rtds.py: bench static ECDH secrets, the RTDS clock,
    # the hub's model seeded through its own API)
    from host_tools.gbcs.chf_rtds import ChfRole

    return ChfRole()


ROLES["chf"] = _chf_role()


def _gsme_role():
    # the RTDS gas meter (host_tools/gbcs/gsme_rtds.py: bench static ECDH secrets, the RTDS clock,
    # the gas model seeded and the GBZ fault hook armed through its own API)
    from host_tools.gbcs.gsme_rtds import GsmeRole

    return GsmeRole()


ROLES["gsme"] = _gsme_role()


def _gpf_role():
    # the RTDS Gas Proxy Function (host_tools/gbcs/gpf_rtds.py: bench static ECDH secrets, the RTDS
    # clock, the mirror seeded through the GPF's own model)
    from host_tools.gbcs.gpf_rtds import GpfRole

    return GpfRole()


ROLES["gpf"] = _gpf_role()


def role(name):
    """The Role for `name`; UsageError naming the known roles otherwise."""
    r = ROLES.get(name)
    if r is None:
        raise UsageError("unknown role %r: the RTDS runner knows %s" % (name, ", ".join(sorted(ROLES))))
    return r


# -- corpus ---------------------------------------------------------------------------------------
class Command:
    """One RTDS command of a use-case folder, with the RTDS response that answers it."""

    def __init__(self, path, raw, msg, expected):
        self.path = path
        self.name = os.path.basename(path)
        self.raw = raw
        self.msg = msg
        self.expected = expected  # RTDS response bytes, or None when the corpus has none
        toks = self.name.split("_")
        self.variant = "ERROR" if "ERROR" in toks else "SUCCESS" if "SUCCESS" in toks else "OTHER"


class UseCase:
    def __init__(self, name, commands):
        self.name = name
        self.commands = commands


def locate(path=None):
    """(folder of use-case folders, keystore folder) for a corpus path: a folder of use-case
    folders (RTDS-4.5.0) or the folder holding one and `keystore/`. Default: ../shared/interop/rtds.
    UsageError when there is no such corpus."""
    if path is None:
        top, ks = C.RTDS, C.KEYSTORE
    else:
        path = os.path.abspath(path)
        if not os.path.isdir(path):
            raise UsageError("no RTDS corpus at %s" % path)
        subs = sorted(d for d in os.listdir(path) if d.startswith("RTDS") and os.path.isdir(os.path.join(path, d)))
        top = os.path.join(path, subs[-1]) if subs else path
        ks = next((k for k in (os.path.join(path, "keystore"), os.path.join(os.path.dirname(top), "keystore"))
                   if os.path.isdir(k)), C.KEYSTORE)
    if not os.path.isdir(top):
        raise UsageError("no RTDS corpus at %s (give one with --corpus)" % top)
    if not os.path.isdir(ks):
        raise UsageError("no RTDS keystore at %s" % ks)
    return top, ks


def use_cases(top, eui, only=None):
    """[UseCase] for the commands (not DUIS pre-commands) addressed to `eui` under `top`, by folder
    name; commands within a folder in ascending originator counter. `only`: folder names or
    use-case names (the part after the section, e.g. ECS42) to keep. UsageError for an unreadable
    file or when nothing is addressed to `eui`."""
    from firmware.gbcs import frame

    out = {}
    for folder in sorted(os.listdir(top)):
        d = os.path.join(top, folder)
        if not os.path.isdir(d):
            continue
        if only and folder not in only and folder.split("_", 1)[-1] not in only:
            continue
        for n in sorted(os.listdir(d)):
            if not n.endswith("_COMMAND_GBCS.HEX") or "PRECOMMAND" in n:
                continue
            p = os.path.join(d, n)
            try:
                raw = C.load_hex(p)
                m = frame.parse(raw)
            except (ValueError, OSError, Exception) as e:  # noqa: BLE001 - frame.parse raises Reject
                raise UsageError("%s: not a GBCS message (%s)" % (p, e))
            if m.recipient != eui:
                continue
            rp = C.response_for(p)
            out.setdefault(folder, []).append(Command(p, raw, m, C.load_hex(rp) if rp else None))
    if only:
        unknown = [u for u in only if not any(u == f or u == f.split("_", 1)[-1] for f in out)]
        if unknown:
            raise UsageError("no commands to %s in use case(s) %s" % (eui.hex().upper(), ", ".join(unknown)))
    if not out:
        raise UsageError("no commands addressed to %s under %s" % (eui.hex().upper(), top))
    ucs = []
    for folder in sorted(out):
        cmds = sorted(out[folder], key=lambda c: (c.msg.counter, c.name))
        ucs.append(UseCase(folder, cmds))
    return ucs


# -- ERROR variants and seeding ------------------------------------------------------------------
# Use cases (the folder name after its section) whose commands are independent scenarios, each
# changing what the next one assumes (a CS02b/CS02g IMMEDIATE success replaces the cells the folder's
# later commands are signed under; a CS06 IMMEDIATE success changes the running firmware its ERROR
# variant reports; a GCS28 SUCCESS sets the GSME's clock its ERROR variant, a current time outside
# the validity window, answers with): every command of such a folder starts from the freshly
# provisioned device. (The GSME's clock is RTDS's instant, 2015-01-01 00:00:00: in process, and on
# a virtual board whose clock the runner stops there, GsmeRole.frozen_clock.)
FRESH_PER_COMMAND = ("CS02b", "CS02g", "CS06", "GCS28")


def _masked(msg):
    """(originator, recipient, message code, content) of a command with the counter-derived bytes
    of its content masked: the DLMS invoke-id, and every copy of the originator counter (8-byte
    big-endian, or a DER INTEGER holding it)."""
    c = bytes(msg.content)
    if c[:1] == b"\xd9" and len(c) > 5:
        c = c[:1] + b"\0\0\0\0" + c[5:]
    n = msg.counter
    mn = n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big")  # minimal signed encoding
    for pat in (n.to_bytes(8, "big"), b"\x02" + bytes((len(mn),)) + mn):
        c = c.replace(pat, b"\xff\xfeCTR\xfe\xff")
    return msg.originator, msg.recipient, msg.message_code, c


def response_items(content):
    """[(kind, result code, encoded data item bytes)] of a DLMS access-response, or None when
    `content` is not one."""
    from firmware.gbcs import dlms

    b = bytes(content)
    if b[:1] != b"\xda" or len(b) < 8 or b[5] or b[6]:
        return None
    try:
        n, p = dlms.read_len(b, 7, len(b))
        data = []
        for _ in range(n):
            q = p
            p = dlms.decode_at(b, p, len(b))[1]
            data.append(b[q:p])
        m, p = dlms.read_len(b, p, len(b))
        if m != n or p + 2 * n != len(b):
            return None
        return [(b[p + 2 * i], b[p + 2 * i + 1], data[i]) for i in range(n)]
    except Exception:  # noqa: BLE001 - firmware Reject for a malformed response: not one
        return None


def _fault_item(err, suc):
    """The item K at which the RTDS ERROR response `err` departs from the SUCCESS response `suc`
    of the same command, when it has the device-failure shape: items before K as in SUCCESS, item
    K hardware-fault (1), every later item other-reason (250), failed items null-data. None
    otherwise. DER content (no items): 0 when the first difference is a status INTEGER 0
    answered 1 (RTDS CS06), the analogue of a failed item."""
    ei, si = response_items(err), response_items(suc)
    if ei is None or si is None:
        e, s = bytes(err), bytes(suc)
        d = next((i for i in range(min(len(e), len(s))) if e[i] != s[i]), None)
        if ei is None and si is None and d is not None and d >= 2 and e[d - 2:d + 1] == b"\x02\x01\x01" \
                and s[d] == 0:
            return 0  # DER: a status INTEGER 0 answered 1, the hardware-fault analogue
        return None
    if len(ei) != len(si):
        return None
    k = next((i for i in range(len(ei)) if ei[i][:2] != si[i][:2]), None)
    if k is None:
        return None
    ok = all(ei[i][:2] == si[i][:2] for i in range(k)) and ei[k][1] == 1 and \
        all(e[1] == 250 for e in ei[k + 1:]) and all(e[2] == b"\0" for e in ei[k:])
    return k if ok else None


def _partner(cmd, commands):
    """The SUCCESS command an ERROR command varies: same name with SUCCESS for ERROR, else the
    SUCCESS command of the folder with the same message code and request shape."""
    want = cmd.name.replace("_ERROR_", "_SUCCESS_")
    sucs = [c for c in commands if c.variant == "SUCCESS" and c.expected is not None]
    for c in sucs:
        if c.name == want:
            return c
    same = [c for c in sucs if c.msg.message_code == cmd.msg.message_code]
    return (same or sucs or [None])[0]


def classify(uc):
    """{command file: analysis} for the ERROR commands of UseCase `uc`: "cause" "fault" (the RTDS
    ERROR response departs from SUCCESS in the device-failure shape at "item": hardware fault,
    then other-reason; a device condition, set by the fault hook, for a DLMS command whether or
    not it is its SUCCESS command's, counter-derived bytes aside, for DER content only when it is) or "command" (left to the device),
    "same_cmd", "differs", "item" (or None)."""
    out = {}
    for c in uc.commands:
        if c.variant != "ERROR":
            continue
        s = _partner(c, uc.commands)
        a = {"success": s.name if s else None, "same_cmd": False, "item": None, "cause": "command"}
        if s is not None and c.expected is not None:
            from firmware.gbcs import frame

            mc, ms = _masked(c.msg), _masked(s.msg)
            a["same_cmd"] = mc == ms
            a["differs"] = [w for w, x, y in zip(("originator", "recipient", "message code", "content"), mc, ms)
                            if x != y]
            a["item"] = _fault_item(frame.parse(c.expected).content, frame.parse(s.expected).content)
            # a DLMS hardware-fault (1) names a device condition, whatever else differs in the
            # command (a value, the originator): no parameter or access verdict answers it, so the
            # fault hook sets it (usecases.md: "the error code gives no content reason"). A DER
            # status 1 is the use case's own code (CS04 1: not in the device log): same command only
            dlms_items = response_items(frame.parse(c.expected).content) is not None
            if a["item"] is not None and (a["same_cmd"] or dlms_items):
                a["cause"] = "fault"
        out[c.name] = a
    return out


def decrypt_read(keys, eui, param, data):
    """The decoded plaintext (DLMS structure) of an encrypted read's answer (IC 30 method 1,
    gbcs.md §3.7): `param` the ACTION's decoded parameter, `data` the decoded response data. The key
    is KDF(Z, device `eui`, U=04, the transaction id, the party) with Z = the party's published KA
    private key x the device's KA key; IV device || 00000000, AAD 31. None when the party's KA
    private key is not published (an unknown remote party's own key) or the tag does not verify."""
    from cryptography.hazmat.primitives.asymmetric import ec as _ec
    from firmware.alerts import Reject
    from firmware.crypto import gcm
    from firmware.crypto.gmac import gbcs_key
    from firmware.gbcs import dlms

    try:
        p = param[1][1][1][0][1][1][1]
        tid, party = p[0][1], p[1][1]
        enc = data[1][1][1]
    except (IndexError, TypeError):
        return None
    peer = keys.parties.get(party)
    if peer is None or "ka" not in peer.priv or enc[:5] != b"\x31\x00\x00\x00\x00" or len(enc) < 17:
        return None
    try:
        pub = _ec.EllipticCurvePublicKey.from_encoded_point(_ec.SECP256R1(), keys.device_pub(eui, "ka"))
    except Exception:  # noqa: BLE001 - no published KA key of this device: nothing to decrypt with
        return None
    z = peer.priv["ka"].exchange(_ec.ECDH(), pub)
    try:
        pt = gcm.decrypt(gbcs_key(z, eui, 4, tid[1:], party), eui + b"\x00\x00\x00\x00", enc[5:-12],
                         b"\x31", enc[-12:])
    except Reject:
        return None
    return dlms.decode(pt)


def encrypted_read_seeds(keys, eui, param, data):
    """[(class id, OBIS, attribute, encoded value)] an encrypted read (IC 30 method 1) answered
    with response data `data` (encoded bytes) returned: its attribute descriptors paired with the
    values of the decrypted plaintext (decrypt_read); [] when it cannot be decrypted."""
    from firmware.gbcs import dlms

    values = decrypt_read(keys, eui, param, dlms.decode(data))
    if values is None:
        return []
    out = []
    for d, v in zip(param[1][0][1], values[1]):
        cid, obis, attr = d[1][0][1], d[1][1][1], d[1][2][1]
        if attr >= 0:
            out.append((cid, bytes(obis), attr, dlms.encode(v)))
    return out


def seeds(commands, keys=None):
    """[(class id, OBIS, attribute, encoded value)] the data model is seeded with before
    `commands` run: for every GET item (with or without an access selector) the RTDS response of
    a command answers with success and data, the data it returns, and for every encrypted read
    (IC 30 method 1) answered with success the values it encrypted (decrypt_read, with the
    published KA keys of `keys`), unless an earlier item or command of `commands` SETs that
    attribute (then the device returns what it was given). First value wins; only values the
    device returns from storage, never a response."""
    from firmware.gbcs import dlms, frame

    out, seen, written = [], set(), set()
    for c in commands:
        if c.expected is None or c.msg.content[:1] != b"\xd9":
            continue
        try:
            req = dlms.parse_request(c.msg.content)
        except Exception:  # noqa: BLE001 - a request the firmware cannot parse seeds nothing
            continue
        items = response_items(frame.parse(c.expected).content) or []
        for i, (kind, cid, obis, attr) in enumerate(req.specs):
            key = (cid, bytes(obis), attr)
            if kind in (dlms.SET, dlms.SET_WITH_SELECTION):
                written.add(key)
                continue
            if i >= len(items) or items[i][1] != 0:
                continue
            if kind == dlms.ACTION and cid == 30 and keys is not None:
                vals = encrypted_read_seeds(keys, c.msg.recipient, req.data[i], items[i][2])
            elif kind in (dlms.GET, dlms.GET_WITH_SELECTION) and items[i][2] != b"\0":
                vals = [(cid, bytes(obis), attr, bytes(items[i][2]))]
            else:
                continue
            for v in vals:
                if v[:3] not in seen and v[:3] not in written:
                    seen.add(v[:3])
                    out.append(v)
    return out


def _specs(cmd):
    """The DLMS request specifications of a command ([] for other content or one that does not
    parse)."""
    from firmware.gbcs import dlms

    if cmd.msg.content[:1] != b"\xd9":
        return []
    try:
        return dlms.parse_request(cmd.msg.content).specs
    except Exception:  # noqa: BLE001 - firmware Reject: not a request the runner can read
        return []


def _split_on_conflicts(commands, keys=None):
    """Groups of consecutive commands run from one device state: a command that reads back a value
    other than the one an earlier command of its group needs seeded (RTDS variants of one folder
    are independent scenarios, e.g. ECS26a TWIN and SINGLE read one attribute with two values)
    starts a new group."""
    from firmware.gbcs import dlms

    groups, cur, need, written = [], [], {}, set()
    for c in commands:
        mine = {(cid, obis, attr): data for cid, obis, attr, data in seeds([c], keys)}
        if cur and any(k in need and need[k] != v and k not in written for k, v in mine.items()):
            groups.append(cur)
            cur, need, written = [], {}, set()
        cur.append(c)
        for k, v in mine.items():
            need.setdefault(k, v)
        written.update((cid, bytes(obis), attr) for kind, cid, obis, attr in _specs(c)
                       if kind in (dlms.SET, dlms.SET_WITH_SELECTION))
    if cur:
        groups.append(cur)
    return groups


def der_state(commands):
    """The DER device state (firmware/meter/der.py) RTDS's answers to `commands` read back, as a
    dict of what to set (empty when none): "join" [[EUI-64 hex, device type]] for every entity a
    CS04AC unjoin (0x000F, content OCTET STRING EUI-64) is answered INTEGER 0 (removed: so it was
    in the device log; RTDS does not say its type, 0 is used); for an immediate CS06 activation
    (0x0012, SEQUENCE {OCTET STRING image hash, INTEGER counter}) answered SEQUENCE {INTEGER code,
    OCTET STRING version}: code 0 -> "image" [hash hex, version hex] (the image was held and
    became that version), other codes -> "running" version hex (the version the device still
    runs); for a CS02a / CS02f credential details read (0x0008, 0x011B) answered SEQUENCE OF
    {INTEGER role, ENUMERATED 0, INTEGER current sequence number, cells}: "floors" {role text: n}
    for every role reported with n > 0 (that role's counter floor)."""
    from firmware.core import asn1 as D

    out = {}
    for c in commands:
        if c.expected is None or c.msg.content[:1] == b"\xd9":
            continue
        from firmware.gbcs import frame

        b, r = bytes(c.msg.content), bytes(frame.parse(c.expected).content)
        try:
            if c.msg.message_code == 0x000F and r == b"\x02\x01\x00" and b[:2] == b"\x04\x08" and len(b) == 10:
                out.setdefault("join", []).append([b[2:].hex(), 0])
            elif c.msg.message_code in (0x0008, 0x011B) and r[:1] == b"\x30":
                rt = D.head(r, 0)
                for e in D.items(r, rt[1], rt[2]):
                    g = D.items(r, e[1], e[2]) if e[0] == 0x30 else ()
                    if len(g) >= 3 and g[0][0] == D.INTEGER and g[1][0] == 0x0A and r[g[1][1]:g[1][2]] == b"\0" \
                            and g[2][0] == D.INTEGER:
                        n = D.uint(r, g[2][1], g[2][2])
                        if n:
                            out.setdefault("floors", {}).setdefault(str(D.uint(r, g[0][1], g[0][2])), n)
            elif c.msg.message_code == 0x0012:
                top = D.head(b, 0)
                f = D.items(b, top[1], top[2])
                rt = D.head(r, 0)
                g = D.items(r, rt[1], rt[2])
                if len(f) != 2 or len(g) != 2 or top[0] != 0x30 or rt[0] != 0x30:
                    continue
                h = b[D.expect(f[0], D.OCTET_STRING)[1]:f[0][2]]
                code = D.uint(r, *D.expect(g[0], D.INTEGER)[1:3])
                v = r[D.expect(g[1], D.OCTET_STRING)[1]:g[1][2]]
                if code == 0:
                    out.setdefault("image", [h.hex(), v.hex()])
                else:
                    out.setdefault("running", v.hex())
        except Exception:  # noqa: BLE001 - firmware Reject: content the codec does not read seeds nothing
            continue
    return out


# Sets a der_state dict through the ESME's own APIs (firmware/meter/der.py join, stage_image; the
# floors by firmware/core/credentials.py replace, the trust anchor cells kept): one source, run
# under CPython in process (apply_der_state) and on a board's REPL (prepare_code).
_DER_STATE_CODE = """def _der_state(store, state):
    from binascii import unhexlify as u
    from firmware.meter import der
    if state.get('floors'):
        from firmware.core import credentials
        from firmware.core.trust import Trust
        t = Trust(store)
        fl = dict(t.floors)
        fl.update(state['floors'])
        credentials.replace(t, t.cells, fl)
    for e, t in state.get('join', ()):
        der.join(store, u(e), t)
    if 'image' in state or 'running' in state:
        h, v = state.get('image') or (None, None)
        r = state.get('running')
        der.stage_image(store, u(h) if h else None, u(v) if v else None, u(r) if r else None)
"""


def apply_der_state(store, state):
    """Set DER `state` (der_state) in `store` through the ESME's own API (_DER_STATE_CODE)."""
    if state:
        ns = {}
        exec(_DER_STATE_CODE, ns)  # noqa: S102 - the runner's own constant source
        ns["_der_state"](store, state)


class Session:
    """Commands run from one fresh device state, the values seeded, the DER state set (der_state)
    and the faults armed ([(originator counter, item)]) before they run."""

    def __init__(self, commands, seeds_, faults, state=None, folder=None):
        self.commands = commands
        self.seeds = seeds_
        self.faults = faults
        self.state = state or {}
        self.folder = folder if folder is not None else commands  # every command of the use case


def sessions(uc, analysis=None, keys=None, split=None):
    """[Session] of UseCase `uc`: one for the whole folder (split where two commands need one
    attribute seeded with different values, or by `split`(commands) -> groups, a role's own rule),
    or one per command in the folders of FRESH_PER_COMMAND. A fault is armed for every ERROR
    command classified "fault". `keys`: the corpus Keystore, to seed what encrypted reads return
    (seeds)."""
    a = classify(uc) if analysis is None else analysis
    fresh = uc.name.split("_", 1)[-1].startswith(FRESH_PER_COMMAND)
    if fresh:
        groups = [[c] for c in uc.commands]
    elif split is not None:
        groups = split(uc.commands)
    else:
        groups = _split_on_conflicts(uc.commands, keys)
    out = []
    for g in groups:
        fl = [(c.msg.counter, a[c.name]["item"]) for c in g if c.name in a and a[c.name]["cause"] == "fault"]
        out.append(Session(g, seeds(g, keys), fl, der_state(g), uc.commands))
    return out


# -- devices --------------------------------------------------------------------------------------
class Refused(Exception):
    """The device refused a command: `alert` the GBCS alert code (int) when it gave one."""

    def __init__(self, text, alert=None):
        super().__init__(text)
        self.text = text
        self.alert = alert


class _HostBoard:
    """The few board services a role asks for when run in process: the wall clock."""

    @staticmethod
    def time():
        return int(time.time())


class InProcess:
    """The firmware role under CPython: a fresh durable store per use case, provisioned as the RTDS
    device; DS comb tables shared across use cases (they depend on public keys only)."""

    kind = "in-process"

    def __init__(self, role, keys, workdir=None):
        self.role = role
        self.keys = keys
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="smlab-rtds-")
        self.workdir = workdir or self._tmp.name
        self.table_dir = os.path.join(self.workdir, "vk")
        os.makedirs(self.table_dir, exist_ok=True)
        self.dev = None
        self.n = 0

    def start(self):
        return None

    def begin(self, uc, session=None):
        """A freshly provisioned device, the session's values seeded and faults armed in its store
        (through a role built on it, as on a board), then powered on: the role built again and,
        as firmware/app.py does at boot, a stored fault loaded."""
        from firmware import roles
        from firmware.store.durable import Store

        self.n += 1
        d = os.path.join(self.workdir, "uc%03d" % self.n)
        st = Store(d)
        self.role.provision_store(st, self.keys, self.table_dir)
        own = hasattr(self.role, "seed")  # a role seeded (and its faults armed) through its own API
        if session is not None and session.seeds and not own:
            from firmware.meter import objects

            o = objects.of(roles.build(self.role.name, _HostBoard(), st, self.table_dir))
            for cid, obis, attr, data in session.seeds:
                o.stage(cid, obis, attr, data)
            o.commit()
        if session is not None and session.state and not own:
            apply_der_state(st, session.state)
        if session is not None and session.faults and not own:
            from firmware.core import faults

            for ctr, k in session.faults:
                faults.arm(st, k, ctr)
        self.dev = roles.build(self.role.name, getattr(self.role, "board", _HostBoard)(), st, self.table_dir)
        if hasattr(self.role, "seed"):  # a role whose model is seeded through its own API (chf)
            if session is None:
                self.role.seed(self.dev, uc.commands)
            else:
                self.role.seed(self.dev, session.commands, session.folder)
        if st.get("fault") is not None:
            from firmware.core import faults

            faults.load(self.dev.table, st)

    def send(self, raw):
        from firmware.alerts import Reject

        try:
            return bytes(self.dev.process(raw))
        except Reject as e:
            raise Refused(str(e), e.code)

    def end(self):
        self.dev = None

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()


def prepare_code(role_name, session):
    """MicroPython source run on a board's raw REPL (the store as the reset left it, the firmware
    stopped) that seeds the session's values through the role's Objects and arms its faults in the
    store, as InProcess.begin does; prints PREP-OK. None when there is nothing to prepare."""
    if session is None or not (session.seeds or session.faults or session.state):
        return None
    seeds_ = [[cid, obis.hex(), attr, data.hex()] for cid, obis, attr, data in session.seeds]
    state = getattr(session, "state", None) or {}
    head = ("import board, json\n"
            "from binascii import unhexlify as _u\n"
            "from firmware.app import VK_DIR\n"
            "from firmware.store.durable import Store\n"
            "_b = board.get()\n"
            "_r = _b.storage_root().rstrip('/')\n"
            "_st = Store(_r)\n"
            "_S = json.loads(%r)\n"
            "if _S:\n"
            "    from firmware import roles\n"
            "    from firmware.meter import objects\n"
            "    _o = objects.of(roles.build(%r, _b, _st, _r + VK_DIR))\n"
            "    for _c, _ob, _a, _d in _S:\n"
            "        _o.stage(_c, _u(_ob), _a, _u(_d))\n"
            "    _o.commit()\n" % (json.dumps(seeds_, separators=(",", ":")), role_name))
    if state:  # the DER state through the ESME's own APIs (_DER_STATE_CODE)
        head = _DER_STATE_CODE + head + "_der_state(_st, json.loads(%r))\n" % json.dumps(state, separators=(",", ":"))
    return head + ("from firmware.core import faults\n"
                   "for _n, _k in json.loads(%r):\n"
                   "    faults.arm(_st, _k, _n)\n"
                   "print('PREP-OK')\n" % json.dumps(session.faults))


def _prepare(console, code):
    """Run prepare_code `code` on the board's raw REPL (the firmware interrupted); the caller
    resets the board."""
    from host_tools.boards.flash import RawRepl, FlashError

    try:
        b = RawRepl(console)
    except FlashError as e:
        raise RunnerError(str(e))
    try:
        out = b.exec(code).decode(errors="replace")
    except FlashError as e:
        raise RunnerError("%s: seeding / fault arming failed: %s" % (console, e))
    finally:
        b.drop()
    if "PREP-OK" not in out:
        raise RunnerError("%s: seeding / fault arming failed: %s" % (console, out.strip()[-200:]))


# Offline preparation of a virtual board's flash image: one MicroPython unix-port process (started
# on first use, kept for the run) mounts a copy of the image as the ROM (board/unix_boot.py) does,
# with the board's configuration but no UARTs, and runs prepare_code with the firmware the image
# holds (imported from the first image, then kept loaded like the board's frozen modules); the
# copy then becomes the board's flash. Requests on stdin: one line "<image path> <code path>".
_IMAGE_PREP = """import json, os, sys, vfs
sys.path.insert(0, %(root)r)
import board
from board import unix
from board.flash import NorFlash
import board.hal
import firmware.alerts
with open(%(cfg)r) as f:
    cfg = json.load(f)
cfg.pop('uarts', None)
try:  # the board's virtual clock and load, as its ROM reads them at boot
    with open(%(sim)r) as f:
        cfg['sim'] = json.load(f)
except OSError:  # no sim.json: the host clock, no load
    cfg['sim'] = {}
first = True
while True:
    line = sys.stdin.readline()
    if not line:
        break
    img_path, code_path = line.split()
    with open(code_path) as f:
        code = f.read()
    img = open(img_path, 'r+b')
    vfs.umount('/')
    vfs.mount(vfs.VfsLfs2(NorFlash(img, cfg.get('block_size', 4096))), '/')
    os.chdir('/')
    if first:
        sys.path[:] = ['', '/lib', '.frozen']
        import firmware
        firmware.__path__ = '/firmware'
        board.__path__ = '/board'
        unix.install(cfg, {})
        first = False
    try:
        exec(code, {'__name__': '__prep__'})
    except Exception as e:
        sys.print_exception(e)
    vfs.umount('/')
    vfs.mount(vfs.VfsPosix(), '/')
    img.close()
    print('PREP-DONE')
"""


class ImagePrep:
    """The preparation process for one virtual board (see _IMAGE_PREP)."""

    def __init__(self, vb):
        self.vb = vb
        self.p = None
        self.dir = tempfile.TemporaryDirectory(prefix="smlab-prep-")

    def _start(self):
        import subprocess

        from host_tools.boards.build import venv_bin
        from host_tools.util import ROOT

        script = os.path.join(self.dir.name, "prep_server.py")
        with open(script, "w") as f:
            f.write(_IMAGE_PREP % {"root": ROOT, "cfg": os.path.join(self.vb.path, "board.json"),
                                   "sim": os.path.join(self.vb.path, "sim.json")})
        self.p = subprocess.Popen([venv_bin("micropython"), "-X", "heapsize=4M", script], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  cwd=self.dir.name)

    def image(self, src, prep):
        """A copy of flash image `src` with prepare_code `prep` run on it (RunnerError when it does
        not print PREP-OK); returns the new image's bytes."""
        if self.p is None or self.p.poll() is not None:
            self._start()
        img, code = (os.path.join(self.dir.name, n) for n in ("flash.img", "prep.py"))
        shutil.copyfile(src, img)
        with open(code, "w") as f:
            f.write(prep)
        self.p.stdin.write("%s %s\n" % (img, code))
        self.p.stdin.flush()
        out = []
        while True:
            ln = self.p.stdout.readline()
            if not ln or ln.strip() == "PREP-DONE":
                break
            out.append(ln)
        if not any("PREP-OK" in ln for ln in out):
            raise RunnerError("seeding / fault arming on a copy of %s failed: %s" % (
                self.vb.image, "".join(out).strip()[-300:]))
        with open(img, "rb") as f:
            return f.read()

    def close(self):
        if self.p is not None and self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(10)
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: it is ours, end it
                self.p.kill()
                self.p.wait()
        if self.p is not None:
            self.p.stdout.close()
        self.dir.cleanup()


class ImageResetter:
    """Per-use-case reset of a virtual board: its flash image as provisioning left it is put back
    and micropython restarted (the old process keeps the image file it opened, so the swap cannot
    race one of its writes). With `clock` (seconds since 1970) the board's virtual clock stands
    still at that instant for the run (host_tools/boards/simctl.py) and is put back at close()."""

    def __init__(self, vb, clock=None):
        self.vb = vb
        self.saved = os.path.join(vb.path, "rtds-provisioned.img")
        self.prep = None
        self.clock = clock
        if clock is not None:
            from host_tools.boards import simctl

            self.prev_clock = simctl.settings(vb.path).get("clock")
            simctl.clock(vb.path, rate=0, set_to=clock)

    def save(self):
        """Called with the board idle at its REPL right after provisioning."""
        shutil.copyfile(self.vb.image, self.saved)

    def reset(self, prep=None):
        """Power on into the provisioned state; with `prep` (prepare_code) run it on the REPL of
        that state, then power on again (the firmware boots with the values and faults stored)."""
        if prep:
            if self.prep is None:
                self.prep = ImagePrep(self.vb)
            data = self.prep.image(self.saved, prep)
        else:
            with open(self.saved, "rb") as f:
                data = f.read()
        write_atomic(self.vb.image, data, sync=False)
        self.vb.reset_to_app()  # until the firmware shows READY: the optical port then answers

    def close(self):
        if self.prep is not None:
            self.prep.close()
            self.prep = None
        if os.path.exists(self.saved):
            os.remove(self.saved)
        if self.clock is not None:
            from host_tools.boards import simctl

            simctl.restore_clock(self.vb.path, self.prev_clock)
            self.clock = None


_SNAPSHOT_CODE = """import os, board
_r = board.get().storage_root().rstrip('/')
_s = _r + '.rtds'
def _files(d):
    return [e[0] for e in os.ilistdir(d) if e[1] == 0x8000]
def _copy(a, b):
    with open(a, 'rb') as f, open(b, 'wb') as g:
        while True:
            x = f.read(2048)
            if not x:
                break
            g.write(x)
%s
print('RTDS-OK')
"""
_SAVE = """try:
    os.mkdir(_s)
except OSError:
    pass
for _n in _files(_s):
    os.remove(_s + '/' + _n)
for _n in _files(_r):
    _copy(_r + '/' + _n, _s + '/' + _n)"""
_RESTORE = """for _n in _files(_r):
    os.remove(_r + '/' + _n)
for _n in _files(_s):
    _copy(_s + '/' + _n, _r + '/' + _n)"""


class ReplResetter:
    """Per-use-case reset of a real board over its REPL console: the store's record files as
    provisioning left them are copied to `<storage root>.rtds` on the board, and copied back over
    the store before each use case, then the board is reset. Comb-table folders stay."""

    def __init__(self, console, optical, boot_timeout=30.0):
        self.console = console
        self.optical = optical
        self.boot_timeout = boot_timeout

    def _run(self, body, prep=None):
        """Run snapshot code `body` on the board's raw REPL (then `prep`, prepare_code, when
        given), then reset the board (its firmware boots from the store as left) and wait until
        its optical port answers."""
        from host_tools.boards.flash import RawRepl, FlashError
        from host_tools.hht import hht

        try:
            b = RawRepl(self.console)
        except FlashError as e:
            raise RunnerError(str(e))
        try:
            out = b.exec(_SNAPSHOT_CODE % body).decode(errors="replace")
            if "RTDS-OK" not in out:
                raise RunnerError("%s: store snapshot failed: %s" % (self.console, out.strip()[-200:]))
            if prep:
                out = b.exec(prep).decode(errors="replace")
                if "PREP-OK" not in out:
                    raise RunnerError("%s: seeding / fault arming failed: %s" % (self.console, out.strip()[-200:]))
            b.reset_board()
        finally:
            b.drop()
        hht.wait_optical(self.optical, self.boot_timeout)

    def save(self):
        self._run(_SAVE)

    def reset(self, prep=None):
        """The provisioned store copied back; with `prep` (prepare_code) run after it, before the
        reset."""
        self._run(_RESTORE, prep)

    def close(self):
        return None


def _provision_code(payload):
    """MicroPython source run on the board's raw REPL: remove the store's record files (a factory
    reset; comb-table folders stay), then apply `payload` (firmware/provisioning.py) to a fresh
    store; prints PROVISIONED and the summary."""
    return ("import os, json, board\n"
            "from firmware import provisioning\n"
            "from firmware.app import VK_DIR, ensure_dir\n"
            "from firmware.store.durable import Store\n"
            "_b = board.get()\n"
            "_r = _b.storage_root().rstrip('/')\n"
            "ensure_dir(_r)\n"
            "for _e in list(os.ilistdir(_r)):\n"
            "    if _e[1] == 0x8000:\n"
            "        os.remove(_r + '/' + _e[0])\n"
            "_vk = _r + VK_DIR\n"
            "ensure_dir(_vk)\n"
            "print('PROVISIONED', json.dumps(provisioning.apply(Store(_r), json.loads(%r), _b.eui64(), _vk)))\n"
            % json.dumps(payload, separators=(",", ":")))


class OpticalDevice:
    """A board reached through its optical port as a terminal reaches it: sign-on, HHT login
    (credential certified by the RTDS supplier's DS key, scoped to the device), GBCS pass-through.
    `console`: the REPL port used to provision the board; `resetter` puts the provisioned state
    back before each use case."""

    kind = "board"

    def __init__(self, role, keys, optical, console, resetter, timeout=10.0):
        self.role = role
        self.keys = keys
        self.optical = optical
        self.console = console
        self.resetter = resetter
        self.timeout = timeout
        self.h = None
        self.ser = None
        self.cred = None

    def _credential(self):
        from host_tools.hht import hht

        sup = supplier(self.keys)
        if "ds" not in sup.priv:
            raise RunnerError("the keystore has no supplier DS private key to certify an HHT credential")
        return hht.issue_credential(sup.priv["ds"], sup.eui, HHT_ID, self.role.eui)

    def start(self):
        """Factory-reset the board's store and provision it as the RTDS device over its REPL, then
        let the resetter keep that state."""
        from host_tools.boards.flash import RawRepl, FlashError

        try:
            with RawRepl(self.console) as b:
                eui = bytes(b.eval("__import__('board').get().eui64()"))
                if eui != self.role.eui:
                    raise UsageError("the board's EUI-64 is %s, the RTDS %s is %s" % (
                        eui.hex().upper(), self.role.name, self.role.eui.hex().upper()))
                out = b.exec(_provision_code(self.role.payload(self.keys))).decode(errors="replace")
        except FlashError as e:
            raise RunnerError(str(e))
        if "PROVISIONED" not in out:
            raise RunnerError("provisioning as the RTDS %s failed: %s" % (self.role.name, out.strip()[-300:]))
        self.resetter.save()
        self.cred = self._credential()

    def begin(self, uc, session=None):
        from host_tools.hht import hht

        # a role that seeds through its own model brings its board code (board_prep), if any
        prep = getattr(self.role, "board_prep", None)
        self.resetter.reset(prep(session) if prep is not None else None if hasattr(self.role, "seed")
                            else prepare_code(self.role.name, session))
        self.ser = hht.open_port(self.optical)
        self.h = hht.Hht(self.ser, timeout=self.timeout)
        deadline = time.monotonic() + self.timeout
        while True:  # the board answers once its firmware has booted
            try:
                self.h.login(self.cred[0], self.cred[1], self.role.eui)
                return
            except hht.HhtError as e:
                if time.monotonic() > deadline:
                    raise RunnerError("HHT login on %s failed: %s" % (self.optical, e.text))
                time.sleep(0.1)

    def send(self, raw):
        """Pass `raw` through in E2 GBCS blocks (EOT-terminated partial blocks, then the last one).
        A block refused by the port's rate limit (ER06, answered before the block is taken) is sent
        again after a pause, as a terminal paces itself."""
        from firmware.optical import iec
        from firmware.optical.port import ER_RATE
        from host_tools.hht import hht

        h = self.h
        hx = binascii.hexlify(raw).decode().upper()
        blocks = [hx[i:i + hht.GBCS_BLOCK] for i in range(0, len(hx), hht.GBCS_BLOCK)] or [""]
        rate = ("(%s)" % ER_RATE).encode()
        for i, b in enumerate(blocks):
            last = i == len(blocks) - 1
            for _ in range(RATE_RETRIES):
                h.ser.write(iec.command("E2", "GBCS(%s)" % b, partial=not last))
                try:
                    r = h.read_message()
                except hht.HhtError as e:
                    raise Refused(e.text)
                if not (isinstance(r, tuple) and r[0] == "data" and r[2] == rate):
                    break
                time.sleep(RATE_PAUSE)
            if isinstance(r, tuple) and r[0] == "data" and r[2].startswith(b"(ER"):
                text = r[2][1:-1].decode(errors="replace")
                alert = None
                if len(text) == 6:
                    try:
                        alert = int(text[2:], 16)
                    except ValueError:
                        alert = None
                raise Refused(text if last else "block %d of %d refused: %s" % (i + 1, len(blocks), text), alert)
            if not last and r != iec.ACK:
                raise Refused("block %d of %d not acknowledged: %r" % (i + 1, len(blocks), r))
        if not (isinstance(r, tuple) and r[0] == "data" and r[2][:1] == b"(" and r[2][-1:] == b")"):
            raise Refused("no GBCS response: %r" % (r,))
        try:
            return binascii.unhexlify(r[2][1:-1])
        except (ValueError, binascii.Error):
            raise Refused("response is not hex: %r" % r[2][:40])

    def end(self):
        from host_tools.hht import hht

        try:
            if self.h is not None:
                self.h.sign_off()
        except (hht.HhtError, OSError):
            pass  # the next use case resets the board anyway
        if self.ser is not None:
            self.ser.close()
        self.h = self.ser = None

    def close(self):
        self.resetter.close()


def supplier(keys):
    """The supplier the ESME's trust anchors name (the first supplier EUI with a DS key: the same
    choice as Keystore.cells)."""
    from firmware.gbcs.parties import SUPPLIER

    for eui in sorted(keys.parties):
        p = keys.parties[eui]
        if p.role == SUPPLIER and "ds" in p.pub:
            return p
    raise RunnerError("the keystore has no supplier")


def virtual_board(vb, role, keys):
    """OpticalDevice for virtual board `vb` (host_tools.boards.vboard.VBoard), reset by image."""
    return OpticalDevice(role, keys, os.path.realpath(vb.optical), vb.console,
                         ImageResetter(vb, getattr(role, "frozen_clock", None)))


def real_board(optical, console, role, keys):
    """OpticalDevice for a real board: optical port and REPL console port."""
    return OpticalDevice(role, keys, optical, console, ReplResetter(console, optical))


# -- judging --------------------------------------------------------------------------------------
def judge(cmd_msg, raw, device_eui, ds_pub, ka_pub, peer_ka_priv):
    """Judge response `raw` to the parsed command `cmd_msg` with `cryptography` only: (verified,
    reason, auth, parsed response or None). The response must echo the command (response CRA,
    counter, message code, originator and recipient swapped), be device-signed when the command is
    critical or in SIGNED_RESPONSE_EXTRA (checked with `ds_pub`) and MAC'd otherwise (checked with
    the originator's KA private key `peer_ka_priv` x the device KA public key `ka_pub`), and answer a
    DLMS request item for item under its invoke-id. A key given as None makes that check fail with
    the reason saying which key is missing."""
    from firmware.gbcs import codes, dlms, dlms_client, frame

    try:
        r = frame.parse(raw)
    except Exception as e:  # noqa: BLE001 - any parse failure is a verdict, reported as such
        return False, "response does not parse: %s" % e, None, None
    m = cmd_msg
    bad = []
    if r.cra != frame.CRA_RESPONSE:
        bad.append("CRA %d, not a response" % r.cra)
    if r.counter != m.counter:
        bad.append("counter %d does not echo %d" % (r.counter, m.counter))
    if r.originator != device_eui or r.recipient != m.originator:
        bad.append("originator/recipient not swapped")
    if r.message_code != m.message_code:
        bad.append("message code %04X, command %04X" % (r.message_code, m.message_code))
    if m.signature or m.message_code in codes.SIGNED_RESPONSE_EXTRA:
        auth = "signature"
        if ds_pub is None:
            bad.append("no DS public key of the device to check the signature")
        elif r.mac_header or not V.verify_signature(ds_pub, r):
            bad.append("device signature does not verify")
    else:
        auth = "MAC"
        if peer_ka_priv is None or ka_pub is None:
            bad.append("no KA private key of %s (or device KA key) to check the MAC" % m.originator.hex().upper())
        elif not r.mac_header or not V.verify_mac(r, peer_ka_priv, ka_pub):
            bad.append("MAC does not verify")
    if not bad and m.content[:1] == b"\xd9":
        try:
            req = dlms.parse_request(m.content)
            inv, _, res = dlms_client.parse_response(r.content)
            if inv != req.invoke_id or len(res) != len(req.specs):
                bad.append("DLMS response does not answer the request's items")
        except Exception as e:  # noqa: BLE001
            bad.append("DLMS response does not parse: %s" % e)
    return not bad, "; ".join(bad), auth, r


def check(cmd, raw, role, keys):
    """Judge response `raw` to RTDS Command `cmd` (see judge): (verified, reason, content_equal or
    None when RTDS has no response, auth). Content = the DLMS / response payload."""
    from firmware.gbcs import frame

    peer = keys.parties.get(cmd.msg.originator)
    ok, why, auth, r = judge(cmd.msg, raw, role.eui, role.ds_pub(), role.ka_pub(keys),
                             peer.priv.get("ka") if peer is not None else None)
    equal = None
    if r is not None and cmd.expected is not None:
        equal = bytes(r.content) == bytes(frame.parse(cmd.expected).content)
    return ok, why, equal, auth


def read_raw(value):
    """GBCS bytes from `value`: hex digits, or a file holding hex text (as RTDS .HEX files and DCC
    tools write them) or the bytes themselves. UsageError unless it parses as a GBCS command."""
    from firmware.gbcs import frame

    if os.path.isfile(value):
        with open(value, "rb") as f:
            data = f.read()
        text = data.decode("ascii", "replace")
        hexdigits = "".join(text.split())
        try:
            raw = binascii.unhexlify(hexdigits) if hexdigits else b""
        except (ValueError, binascii.Error):
            raw = data
    else:
        try:
            raw = binascii.unhexlify("".join(value.split()))
        except (ValueError, binascii.Error):
            raise UsageError("--raw must be hex digits or a file holding them: %r" % value[:40])
    try:
        m = frame.parse(raw)
    except Exception as e:  # noqa: BLE001 - frame.parse raises Reject for malformed input
        raise UsageError("--raw is not a GBCS message: %s" % e)
    if m.cra != frame.CRA_COMMAND:
        raise UsageError("--raw is not a GBCS command (CRA %d)" % m.cra)
    return raw, m


def device_keys(keys_dir, device):
    """(DS public, KA public) SEC1 bytes of `device` from a key store (smlab pki layout), each None
    when unknown. For the RTDS devices of ROLES the DS key is the one the runner provisions them
    with (RTDS publishes a certificate for a DS key whose private half nobody has)."""
    ds = ka = None
    try:
        from host_tools.keys import pki

        p = pki.load_keystore(keys_dir).get(device)
    except (SmlabError, OSError, ValueError):
        p = None
    rtds = [r for r in ROLES.values() if r.eui == device]
    if p is not None:
        # an RTDS device's published DS certificate is not the key the runner provisions; a DS key
        # the key store holds privately is (smlab provision generated it)
        if "ds" in p.public and (not rtds or "ds" in p.private):
            ds = p.public_bytes("ds")
        ka = p.public_bytes("ka") if "ka" in p.public else None
    for r in rtds:
        ds = ds or r.ds_pub()
        if ka is None and os.path.isdir(C.KEYSTORE):
            ka = r.ka_pub(C.Keystore(C.KEYSTORE))
    return ds, ka


def originator_ka(keys_dir, eui):
    """The KA private key (cryptography) of organisation `eui` from a key store, or None."""
    try:
        from host_tools.keys import pki

        p = pki.load_keystore(keys_dir).get(eui)
    except (SmlabError, OSError, ValueError):
        return None
    return p.private.get("ka") if p is not None else None


def run(device, role, ucs, keys, out_dir=None, progress=None):
    """Feed every use case to `device`; returns the report dict (role, device, the counts of
    docs/host-tools.md, ok, seconds, use_cases with per-command results). out_dir: every response written as <use case>/<command
    file name with RESPONSE>.HEX, one line of upper-case hex. progress(use_case_report) per case."""
    t0 = time.monotonic()
    device.start()
    t_prov = time.monotonic() - t0
    report_ucs = []
    try:
        for uc in ucs:
            u = {"name": uc.name, "commands": 0, "authenticated": 0, "verified": 0,
                 "success_total": 0, "success_content_equal": 0, "error_total": 0, "error_content_equal": 0,
                 "results": []}
            t1 = time.monotonic()
            analysis = classify(uc)
            for sess in sessions(uc, analysis, None if hasattr(role, "seed") else keys, getattr(role, "split", None)):
                u["seeded"] = u.get("seeded", 0) + len(sess.seeds)
                armed = {} if hasattr(role, "seed") else dict(sess.faults)
                device.begin(uc, sess)
                try:
                    for cmd in sess.commands:
                        _one(device, cmd, role, keys, out_dir, uc, u, analysis.get(cmd.name), armed)
                finally:
                    device.end()
            u["seconds"] = round(time.monotonic() - t1, 3)
            report_ucs.append(u)
            if progress:
                progress(u)
    finally:
        device.close()
    return _report(device, role, report_ucs, t0, t_prov)


def _one(device, cmd, role, keys, out_dir, uc, u, analysis, armed):
    """Send one command and add its result to use-case report `u`."""
    res = {"file": cmd.name, "variant": cmd.variant, "counter": cmd.msg.counter,
           "message_code": "%04X" % cmd.msg.message_code, "authenticated": False,
           "verified": False, "content_equal": None}
    if analysis is not None:
        res.update(cause=analysis["cause"], same_cmd=analysis["same_cmd"],
                   rtds_item=analysis["item"], differs=analysis.get("differs"))
    if cmd.msg.counter in armed:
        res["fault_item"] = armed[cmd.msg.counter]
    t2 = time.monotonic()
    try:
        raw = device.send(cmd.raw)
    except Refused as e:
        res["refused"] = e.text
        if e.alert is not None:
            res["alert"] = "%04X" % e.alert
        raw = None
    res["seconds"] = round(time.monotonic() - t2, 3)
    if raw is not None:
        res["authenticated"] = True
        ok, why, equal, auth = check(cmd, raw, role, keys)
        res.update(verified=ok, content_equal=equal, auth=auth)
        if why:
            res["reason"] = why
        if out_dir:
            _write_hex(out_dir, uc.name, cmd.name, raw)
    u["commands"] += 1
    u["authenticated"] += res["authenticated"]
    u["verified"] += res["verified"]
    if cmd.variant in ("SUCCESS", "ERROR"):
        k = cmd.variant.lower()
        u[k + "_total"] += 1
        u[k + "_content_equal"] += res["content_equal"] is True
    u["results"].append(res)


def _report(device, role, report_ucs, t0, t_prov):
    keys_ = ("commands", "authenticated", "verified", "success_total", "success_content_equal",
             "error_total", "error_content_equal")
    rep = {"role": role.name, "eui": role.eui.hex().upper(), "device": device.kind}
    for k in keys_:
        rep[k] = sum(u[k] for u in report_ucs)
    rep["refused"] = rep["commands"] - rep["authenticated"]
    rep["use_case_count"] = len(report_ucs)
    rep["seconds"] = round(time.monotonic() - t0, 2)
    rep["provision_seconds"] = round(t_prov, 2)
    rep["ok"] = rep["authenticated"] == rep["commands"] and rep["verified"] == rep["commands"]
    rep["seeded"] = sum(u.get("seeded", 0) for u in report_ucs)
    errs = [(u["name"], r) for u in report_ucs for r in u["results"] if r["variant"] == "ERROR"]
    rep["error_fault_hook"] = sum(r.get("cause") == "fault" for _, r in errs)
    rep["error_fault_hook_equal"] = sum(r.get("cause") == "fault" and r["content_equal"] is True for _, r in errs)
    rep["error_not_reproduced"] = [{"use_case": n, "file": r["file"], "cause": r.get("cause"),
                                    "reason": not_reproduced_reason(r)}
                                   for n, r in errs if r["content_equal"] is not True]
    rep["success_not_equal"] = [{"use_case": u["name"], "file": r["file"], "reason": success_miss_reason(r)}
                                for u in report_ucs for r in u["results"]
                                if r["variant"] == "SUCCESS" and r["content_equal"] is not True]
    rep["use_cases"] = report_ucs
    return rep


# Why a SUCCESS answer cannot equal RTDS's, by message code (the device's own key material)
_SUCCESS_MISS = {
    0x000A: "CS02c key pair generation: the answer carries a key pair the device generates itself (and a "
            "CSR signed with it), never the RTDS device's",
    0x000B: "CS02d device certificate update: the certificate certifies the key RTDS's device generated at "
            "its CS02c, whose private key is not published; this device's key differs, so it refuses it",
    0x000C: "CS02e provide device certificate: RTDS answers the certificate CS02d installed there; this "
            "device never holds it (CS02d above), nor a certificate for its own generated key",
}


def success_miss_reason(r):
    """Why the answer to SUCCESS command result `r` (a run() result) is not RTDS's response."""
    if not r["authenticated"]:
        return "refused by the device: %s" % r.get("refused", "")
    code = int(r["message_code"], 16)
    if code in _SUCCESS_MISS:
        return _SUCCESS_MISS[code]
    if "_URP_" in r["file"]:
        return ("encrypted read for an unknown remote party: keyed to the party's own KA key (its certificate "
                "in the command), whose private key is not published; the plaintext cannot be decrypted, so "
                "nothing is seeded")
    return "the device's answer differs from RTDS"


def not_reproduced_reason(r):
    """Why the answer to ERROR command result `r` (a run() result) is not the RTDS ERROR response."""
    if not r["authenticated"]:
        return "refused by the device: %s" % r.get("refused", "")
    if r.get("cause") == "fault":
        return ("fault hook at item %d: the answer differs before the faulted item or, for a DER "
                "command, the role's failure answer (table.der_fault) differs" % r.get("fault_item", -1))
    if r.get("same_cmd"):
        return "same command as SUCCESS, but the RTDS ERROR response is not the device-failure shape"
    if int(r["message_code"], 16) in (0x0125, 0x0126) and "ERROR" in r["file"]:
        return ("CS02g: the altered byte ends the signature of the certification path's CA certificate, which "
                "only the root trust anchor verifies (RTDS answers 10, no trust anchor); RTDS publishes no root "
                "key, so a device provisioned from it holds no root cell and ends the path at that CA "
                "(firmware/core/credentials.py)")
    return ("command-caused (it differs from its SUCCESS command: %s): the device's answer differs from RTDS"
            % ", ".join(r.get("differs") or ["no SUCCESS command"]))


def _write_hex(out_dir, uc, name, raw):
    d = os.path.join(out_dir, uc)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name.replace("_COMMAND_GBCS.HEX", "_RESPONSE_GBCS.HEX")), "w") as f:
        f.write(binascii.hexlify(raw).decode().upper())


def junit_xml(rep):
    """JUnit XML of a report: a testsuite per use case, a testcase per command; a command refused
    or whose response does not verify is a failure; content differing from RTDS is recorded in
    the testcase's properties and system-out, not as a failure."""
    root = ET.Element("testsuites", name="rtds-%s" % rep["role"], tests=str(rep["commands"]),
                      failures=str(rep["commands"] - rep["verified"]), time="%.3f" % rep["seconds"])
    for u in rep["use_cases"]:
        s = ET.SubElement(root, "testsuite", name=u["name"], tests=str(u["commands"]),
                          failures=str(u["commands"] - u["verified"]), errors="0",
                          time="%.3f" % u.get("seconds", 0))
        for r in u["results"]:
            tc = ET.SubElement(s, "testcase", classname="rtds.%s.%s" % (rep["role"], u["name"].replace(".", "_")),
                               name=r["file"], time="%.3f" % r["seconds"])
            props = ET.SubElement(tc, "properties")
            for k in ("variant", "counter", "message_code", "authenticated", "verified", "content_equal"):
                ET.SubElement(props, "property", name=k, value=str(r.get(k)))
            if not r["authenticated"]:
                ET.SubElement(tc, "failure", type="refused", message="refused: %s" % r.get("refused", ""))
            elif not r["verified"]:
                ET.SubElement(tc, "failure", type="unverified", message=r.get("reason", "not verified"))
            if r["content_equal"] is False:
                ET.SubElement(tc, "system-out").text = "response content differs from the RTDS %s response" \
                    % r["variant"]
    return ET.tostring(root, encoding="unicode")


def summary(rep):
    """The report without per-command results (what --json prints)."""
    out = {k: v for k, v in rep.items() if k != "use_cases"}
    out["use_cases"] = [{k: v for k, v in u.items() if k != "results"} for u in rep["use_cases"]]
    return out


def save_report(path, rep):
    with open(path, "w") as f:
        json.dump(rep, f, indent=1, sort_keys=True)
