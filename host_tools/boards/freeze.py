"""The manifest of a MicroPython image with the firmware frozen into flash, for ESP32 boards without
PSRAM (~100 KB of Python heap: the `.mpy` deployment does not fit there, docs/board-memory.md).

Every firmware component carries a `manifest.py` in MicroPython's manifest language
(firmware/manifest.py freezes the application modules and includes each component's manifest;
board/manifest.py freezes the ESP32 board). write(out_dir) writes the image's top-level manifest:

    include("$(PORT_DIR)/boards/manifest.py")      the ESP32 port's own frozen modules
    include("<repo>/firmware")                      firmware/manifest.py and the components
    include("<repo>/board")                         board/manifest.py
    module("firmware/crypto/p256_gtab.py", base_path="<out_dir>")

The last line freezes the P-256 generator's comb table as a bytes constant (generated here by
firmware.crypto.frozen), which firmware.crypto.gtable prefers: a frozen constant is read from flash
and costs no heap. The image is built in MicroPython's tree with
`make BOARD=ESP32_GENERIC FROZEN_MANIFEST=<out_dir>/manifest.py` (ports/esp32).

resolve(path) evaluates a manifest on the host with this module's own reading of the documented
manifest functions (include, package, module, metadata, options) and returns what it freezes, so
tests can check the manifests without MicroPython's source tree; compile_all() compiles every
frozen module with mpy-cross for the ESP32's Xtensa core as the image build would, and
unresolved_imports() finds every import a frozen module would fail on at boot (a firmware or board
module the image does not hold, or a module the ESP32 port does not provide).
"""
import ast
import os
import subprocess

from host_tools.boards import build as B
from host_tools.errors import SmlabError
from host_tools.util import ROOT

PORT_MANIFEST = "$(PORT_DIR)/boards/manifest.py"
G_TABLE_MODULE = "firmware/crypto/p256_gtab.py"
MARCH = "xtensawin"


class FreezeError(SmlabError):
    """A manifest names a missing file, uses a function this evaluator does not model, or an
    mpy-cross compile failed (the message names the file)."""


class _Options:
    """The `options` object a manifest sees: keyword arguments of the include() that ran it."""

    def __init__(self, kwargs):
        self._kwargs = dict(kwargs)
        self._defaults = {}

    def defaults(self, **kwargs):
        self._defaults = kwargs

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._kwargs.get(name, self._defaults.get(name))


class _Manifest:
    """One evaluation: the files frozen (source path, frozen path), the manifests read, and the
    includes left to the image build (paths with variables such as $(PORT_DIR) not given)."""

    def __init__(self, path_vars):
        self.path_vars = dict(path_vars or {})
        self.files = []
        self.missing = []
        self.visited = []
        self.external = []
        self.meta = None

    def _resolve(self, path):
        for k, v in self.path_vars.items():
            path = path.replace("$(%s)" % k, v)
        return path if "$(" in path else os.path.abspath(path)

    def _globals(self, kwargs):
        refuse = lambda name: lambda *a, **k: self._refuse(name)  # noqa: E731
        return {"include": self.include, "package": self.package, "module": self.module,
                "metadata": self.metadata, "options": _Options(kwargs),
                "require": refuse("require"), "c_module": refuse("c_module"),
                "freeze": refuse("freeze"), "add_library": refuse("add_library")}

    def _refuse(self, name):
        raise FreezeError("%s(): not modelled here (the firmware manifests freeze local files only)"
                          % name)

    def _add(self, full, target):
        if not os.path.isfile(full):
            self.missing.append(full)
        self.files.append((full, target.replace(os.sep, "/")))

    def include(self, manifest_path, **kwargs):
        if not isinstance(manifest_path, str):
            for m in manifest_path:
                self.include(m, **kwargs)
            return
        path = self._resolve(manifest_path)
        if "$(" in path:
            self.external.append(manifest_path)
            return
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self.visited:
            return
        self.visited.append(path)
        try:
            with open(path) as f:
                code = compile(f.read(), path, "exec")
        except (OSError, SyntaxError) as e:
            raise FreezeError("%s: %s" % (path, e))
        cwd = os.getcwd()
        os.chdir(os.path.dirname(path))  # as the image build does: paths are relative to the manifest
        try:
            exec(code, self._globals(kwargs))
        finally:
            os.chdir(cwd)

    def package(self, package_path, files=None, base_path=".", opt=None):
        base = self._resolve(base_path)
        if files is None:
            names = []
            for d, dirs, fs in os.walk(os.path.join(base, package_path)):
                dirs.sort()
                names += [os.path.relpath(os.path.join(d, f), base) for f in sorted(fs)
                          if f.endswith(".py")]
        else:
            names = [os.path.join(package_path, f) for f in files]
        for t in names:
            self._add(os.path.join(base, t), t)

    def module(self, module_path, base_path=".", opt=None):
        if not module_path.endswith(".py"):
            raise FreezeError("module(%r): not a .py file" % module_path)
        self._add(os.path.join(self._resolve(base_path), module_path), module_path)

    def metadata(self, **kwargs):
        if kwargs:
            if self.meta is not None:
                raise FreezeError("metadata() called twice in one package (the image build refuses)")
            self.meta = kwargs
        return self.meta


