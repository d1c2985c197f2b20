"""Rules of the source tree read from its syntax: class names are unique across the device and host
packages (two classes of one name are two things a reader confuses), and no module reaches into
another module's private names (`from x import _y`, `x._y`): what modules share is their public API."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ("firmware", "board", "host_tools")
# The board HAL: one Board per platform, the same interface under one name (board/__init__.py
# imports the one its platform runs).
SAME_INTERFACE = {"Board": {"board/esp32.py", "board/unix.py"}}


def _sources(tops):
    for top in tops:
        for root, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith(".py"):
                    p = os.path.join(root, f)
                    with open(p) as fh:
                        yield os.path.relpath(p, ROOT), ast.parse(fh.read(), p)


def test_no_two_classes_share_a_name():
    where = {}
    for rel, tree in _sources(PACKAGES):
        for n in ast.walk(tree):
            if isinstance(n, ast.ClassDef):
                where.setdefault(n.name, set()).add(rel)
    dup = {k: sorted(v) for k, v in where.items()
           if len(v) > 1 and not v <= SAME_INTERFACE.get(k, set())}
    assert not dup, dup


def _private_uses(tree):
    """[(line, 'module._name')] of one module: private names imported from, or read off, a module of
    the project."""
    own = set()
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                if a.name.split(".")[0] in PACKAGES:
                    own.add(a.asname or a.name.split(".")[0])
        elif isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] in PACKAGES and not n.level:
            for a in n.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    out.append((n.lineno, n.module + "." + a.name))
                own.add(a.asname or a.name)
    for n in ast.walk(tree):
        if (isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                and isinstance(n.value, ast.Name) and n.value.id in own):
            out.append((n.lineno, n.value.id + "." + n.attr))
    return out


def test_no_module_uses_another_modules_private_names():
    bad = ["%s:%d %s" % (rel, line, name) for rel, tree in _sources(PACKAGES + ("bench",))
           for line, name in _private_uses(tree)]
    assert not bad, bad


def test_the_rule_finds_a_private_import():
    tree = ast.parse("from firmware.crypto import ecmul\nfrom firmware.gbcs.dlms import _x\necmul._mul(1, 2, 3)\n")
    assert _private_uses(tree) == [(2, "firmware.gbcs.dlms._x"), (3, "ecmul._mul")]


# The firmware's layers, lowest first (README "Architecture"): a module imports from its own layer or a
# lower one, never a higher one (imports inside functions and module names built for __import__
# included).
LAYERS = (
    ("base", ("alerts", "alert_names", "compat", "compat_cpython", "gcpolicy")),
    ("crypto", ("crypto",)),
    ("codecs", ("gbcs", "zigbee", "store")),
    ("secure core", ("core",)),
    ("device roles", ("roles", "meter", "gas", "hub", "utrn")),
    ("transports", ("optical", "han", "wan", "frontpanel")),
    ("application", ("app", "provisioning")),
)
_LEVEL = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}


def _firmware_imports(tree):
    """[(line, top-level firmware package or module)] a module imports."""
    out = []
    for n in ast.walk(tree):
        mods = []
        if isinstance(n, ast.ImportFrom) and n.module and not n.level:
            mods = [n.module]
        elif isinstance(n, ast.Import):
            mods = [a.name for a in n.names]
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and " " not in n.value:
            mods = [n.value]  # a name handed to __import__ ("firmware.meter.ic_%d")
        out.extend((n.lineno, m.split(".")[1]) for m in mods
                   if m.startswith("firmware.") and len(m.split(".")) > 1)
    return out


def test_firmware_layers_import_downwards_only():
    bad = []
    for rel, tree in _sources(("firmware",)):
        parts = rel.split(os.sep)
        if parts[-1] == "manifest.py" or rel == os.path.join("firmware", "__init__.py"):
            continue
        own = parts[1][:-3] if len(parts) == 2 else parts[1]
        assert own in _LEVEL, "%s: give firmware/%s a layer in LAYERS" % (rel, own)
        for line, dep in _firmware_imports(tree):
            assert dep in _LEVEL, "%s:%d imports firmware.%s, which has no layer" % (rel, line, dep)
            if _LEVEL[dep] > _LEVEL[own]:
                bad.append("%s:%d (%s) imports firmware.%s (%s)" % (
                    rel, line, LAYERS[_LEVEL[own]][0], dep, LAYERS[_LEVEL[dep]][0]))
    assert not bad, bad


def test_sources_and_docs_cite_no_issue_numbers():
    """Code and docs cite the specification, not the tracker: no 'issue 12', 'issue #3', '(#7)'."""
    import re

    pat = re.compile(r"\bissues? #?\d+|\(#\d+\)", re.I)
    bad = []
    for top in PACKAGES + ("bench", "tests", "docs"):
        for root, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".py", ".md")):
                    p = os.path.join(root, f)
                    with open(p, encoding="utf-8") as fh:
                        for i, line in enumerate(fh, 1):
                            if pat.search(line) and p != os.path.abspath(__file__):
                                bad.append("%s:%d" % (os.path.relpath(p, ROOT), i))
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        bad += ["README.md:%d" % i for i, line in enumerate(fh, 1) if pat.search(line)]
    assert not bad, bad
