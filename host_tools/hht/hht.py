"""Host HHT program: speaks IEC 62056-21 mode C to a meter's optical port over pyserial (a real
serial port at 300 Bd 7E1 with the baud switch, or a virtual board / test pty), logs in by
challenge-response, reads out, runs restricted commands, lists and applies work-order commands
(pass-through) and collects the GBCS responses for upload (docs/hht.md).

Framing and the credential layout come from the firmware (firmware.optical.iec / .auth: one
implementation); signing uses `cryptography`.

CLI:
    python -m host_tools.hht.hht issue --supplier-key K.pem --supplier-eui 90B3D51F30010000
                                   --hht-id 48485400000000A7 [--scope EUI] [--perms 3]
                                   [--days 30] --out cred.json
    python -m host_tools.hht.hht readout --port /dev/ttyUSB0
    python -m host_tools.hht.hht read    --port P --cred cred.json 1.8.0 C.LS C.LOG.S(0)
    python -m host_tools.hht.hht display-test --port P --cred cred.json
    python -m host_tools.hht.hht workorder --port P --cred cred.json --wo wo.json --supplier-pub S.pem
                                       [--apply 1,3] --out responses.json
"""
import argparse
import binascii
import json
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from firmware.optical import auth, iec
from host_tools.errors import SmlabError
from host_tools.util import open_serial, write_atomic

GBCS_BLOCK = 1000  # hex chars per E2 block (partial blocks with EOT before the last)


class HhtError(SmlabError):
    """The meter answered with an error message, NAK or nothing. An answer from the meter (`reply`)
    is a refusal (exit status 1); no answer is a failure to carry out the request (2)."""

    def __init__(self, text, reply=b""):
        super().__init__(text)
        self.text = text
        self.reply = reply

    @property
    def exit_code(self):
        return 1 if self.reply else 2


def sign_prehashed(priv, h32):
    r, s = decode_dss_signature(priv.sign(h32, ec.ECDSA(Prehashed(hashes.SHA256()))))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def pub64(priv):
    return priv.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)[1:]


def issue_credential(supplier_priv, supplier_eui, hht_id, scope=auth.ANY_METER,
                     perms=auth.PERM_READ | auth.PERM_PASS, not_after=0, hht_priv=None):
    """Certify an HHT key with the supplier DS key -> (credential bytes, HHT private key)."""
    if hht_priv is None:
        hht_priv = ec.generate_private_key(ec.SECP256R1())
    tbs = auth.encode_credential(hht_id, scope, not_after, perms, supplier_eui, pub64(hht_priv))
    return tbs + sign_prehashed(supplier_priv, auth.cert_hash(tbs)), hht_priv


def save_credential(path, cred, hht_priv):
    d = hht_priv.private_numbers().private_value.to_bytes(32, "big")
    # whole file or none (a reader never sees half a key), through the key store's atomic writer
    doc = {"format": "smlab-hht-credential-1", "credential": cred.hex().upper(), "key": d.hex()}
    write_atomic(path, json.dumps(doc, indent=1).encode())


def load_credential(path):
    with open(path) as f:
        d = json.load(f)
    priv = ec.derive_private_key(int(d["key"], 16), ec.SECP256R1())
    return bytes.fromhex(d["credential"]), priv


