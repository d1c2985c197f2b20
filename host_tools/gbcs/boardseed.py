"""Seeding a board for a role that seeds through its own model (runner roles with `seed`: the GSME,
the GPF; host_tools/gbcs/runner.py OpticalDevice.begin calls the role's board_prep). The role's
seed() runs on a scratch in-process device provisioned as the board was; every durable store record
(and counter) it wrote or changed is then written on the board through its raw REPL, byte for byte,
so the board starts the session from the same state as the in-process device. CPython only.

    code = prep(role, session)      # MicroPython source printing PREP-OK, or None
"""
import os
import tempfile


def _records(root):
    """{file stem: newest bytes} of a durable store directory (records R.*, counters C.*)."""
    from firmware.store.durable import Store

    st = Store(root)
    out = {}
    for f in sorted(os.listdir(root)):
        if f.endswith(".tmp") or "." not in f:
            continue
        kind, rest = f.split(".", 1)
        name = rest.rsplit(".", 1)[0]
        if kind == "R" and ("R", name) not in out:
            out[("R", name)] = st.get(name)
        elif kind == "C" and ("C", name) not in out:
            out[("C", name)] = st.counter(name).value
    return out


def prep(role, session, root_name="dev"):
    from firmware import roles
    from firmware.store.durable import Store
    from host_tools.gbcs import corpus as C
    from host_tools.gbcs.chf_rtds import RtdsBoard

    if session is None:
        return None
    keys = C.Keystore(C.KEYSTORE)
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, root_name)
        st = Store(root)
        role.provision_store(st, keys)
        before = _records(root)
        dev = roles.build(role.name, RtdsBoard(), st)
        role.seed(dev, session.commands, session.folder)
        after = _records(root)
    lines = ["import board", "from binascii import unhexlify as _u", "from firmware.store.durable import Store",
             "_st = Store(board.get().storage_root().rstrip('/'))"]
    for k in sorted(after):
        v = after[k]
        if before.get(k) == v or v is None:
            continue
        if k[0] == "R":
            lines.append("_st.put(%r, _u(%r))" % (k[1], bytes(v).hex()))
        else:
            lines.append("_st.counter(%r).advance_to(%d)" % (k[1], v))
    lines.append("print('PREP-OK')")
    return "\n".join(lines) + "\n"
