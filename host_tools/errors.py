"""Errors of the smlab host library: one base class, each with the exit status `smlab` gives it.

Every error the library raises on purpose is a `SmlabError` carrying a one-line reason. The command
line maps them to exit statuses:

    0  success
    1  the device (or the code / work-order check standing in for it) refused: DeviceRefused
    2  bad input, or the request could not be carried out: every other SmlabError

Library callers catch `SmlabError` (or a subclass) and never need to know the command line.
"""

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


class SmlabError(Exception):
    """A one-line reason why a request could not be carried out (exit status 2)."""

    exit_code = EXIT_BAD_INPUT


class UsageError(SmlabError):
    """The request itself is wrong: a malformed EUI-64, amount, option combination or file."""


class DeviceRefused(SmlabError):
    """The device answered and refused (a GBCS alert, a keypad REJECTED, an invalid code)."""

    exit_code = EXIT_REFUSED
