"""Credit ledger checks for UTRN top-ups (shared/reference/gbcs.md §8-9: alerts 0x8F5B "UTRN exceeds
maximum credit threshold", 0x8F47 "credit would cause meter balance to exceed maximum meter balance
threshold"). Amounts are integer pennies. The balance itself lives in the acceptance state record
(accept.py) so that "code used" and "credit added" are one atomic write.

A top-up over a threshold is refused without burning the code: the consumer can enter it again once
the balance allows (the meter cannot partially credit a UTRN).
"""
from firmware.alerts import Reject, UTRN_OVER_MAX_CREDIT, UTRN_OVER_MAX_BALANCE
from firmware.compat import const

DEFAULT_MAX_CREDIT = const(25000)  # £250 per top-up
DEFAULT_MAX_BALANCE = const(50000)  # £500 meter balance


def check_credit(balance, amount, max_credit, max_balance):
    """Raise the GBCS alert when `amount` (pennies) may not be added to `balance`."""
    if amount > max_credit:
        raise Reject("max_credit", UTRN_OVER_MAX_CREDIT, "%d p > %d p per top-up" % (amount, max_credit))
    if balance + amount > max_balance:
        raise Reject("max_balance", UTRN_OVER_MAX_BALANCE,
                     "%d p + %d p > %d p" % (balance, amount, max_balance))


def fmt(pennies):
    """'£12.34' style text (for logs and displays); negative balances keep their sign."""
    sign = "-" if pennies < 0 else ""
    p = -pennies if pennies < 0 else pennies
    return "%s%d.%02d" % (sign, p // 100, p % 100)
