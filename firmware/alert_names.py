"""Names of the GBCS alert / event codes in firmware/alerts.py (GBCS §8 alert table as summarised
in shared/reference/gbcs.md §8 and optical.md §3), for log messages and host tools. A separate module
so that the device pipeline, which only needs the numbers, does not keep these strings on its heap.
"""

NAMES = {
    0x8F1E: "integrity check of content or format of command failed",
    0x8F30: "source does not have authority for command",
    0x8F3D: "trusted source authentication failure",
    0x8F3E: "unauthorised communication access attempted",
    0x8F53: "failed authentication or authorisation not covered by other codes",
    0x8F60: "unusual numbers of malformed, out-of-order or unexpected commands received",
    0x8F51: "duplicate UTRN entered",
    0x8F63: "UTRN not authentic",
    0x8F64: "UTRN not for this device",
    0x8F5B: "UTRN exceeds maximum credit threshold",
    0x8F47: "credit would cause meter balance to exceed maximum meter balance threshold",
    0x81C4: "UTRN manual entry suspended",
    0x81C5: "UTRN rejected as locked out",
    0x810E: "credit added locally",
    0x8F32: "supply armed",
    0x81BD: "supply connect failure",
    0x81C0: "supply disconnect failure",
    0x81A5: "communication from local port",
    0x8161: "user interface command input successfully actioned",
    0x8162: "user interface command input not successfully actioned",
}
