"""Host side of the Comms Hub (docs/wan.md): CCS01 / CCS02 built by the bench Access Control Broker
(gbcs.md §7.7-7.8: ACB-originated, non-critical, MAC'd with the ACB KA x the hub KA, the supplier as
supplementary remote party), verification of the hub's responses and alerts with `cryptography`,
and a WAN client speaking the hub endpoint's framing (firmware/wan/framing.py).

    raw, ctr = ccs01(keys, hub_eui, device_eui, install_code, join_timeout=90)
    raw, ctr = ccs02(keys, hub_eui, device_eui)
    v = verify_hub_message(raw, keys, hub_eui)          # response or alert: MAC checked
    with WanClient(host, port) as c: reply = c.request(raw)   # bytes, or WanRefused(code)
    log = read_hub(console_port)                          # Device Log read over a hub's REPL
"""
import socket
import time

from firmware.gbcs import dlms, dlms_client, frame, parties as P
from host_tools.errors import DeviceRefused, SmlabError
from host_tools.gbcs import usecases
from host_tools.gbcs import verify as V
from host_tools.keys import pki

CLASS_ZIGBEE_NETWORK_CONTROL = 104
OBIS_NETWORK_CONTROL = bytes((0, 0, 30, 3, 0, 255))
CCS01, CCS02 = 0x0001, 0x0002


class HubError(SmlabError):
    """A hub message that does not verify, or a key store without the keys to check it."""


class WanRefused(DeviceRefused):
    """The hub (or the device behind it) refused the command: the 2-byte GBCS alert code."""

    def __init__(self, code):
        super().__init__("refused with alert 0x%04X" % code)
        self.code = code


def _parties(keys, hub):
    try:
        dev, (sup, acb) = pki.find_parties(keys, hub, [("supplier", "ka", None),
                                                       ("accessControlBroker", "ka", None)])
    except pki.PkiError as e:
        raise HubError(str(e))
    return sup, acb, dev


def _acb_command(keys, hub, code, specs, data, counter=None):
    sup, acb, dev = _parties(keys, hub)
    c = counter if counter is not None else usecases.next_counter(keys, acb.eui, hub)
    content = dlms_client.build_request(0x20000000 | (c & 0xFFFFFF), specs, data)
    sc = usecases.next_counter(keys, sup.eui, hub)
    raw = V.build_command(acb.eui, hub, c, code, content, acb_ka_priv=acb.private["ka"],
                          device_ka_pub=dev.public["ka"], supp=(sup.eui, sc))
    return raw, c


def ccs01(keys, hub, device, install_code, join_timeout=90, enable=True, counter=None):
    """CCS01 to `hub`: register_device {device, enum 1, install code WITHOUT CRC, enum 0}, then SET
    join_timeout and enable_disable_joining (the RTDS CCS01 shape)."""
    specs = [(dlms.ACTION, CLASS_ZIGBEE_NETWORK_CONTROL, OBIS_NETWORK_CONTROL, 1),
             (dlms.SET, CLASS_ZIGBEE_NETWORK_CONTROL, OBIS_NETWORK_CONTROL, 3),
             (dlms.SET, CLASS_ZIGBEE_NETWORK_CONTROL, OBIS_NETWORK_CONTROL, 2)]
    data = [(dlms.STRUCTURE, [(dlms.OCTET_STRING, bytes(device)), (dlms.ENUM, 1),
                              (dlms.OCTET_STRING, bytes(install_code)), (dlms.ENUM, 0)]),
            (dlms.LONG_UNSIGNED, int(join_timeout)), (dlms.BOOLEAN, bool(enable))]
    return _acb_command(keys, hub, CCS01, specs, data, counter)


def ccs02(keys, hub, device, counter=None):
    """CCS02 to `hub`: unregister_device(EUI-64)."""
    specs = [(dlms.ACTION, CLASS_ZIGBEE_NETWORK_CONTROL, OBIS_NETWORK_CONTROL, 2)]
    return _acb_command(keys, hub, CCS02, specs, [(dlms.OCTET_STRING, bytes(device))], counter)


def verify_hub_message(raw, keys, hub):
    """A response or alert of the hub to the ACB (or another party holding a KA key in the key store):
    its MAC (hub KA x recipient KA) checked on the host. Returns a dict; raises HubError."""
    m = frame.parse(raw)
    parties = pki.load_keystore(keys)
    dev = parties.get(bytes(hub))
    peer = parties.get(bytes(m.recipient))
    if dev is None or peer is None or "ka" not in peer.private:
        raise HubError("key store lacks the keys of %s -> %s" % (m.originator.hex(), m.recipient.hex()))
    if m.mac is None or not V.verify_mac(m, peer.private["ka"], dev.public["ka"]):
        raise HubError("hub message MAC does not verify (hub KA x %s KA)" % m.recipient.hex())
    out = {"cra": m.cra, "counter": m.counter, "message_code": "%04X" % m.message_code,
           "recipient": m.recipient.hex(), "auth": "MAC (hub KA x recipient KA)"}
    if m.content[:1] == bytes([dlms.TAG_RESPONSE]):
        _, items, results = dlms_client.parse_response(m.content)
        out["results"] = [r for _, r in results]
        out["ok"] = all(r == dlms.SUCCESS for _, r in results)
    elif m.content[:1] == b"\x0f":
        body = dlms.decode(bytes(m.content[6:]))
        out["alert"] = "%04X" % body[1][0][1]
        out["ok"] = True
    return out


