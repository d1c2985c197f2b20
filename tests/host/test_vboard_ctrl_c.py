"""Taking a virtual board's REPL while its firmware is still booting: mpremote's Ctrl-C arrives
during the firmware's imports, is held until its loop's first board.wait, and ends main.py there
(`main.py interrupted`), never inside the unix port's C code; the REPL that follows answers.
Repeated over several boots, each interrupted at once."""
import os

from host_tools.boards import flash, image
from host_tools.boards.vboard import VBoard


def test_repl_taken_during_boot_imports_always_answers(tmp_path):
    files = flash.firmware_files("host", str(tmp_path / "build"))
    img = str(tmp_path / "fw.img")
    image.write_image(img, files, 2048)
    vb = VBoard(str(tmp_path / "b"), flash_kb=2048)
    image.copy_to(img, vb.path)
    with vb:
        for boot in range(1, 5):
            if boot > 1:
                vb.reset(wait=True)  # returns once main.py started: the imports are under way
            b = flash.RawRepl(vb.console, connect_timeout=30.0)
            try:
                assert b.exec("print(6 * 7)").strip() == b"42"
            finally:
                b.drop()
            log = vb.console_log()
            assert log.count("main.py interrupted") == boot, log[-1500:]
            this = log.split("--- boot %d ---" % boot)[-1]
            # the firmware was built and showing its state before the interrupt reached it
            assert "[display] " in this.split("main.py interrupted")[0], this[-1500:]
        st = vb.status()
        assert st["boots"] == 4, st  # no boot was a crash restart
    assert not os.path.exists(os.path.join(vb.path, "cut"))
