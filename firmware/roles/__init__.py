"""Device roles this firmware can run (GBCS §4.3.1 device types: the ESME and the Comms Hub Function; the
Gas Proxy Function and GSME add an entry each; the IHD, a HAN type 2 device). A role is a module with
`build(board, store, table_dir)` returning the role object the application, the optical port and
the front panel use:

    name, eui, store, trust       role name, device EUI-64, durable store, firmware.core.trust.Trust
    ident                         optical identification string (IEC 62056-21 §6.3.2 identification)
    process(buf) -> bytes         one GBCS command in, the protected response out (Reject if refused)
    hht_anchor(issuer_eui8)       verify key of the supplier DS anchor for an HHT login, else None
    model, acceptor               data model for the restricted optical view; UTRN acceptor (or None)
    poll(now)                     periodic work (may do nothing)

    role = roles.build(store_role_name, board, store, table_dir)

The role module is imported only when built, so a board carries the code of its own role only.
"""
from firmware.alerts import Reject
from firmware.core import reasons

# role name -> module implementing it
REGISTRY = {
    "esme": "firmware.roles.esme",
    "chf": "firmware.roles.chf",
    "gsme": "firmware.roles.gsme",
    "gpf": "firmware.roles.gpf",
    "ihd": "firmware.roles.ihd",
}


def build(name, board, store, table_dir=None):
    """The role object for `name` (the store's role record). An unknown or missing role, or one whose
    module is absent from this image, is written to the store's event log and raised as
    Reject(reasons.UNKNOWN_ROLE)."""
    path = REGISTRY.get(name) if isinstance(name, str) else None
    why = "not in this firmware"
    if path is not None:
        import sys

        try:
            __import__(path)
            return sys.modules[path].build(board, store, table_dir)
        except ImportError as e:
            why = repr(e)
    detail = "role %r: %s" % (name, why)
    store.log("event").append(("boot %s %s" % (reasons.UNKNOWN_ROLE, detail))[:120])
    raise Reject(reasons.UNKNOWN_ROLE, None, detail)
