"""Virtual boards (host_tools/boards/vboard.py, board/unix_boot.py, board/unix.py): stock mpremote over the
console pty, firmware copied into the littlefs2 flash image and run from it after reset, the optical
UART over a second pty (pyserial), boards side by side, and real whole-process power cuts.
"""
import os
import re
import time

import pytest
import serial

from host_tools.boards.vboard import VBoard

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = ["firmware/__init__.py", "firmware/alerts.py", "firmware/compat.py",
            "firmware/store/__init__.py", "firmware/store/durable.py", "firmware/store/repair.py"]

MAIN = r'''
import board
import firmware.store.durable as durable
b = board.get()
s = b.store()
n = s.counter("boots").increment()
v = s.get_json("n")
print("SMLAB-BOOT %d n=%r from %s report=%r" % (n, v, durable.__file__, b.boot_report))
start = 0 if v is None else v
for i in range(start + 1, start + 21):
    s.put_json("n", i)
    s.log("security", 16).append("n=%d" % i)
    print("SMLAB-PUT %d" % i)
print("SMLAB-DONE %d" % (start + 20))
'''


def _install(b, tmp_path):
    main = tmp_path / "main.py"
    main.write_text(MAIN)
    args = ["fs", "mkdir", ":firmware", "+", "fs", "mkdir", ":firmware/store"]
    for f in FIRMWARE:
        args += ["+", "fs", "cp", os.path.join(ROOT, f), ":" + f]
    args += ["+", "fs", "cp", str(main), ":main.py"]
    b.mpremote(*args)


def _boots(log):
    """{boot number: console text of that boot}."""
    parts = re.split(r"\n--- boot (\d+) ---\n", "\n" + log)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@pytest.fixture(scope="module")
def vb(tmp_path_factory):
    d = tmp_path_factory.mktemp("vboard")
    b = VBoard(str(d / "board1"), flash_kb=256).start(watch_pid=os.getpid())
    yield b
    b.stop()
    assert not b.running()


def test_mpremote_installs_firmware_that_runs_from_flash_after_reset(vb, tmp_path):
    assert vb.mpremote("exec", "import os; print(sorted(os.listdir('/')))").strip() == "[]"
    _install(vb, tmp_path)
    ls = vb.mpremote("fs", "ls", ":firmware/store")
    assert "durable.py" in ls
    st = vb.reset(repl=True)
    out = _boots(vb.console_log())[st["boots"]]
    assert "SMLAB-BOOT 1 n=None from /firmware/store/durable.py report=[]" in out, out
    assert "SMLAB-DONE 20" in out
    st = vb.reset(repl=True)  # state survives the reset: it lives in the flash image
    out = _boots(vb.console_log())[st["boots"]]
    assert "SMLAB-BOOT 2 n=20 from /firmware/store/durable.py" in out, out
    assert vb.exec("import board; print(board.get().store().get_json('n'))").strip() == "40"
    with open(vb.image, "rb") as f:
        head = f.read(64)
    assert b"littlefs" in head  # a littlefs2 superblock, as on an ESP32's vfs partition


def test_optical_uart_pty_both_directions(vb):
    with serial.Serial(vb.optical, 9600, timeout=5) as port:
        vb.exec("import board; u = board.get().uart('optical'); u.write(b'/SML5SMETS2\\r\\n')")
        assert port.read(13) == b"/SML5SMETS2\r\n"
        port.write(b"/?!\r\n")
        port.flush()
        got = vb.exec(
            "import time, board\nu = board.get().uart('optical')\nb = b''\n"
            "for _ in range(100):\n  r = u.read(16)\n  b += r or b''\n  if len(b) >= 5: break\n"
            "  time.sleep(0.02)\nprint(b)")
        assert got.strip() == r"b'/?!\r\n'"


def test_keypad_pty_and_display(vb):
    with serial.Serial(vb.keypad, 9600, timeout=5) as kp:
        kp.write(b"12#")
        kp.flush()
        got = vb.exec(
            "import time, board\nk = board.get().keypad()\nks = ''\n"
            "for _ in range(100):\n  c = k.key()\n  ks += c or ''\n  if len(ks) >= 3: break\n"
            "  time.sleep(0.02) if c is None else None\nboard.get().display('KEYS ' + ks)")
    assert got.strip() == "[display] KEYS 12#"


def test_board_identity_and_storage_root(vb):
    out = vb.exec("import board, binascii; b = board.get(); print(binascii.hexlify(b.eui64()), b.storage_root())")
    assert out.split()[1] == "/state" and len(out.split()[0]) == 8 * 2 + 3


def test_two_boards_side_by_side(vb, tmp_path):
    with VBoard(str(tmp_path / "board2"), flash_kb=128) as b2:
        assert b2.console != vb.console and os.path.realpath(b2.console) != os.path.realpath(vb.console)
        assert os.path.realpath(b2.optical) != os.path.realpath(vb.optical)
        b2.exec("f = open('only-on-2.txt', 'w'); f.write('2'); f.close()")
        assert "only-on-2.txt" in b2.exec("import os; print(os.listdir('/'))")
        assert "only-on-2.txt" not in vb.exec("import os; print(os.listdir('/'))")
        e1 = vb.exec("import board, binascii; print(binascii.hexlify(board.get().eui64()))")
        e2 = b2.exec("import board, binascii; print(binascii.hexlify(board.get().eui64()))")
        assert e1 != e2
    assert not b2.running()


