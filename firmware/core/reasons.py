"""Rejection reasons: the stable identifiers a firmware.alerts.Reject carries in `reason` (the GBCS
alert code it carries names the GBCS §8 alert; the reason says which check refused). Code that
decides on a rejection compares against these names, never against free text; the security log and
host tools print them as they are.

GBCS command authentication (GBCS §6.2.4 verification order; §4.3 key usage), in pipeline order:
FORMAT (malformed message, 0x8F1E), NOT_COMMAND (CRA flag), TARGET (recipient is another device,
0x8F3E), ORIGINATOR (unknown remote party, 0x8F30), UNSIGNED (no signature-length field), NO_MAC
(MAC Header missing), NO_CELL (no trust anchor cell for the key needed, 0x8F30), MAC (0x8F3D),
SIGNATURE_MISSING (critical command without KRP signature), SIGNATURE (0x8F3D), REPLAY (originator
counter not above the last accepted, 0x8F60), FLOOR (below the role floor, 0x8F60).

Device state and provisioning: NOT_PROVISIONED (no identity in the store), CELL (malformed trust
anchor cell), PROVISION (malformed provisioning payload), UNKNOWN_ROLE (the store names no role this
firmware has).
"""

FORMAT = "format"
NOT_COMMAND = "not-command"
TARGET = "target"
ORIGINATOR = "originator"
UNSIGNED = "unsigned"
NO_MAC = "no-mac"
NO_CELL = "no-cell"
MAC = "mac"
SIGNATURE_MISSING = "signature-missing"
SIGNATURE = "signature"
REPLAY = "replay"
FLOOR = "floor"

NOT_PROVISIONED = "not-provisioned"
CELL = "cell"
PROVISION = "provision"
UNKNOWN_ROLE = "unknown-role"
