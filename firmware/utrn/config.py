"""Configuration codes: a project extension of the UTRN frame (not SMETS2; docs/config-codes.md;
seed slides "Configuration Code Programming"; shared/reference/optical.md §6).

A configuration code is a UTRN whose PTUT value class is 10 (binary), a class GBCS leaves unused, so
a real SMETS2 meter rejects it and it can never be read as credit. Its 13-bit value field carries
`opcode (5 bits) << 8 | argument (8 bits)`. Everything else - 20 digits, check digit, truncated
counter, MAC with the supplier's prepayment-top-up key, counter cache + floor, keypad lockout - is
the UTRN machinery unchanged. Configuration codes are "set" codes: each must carry a counter above
every configuration code accepted before it (the configuration floor), so an old, unused code can
never undo a later change; top-ups keep the out-of-order cache rule.

Actions (idempotent, so a power cut between commit and action is completed at boot):
  SWITCH_TO_CREDIT (1): payment mode -> credit.
  ENABLE_SUPPLY (2):    a disconnected supply is armed; the consumer's button press reconnects it
                        (the load-switch state machine of firmware/meter/model.py). Armed or
                        connected: nothing to do.
"""
from firmware.alerts import Reject, UI_COMMAND_FAILED
from firmware.compat import const

SWITCH_TO_CREDIT = const(1)
ENABLE_SUPPLY = const(2)
NAMES = {SWITCH_TO_CREDIT: "switch_to_credit", ENABLE_SUPPLY: "enable_supply"}
BY_NAME = {"switch_to_credit": SWITCH_TO_CREDIT, "enable_supply": ENABLE_SUPPLY}


def value(opcode, arg=0):
    """The 13-bit PTUT value of a configuration code."""
    if not (0 <= opcode < 32 and 0 <= arg < 256):
        raise Reject("format", None, "configuration opcode/argument out of range")
    return (opcode << 8) | arg


def split(value13):
    """(opcode, argument) of a configuration code's 13-bit value."""
    return value13 >> 8, value13 & 0xFF


def check(opcode, arg):
    """Reject an authentic code this firmware cannot act on (no state change, code not burned)."""
    if opcode not in NAMES:
        raise Reject("config_op", UI_COMMAND_FAILED, "unknown configuration opcode %d" % opcode)
    if arg != 0:
        raise Reject("config_arg", UI_COMMAND_FAILED, "argument %d not used by %s" % (arg, NAMES[opcode]))


def apply(meter, opcode):
    """Carry out a committed configuration code on the meter model. Idempotent. Returns a short
    description of what changed (for the log)."""
    if opcode == SWITCH_TO_CREDIT:
        if meter.payment_mode == "credit":
            return "already credit"
        meter.set_payment_mode("credit")
        return "credit mode"
    if opcode == ENABLE_SUPPLY:
        if meter.supply == "disconnected":
            meter.arm()
            return "armed"
        return "already " + meter.supply
    raise Reject("config_op", UI_COMMAND_FAILED, "unknown configuration opcode %d" % opcode)
