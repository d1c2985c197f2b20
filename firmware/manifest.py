# Frozen-image manifest of the firmware package: the application modules of this directory (app,
# alerts, provisioning, gcpolicy, ...) and every component sub-directory (crypto, store, gbcs,
# core, roles, meter, utrn, optical, ...) through its own manifest.py. Written in MicroPython's
# manifest language; directories and modules are discovered, so a module or component added to
# firmware/ is frozen without editing this file. Paths are relative to this file (the manifest
# tools run it from this directory). host_tools/boards/freeze.py writes the image's top-level
# manifest, which includes this one; docs/board-memory.md says how to build and flash the image.
import os

# compat_cpython.py: CPython stand-ins for micropython.const and time.ticks_*; firmware/compat.py
# imports it only where `micropython` is missing, so a device never does.
SKIP = ("manifest.py", "compat_cpython.py")

for name in sorted(os.listdir(".")):
    if name.endswith(".py") and name not in SKIP:
        module("firmware/" + name, base_path="..")
    elif os.path.isdir(name) and any(f.endswith(".py") for f in os.listdir(name)):
        if os.path.isfile(os.path.join(name, "manifest.py")):
            include(name)
        else:
            # a component without its own manifest yet: all of its modules
            # (tests/host/test_manifest.py asks for the manifest.py)
            package("firmware/" + name, base_path="..")
