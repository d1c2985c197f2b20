"""Test helpers shared by pytest (CPython) and tests/mp_harness.py (MicroPython unix port).

Tests in tests/unit are plain `def test_*():` functions with `assert`; they import only firmware/board
code and this module, so the same file runs under both interpreters.
"""
import os


class Skip(Exception):
    """Raised to skip a test when something outside the project (e.g. ../shared) is absent."""


def skip(reason):
    try:
        import pytest
    except ImportError:
        raise Skip(reason)
    pytest.skip(reason)


def raises(exc_type, fn, *args, **kwargs):
    """Call fn and return the exception of exc_type it raised; fail if it raised nothing."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %r" % (exc_type.__name__, fn))


def rmtree(p):
    """Remove a directory tree (MicroPython has no shutil)."""
    for name in os.listdir(p):
        q = p + "/" + name
        if os.stat(q)[0] & 0x4000:
            rmtree(q)
        else:
            os.remove(q)
    os.rmdir(p)


def _dirname(p):
    i = p.rfind("/")
    return p[:i] if i > 0 else "/"


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


# repo root = two levels above this file (tests/unit/_t.py)
ROOT = _dirname(_dirname(_dirname(__file__))) if __file__.startswith("/") else _dirname(
    _dirname(_dirname(os.getcwd() + "/" + __file__))
)
SHARED = _dirname(ROOT) + "/shared"


def shared_path(*parts):
    """Path inside ../shared, or skip the calling test when that file is not present."""
    p = SHARED + "/" + "/".join(parts)
    if not _exists(p):
        skip("../shared/%s not present" % "/".join(parts))
    return p


def unhex(s):
    import binascii

    return binascii.unhexlify(s.replace(" ", "").replace("\n", ""))


def hexs(b):
    import binascii

    return binascii.hexlify(b).decode()
