"""Loaders for the project's own GBCS fixtures (tests/vectors/gbcs), shared by the test modules that
use them (kept out of _t, which every heap-limited module imports)."""
import _t


def vec(name):
    """Bytes of tests/vectors/gbcs/<name>.hex."""
    with open(_t.ROOT + "/tests/vectors/gbcs/" + name + ".hex") as f:
        return _t.unhex(f.read().strip())


def keys():
    """tests/vectors/gbcs/own_keys.json: the fixtures' test keys and EUIs."""
    import json

    with open(_t.ROOT + "/tests/vectors/gbcs/own_keys.json") as f:
        return json.load(f)
