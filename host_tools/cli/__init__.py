"""`smlab`: one command line for the bench — keys, signing, flashing, provisioning, boards, codes.

Each subcommand lives in host_tools/cli/cmd_<name>.py with `register(subparsers)` adding its parser
and setting `func(args) -> result`; the work itself is done by the library (host_tools.keys,
.gbcs, .codes, .hht, .boards, .campaigns). A result is a dict: "text" (human output), "data" (what
--json prints) and optionally "exit_code".

Conventions: human output by default, JSON with --json (before or after the subcommand). Exit
status 0 success, 1 the device refused, 2 bad input or a request that could not be carried out.
Errors are one line on stderr: `smlab CMD: error: REASON`, or with --json one JSON object
{"command", "error", "exit_code"}. Warnings and notices go to stderr the same way.
"""
import argparse
import importlib
import json
import os
import sys

from host_tools.errors import EXIT_BAD_INPUT, SmlabError, UsageError

# subcommand modules, in the order `smlab --help` lists them
COMMANDS = ("pki", "build", "sim", "flash", "provision", "send", "hub", "han", "premises", "gas", "utrn", "keypad", "hht", "logs", "bench",
            "lab")
OPTIONAL = ("rtds",)  # registered when its module is installed

CliError = UsageError  # the name subcommand modules raise for bad input

EPILOG = """exit status: 0 success, 1 the device refused (keypad REJECTED, an INVALID code, a work-order
item refused or missing, a command the meter rejected), 2 bad input or a request that could not be
carried out. --json works before or after the subcommand; errors under --json are one JSON line
{"command", "error", "exit_code"} on stderr. Files are kept under $SMLAB_HOME (default
~/.local/share/smlab): virtual boards, the default key store <home>/pki, credentials, work orders."""


class ArgumentError(Exception):
    """argparse found bad arguments (raised instead of exiting, so --json can report it)."""

    def __init__(self, parser, message):
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ArgumentError(self, message)


def _command_module(name):
    for mod in ("host_tools.cli.cmd_" + name, "host_tools.cmd_" + name):
        try:
            return importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    return None


def _subparsers(parser):
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            yield a


def walk(parser):
    """Every parser of the tree, depth first (the top one first)."""
    yield parser
    for a in _subparsers(parser):
        for p in a.choices.values():
            yield from walk(p)


def build_parser():
    ap = Parser(prog="smlab", description=__doc__.splitlines()[0], epilog=EPILOG)
    ap.add_argument("--json", action="store_true", help="machine-readable output (also accepted after the subcommand)")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser,
                            help="one of the commands below; `smlab COMMAND --help` for its options")
    sub.required = True
    for name in COMMANDS + OPTIONAL:
        mod = _command_module(name)
        if mod is not None:
            mod.register(sub)
    for p in walk(ap):
        if p is not ap and "--json" not in p._option_string_actions:
            p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                           help="machine-readable output")
        home = p._option_string_actions.get("--home")
        if home is not None:  # accepted at every level below the one that declares it
            for child in walk(p):
                if child is not p and "--home" not in child._option_string_actions:
                    child.add_argument("--home", default=argparse.SUPPRESS, help=home.help)
    return ap


def _json_requested(argv):
    return "--json" in (argv if argv is not None else sys.argv[1:])


def _stderr(line):
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass


def report(kind, message, as_json, command=None, exit_code=None):
    """A one-line error / warning / notice on stderr, as text or JSON."""
    if as_json:
        d = {kind: message}
        if command:
            d["command"] = command
        if exit_code is not None:
            d["exit_code"] = exit_code
        _stderr(json.dumps(d, sort_keys=True))
    else:
        _stderr("smlab%s: %s: %s" % (" " + command if command else "", kind, message))


_ARGS = None


def warn(message):
    """A warning on stderr from a subcommand (JSON when --json)."""
    report("warning", message, bool(getattr(_ARGS, "json", False)), getattr(_ARGS, "command", None))


def emit(args, result):
    """Print a command's result: JSON with --json, else its 'text' (or a key: value listing)."""
    if result is None:
        return
    if args.json:
        print(json.dumps(result.get("data", result) if isinstance(result, dict) else result,
                         indent=1, sort_keys=True, default=str))
        return
    text = result.get("text") if isinstance(result, dict) else None
    if text is not None:
        print(text)
    elif isinstance(result, dict):
        for k, v in result.items():
            print("%s: %s" % (k, v))
    else:
        print(result)


def _notices(args):
    """Say so when a power cut armed on a virtual board under the home has fired since."""
    from host_tools.boards import registry

    try:
        cuts = registry.new_power_cuts(getattr(args, "home", None))
    except (OSError, SmlabError):
        return
    for name, event in cuts:
        report("notice", "virtual board %s: %s; it restarted from its flash image as the cut left it"
               % (name, event), args.json, args.command)


def _silence_stdout():
    # the reader went away (`smlab ... | head -1`): drop the rest of the output quietly
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv=None):
    global _ARGS
    as_json = _json_requested(argv)
    code = 0
    try:
        ap = build_parser()
        try:
            args = ap.parse_args(argv)
        except ArgumentError as e:
            if as_json:
                report("error", str(e), True, exit_code=EXIT_BAD_INPUT)
            else:
                e.parser.print_usage(sys.stderr)
                _stderr("%s: error: %s" % (e.parser.prog, e))
            return EXIT_BAD_INPUT
        _ARGS = args
        _notices(args)
        try:
            result = args.func(args)
        except SmlabError as e:
            report("error", str(e), args.json, args.command, e.exit_code)
            return e.exit_code
        except (OSError, ValueError, TimeoutError) as e:
            if isinstance(e, BrokenPipeError):
                raise
            report("error", str(e), args.json, args.command, EXIT_BAD_INPUT)
            return EXIT_BAD_INPUT
        code = result.pop("exit_code", 0) if isinstance(result, dict) else 0
        emit(args, result)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return code
    except KeyboardInterrupt:
        _stderr("smlab: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