class Hht:
    """One optical session. `ser`: a pyserial Serial (or anything with read(n), write(b),
    timeout and baudrate attributes)."""

    def __init__(self, ser, timeout=3.0, baud_char="5"):
        self.ser = ser
        self.timeout = timeout
        self.baud_char = baud_char
        self.ident = None
        self.logged_in = False

    # -- line level ---------------------------------------------------------------------------
    def _read1(self, deadline):
        while time.monotonic() < deadline:
            b = self.ser.read(1)
            if b:
                return b[0] & 0x7F
        raise HhtError("timeout waiting for the meter")

    def read_message(self, timeout=None):
        """One meter message: identification line (str), ACK/NAK (int), or a frame
        ("data"|"cmd", cmd, data bytes) with its BCC checked."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            c = self._read1(deadline)
            if c in (iec.ACK, iec.NAK):
                return c
            if c == 0x2F:
                line = bytearray()
                while not line.endswith(b"\r\n"):
                    line.append(self._read1(deadline))
                    if len(line) > 40:
                        raise HhtError("identification too long")
                return line[:-2].decode()
            if c in (iec.STX, iec.SOH):
                body = bytearray()
                while True:
                    x = self._read1(deadline)
                    body.append(x)
                    if x in (iec.ETX, iec.EOT):
                        break
                got = self._read1(deadline)
                if iec.bcc(body) != got:
                    raise HhtError("bad BCC from the meter")
                if c == iec.SOH:
                    cmd = bytes(body[:2]).decode()
                    data = bytes(body[3:-1]) if len(body) > 3 and body[2] == iec.STX else b""
                    return ("cmd", cmd, data)
                return ("data", None, bytes(body[:-1]))
            # anything else before a message start is line noise

    def _expect_data(self):
        m = self.read_message()
        if isinstance(m, tuple) and m[0] == "data":
            d = m[2]
            if d.startswith(b"(ER"):
                raise HhtError(d[1:-1].decode(), d)
            return d
        raise HhtError("unexpected reply %r" % (m,))

    def _set_baud(self, rate):
        if getattr(self.ser, "baudrate", None) != rate:
            try:
                self.ser.baudrate = rate
            except (AttributeError, ValueError, OSError):
                pass  # a pty ignores line speed (pyserial's SerialException is an OSError)

    # -- session ------------------------------------------------------------------------------
    def sign_on(self, address=""):
        self._set_baud(300)
        if hasattr(self.ser, "reset_input_buffer"):
            self.ser.reset_input_buffer()
        self.ser.write(iec.request(address))
        m = self.read_message()
        if not isinstance(m, str) or len(m) < 4:
            raise HhtError("no identification: %r" % (m,))
        self.ident = m
        return m

    def _option(self, y):
        z = self.ident[3] if self.ident[3] < self.baud_char else self.baud_char
        self.ser.write(iec.option_select("0", z, y))
        if hasattr(self.ser, "flush"):
            self.ser.flush()
        time.sleep(0.25)  # IEC 62056-21: switch after the option select has left the line
        self._set_baud(iec.baud_rate(z))

    def readout(self, address=""):
        """Standard data readout -> list of (address, value, unit)."""
        self.sign_on(address)
        self._option("0")
        d = self._expect_data()
        self._set_baud(300)
        if not d.endswith(b"!\r\n"):
            raise HhtError("readout without end mark")
        return [iec.parse_data_set(ln) for ln in d[:-3].split(b"\r\n") if ln]

    def login(self, cred, hht_priv, meter_eui, address=""):
        """Programming mode + challenge-response; returns after the meter's ACK."""
        self.sign_on(address)
        self._option("1")
        m = self.read_message()
        if isinstance(m, tuple) and m[0] == "data":
            raise HhtError(m[2][1:-1].decode(), m[2])
        if not (isinstance(m, tuple) and m[1] == "P0"):
            raise HhtError("no P0 challenge: %r" % (m,))
        nonce = binascii.unhexlify(m[2][1:-1])
        sig = sign_prehashed(hht_priv, auth.login_hash(nonce, meter_eui, cred[1:9]))
        self.ser.write(iec.command("P2", "(" + (cred + sig).hex().upper() + ")"))
        r = self.read_message()
        if r != iec.ACK:
            if isinstance(r, tuple):
                raise HhtError(r[2][1:-1].decode(), r[2])
            raise HhtError("login refused: %r" % (r,))
        self.logged_in = True

    def command(self, cmd, data):
        self.ser.write(iec.command(cmd, data))
        return self._expect_data()

    def read(self, address, arg=""):
        """R1 -> (value, unit)."""
        _, v, u = iec.parse_data_set(self.command("R1", "%s(%s)" % (address, arg)))
        return v, u

    def execute(self, address, arg=""):
        _, v, _ = iec.parse_data_set(self.command("E2", "%s(%s)" % (address, arg)))
        return v

    def gbcs(self, msg):
        """Pass one GBCS command through; returns the meter's GBCS response bytes, or raises
        HhtError("ERxxxx") with the GBCS alert code when the meter rejected it."""
        h = msg.hex().upper()
        blocks = [h[i:i + GBCS_BLOCK] for i in range(0, len(h), GBCS_BLOCK)] or [""]
        for b in blocks[:-1]:
            self.ser.write(iec.command("E2", "GBCS(%s)" % b, partial=True))
            r = self.read_message()
            if r != iec.ACK:
                raise HhtError("partial block refused: %r" % (r,))
        self.ser.write(iec.command("E2", "GBCS(%s)" % blocks[-1]))
        d = self._expect_data()
        return binascii.unhexlify(d[1:-1])

    def sign_off(self):
        self.ser.write(iec.command("B0"))
        if hasattr(self.ser, "flush"):
            self.ser.flush()
        self.logged_in = False
        self._set_baud(300)


