"""Command-line conventions of `smlab`, tried as a new user would: --json before or after the
subcommand, JSON errors, documented exit statuses, a closed pipe, private keys kept out of git, one
smlab home whatever the folder, help on every option; and the library never importing the CLI."""
import argparse
import ast
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from host_tools import cli
from host_tools.errors import DeviceRefused, SmlabError, UsageError

BIN = os.path.dirname(sys.executable)
ROOT = pathlib.Path(__file__).resolve().parents[2]
HT = ROOT / "host_tools"
BAD_CHECK_DIGIT = "73943020261442576690"


def smlab(*a, env=None, cwd=None, home=None, **kw):
    e = dict(os.environ if env is None else env)
    if home is not None:
        e["SMLAB_HOME"] = str(home)
    return subprocess.run([os.path.join(BIN, "smlab"), *a], capture_output=True, text=True, timeout=120,
                          env=e, cwd=cwd, **kw)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv") / "pki"
    r = smlab("pki", "create", str(d), "--esme", "1", home=d.parent / "home")
    assert r.returncode == 0, r.stderr
    return d


# -- library / CLI split ---------------------------------------------------------------------------
def _imports(path):
    tree = ast.parse(path.read_text())
    rel = path.relative_to(ROOT).with_suffix("")
    pkg = ".".join(rel.parts[:-1] if rel.name != "__init__" else rel.parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            out.add(base)
            out |= {base + "." + a.name for a in node.names}
    return out


def test_no_library_module_imports_a_cli_module():
    lib = [p for p in HT.rglob("*.py") if "cli" not in p.relative_to(HT).parts[:1]
           and "__pycache__" not in p.parts]
    assert len(lib) > 20
    bad = {}
    for p in lib:
        hits = sorted(m for m in _imports(p) if m == "host_tools.cli" or m.startswith("host_tools.cli.")
                      or re.match(r"host_tools\.cmd_", m))
        if hits:
            bad[str(p.relative_to(ROOT))] = hits
    assert not bad, bad


def test_every_library_error_is_an_smlab_error():
    import importlib
    import pkgutil

    import host_tools

    found = []
    for m in pkgutil.walk_packages(host_tools.__path__, "host_tools."):
        mod = importlib.import_module(m.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == mod.__name__ \
                    and name.endswith("Error") and name != "ArgumentError":
                found.append(obj)
                assert issubclass(obj, SmlabError), "%s.%s" % (mod.__name__, name)
    names = {c.__name__ for c in found}
    assert {"PkiError", "ProvisionError", "UseCaseError", "UtrnError", "HhtError", "WorkOrderError",
            "BoardError", "FlashError", "BuildError", "ScenarioError"} <= names, names
    assert UsageError("x").exit_code == 2 and DeviceRefused("x").exit_code == 1
    assert cli.CliError is UsageError


def test_one_eui_parser_one_atomic_writer_one_serial_policy():
    src = {p: p.read_text() for p in HT.rglob("*.py") if "__pycache__" not in p.parts}
    util = HT / "util.py"
    others = {p: s for p, s in src.items() if p != util}
    assert not [p for p, s in others.items() if re.search(r"def \w*atomic", s)]
    assert not [p for p, s in others.items() if "serial.Serial(" in s or "serial_for_url(" in s]
    assert not [p for p, s in others.items() if re.search(r"def _?(parse_)?eui\(", s)
                and "parse_eui" not in s]


# -- help ------------------------------------------------------------------------------------------
def test_every_option_has_help():
    missing = []
    for p in cli.walk(cli.build_parser()):
        for a in p._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            if not a.help or a.help == argparse.SUPPRESS:
                missing.append("%s %s" % (p.prog, a.option_strings or a.dest))
            if isinstance(a, argparse._SubParsersAction):
                missing += ["%s %s" % (p.prog, c.dest) for c in a._choices_actions if not c.help]
    assert not missing, missing


def test_bench_help_documents_the_scenario_format():
    r = smlab("bench", "--help")
    assert r.returncode == 0
    assert "Scenario format" in r.stdout and '"do": "topup"' in r.stdout and '"real"' in r.stdout


def test_module_clis_speak_the_users_language():
    history = re.compile(r"issue \d|(?:GBCS|host-tools|this|the) issue\b|(?:^|\s)#\d+\b|seed approach", re.I)
    for mod in ("host_tools.boards.vboard", "host_tools.hht.hht", "host_tools.hht.workorder",
                "host_tools.campaigns.demo", "host_tools.codes.vectors"):
        r = subprocess.run([sys.executable, "-m", mod, "--help"], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
        assert r.returncode == 0 and r.stdout.startswith("usage: python -m " + mod), (mod, r.stdout)
        assert not history.search(r.stdout), (mod, r.stdout)
    for p in HT.rglob("*.py"):
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        assert not history.search(doc), p


# -- --json and errors -----------------------------------------------------------------------------
def test_json_after_the_subcommand(tmp_path, keys):
    for argv in (["--json", "sim", "list"], ["sim", "list", "--json"], ["sim", "--json", "list"]):
        r = smlab(*argv, home=tmp_path)
        assert r.returncode == 0 and json.loads(r.stdout) == [], (argv, r.stdout, r.stderr)
    a = json.loads(smlab("--json", "pki", "show", str(keys)).stdout)
    b = json.loads(smlab("pki", "show", str(keys), "--json").stdout)
    assert a == b and len(a["parties"]) == 6


def test_errors_under_json_are_json(tmp_path):
    for argv in (["--json", "pki", "show", str(tmp_path / "none")], ["pki", "show", str(tmp_path / "none"), "--json"]):
        r = smlab(*argv, home=tmp_path)
        assert r.returncode == 2 and r.stdout == ""
        e = json.loads(r.stderr)
        assert e == {"command": "pki", "error": "no key store directory at %s" % (tmp_path / "none"), "exit_code": 2}
    r = smlab("sim", "explode", "--json", home=tmp_path)  # argparse's own errors too
    assert r.returncode == 2 and json.loads(r.stderr)["exit_code"] == 2 and "invalid choice" in r.stderr
    r = smlab("sim", "explode", home=tmp_path)
    assert r.returncode == 2 and "invalid choice" in r.stderr and not r.stderr.startswith("{")


# -- exit statuses ---------------------------------------------------------------------------------
def test_exit_status_invalid_code_is_1_bad_input_2(tmp_path, keys):
    r = smlab("utrn", "explain", BAD_CHECK_DIGIT, home=tmp_path)
    assert r.returncode == 1 and "WRONG" in r.stdout
    r = smlab("--json", "utrn", "explain", "1234", home=tmp_path)
    assert r.returncode == 1 and "invalid" in json.loads(r.stdout)
    c = json.loads(smlab("--json", "utrn", "gen", "--keys", str(keys), "--device", "02534d4c01010001",
                         "--amount", "3").stdout)
    r = smlab("utrn", "explain", c["utrn"], "--keys", str(keys), "--device", "02534d4c01010001")
    assert r.returncode == 0 and "MAC check       ok" in r.stdout
    r = smlab("utrn", "gen", "--keys", str(keys), "--device", "02534d4c0101", "--amount", "3")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--device must be 16 hex digits" in r.stderr
    r = smlab("hht", "apply", "sim:nothere", "--cred", "c.json", "--wo", "w.json", home=tmp_path)
    assert r.returncode == 2 and "no virtual board 'nothere'" in r.stderr


# -- a closed pipe ---------------------------------------------------------------------------------
def test_no_traceback_on_a_closed_pipe(keys):
    r = subprocess.run("%s --json pki show %s | head -1" % (os.path.join(BIN, "smlab"), keys), shell=True,
                       capture_output=True, text=True, timeout=120)
    assert r.stdout == "{\n" and "Traceback" not in r.stderr and r.stderr == ""
    # the reader is gone before smlab writes a byte
    rd, wr = os.pipe()
    os.close(rd)
    p = subprocess.run([os.path.join(BIN, "smlab"), "--json", "pki", "show", str(keys)], stdout=wr,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(wr)
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr and p.returncode == 0, p.stderr


# -- private keys and git --------------------------------------------------------------------------
def _git_repo(path):
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_key_store_is_ignored_by_git_and_warns(tmp_path):
    repo = _git_repo(tmp_path / "work")
    r = smlab("pki", "create", "pki/", cwd=repo, home=tmp_path / "home")
    assert r.returncode == 0
    assert "warning" in r.stderr and "git work tree" in r.stderr and "ignored by git" in r.stderr
    assert (repo / "pki" / ".gitignore").read_text().splitlines()[-1] == "*"
    st = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                        capture_output=True, text=True, check=True).stdout
    assert st == "", st  # `git add .` would add nothing: no private key
    # a credential written into the work tree where git would commit it
    r = smlab("hht", "issue", "--keys", "pki", "--hht-id", "48485400000000a7", "--out", "cred.json",
              cwd=repo, home=tmp_path / "home")
    assert r.returncode == 0 and "git add" in r.stderr and "would commit" in r.stderr
    # JSON warnings under --json
    r = smlab("--json", "hht", "issue", "--keys", "pki", "--hht-id", "48485400000000a8", "--out", "c2.json",
              cwd=repo, home=tmp_path / "home")
    assert json.loads(r.stderr.splitlines()[0])["warning"].startswith("private key in c2.json")


def test_default_outputs_live_in_the_home(tmp_path):
    home = tmp_path / "home"
    repo = _git_repo(tmp_path / "work")
    r = smlab("pki", "create", cwd=repo, home=home)  # no folder: <home>/pki
    assert r.returncode == 0 and str(home / "pki") in r.stdout and r.stderr == ""
    r = smlab("--json", "hht", "issue", "--hht-id", "48485400000000a7", cwd=repo, home=home)
    out = json.loads(r.stdout)["out"]
    assert out == str(home / "credentials" / "hht-48485400000000a7.json") and os.path.exists(out)
    assert (home / "credentials" / ".gitignore").exists()
    r = smlab("--json", "hht", "workorder", "--device", "02534d4c01010001", "ECS45", cwd=repo, home=home)
    assert json.loads(r.stdout)["out"].startswith(str(home / "workorders"))
    assert os.listdir(repo) == [".git"]


def test_the_home_is_the_same_from_any_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SMLAB_HOME"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    outs = {smlab("sim", "list", env=env, cwd=tmp_path / d).stdout for d in ("a", "b/c")}
    assert outs == {"no virtual boards under %s\n" % (tmp_path / "data" / "smlab")}