def resolve(manifest_path, path_vars=None):
    """Evaluate a manifest (file or directory holding manifest.py): {"files": [(source, frozen
    path)], "manifests": [paths read], "external": [includes left to the image build]}. Raises
    FreezeError when a named file is missing or a frozen path appears twice."""
    m = _Manifest(path_vars)
    m.include(os.path.abspath(manifest_path))
    if m.missing:
        raise FreezeError("manifest names missing files: %s" % ", ".join(m.missing))
    seen = set()
    for _, target in m.files:
        if target in seen:
            raise FreezeError("%s is frozen twice" % target)
        seen.add(target)
    return {"files": m.files, "manifests": m.visited, "external": m.external}


def component_manifests(root=ROOT):
    """The firmware's own manifests: firmware/manifest.py, one per component directory, and
    board/manifest.py (paths relative to root)."""
    return [os.path.relpath(p, root) for p in resolve(os.path.join(root, "firmware"))["manifests"]
            + resolve(os.path.join(root, "board"))["manifests"]]


def write(out_dir, root=ROOT, port_manifest=PORT_MANIFEST):
    """Write out_dir/manifest.py (the image's top-level manifest) and the generated G comb table
    module next to it; returns the manifest's absolute path."""
    from firmware.crypto.frozen import write_frozen_module

    out_dir = os.path.abspath(out_dir)
    gtab = os.path.join(out_dir, G_TABLE_MODULE)
    os.makedirs(os.path.dirname(gtab), exist_ok=True)
    write_frozen_module(gtab)
    root = os.path.abspath(root)
    lines = [
        "# The manifest of a MicroPython ESP32 image with the smart-meter firmware frozen into flash.",
        "# Written by host_tools/boards/freeze.py; build in MicroPython's ports/esp32 with",
        "#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=%s" % os.path.join(out_dir, "manifest.py"),
        "# (docs/board-memory.md). Regenerate rather than edit.",
        "include(%r)  # the port's own frozen modules" % port_manifest if port_manifest else None,
        "include(%r)" % os.path.join(root, "firmware"),
        "include(%r)" % os.path.join(root, "board"),
        "# the P-256 generator's comb table as a bytes constant (read from flash by gtable.py)",
        "module(%r, base_path=%r)" % (G_TABLE_MODULE, out_dir),
        "",
    ]
    path = os.path.join(out_dir, "manifest.py")
    with open(path, "w") as f:
        f.write("\n".join(ln for ln in lines if ln is not None))
    return path


# Modules an ESP32_GENERIC image of MicroPython provides without the firmware: built in
# (docs.micropython.org, "MicroPython libraries" and "Quick reference for the ESP32") or frozen by
# the port's own manifest ($(PORT_DIR)/boards/manifest.py).
ESP32_MODULES = frozenset((
    "array", "asyncio", "binascii", "bluetooth", "btree", "cmath", "collections", "cryptolib",
    "deflate", "errno", "esp", "esp32", "espnow", "framebuf", "gc", "hashlib", "heapq", "io",
    "json", "machine", "math", "micropython", "network", "os", "platform", "random", "re",
    "select", "socket", "ssl", "struct", "sys", "time", "tls", "uctypes", "vfs",
    "dht", "neopixel", "ntptime", "onewire", "webrepl",
))
PACKAGES = ("firmware", "board")


