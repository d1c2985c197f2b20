"""GBCS alert / event codes used by this firmware (GBCS §8 alert table as summarised in
shared/reference/gbcs.md §8 and optical.md §3) and the typed rejection every layer raises.

One table for the whole firmware: the security log, DLMS responses and host tools all name codes
from here.
"""
from firmware.compat import const

# authentication / integrity
INTEGRITY_FAILED = const(0x8F1E)  # integrity check of content or format of command failed
NO_AUTHORITY = const(0x8F30)  # source does not have authority for command
AUTH_FAILED = const(0x8F3D)  # trusted source authentication failure
UNAUTHORISED_ACCESS = const(0x8F3E)  # unauthorised communication access attempted
AUTH_OTHER = const(0x8F53)  # failed authentication or authorisation not covered by other codes
UNUSUAL_COMMANDS = const(0x8F60)  # malformed, out-of-order or unexpected commands (replay)
# UTRN
UTRN_DUPLICATE = const(0x8F51)
UTRN_NOT_AUTHENTIC = const(0x8F63)
UTRN_NOT_FOR_DEVICE = const(0x8F64)
UTRN_OVER_MAX_CREDIT = const(0x8F5B)
UTRN_OVER_MAX_BALANCE = const(0x8F47)
UTRN_ENTRY_SUSPENDED = const(0x81C4)
UTRN_LOCKED_OUT = const(0x81C5)
CREDIT_ADDED_LOCALLY = const(0x810E)
# supply
SUPPLY_ARMED = const(0x8F32)
SUPPLY_CONNECT_FAILURE = const(0x81BD)
SUPPLY_DISCONNECT_FAILURE = const(0x81C0)
# local port / user interface
LOCAL_PORT_COMMUNICATION = const(0x81A5)
UI_COMMAND_OK = const(0x8161)
UI_COMMAND_FAILED = const(0x8162)

def name(code):
    """Human-readable name of an alert/event code (the table is loaded only when a message needs
    it, so a device that never formats a rejection does not carry it: firmware/alert_names.py)."""
    from firmware.alert_names import NAMES

    return NAMES.get(code, "code 0x%04X" % code)


class Reject(Exception):
    """A typed rejection of bad or unauthorised input.

    reason: short stable identifier (e.g. "mac", "signature", "replay", "target", "format");
    code: the GBCS alert/event code where one exists, else None; detail: free text for the log.
    Every layer raises this (or a subclass) instead of a bare ValueError, so callers can log the
    code and answer without guessing.
    """

    def __init__(self, reason, code=None, detail=""):
        super().__init__(reason, code, detail)
        self.reason = reason
        self.code = code
        self.detail = detail

    def __str__(self):
        s = self.reason
        if self.code is not None:
            s += " (0x%04X %s)" % (self.code, name(self.code))
        if self.detail:
            s += ": " + self.detail
        return s