def apply_work_order(hht, wo, choose):
    """Apply the chosen item ids of a (verified) work order through a logged-in session; returns
    the upload records [{id, label, status, response|error}] in the order applied, then a
    record with status "missing" for every chosen id the work order does not have."""
    from host_tools.hht import workorder

    out = []
    have = [it["id"] for it in workorder.items(wo)]
    for item in workorder.items(wo):
        if item["id"] not in choose:
            continue
        rec = {"id": item["id"], "label": item["label"], "kind": item["kind"]}
        try:
            rec["response"] = hht.gbcs(bytes.fromhex(item["gbcs"])).hex().upper()
            rec["status"] = "applied"
        except HhtError as e:
            rec["status"] = "rejected"
            rec["error"] = e.text
        out.append(rec)
    for n in choose:
        if n not in have:
            out.append({"id": n, "label": "", "kind": None, "status": "missing",
                        "error": "no item %d in work order %s" % (n, wo.get("id"))})
    return out


def open_port(port, timeout=0.2):
    """A meter's optical port at the IEC 62056-21 start state (300 Bd 7E1 on a real port; see
    host_tools.util.open_serial for ptys)."""
    return open_serial(port, 300, timeout=timeout, iec=True)


def default_credential(keys, device):
    """Path of the key store's HHT credential for `device` (hht-default-<eui>.json), issued by the
    supplier's DS key on first use: scoped to that meter, read + pass-through permissions."""
    import os

    from host_tools.keys import pki

    path = os.path.join(keys, "hht-default-%s.json" % device.hex())
    if not os.path.exists(path):
        sup = pki.supplier(keys)
        cred, priv = issue_credential(sup.private["ds"], sup.eui, bytes.fromhex("48485400000000d1"), device)
        save_credential(path, cred, priv)
    return path


def deliver(port, cred, hht_priv, device, raw, timeout=3.0):
    """Log in on the optical port `port` with credential (cred, hht_priv) and pass GBCS command
    `raw` through to meter `device`; returns the response bytes. HhtError when the meter refuses
    the login or the command (its text carries the GBCS alert code)."""
    ser = open_port(port)
    try:
        h = Hht(ser, timeout=timeout)
        h.login(cred, hht_priv, device)
        try:
            return h.gbcs(raw)
        finally:
            h.sign_off()
    finally:
        ser.close()


def send_command(port, keys, device, raw):
    """Deliver GBCS command `raw` to meter `device` through its optical port, logged in with the key
    store's default HHT credential for that meter; returns the response bytes (HhtError when the
    meter refuses)."""
    cred, priv = load_credential(default_credential(keys, device))
    return deliver(port, cred, priv, device, raw)


