"""The frozen-image manifests (host_tools/boards/freeze.py, firmware/**/manifest.py, board/manifest.py):
every module a manifest names exists, every firmware and board module a device imports is named
by one, and each compiles with mpy-cross for the ESP32's Xtensa core (-march=xtensawin), as the
image build (`make BOARD=ESP32_GENERIC FROZEN_MANIFEST=…` in MicroPython's ports/esp32) would.

The tree is walked, not listed, so modules and components added later are checked too.
"""
import os

import pytest

from host_tools.boards import freeze as F
from host_tools.util import ROOT

# Modules left out of the ESP32 image on purpose, each with the reason (the manifests' SKIP lists
# say the same next to the code); every other .py under firmware/ and board/ must be frozen.
NOT_FROZEN = {
    "firmware/compat_cpython.py": "CPython stand-ins; firmware/compat.py imports them only when "
                                  "`micropython` is missing",
    "firmware/crypto/frozen.py": "host-side writer of the G comb table module the image freezes",
    "board/unix.py": "the virtual board (MicroPython unix port)",
    "board/unix_boot.py": "the virtual board's ROM boot script",
    "board/unix_powercut.py": "power-cut injection on the virtual board",
    "board/flash.py": "the simulated NOR flash under the virtual board's littlefs",
}


def walk_modules(top):
    out = set()
    for d, dirs, files in os.walk(os.path.join(ROOT, top)):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            if f.endswith(".py") and f != "manifest.py":
                out.add(os.path.relpath(os.path.join(d, f), ROOT).replace(os.sep, "/"))
    return out


def component_dirs(top):
    """Every directory under top holding Python modules (a package, with or without __init__)."""
    return sorted(os.path.relpath(d, ROOT) for d, dirs, files in os.walk(os.path.join(ROOT, top))
                  if "__pycache__" not in d and any(f.endswith(".py") and f != "manifest.py"
                                                    for f in files))


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    out = tmp_path_factory.mktemp("esp32-frozen")
    path = F.write(str(out))
    return {"path": path, "out": str(out), "resolved": F.resolve(path)}


def test_every_component_has_its_manifest():
    missing = [d for d in component_dirs("firmware") + component_dirs("board")
               if not os.path.isfile(os.path.join(ROOT, d, "manifest.py"))]
    assert not missing, "add a manifest.py (copy a sibling's) to: %s" % ", ".join(missing)


def test_manifests_name_existing_modules_at_their_import_paths(image):
    res = image["resolved"]
    assert res["external"] == [F.PORT_MANIFEST]
    for src, target in res["files"]:
        assert os.path.isfile(src), src
        if target != F.G_TABLE_MODULE:
            # frozen under the path it has in the repository = its import name on the device
            assert os.path.relpath(src, ROOT).replace(os.sep, "/") == target, (src, target)
    read = {os.path.relpath(p, ROOT) for p in res["manifests"] if p.startswith(ROOT)}
    assert {"firmware/manifest.py", "board/manifest.py"} <= read
    assert set(F.component_manifests()) == read


def test_no_device_module_left_out(image):
    frozen = {t for _, t in image["resolved"]["files"]}
    modules = walk_modules("firmware") | walk_modules("board")
    left_out = modules - frozen
    assert left_out == set(NOT_FROZEN), (
        "not frozen and not documented: %s; documented but frozen or gone: %s" % (
            sorted(left_out - set(NOT_FROZEN)), sorted(set(NOT_FROZEN) - left_out)))
    assert frozen - modules == {F.G_TABLE_MODULE}


def test_g_table_module_matches_the_shipped_table(image):
    ns = {}
    with open(os.path.join(image["out"], F.G_TABLE_MODULE)) as f:
        exec(f.read(), ns)
    from firmware.crypto.gtable import G_WIDTH, g_table_path

    with open(g_table_path(), "rb") as f:
        assert ns["W"] == G_WIDTH and ns["TABLE"] == f.read()


def test_every_frozen_module_compiles_for_xtensawin(image, tmp_path):
    mods = F.compile_all(image["path"], str(tmp_path))
    assert len(mods) == len(image["resolved"]["files"])
    assert all(size > 0 for _, size in mods)


def test_missing_module_is_reported(tmp_path):
    (tmp_path / "manifest.py").write_text('module("firmware/nope.py", base_path=%r)\n' % ROOT)
    with pytest.raises(F.FreezeError, match="nope.py"):
        F.resolve(str(tmp_path))


def test_every_import_of_a_frozen_module_resolves_on_the_esp32(image):
    """No frozen module imports, outside a CPython fallback, a module the image lacks (a firmware
    or board module left out, or one the ESP32 port does not provide)."""
    assert F.unresolved_imports(image["path"]) == []


def test_an_unresolved_import_is_reported(tmp_path):
    pkg = tmp_path / "firmware"
    pkg.mkdir()
    (pkg / "probe.py").write_text(
        "import termios\n"  # the unix port has it, an ESP32 image does not
        "from firmware.alerts import Reject\n"  # not frozen by this manifest
        "try:\n    import micropython\nexcept ImportError:\n    import ctypes\n"  # a CPython fallback
        "import sys\nif sys.platform == 'esp32':\n    import esp32\nelse:\n    import fcntl\n")
    (tmp_path / "manifest.py").write_text('module("firmware/probe.py", base_path=%r)\n' % str(tmp_path))
    assert F.unresolved_imports(str(tmp_path / "manifest.py")) == [
        ("firmware/probe.py", 1, "termios"), ("firmware/probe.py", 2, "firmware.alerts"),
        ("firmware/probe.py", 2, "firmware.alerts.Reject")]
