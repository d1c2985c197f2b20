"""`smlab rtds`, the RTDS conformance runner (host_tools/gbcs/runner.py): the ESME role in process runs
all 297 RTDS commands addressed to 00DB1234567890A0 with every response verified on the host; the
JSON summary, JUnit XML and .HEX outputs are readable by other tools; an altered response is caught
(signature, MAC, content); bad input exits 2; a virtual board reached through its optical port gives
the same verdicts as the role in process for every command it can receive (bench/bench_rtds_vboard.py
times both runs), reset per use case from its saved flash image, and also driven as a
real board is (optical port + REPL console, store snapshot on the board); `smlab send --raw`
delivers RTDS bytes and verifies the answer. Skips when ../shared/interop is absent."""
import binascii
import glob
import json
import os
import xml.etree.ElementTree as ET

import pytest

from host_tools.gbcs import corpus as C

pytestmark = pytest.mark.skipif(not C.available(), reason="../shared/interop RTDS corpus not present")

from conftest import smlab_runner  # noqa: E402
from firmware.gbcs import frame  # noqa: E402
from host_tools.gbcs import runner  # noqa: E402
from host_tools.gbcs import verify as V  # noqa: E402

IMPLEMENTED = ("ECS42", "ECS43", "ECS44", "ECS45", "ECS02", "ECS03")
COUNTS = ("commands", "authenticated", "verified", "success_total", "success_content_equal",
          "error_total", "error_content_equal")


@pytest.fixture(scope="module")
def keys():
    return C.Keystore(C.KEYSTORE)