def wait_optical(port, timeout):
    """Wait until the meter answers an IEC 62056-21 sign-on on its optical port; HhtError if it
    does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ser = open_port(port)
            try:
                Hht(ser, timeout=1.0).sign_on()
                return
            finally:
                ser.close()
        except (HhtError, OSError):
            time.sleep(0.2)
    raise HhtError("%s: no optical sign-on %.0f s after reset" % (port, timeout))



def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m host_tools.hht.hht", description=__doc__.splitlines()[0],
        epilog="Exit status: 0 success, 1 the meter refused, 2 bad input or no answer.")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="ACTION")
    p = sub.add_parser("issue", help="certify a new HHT key with the supplier DS key")
    p.add_argument("--supplier-key", required=True, help="supplier DS private key (PEM file)")
    p.add_argument("--supplier-eui", required=True, help="supplier EUI-64 (16 hex digits)")
    p.add_argument("--hht-id", required=True, help="the terminal's 8-byte id (16 hex digits)")
    p.add_argument("--scope", default="FFFFFFFFFFFFFFFF", help="meter EUI-64 or FF..FF (any)")
    p.add_argument("--perms", type=int, default=3, help="1 restricted reads, 2 pass-through")
    p.add_argument("--days", type=int, default=30, help="days the credential is valid (0: no end)")
    p.add_argument("--out", required=True, help="credential file to write (holds a private key)")
    helps = {"readout": "standard data readout (no login)",
             "read": "log in and read registers or logs",
             "display-test": "log in and read the meter's date and time",
             "workorder": "check a work order, list its items and apply the chosen ones"}
    for name in ("readout", "read", "display-test", "workorder"):
        q = sub.add_parser(name, help=helps[name])
        q.add_argument("--port", required=True, help="optical probe serial port (or a virtual board's optical pty)")
        q.add_argument("--address", default="", help="device address for the sign-on (default: none)")
        if name != "readout":
            q.add_argument("--cred", required=True, help="HHT credential file")
            q.add_argument("--meter-eui", help="default: C.1.0 from a readout")
        if name == "read":
            q.add_argument("addresses", nargs="+", help="data addresses, e.g. 1.8.0 C.LS C.LOG.S(0)")
        if name == "workorder":
            q.add_argument("--wo", required=True)
            q.add_argument("--supplier-pub", required=True, help="supplier DS public key PEM")
            q.add_argument("--apply", help="comma-separated item ids (default: list only)")
            q.add_argument("--out", help="responses for upload (JSON)")
    a = ap.parse_args(argv)
    if a.cmd == "issue":
        with open(a.supplier_key, "rb") as f:
            sk = serialization.load_pem_private_key(f.read(), None)
        na = int(time.time()) + a.days * 86400 if a.days else 0
        cred, hk = issue_credential(sk, bytes.fromhex(a.supplier_eui), bytes.fromhex(a.hht_id),
                                    bytes.fromhex(a.scope), a.perms, na)
        save_credential(a.out, cred, hk)
        print("issued %s for %s perms %d" % (a.hht_id.upper(), a.scope.upper(), a.perms))
        return 0
    hht = Hht(open_port(a.port))
    try:
        if a.cmd == "readout":
            for addr, v, u in hht.readout(a.address):
                print("%s(%s%s)" % (addr, v, "*" + u if u else ""))
            return 0
        cred, hk = load_credential(a.cred)
        eui = bytes.fromhex(a.meter_eui) if a.meter_eui else None
        if eui is None:
            eui = bytes.fromhex(dict((x[0], x[1]) for x in hht.readout(a.address))["C.1.0"])
        if a.cmd == "workorder":
            from host_tools.hht import workorder

            with open(a.supplier_pub, "rb") as f:
                spub = serialization.load_pem_public_key(f.read())
            wo = workorder.load(a.wo)
            try:
                workorder.verify(wo, spub, eui)
            except workorder.WorkOrderError as e:
                print("work order refused: %s" % e, file=sys.stderr)
                return 2
            for it in workorder.items(wo):
                print("%3d %-8s %s" % (it["id"], it["kind"], it["label"]))
            if not a.apply:
                return 0
            hht.login(cred, hk, eui, a.address)
            res = apply_work_order(hht, wo, [int(x) for x in a.apply.split(",")])
            hht.sign_off()
            for r in res:
                print("%3d %s %s" % (r["id"], r["status"], r.get("error", "")))
            if a.out:
                with open(a.out, "w") as f:
                    json.dump({"format": "smlab-hht-responses-1", "target": eui.hex().upper(),
                               "work_order": wo["id"], "results": res}, f, indent=1)
            return 0 if all(r["status"] == "applied" for r in res) else 1
        hht.login(cred, hk, eui, a.address)
        if a.cmd == "read":
            for addr in a.addresses:
                arg = ""
                if addr.endswith(")") and "(" in addr:
                    addr, arg = addr[:-1].split("(", 1)
                try:
                    v, u = hht.read(addr, arg)
                    print("%s(%s%s)" % (addr, v, "*" + u if u else ""))
                except HhtError as e:
                    print("%s: %s" % (addr, e.text))
        else:
            print(hht.execute("C.DT"))
        hht.sign_off()
        return 0
    except HhtError as e:
        print("meter: %s" % e.text, file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
