"""The HTML report of a bench campaign: one self-contained file (inline CSS and SVG, no scripts, no
external assets) a browser opens as it is.

Sections: the summary (boards, steps, failures, throughput, setup times), a latency histogram per
step kind, a timeline per board (every step a bar from its start to its end, failures in red, the
step's output as the bar's tooltip), the lab's exporters when the boards came from a labgrid lab,
and the failed steps.
"""
import html

COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f")
FAIL = "#d62728"

CSS = """body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
.fail{color:#d62728;font-weight:bold}.ok{color:#2a7d2a;font-weight:bold}svg{display:block;margin:6px 0}
.hist{display:inline-block;margin-right:18px;vertical-align:top}pre{white-space:pre-wrap;margin:0}"""


def _e(x):
    return html.escape(str(x), quote=True)


def histogram_svg(values, title, width=360, height=180, bins=12):
    """An SVG bar chart of `values` (ms) in `bins` equal bins, axes labelled."""
    left, bottom, top = 44, 34, 22
    w, h = width - left - 10, height - bottom - top
    lo, hi = min(values), max(values)
    if hi <= lo:
        hi = lo + 1.0
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / step))] += 1
    cmax = max(counts)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="%s">'
           % (width, height, _e(title)),
           '<text x="%d" y="14" font-size="13" font-weight="bold">%s</text>' % (left, _e(title))]
    bw = w / bins
    for i, c in enumerate(counts):
        bh = h * c / cmax if cmax else 0
        out.append('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">'
                   '<title>%.0f-%.0f ms: %d</title></rect>'
                   % (left + i * bw + 1, top + h - bh, bw - 2, bh, COLORS[0], lo + i * step, lo + (i + 1) * step, c))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, top + h, left + w, top + h))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (left, top, left, top + h))
    fmt = "%.0f" if hi - lo >= 10 else "%.1f"
    out.append(('<text x="%d" y="%d" font-size="11">' + fmt + '</text>') % (left, top + h + 14, lo))
    out.append(('<text x="%d" y="%d" font-size="11" text-anchor="end">' + fmt + ' ms</text>')
               % (left + w, top + h + 14, hi))
    out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>' % (left - 4, top + 10, cmax))
    out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>' % (left - 4, top + h))
    out.append('<text x="%d" y="%d" font-size="11" text-anchor="middle">latency, n=%d</text>'
               % (left + w / 2, height - 4, len(values)))
    out.append("</svg>")
    return "\n".join(out)


def timeline_svg(steps, kinds, width=1000, row=18):
    """One row per board; a bar per step from its start to its end (seconds since the campaign's
    steps began), coloured by step kind, red when the step failed."""
    boards = sorted({s["board"] for s in steps})
    left, top = 90, 24
    end = max((s["start"] + s["seconds"] for s in steps), default=1.0) or 1.0
    w = width - left - 20
    height = top + row * len(boards) + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="per-board timeline">'
           % (width, height)]
    for k, kind in enumerate(kinds):
        out.append('<rect x="%d" y="4" width="10" height="10" fill="%s"/><text x="%d" y="13" font-size="11">%s</text>'
                   % (left + k * 110, COLORS[k % len(COLORS)], left + k * 110 + 14, _e(kind)))
    out.append('<rect x="%d" y="4" width="10" height="10" fill="%s"/><text x="%d" y="13" font-size="11">failed</text>'
               % (left + len(kinds) * 110, FAIL, left + len(kinds) * 110 + 14))
    for r, b in enumerate(boards):
        y = top + r * row
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>' % (left - 6, y + row - 6, _e(b)))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>' % (left, y + row - 1, left + w, y + row - 1))
        for s in steps:
            if s["board"] != b:
                continue
            x = left + w * s["start"] / end
            bw = max(1.0, w * s["seconds"] / end)
            color = COLORS[kinds.index(s["kind"]) % len(COLORS)] if s["ok"] else FAIL
            out.append('<rect class="step%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s">'
                       '<title>%s step %d %s: %s, %.0f ms\n%s</title></rect>'
                       % ("" if s["ok"] else " failed", x, y + 2, bw, row - 5, color, _e(b), s["step"], _e(s["kind"]),
                          "ok" if s["ok"] else "FAILED", s["seconds"] * 1000, _e(s["output"][:300])))
    ticks = 5
    for i in range(ticks + 1):
        x = left + w * i / ticks
        out.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%.1f s</text>'
                   % (x, height - 8, end * i / ticks))
    out.append("</svg>")
    return "\n".join(out)


