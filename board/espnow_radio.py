"""The ESP32's HAN radio over ESP-NOW, and a bridge ESP-NOW <-> ZEP over UDP (docs/han.md §10).

Written against the MicroPython `espnow` module documentation (docs.micropython.org, "espnow —
support for the ESP-NOW wireless protocol"); compiled with mpy-cross -march=xtensawin by the
manifest test; NOT run on hardware here.

ESP-NOW carries each IEEE 802.15.4 MPDU (with its FCS) unchanged as one broadcast message
(FF:FF:FF:FF:FF:FF), unencrypted: ZigBee NWK / APS security protects the frames, exactly as on an
802.15.4 channel. A PSDU is at most 127 bytes; espnow.MAX_DATA_LEN (250 on ESP-NOW v1) is checked
at open. The bridge forwards every ESP-NOW frame to an air (host_tools/han/air.py) as ZEP v2 and
every frame from the air to ESP-NOW, so real boards join virtual ones and the air captures them.

    r = EspNowRadio()                        # board.radio() on an ESP32
    Bridge(r, UdpZepRadio(("192.168.1.10", 17754), device_id=100)).run()
"""
from firmware.alerts import Reject
from firmware.compat import const

PSDU_MAX = const(127)
BROADCAST = b"\xff\xff\xff\xff\xff\xff"


class EspNowRadio:
    def __init__(self, channel=None):
        import espnow
        import network

        if espnow.MAX_DATA_LEN < PSDU_MAX:
            raise Reject("board-radio", None, "ESP-NOW payload %d < 127" % espnow.MAX_DATA_LEN)
        sta = network.WLAN(network.STA_IF)
        sta.active(True)
        if channel is not None:
            sta.config(channel=channel)
        self.e = e = espnow.ESPNow()
        e.active(True)
        e.add_peer(BROADCAST)
        self.bad = 0

    def send(self, psdu):
        if len(psdu) > PSDU_MAX:
            raise Reject("format", None, "PSDU of %d bytes" % len(psdu))
        self.e.send(BROADCAST, bytes(psdu), False)

    def recv(self):
        from firmware.zigbee.mac import fcs

        while self.e.any():
            host, msg = self.e.recv(0)
            if msg is None:
                return None
            if len(msg) >= 2 and fcs(msg[:-2]) == msg[-2:]:
                return bytes(msg)
            self.bad += 1
        return None


class Bridge:
    """Forwards frames both ways between an ESP-NOW radio and a UDP ZEP radio."""

    def __init__(self, espnow_radio, udp_radio):
        self.a = espnow_radio
        self.b = udp_radio
        self.forwarded = 0

    def poll(self):
        for _ in range(8):
            moved = False
            p = self.a.recv()
            if p is not None:
                self.b.send(p)
                moved = True
            p = self.b.recv()
            if p is not None:
                self.a.send(p)
                moved = True
            if not moved:
                return
            self.forwarded += 1

    def run(self):
        import time

        while True:
            self.poll()
            time.sleep_ms(1)


def bridge(air_host, air_port=17754, device_id=100, channel=None):
    """Run the bridge forever on this ESP32 (Wi-Fi station already connected to the air's LAN)."""
    from board.zepradio import UdpZepRadio

    Bridge(EspNowRadio(channel), UdpZepRadio((air_host, air_port), device_id)).run()
