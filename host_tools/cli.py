"""`smlab`: one command line for the bench — keys, signing, flashing, provisioning, boards, codes.

Each subcommand lives in host_tools/cmd_<name>.py with `register(subparsers)` adding its parser and
setting `func(args) -> result`. Human output by default, `--json` for machines; bad input exits 2
with a one-line reason on stderr.
"""
import argparse
import importlib
import json
import sys

# subcommand modules, in the order `smlab --help` lists them
COMMANDS = ("pki", "build", "sim", "flash", "provision", "utrn", "keypad", "hht", "logs", "bench")


class CliError(Exception):
    """A one-line reason for a non-zero exit."""


def build_parser():
    ap = argparse.ArgumentParser(prog="smlab", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module("host_tools.cmd_" + name).register(sub)
    return ap


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


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    from host_tools.boards import BoardError
    from host_tools.pki import PkiError
    from host_tools.usecases import UseCaseError

    try:
        result = args.func(args)
    except (CliError, PkiError, BoardError, OSError, ValueError, TimeoutError, UseCaseError) as e:
        print("smlab %s: error: %s" % (args.command, e), file=sys.stderr)
        return 2
    emit(args, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