def render(rep, steps):
    """The report page (a str) from Runner.report() and Runner.steps()."""
    kinds = sorted({s["kind"] for s in steps})
    h = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         "<title>%s: bench report</title><style>%s</style></head><body>" % (_e(rep["scenario"]), CSS),
         "<h1>%s</h1>" % _e(rep["scenario"])]
    verdict = '<span class="%s">%s</span>' % (("fail", "%d FAILED" % rep["failures"]) if rep["failures"]
                                               else ("ok", "all passed"))
    h.append("<table><tr><th>boards</th><th>steps</th><th>result</th><th>elapsed</th><th>throughput</th></tr>"
             "<tr><td>%d</td><td>%d</td><td>%s</td><td>%.1f s</td><td>%s steps/s</td></tr></table>"
             % (rep["boards"], rep["steps"], verdict, rep["elapsed_s"], rep["throughput_steps_per_s"]))
    if rep.get("setup_s"):
        h.append("<h2>Setup</h2><table><tr>%s</tr><tr>%s</tr></table>" % (
            "".join("<th>%s</th>" % _e(k) for k in sorted(rep["setup_s"])),
            "".join("<td>%.2f s</td>" % rep["setup_s"][k] for k in sorted(rep["setup_s"]))))
    h.append("<h2>Latency</h2><table><tr><th>step</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>")
    for k, v in rep["latency_ms"].items():
        h.append("<tr><td>%s</td><td>%d</td><td>%.1f ms</td><td>%.1f ms</td><td>%.1f ms</td><td>%.1f ms</td></tr>"
                 % (_e(k), v["n"], v["p50"], v["p90"], v["p99"], v["max"]))
    h.append("</table>")
    for k in kinds:
        vals = [s["seconds"] * 1000 for s in steps if s["kind"] == k]
        h.append('<div class="hist">%s</div>' % histogram_svg(vals, "%s latency" % k))
    h.append("<h2>Timeline per board</h2>")
    h.append(timeline_svg(steps, kinds))
    lab = rep.get("lab")
    if lab:
        h.append("<h2>Lab</h2><p>coordinator %s, tags %s</p>" % (
            _e(lab["coordinator"]), _e(", ".join("%s=%s" % kv for kv in sorted(lab["tags"].items())))))
        h.append("<table><tr><th>exporter</th><th>places</th><th>steps</th><th>failures</th><th>state</th></tr>")
        for e, d in sorted(lab["exporters"].items()):
            state = ('<span class="fail">lost after %.1f s; places released</span>' % d["lost_after_s"]
                     if d["lost"] else '<span class="ok">connected</span>')
            h.append("<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td></tr>"
                     % (_e(e), _e(", ".join(d["places"])), d["steps"], d["failures"], state))
        h.append("</table>")
    failed = [s for s in steps if not s["ok"]]
    h.append("<h2>Failed steps (%d)</h2>" % len(failed))
    if failed:
        h.append("<table><tr><th>board</th><th>step</th><th>kind</th><th>output</th></tr>")
        for s in failed[:200]:
            h.append("<tr><td>%s</td><td>%d</td><td>%s</td><td><pre>%s</pre></td></tr>"
                     % (_e(s["board"]), s["step"], _e(s["kind"]), _e(s["output"][:500])))
        h.append("</table>")
    h.append("</body></html>")
    return "\n".join(h)


def write(path, rep, steps):
    from host_tools.util import write_atomic

    write_atomic(path, render(rep, steps), sync=False)
