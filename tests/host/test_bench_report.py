"""The campaign's HTML report (host_tools/campaigns/report.py) read back with html.parser: one
self-contained page, a histogram per step kind whose bars count every step of that kind, a
timeline bar per step placed at its start, failures marked and listed, board output escaped."""
import random
import re
from html.parser import HTMLParser

from host_tools.campaigns import report


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.bars, self.steps, self.titles = [], [], [], [], []
        self.refs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append(a)
        if tag == "rect" and a.get("class") == "bar":
            self.bars.append((len(self.svgs), a))
        if tag == "rect" and (a.get("class") or "").startswith("step"):
            self.steps.append(a)
        if tag in ("script", "img", "link", "iframe", "object"):
            self.refs.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href")]
        self.stack.append(tag)

    def handle_endtag(self, tag):
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title" and len(self.stack) > 2:
            self.titles.append(data)
        self.text.append(data)


def _campaign(seed=7):
    rnd = random.Random(seed)
    steps = []
    for b in ("b001", "b002", "b003"):
        t = 0.0
        for i, kind in enumerate(["topup", "replay", "send"] * 4):
            dt = rnd.uniform(0.05, 1.5)
            ok = not (b == "b002" and i == 7)
            steps.append({"board": b, "step": i, "kind": kind, "ok": ok, "seconds": dt, "start": t,
                          "output": "ACCEPTED" if ok else "<script>alert(1)</script> REJECTED"})
            t += dt + 0.01
    lat = {}
    for s in steps:
        lat.setdefault(s["kind"], []).append(s["seconds"] * 1000)
    rep = {"scenario": "mini <campaign>", "boards": 3, "steps": len(steps), "failures": 1, "elapsed_s": 12.5,
           "throughput_steps_per_s": 2.9, "setup_s": {"start": 1.0, "flash": 2.0},
           "latency_ms": {k: {"p50": 1, "p90": 2, "p99": 3, "max": max(v), "n": len(v)} for k, v in lat.items()},
           "lab": None}
    return rep, steps


def test_report_page_reads_back():
    rep, steps = _campaign()
    page = report.render(rep, steps)
    p = Page()
    p.feed(page)
    p.close()
    assert page.startswith("<!DOCTYPE html>") and not p.refs  # no scripts, images or external files
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "mini &lt;campaign&gt;" in page
    kinds = sorted({s["kind"] for s in steps})
    assert len(p.svgs) == len(kinds) + 1
    # each histogram's bars add up to the number of steps of its kind
    for i, kind in enumerate(kinds, start=1):
        bars = [a for n, a in p.bars if n == i]
        assert len(bars) == 12
        assert p.svgs[i - 1]["aria-label"] == "%s latency" % kind
    hist_titles = [t for t in p.titles if re.match(r"^\d+-\d+ ms: \d+$", t)]
    assert sum(int(t.rsplit(" ", 1)[1]) for t in hist_titles) == len(steps)
    # the timeline: one bar per step, the failed one marked, bars of a board left to right in time
    assert len(p.steps) == len(steps)
    assert [a["class"] for a in p.steps].count("step failed") == 1
    xs = [float(a["x"]) for a in p.steps]
    per_board = [xs[i * 12:(i + 1) * 12] for i in range(3)]
    assert all(row == sorted(row) for row in per_board)
    assert "Failed steps (1)" in "".join(p.text)


def test_report_lab_section():
    rep, steps = _campaign()
    rep["lab"] = {"coordinator": "10.0.0.1:20408", "tags": {"role": "esme"}, "lost": ["hostb"],
                  "released_lost": ["hostb-b1"],
                  "exporters": {"hosta": {"places": ["hosta-a1"], "steps": 12, "failures": 0, "lost": False},
                                "hostb": {"places": ["hostb-b1"], "steps": 12, "failures": 5, "lost": True,
                                          "lost_after_s": 3.25}}}
    text = report.render(rep, steps)
    assert "lost after 3.2 s; places released" in text and "hosta-a1" in text and "connected" in text
