"""The In-Home Display role: a ZigBee Smart Energy type 2 device on the HAN (GBCS: a device with no
GBCS certificates and no GBCS command path; it joins the Comms Hub's HAN like any device and is
joined to the meter by CS03 method B) that reads the electricity meter's consumption and balance
over the HAN and shows them (firmware/han/ihd.py: ZSE Metering 0x0702 and Prepayment 0x0705 Read
Attributes).

    role = build(board, store)               # as firmware.roles.build("ihd", ...) does

Its HAN client (firmware/han/ihd.py IhdNode) is composed by the network wiring
(firmware/wan/node.py attach), not by the role: a role imports no transport.

The store holds the identity provisioning writes (EUI-64; the KA key is the one CBKE would run
with, docs/han.md §5), the "han" record and the "ihd" record (the meter it reads, the interval).
It answers no GBCS command: `process` refuses every message (Reject "role"), so the optical
pass-through of the front panel has nothing to reach.
"""
from firmware.alerts import Reject


class Ihd:
    name = "ihd"
    ident = "SMLAB-IHD"  # optical identification (IEC 62056-21 §6.3.2)
    model = None  # no restricted optical meter view
    acceptor = None  # no UTRN entry

    def __init__(self, store):
        import binascii

        from firmware.core.trust import identity

        self.store = store
        self.eui = binascii.unhexlify(identity(store)["eui"])
        self.trust = None

    def process(self, msg):
        raise Reject("role", None, "an IHD has no GBCS command path")

    def hht_anchor(self, issuer):
        return None

    def poll(self, now):
        return None


def build(board, store, table_dir=None):
    return Ihd(store)