def _is_esp32_test(node):
    """`sys.platform == "esp32"` (either side)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return False
    sides = [node.left] + node.comparators
    return (any(isinstance(x, ast.Attribute) and x.attr == "platform" for x in sides)
            and any(isinstance(x, ast.Constant) and x.value == "esp32" for x in sides))


def _imports(tree, module):
    """[(line, imported module, guarded)] of one module's source tree. An import is guarded when it
    can only run off the ESP32: in an `except ImportError` handler (a CPython fallback) or in the
    else branch of `if sys.platform == "esp32"`. `from P import n` yields P.n as well as P, since n
    may be a submodule."""
    out = []

    def visit(node, guarded):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, guarded) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[:-node.level]
                base = ".".join(parts + ([base] if base else []))
            out.append((node.lineno, base, guarded))
            out.extend((node.lineno, base + "." + a.name, guarded) for a in node.names)
        if isinstance(node, ast.ExceptHandler):
            names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            guarded = guarded or any(isinstance(n, ast.Name) and n.id == "ImportError" for n in names)
        if isinstance(node, ast.If) and _is_esp32_test(node.test):
            visit(node.test, guarded)
            for n in node.body:
                visit(n, guarded)
            for n in node.orelse:
                visit(n, True)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return out


def unresolved_imports(manifest_path):
    """[(frozen path, line, module)]: every unguarded import in a module the manifest freezes that
    an ESP32 image built from it would not find: a firmware/board module not frozen, or another
    module that is neither frozen nor in ESP32_MODULES. (`from firmware.x import name` is fine when
    firmware.x is frozen and name is not a module of the repository.)"""
    files = resolve(manifest_path)["files"]
    frozen = set()
    for _, target in files:
        name = target[:-3].replace("/", ".")
        frozen.add(name[:-len(".__init__")] if name.endswith(".__init__") else name)
    packages = {m.rsplit(".", 1)[0] for m in frozen if "." in m} | set(PACKAGES)
    out = []
    for src, target in files:
        with open(src) as f:
            tree = ast.parse(f.read(), src)
        module = target[:-3].replace("/", ".")
        if module.endswith(".__init__"):
            module = module[:-len(".__init__")] + ".__init__"
        for line, name, guarded in _imports(tree, module):
            if guarded or not name or name in frozen or name in packages:
                continue
            root = name.split(".")[0]
            if root in PACKAGES:
                parent = name.rsplit(".", 1)[0]
                rel = os.path.join(ROOT, *name.split("."))
                if parent in frozen and not (os.path.isfile(rel + ".py") or os.path.isdir(rel)):
                    continue  # a name defined in a frozen module
                out.append((target, line, name))
            elif "." not in name and root not in ESP32_MODULES:
                out.append((target, line, name))
            elif "." in name and root not in ESP32_MODULES and name.rsplit(".", 1)[0] not in frozen:
                if (target, line, root) not in out:
                    out.append((target, line, root))
    return out


def compile_all(manifest_path, out_dir, march=MARCH):
    """Compile every module the manifest freezes with mpy-cross -march=<march> into out_dir (as
    frozen paths with .mpy); returns [(frozen path, .mpy size)]. Raises FreezeError naming the
    first module mpy-cross refuses."""
    out = []
    for src, target in resolve(manifest_path)["files"]:
        dst = os.path.join(out_dir, target[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        r = subprocess.run([B.mpy_cross_bin(), "-march=" + march, "-s", target, "-o", dst, src],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise FreezeError("%s: %s" % (target, (r.stderr or r.stdout).strip()[-300:]))
        out.append((target, os.path.getsize(dst)))
    return out


def main(argv=None):
    """`python -m host_tools.boards.freeze [OUT_DIR]` (the Makefile's freeze-manifest target):
    write the manifest, compile every frozen module for the ESP32 and print the build command."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    out_dir = os.path.abspath(args[0] if args else os.path.join(ROOT, "build", "esp32-frozen"))
    path = write(out_dir)
    mods = compile_all(path, os.path.join(out_dir, "mpy-check"))
    gtab = sum(s for t, s in mods if t == G_TABLE_MODULE)
    print("wrote %s: %d modules frozen, %.1f KB of %s bytecode (%.1f KB of it the G comb table)" % (
        path, len(mods), sum(s for _, s in mods) / 1024, MARCH, gtab / 1024))
    print("build the image in MicroPython's ports/esp32:\n  make BOARD=ESP32_GENERIC FROZEN_MANIFEST=%s"
          % path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