def test_whole_process_power_cuts(vb):
    """Real cuts: the micropython process is killed after N flash writes (one torn) and rebooted."""
    seen = []
    for n, torn in ((9, True), (23, False), (41, True), (58, True)):
        before = vb.status()["boots"]
        vb.cut(n, torn=torn, wait=False)
        st = vb.wait_ready(before + 2, main_running=False)  # the armed boot dies; the next boot comes up by itself
        boots = _boots(vb.console_log())
        cut_boot, next_boot = boots[before + 1], boots[before + 2]
        assert "SMLAB-DONE" not in cut_boot, cut_boot  # the cut stopped main.py half way
        puts = [int(x) for x in re.findall(r"SMLAB-PUT (\d+)", cut_boot)]
        m = re.search(r"SMLAB-BOOT \d+ n=(\d+) from \S+ report=(.*)", next_boot)
        assert m, next_boot
        n_after = int(m.group(1))
        last_done = puts[-1] if puts else int(re.search(r"SMLAB-BOOT \d+ n=(\d+)", cut_boot).group(1))
        assert n_after in (last_done, last_done + 1), (n_after, last_done)  # old or new, never torn
        assert "store-corrupt" not in m.group(2) and "no good copy" not in m.group(2)
        seen.append((n, torn, last_done, n_after))
        assert st["state"] == "repl"
    # armed live over mpremote: the next flash writes (an exec that writes a record) cut the power
    before = vb.status()["boots"]
    vb.arm(2)
    # --no-follow: the board dies under this exec; on a pty that stays open mpremote would wait on
    vb.mpremote("exec", "--no-follow", "import board\nboard.get().store().put('live', b'x' * 600)")
    st = vb.wait_ready(before + 1, main_running=False)
    assert st["state"] == "repl"
    cuts = vb.power_cuts()
    assert len(cuts) == 5 and cuts[0] == "power cut after 9 writes (torn)", cuts
    assert cuts[1] == "power cut after 23 writes" and cuts[4].startswith("power cut after")
    assert vb.exec("import board; print(board.get().store().get('live'))").strip() == "None"
    entries = vb.exec("import board; print(board.get().store().log('security', 16).entries())")
    nums = [int(x) for x in re.findall(r"'n=(\d+)'", entries)]
    final = int(vb.exec("import board; print(board.get().store().get_json('n'))"))
    assert 8 <= len(nums) <= 16 and len(nums) == entries.count("'")  // 2  # bounded, every entry whole
    holes = [b for a, b in zip(nums, nums[1:]) if b != a + 1]
    assert all(b == a + 2 for a, b in zip(nums, nums[1:]) if b != a + 1)
    assert len(holes) <= 4  # an entry is only missing where a cut fell between put and append
    assert nums[-1] == final


def test_mpremote_interrupts_a_main_loop(vb, tmp_path):
    """A firmware main loop never returns: the board counts as up, and mpremote's Ctrl-C gets in."""
    main = tmp_path / "main.py"
    main.write_text("import time\nprint('LOOP-RUNNING')\nwhile True:\n    time.sleep(0.05)\n")
    vb.mpremote("fs", "cp", str(main), ":main.py")
    st = vb.reset()
    assert st["state"] == "booting"  # not at the REPL: main.py is running
    t0 = time.monotonic()
    while "LOOP-RUNNING" not in _boots(vb.console_log()).get(st["boots"], ""):
        assert time.monotonic() - t0 < 10
        time.sleep(0.05)
    assert vb.exec("print('got in', 6 * 7)").strip() == "got in 42"
    assert "main.py interrupted" in _boots(vb.console_log())[st["boots"]]
    vb.mpremote("fs", "rm", ":main.py")


def test_cli_start_status_exec_cut_stop(tmp_path):
    import json
    import subprocess
    import sys

    d = str(tmp_path / "clib")

    def cli(*args):
        p = subprocess.run([sys.executable, "-m", "host_tools.boards.vboard"] + list(args), cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout

    out = cli("start", d, "--flash-kb", "128", "--watch-pid", str(os.getpid()))
    assert "console %s/console" % d in out
    st = json.loads(cli("status", d))
    assert st["boots"] == 1 and st["state"] == "repl"
    assert cli("exec", d, "print(7 * 6)").strip() == "42"
    assert "armed" in cli("cut", d, "1", "--clean")
    cli("exec", d, "--no-follow", "with open('x', 'w') as f:\n    f.write('y')")  # a flash write: the cut
    b = VBoard(d)
    b.wait_ready(st["boots"] + 2, main_running=False)
    assert b.power_cuts() == ["power cut after 1 writes"]
    # the cut came before the close: the data never landed (littlefs may already show the new
    # file, empty: the "new file exists before close" caveat the store's tmp + rename avoids)
    got = cli("exec", d, "import os\nprint(open('x').read() if 'x' in os.listdir() else 'absent')").strip()
    assert got in ("", "absent"), got
    sup = b.status()["supervisor"]
    cli("stop", d)
    assert not b.running()
    from host_tools.boards.vboard import pid_alive
    assert not pid_alive(sup)


def test_unmountable_flash_is_never_formatted(tmp_path):
    """A garbage (non-blank) image must not be reformatted: that would reset all device state."""
    d = tmp_path / "garbage"
    d.mkdir()
    img = bytes((i * 7 + 3) & 0xFF for i in range(64 * 1024))
    (d / "flash.img").write_bytes(img)
    with VBoard(str(d), flash_kb=64) as b:
        assert "not formatting" in b.console_log()
        assert b.exec("print(6 * 7)").strip() == "42"  # the REPL still works
    assert (d / "flash.img").read_bytes() == img
