"""Arguments several subcommands share (--home, --keys) and how they resolve."""
import os

from host_tools.util import smlab_home


def add_home(p):
    p.add_argument("--home", help="smlab home holding virtual boards and default files "
                                  "(default $SMLAB_HOME, else ~/.local/share/smlab)")


def add_keys(p, required=False, what="key store"):
    p.add_argument("--keys", required=required, metavar="DIR",
                   help="%s directory (default <home>/pki, as `smlab pki create` makes it)" % what)


def keys(args):
    """The key store of a command: --keys, else <home>/pki."""
    return args.keys or os.path.join(smlab_home(getattr(args, "home", None)), "pki")


def default_file(args, folder, name):
    """<home>/<folder>/<name>, the folder created and ignored by git (it may hold private keys)."""
    from host_tools.util import ignore_all

    d = os.path.join(smlab_home(getattr(args, "home", None)), folder)
    os.makedirs(d, exist_ok=True)
    ignore_all(d)
    return os.path.join(d, name)
