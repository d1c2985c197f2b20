"""Security logs per source with coalesced repeats (firmware/core/seclog.py): separate logs, counts,
never merging different events, power-cut states between the append and the count record."""
import os
from binascii import hexlify

import _t
from firmware.alerts import Reject
from firmware.core import seclog
from firmware.store.durable import Store


class Tmp:
    def __enter__(self):
        self.path = "/tmp/smlab-seclog-" + hexlify(os.urandom(6)).decode()
        return Store(self.path)

    def __exit__(self, *a):
        _t.rmtree(self.path)


def test_names_and_sizes_defined_once():
    assert seclog.NAMES == (seclog.GBCS, seclog.OPTICAL, seclog.MENU)
    assert seclog.GBCS == "seclog" and seclog.size("seclog") == 64
    assert len(set(seclog.NAMES)) == 3
    assert _t.raises(Reject, seclog.size, "event").reason == "store-name"


def test_repeats_coalesce_with_a_count_and_different_events_stay_apart():
    with Tmp() as st:
        lg = seclog.optical(st)
        lg.append("8F30 optical refused W1 x")
        for _ in range(69):
            lg.append("8F30 optical refused W1 x")
        assert lg.entries() == ["8F30 optical refused W1 x [x70]"]
        lg.append("8F30 optical refused W1 y")
        lg.append("8F30 optical refused W1 x")
        lg.append("8F30 optical refused W1 x")
        assert lg.entries() == ["8F30 optical refused W1 x [x70]", "8F30 optical refused W1 y",
                                "8F30 optical refused W1 x [x2]"]
        # a new object (reboot) sees the same, and keeps counting the newest entry
        lg2 = seclog.SecLog(Store(st.root), seclog.OPTICAL)
        lg2.append("8F30 optical refused W1 x")
        assert lg2.entries()[-1] == "8F30 optical refused W1 x [x3]"
        assert len(st.log(seclog.OPTICAL, 64).entries()) == 3  # three stored entries in all


def test_sources_do_not_evict_each_other():
    with Tmp() as st:
        g = seclog.gbcs(st)
        for i in range(5):
            g.append("target 8F3E ctr %d" % i)
        o = seclog.optical(st)
        for i in range(300):
            o.append("8F30 optical refused %d" % i)  # all different: the optical log rotates
        assert g.entries() == ["target 8F3E ctr %d" % i for i in range(5)]
        assert seclog.read(st, seclog.GBCS) == g.entries()
        assert len(o.entries()) <= seclog.OPTICAL_SIZE


def test_text_that_looks_like_a_count_is_kept_verbatim():
    with Tmp() as st:
        lg = seclog.menu(st)
        lg.append("+5;not a count")
        lg.append("+5;not a count")
        lg.append("x")
        assert lg.entries() == ["+5;not a count [x2]", "x"]
        assert _t.raises(Reject, lg.append, b"bytes").reason == "store-type"


def test_power_cut_between_append_and_count_record():
    with Tmp() as st:
        lg = seclog.gbcs(st)
        lg.append("A")
        lg.append("A")
        lg.append("A")  # log: A; record: A n=2
        # a cut after appending B (carrying A's count) but before the record rewrite
        st.log(seclog.GBCS, 64).append("+2;B")
        after = seclog.gbcs(Store(st.root))
        assert after.entries() == ["A [x3]", "B"]
        after.append("B")  # the record is repaired first: B counts, A's count is not credited to B
        assert after.entries() == ["A [x3]", "B [x2]"]
        after.append("C")
        assert after.entries() == ["A [x3]", "B [x2]", "C"]


def test_power_cut_during_a_count_update_keeps_the_previous_count():
    with Tmp() as st:
        lg = seclog.gbcs(st)
        for _ in range(4):
            lg.append("A")
        # the record's newest slot torn: the store falls back to the previous generation (n=2)
        from firmware.store.durable import decode_record

        best = None
        for slot in (".a", ".b"):
            fname = st.root + "/R.seclog_rep" + slot
            with open(fname, "rb") as f:
                seq = decode_record(f.read())[0]
            if best is None or seq > best[0]:
                best = (seq, fname)
        with open(best[1], "r+b") as f:
            f.seek(12)
            f.write(b"\xff")
        again = seclog.gbcs(Store(st.root))
        assert again.entries() == ["A [x3]"]
        again.append("A")
        assert again.entries() == ["A [x4]"]
