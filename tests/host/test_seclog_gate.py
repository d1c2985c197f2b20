"""The GBCS command gate (firmware/core/gate.py) opens the GBCS security log without loading
firmware/core/seclog.py (heap on the command path); the name and bound it uses must be seclog's,
and what it writes must read back through seclog.read. CPython only: on MicroPython a
`_NAME = const(...)` is not a module attribute."""
import tempfile

from firmware.core import gate, seclog
from firmware.store.durable import Store


def test_the_gate_writes_the_gbcs_log_by_seclogs_name_and_size():
    assert (gate._SECLOG, gate._SECLOG_SIZE) == (seclog.GBCS, seclog.GBCS_SIZE)


def test_a_gate_rejection_reads_back_as_a_gbcs_security_entry():
    with tempfile.TemporaryDirectory() as d:
        st = Store(d)
        st.log(gate._SECLOG, gate._SECLOG_SIZE).append("replay 8F60 from 00 ctr 1 code 004F x")
        assert seclog.read(st, seclog.GBCS) == ["replay 8F60 from 00 ctr 1 code 004F x"]
