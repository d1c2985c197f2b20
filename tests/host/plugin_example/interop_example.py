"""An interop test as a bench engineer writes it with the smlab pytest plugin (host_tools/pytest_plugin.py).
Run: `pytest tests/host/plugin_example/interop_example.py` (a virtual board) or with
`--smlab-lab HOST:PORT --smlab-keys DIR` (a board reserved and acquired through a labgrid coordinator).
Not collected by the main suite (its name does not start with test_): tests/host/test_pytest_plugin.py
runs it in a subprocess."""


def test_topup_accepted_once(smlab_board):
    code = smlab_board.topup("2.50")
    assert smlab_board.enter(code)[0].startswith("ACCEPTED +2.50")
    assert smlab_board.enter(code)[0].startswith("REJECTED 8F51")


def test_signed_command_verified(smlab_board):
    r = smlab_board.send("ECS45")
    assert r["ok"] and r["auth"].startswith(("signature", "MAC")) and r["results"]


def test_forged_code_refused(smlab_board):
    assert smlab_board.enter("11111111111111111111")[0].startswith("REJECTED 8F63")
