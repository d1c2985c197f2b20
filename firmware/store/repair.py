"""Start-of-day check of the durable store (docs/storage.md "boot()"): Store.boot() imports this on
first use, so code that never boots a store (the GBCS pipeline on a store already checked) does not
load it.
"""
import os

from firmware.store.durable import Log


def boot(st):
    """Delete stale *.tmp, trim and check every log, check both slots of every record and counter.

    Returns a list of (file name, problem) found and repaired (or left for get() to refuse).
    """
    report = []
    stems = []
    logs = []
    for fname in os.listdir(st.root):
        if fname.endswith(".tmp"):
            st._remove(fname)
            report.append((fname, "stale tmp"))
        elif fname[:2] in ("R.", "C.") and fname[-2:] in (".a", ".b"):
            if fname[:-2] not in stems:
                stems.append(fname[:-2])
        elif fname[:2] == "L.":
            nm = fname[2:fname.rfind(".")]
            if nm not in logs:
                logs.append(nm)
    st._newest = {}
    st._logs = {}
    for nm in logs:  # scanning does not depend on the bound, which the log's user gives
        lg = Log(st, nm)
        lg._scan(report)
        if len(lg._segs) == 2:  # the older segment is never written again: a bad frame in it
            old = lg._fname(lg._segs[0])  # cannot come from a power cut, it is corruption
            if lg._frames(old)[1] != os.stat(st._path(old))[6]:
                report.append((old, "corrupt log segment"))
                if nm != "event":
                    st.log("event").append("store-corrupt %s: bad frame, entries after it lost" % old)
    for stem in stems:  # a record with no good copy stays refused until it is rewritten
        st._load(stem, report, False)
    return report
