"""Security logs kept per source, with repeated identical events coalesced into one entry and a count.

GBCS keeps its Security Log apart from the Event Log (GBCS §8, alert and event logging); in the same
way every source of security events here writes its own bounded durable log, so a flood from one
source (e.g. an optical terminal repeating a refused command, IEC 62056-21 §6.3 programming mode)
can never evict the entries of another (e.g. GBCS authentication failures):

| log         | name       | entries | written by                                              |
|-------------|------------|---------|---------------------------------------------------------|
| GBCS        | "seclog"   | 64      | the GBCS authentication pipeline (GBCS §6.2.4 checks)   |
| optical     | "optlog"   | 64      | the optical port session (IEC 62056-21 mode C, HHT login) |
| menu        | "menulog"  | 32      | the engineering menu on the keypad                      |

Within one log an event identical to the newest entry is not appended again: a repeat count is kept
in the record `<name>_rep` ({"e": newest entry text, "n": repeats after it}), rewritten (an atomic
durable record write) before the caller answers, so a power cut never loses a counted repeat. When a
different event arrives, it is appended carrying the finished count of the entry before it, encoded
as `+N;text` (N > 0, or N = 0 when the text itself starts with "+"): one append, atomic with the
event, so the count survives a cut between the append and the record rewrite, and the repeats of one
event are never credited to another. entries() returns the coalesced view, oldest first:
`text` or `text [xN]` (N occurrences in all).

    log = seclog.gbcs(store)          # or seclog.optical(store), seclog.menu(store), SecLog(store, name)
    log.append("8F3E target ...")     # durable once this returns
    log.entries()                     # ["... [x3]", ...]
    seclog.read(store, name)          # any log by name (coalesced for the security logs above)
"""
from firmware.alerts import Reject
from firmware.compat import const

GBCS = "seclog"
GBCS_SIZE = const(64)
OPTICAL = "optlog"
OPTICAL_SIZE = const(64)
MENU = "menulog"
MENU_SIZE = const(32)
LOGS = ((GBCS, GBCS_SIZE), (OPTICAL, OPTICAL_SIZE), (MENU, MENU_SIZE))
NAMES = (GBCS, OPTICAL, MENU)
_REP = "_rep"  # suffix of the repeat-count record's name


def size(name):
    """The bound of security log `name`; Reject for a name that is not one."""
    for n, s in LOGS:
        if n == name:
            return s
    raise Reject("store-name", None, "no security log %r" % (name,))


def _decode(raw):
    """(carried count, text) of one stored entry."""
    if isinstance(raw, str) and raw[:1] == "+":
        i = raw.find(";")
        if i > 1 and raw[1:i].isdigit():
            return int(raw[1:i]), raw[i + 1:]
    return 0, raw


class SecLog:
    """One coalescing security log. Writers of the same log may hold separate objects: each
    append reads the repeat record again, so they never disagree about the newest entry."""

    def __init__(self, store, name, max_entries=None):
        self.store = store
        self.name = name
        self.log = store.log(name, max_entries if max_entries is not None else size(name))
        self._rec = name + _REP
        self._checked = False

    def _tail(self):
        """The repeat record, made consistent with the log after a power cut (checked once per
        object: a cut between appending an event and rewriting the record leaves the record one
        event behind; its count is already carried by that event's entry)."""
        rep = self.store.get_json(self._rec, None)
        if not self._checked:
            self._checked = True
            ents = self.log.entries()
            newest = _decode(ents[-1])[1] if ents else None
            if rep is None or rep.get("e") != newest:
                rep = None if newest is None else {"e": newest, "n": 0}
                if rep is not None:
                    self.store.put_json(self._rec, rep)
            ents = None
        return rep

    def append(self, text):
        """Record one event (str, <= 1000 bytes); durable once this returns."""
        if not isinstance(text, str):
            raise Reject("store-type", None, "security log entries are text")
        rep = self._tail()
        if rep is not None and rep.get("e") == text:
            rep["n"] = rep.get("n", 0) + 1
            self.store.put_json(self._rec, rep)
            return
        k = rep.get("n", 0) if rep is not None else 0
        self.log.append("+%d;%s" % (k, text) if k or text[:1] == "+" else text)
        self.store.put_json(self._rec, {"e": text, "n": 0})

    def entries(self):
        """Kept events oldest first, each `text` or `text [xN]` for N identical events in a row."""
        out = []
        counts = []
        for raw in self.log.entries():
            k, text = _decode(raw)
            if k and counts:
                counts[-1] += k
            out.append(text)
            counts.append(1)
        rep = self.store.get_json(self._rec, None)
        if rep and out and rep.get("e") == out[-1]:
            counts[-1] += rep.get("n", 0)
        for i in range(len(out)):
            if counts[i] > 1:
                out[i] = "%s [x%d]" % (out[i], counts[i])
        return out


def gbcs(store):
    """The GBCS security log (authentication failures of remote-party commands)."""
    return SecLog(store, GBCS)


def optical(store):
    """The optical port's log (sessions, HHT logins, refused local commands)."""
    return SecLog(store, OPTICAL)


def menu(store):
    """The engineering menu's log (logins, wrong PINs, functions used, codes entered)."""
    return SecLog(store, MENU)


def read(store, name):
    """Entries of log `name`: the coalesced view for a security log, else the log as stored."""
    for n, s in LOGS:
        if n == name:
            return SecLog(store, n, s).entries()
    return store.log(name).entries()