def wait_joined(client, keys, hub, devs, timeout):
    """True once the hub's CS14 alerts (0x8F12, MAC verified) on WanClient `client` have named every
    EUI-64 of `devs` as joined (a TC link key hash in its Device Log entry), within timeout seconds."""
    import time

    end = time.monotonic() + timeout
    done = set()
    while time.monotonic() < end:
        for a in client.drain_alerts(0.5):
            if verify_hub_message(a, keys, hub).get("alert") == "8F12":
                log = dlms.decode(bytes(frame.parse(a).content[6:]))[1][2][1][2][1]
                done |= {bytes(e[1][0][1]) for e in log if e[1][1][1]}
        if all(bytes(d) in done for d in devs):
            return True
    return False


def alert_code(raw):
    """The alert code of a GBCS alert message (data-notification {code, date-time, ...})."""
    m = frame.parse(raw)
    body = dlms.decode(bytes(m.content[6:]))
    return body[1][0][1]


_READ = ("import json, board, binascii\nfrom firmware.hub import devicelog as _D\n"
         "_s = board.get().store()\n_d = _D.DeviceLog(_s)\n_h = lambda b: binascii.hexlify(b).decode()\n"
         "print('DL ' + json.dumps([[_h(e), _h(k)] for e, k, _ in _d.entries()]))\n"
         "print('HL ' + json.dumps([[_h(e), _h(k)] for e, k in _d.historic()]))\n"
         "print('PQ %d' % len(_d.pending()))\n"
         "for _n in ('h_seclog', 'h_evtlog'):\n"
         " for _e in _s.log(_n, 64).entries():\n"
         "  print('E ' + _n + ' ' + _h(_e))\n"
         "print('HUB END')\n")


def read_hub(port):
    """{devices, historic, pending_alerts, security, events} read over a hub's REPL (stops its
    firmware: the caller resets the board)."""
    import binascii
    import json
    import struct

    from host_tools.boards.flash import RawRepl, FlashError

    with RawRepl(port) as b:
        out = b.exec(_READ).decode()
    res = {"devices": [], "historic": [], "pending_alerts": 0, "security": [], "events": []}
    done = False
    for line in out.splitlines():
        if line.startswith("DL "):
            res["devices"] = [{"eui": e.upper(), "hashed_key": k.upper()} for e, k in json.loads(line[3:])]
        elif line.startswith("HL "):
            res["historic"] = [{"eui": e.upper(), "hashed_key": k.upper()} for e, k in json.loads(line[3:])]
        elif line.startswith("PQ "):
            res["pending_alerts"] = int(line[3:])
        elif line.startswith("E "):
            _, name, hx = line.split()
            raw = binascii.unhexlify(hx)
            t, c = struct.unpack(">IH", raw[:6])
            ent = {"time": t + 946684800, "code": "%04X" % c, "detail": raw[6:].hex().upper()}
            res["security" if name == "h_seclog" else "events"].append(ent)
        elif line.strip() == "HUB END":
            done = True
    if not done:
        raise FlashError("%s: hub did not return its logs: %s" % (port, out.strip()[-200:]))
    return res


class WanClient:
    """One TCP connection to a hub's WAN endpoint, binary framing (2-byte big-endian length)."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.alerts = []  # GBCS alerts received while waiting for responses

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, msg):
        self.sock.sendall(len(msg).to_bytes(2, "big") + bytes(msg))

    def frame(self, timeout=None):
        """The next frame's payload (bytes); TimeoutError when none arrives in time."""
        end = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if len(self.buf) >= 2:
                n = int.from_bytes(self.buf[:2], "big")
                if len(self.buf) >= 2 + n:
                    out, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                    if n == 0:
                        continue
                    return out
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from the hub within %.1f s" % (self.timeout if timeout is None else timeout))
            self.sock.settimeout(left)
            try:
                b = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not b:
                raise ConnectionError("the hub closed the connection")
            self.buf += b

    def request(self, msg, timeout=None):
        """Send a command; return its response (bytes). Alerts that arrive first are kept in
        .alerts; a 2-byte frame is the refusal (WanRefused)."""
        self.send(msg)
        want = frame.parse(msg).counter
        while True:
            f = self.frame(timeout)
            if len(f) == 2:
                raise WanRefused(int.from_bytes(f, "big"))
            m = frame.parse(f)
            if m.cra == frame.CRA_ALERT or m.counter != want:
                self.alerts.append(f)
                continue
            return f

    def drain_alerts(self, wait=0.2):
        """Alerts that arrive within `wait` seconds (after those already kept)."""
        try:
            while True:
                f = self.frame(wait)
                if len(f) > 2:
                    self.alerts.append(f)
        except TimeoutError:
            pass
        out, self.alerts = self.alerts, []
        return out