@pytest.fixture(scope="module")
def esme():
    return runner.role("esme")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The whole corpus in process through the command line, with every output."""
    tmp = tmp_path_factory.mktemp("rtds")
    run = smlab_runner(tmp / "home")
    junit, out = tmp / "rtds.xml", tmp / "responses"
    r = run("rtds", "--role", "esme", "--json", "--junit", str(junit), "--out", str(out),
            "--report", str(tmp / "report.json"))
    return json.loads(r.stdout), junit, out, json.load(open(tmp / "report.json"))


def test_in_process_all_297_authenticated_and_verified(cli_run):
    s, _, _, rep = cli_run
    assert s["role"] == "esme" and s["device"] == "in-process" and s["ok"] is True
    assert (s["commands"], s["authenticated"], s["verified"]) == (297, 297, 297)
    assert (s["success_total"], s["error_total"]) == (173, 124)
    assert len(s["use_cases"]) == s["use_case_count"] == 126
    for k in COUNTS:  # the totals are the sums of the use cases, and of the commands
        assert s[k] == sum(u[k] for u in s["use_cases"]), k
    results = [r for u in rep["use_cases"] for r in u["results"]]
    assert len(results) == 297 and all(r["verified"] for r in results)
    eq = [r for r in results if r["content_equal"]]
    assert s["success_content_equal"] == sum(r["variant"] == "SUCCESS" for r in eq)
    assert s["error_content_equal"] == sum(r["variant"] == "ERROR" for r in eq)
    # the use cases the ESME implements answer as RTDS does
    for u in rep["use_cases"]:
        if u["name"].split("_", 1)[1] in IMPLEMENTED:
            assert u["success_content_equal"] == u["success_total"] > 0, u["name"]


def test_outputs_readable(cli_run, keys, esme):
    s, junit, out, rep = cli_run
    root = ET.parse(str(junit)).getroot()
    cases = root.findall(".//testcase")
    assert root.tag == "testsuites" and len(cases) == 297 and not root.findall(".//failure")
    assert len(root.findall("testsuite")) == 126
    files = sorted(glob.glob(os.path.join(str(out), "*", "*_RESPONSE_GBCS.HEX")))
    assert len(files) == 297
    cmds = {c.name.replace("_COMMAND_", "_RESPONSE_"): c for uc in runner.use_cases(C.RTDS, esme.eui)
            for c in uc.commands}
    for f in files:
        text = open(f).read()
        assert text == text.strip().upper()
        m = frame.parse(binascii.unhexlify(text))
        c = cmds[os.path.basename(f)]
        assert m.cra == frame.CRA_RESPONSE and m.counter == c.msg.counter and m.recipient == c.msg.originator
        if m.signature:  # independently of the runner: the device DS key of the RTDS ESME
            assert V.verify_signature(C.esme_ds_pub(), m), f


def _one(name, keys, esme):
    uc = runner.use_cases(C.RTDS, esme.eui, [name])[0]
    dev = runner.InProcess(esme, keys)
    dev.begin(uc)
    try:
        return uc.commands[0], dev.send(uc.commands[0].raw)
    finally:
        dev.close()


def test_altered_responses_are_caught(keys, esme):
    # signed response (ECS42 SUCCESS): one flipped content bit breaks the signature
    cmd, raw = _one("ECS42", keys, esme)
    assert runner.check(cmd, raw, esme, keys)[:3] == (True, "", True)
    m = frame.parse(raw)
    i = len(raw) - len(m.signature) - 2
    bad = raw[:i] + bytes((raw[i] ^ 1,)) + raw[i + 1:]
    ok, why, _, _ = runner.check(cmd, bad, esme, keys)
    assert not ok and "signature" in why
    # re-signed by the device key with different content: verified, but not content-equal
    m.content = m.content[:-1] + bytes((m.content[-1] ^ 1,))
    m.signature = None
    body, _ = frame.build_grouping(m)
    ds = __import__("cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ec"])
    key = ds.derive_private_key(int.from_bytes(esme.ds_priv, "big"), ds.SECP256R1())
    m.signature = V.sign(key, body[1:])
    resigned = frame.build(m)
    ok, why, equal, _ = runner.check(cmd, resigned, esme, keys)
    assert ok and equal is False
    # MAC'd response (ECS45): a flipped bit breaks the MAC
    cmd, raw = _one("ECS45", keys, esme)
    assert runner.check(cmd, raw, esme, keys)[0]
    bad = raw[:-14] + bytes((raw[-14] ^ 0x80,)) + raw[-13:]  # last content byte
    ok, why, _, _ = runner.check(cmd, bad, esme, keys)
    assert not ok and "MAC" in why
    # a response to another command (counter not echoed) is not accepted either
    other = runner.use_cases(C.RTDS, esme.eui, ["ECS42"])[0].commands[1]
    assert not runner.check(other, raw, esme, keys)[0]


class _Tampering(runner.InProcess):
    """The role in process, with one response per use case altered on its way out."""

    def send(self, raw):
        r = super().send(raw)
        return r[:20] + bytes((r[20] ^ 0xFF,)) + r[21:]


def test_run_with_a_tampering_device_fails(keys, esme):
    ucs = runner.use_cases(C.RTDS, esme.eui, ["ECS42", "ECS45"])
    rep = runner.run(_Tampering(esme, keys), esme, ucs, keys)
    assert rep["authenticated"] == 4 and rep["verified"] == 0 and rep["ok"] is False
    xml = ET.fromstring(runner.junit_xml(rep))
    assert len(xml.findall(".//failure")) == 4


def test_bad_input_exits_2(tmp_path):
    run = smlab_runner(tmp_path / "home")
    r = run("rtds", "--role", "gasmeter", check=False)
    assert r.returncode == 2 and "unknown role 'gasmeter'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run("rtds", "--corpus", str(tmp_path / "nowhere"), check=False)
    assert r.returncode == 2 and "no RTDS corpus" in r.stderr
    r = run("--json", "rtds", "--use-case", "ECS999", check=False)
    assert r.returncode == 2 and json.loads(r.stderr)["exit_code"] == 2


def test_virtual_board_matches_in_process(tmp_path, cli_run, esme):
    """All 297 over a virtual board (about 75 s here): per command, the same verdicts as in process,
    every command (the largest is 3,986 bytes) within the optical pass-through limit."""
    from firmware.optical.port import MAX_GBCS_BYTES

    run = smlab_runner(tmp_path / "home")
    run("sim", "start", "rt", "--eui", esme.eui.hex())
    try:
        run("flash", "sim:rt")
        hexdir, rep_file = tmp_path / "out", tmp_path / "board.json"
        r = run("rtds", "sim:rt", "--role", "esme", "--json", "--out", str(hexdir), "--report", str(rep_file),
                check=False)
        board, rep = json.loads(r.stdout), json.load(open(rep_file))
        # the real-board path (optical port + REPL console, state restored from a store snapshot
        # on the board) driven through the virtual board's two ports
        bdir = tmp_path / "home" / "boards" / "rt"
        r2 = run("rtds", str(bdir / "optical"), "--console", str(bdir / "console"), "--json",
                 "--use-case", "ECS42", "--use-case", "ECS45")
        real = json.loads(r2.stdout)
        assert [[u[k] for k in COUNTS] for u in real["use_cases"]] == [
            [u[k] for k in COUNTS] for u in board["use_cases"] if u["name"] in ("7.1_ECS42", "7.4_ECS45")]
        r3 = run("rtds", str(bdir / "optical"), check=False)
        assert r3.returncode == 2 and "--console" in r3.stderr
        _send_raw(run, tmp_path, esme)
    finally:
        run("sim", "stop", check=False)
    _, _, _, ip = cli_run
    sizes = {c.name: len(c.raw) for uc in runner.use_cases(C.RTDS, esme.eui) for c in uc.commands}
    ip_res = {r["file"]: r for u in ip["use_cases"] for r in u["results"]}
    assert max(sizes.values()) <= MAX_GBCS_BYTES
    for u in rep["use_cases"]:
        for res in u["results"]:
            assert [res[k] for k in ("authenticated", "verified", "content_equal")] == [
                ip_res[res["file"]][k] for k in ("authenticated", "verified", "content_equal")], res
    assert board["device"] == "board" and board["commands"] == 297
    assert board["authenticated"] == board["verified"] == 297
    assert r.returncode == 0
    kept = list(ip_res.values())
    for v in ("SUCCESS", "ERROR"):
        assert board[v.lower() + "_total"] == ip[v.lower() + "_total"]
        assert board[v.lower() + "_content_equal"] == sum(r["variant"] == v and r["content_equal"] is True
                                                          for r in kept)
    assert len(glob.glob(str(hexdir / "*" / "*.HEX"))) == 297


def _send_raw(run, tmp, esme):
    """`smlab send --raw` on the board the runner left in the state of its last use case (ECS45:
    the supplier's counter at 1002)."""
    cred = str(tmp / "cred.json")
    run("hht", "issue", "--keys", C.KEYSTORE, "--hht-id", "48485400000000a9", "--device", esme.eui.hex(),
        "--out", cred)
    ecs42, ecs45 = (runner.use_cases(C.RTDS, esme.eui, [u])[0].commands for u in ("ECS42", "ECS45"))
    # a replayed counter: refused by the meter, exit 1 with its alert code
    r = run("send", "sim:rt", "--raw", ecs42[0].path, "--cred", cred, "--keys", C.KEYSTORE, check=False)
    assert r.returncode == 1 and "8F60" in r.stderr
    run("rtds", "sim:rt", "--use-case", "ECS42")  # now at counter 1001
    r = run("--json", "send", "sim:rt", "--raw", ecs45[1].raw.hex(), "--cred", cred, "--keys", C.KEYSTORE)
    d = json.loads(r.stdout)
    assert d["verified"] is True and d["auth"] == "MAC" and d["counter"] == 1002
    resp = binascii.unhexlify(d["response"])
    assert runner.check(ecs45[1], resp, esme, C.Keystore(C.KEYSTORE))[:2] == (True, "")
    # without the originator's KA key the response is printed, said to be unverified, exit 0
    run("rtds", "sim:rt", "--use-case", "ECS42")
    r = run("send", "sim:rt", "--raw", ecs45[1].path, "--cred", cred, "--keys", str(tmp / "nokeys"))
    assert "NOT verified" in r.stdout and d["response"].upper() in r.stdout
    r = run("send", "sim:rt", "--raw", "DD00", "--cred", cred, check=False)
    assert r.returncode == 2 and "not a GBCS message" in r.stderr
    r = run("send", "sim:rt", "ECS42", "--raw", ecs45[1].path, check=False)
    assert r.returncode == 2 and "one of them" in r.stderr
