#!/usr/bin/env python3
"""Medians, ratios, the issue's targets and the table, from bench.py's raw results.

bench.py imports this module; run on its own it prints the table of a saved run again:

    tests/bench/summarize.py build-release/bench/latest.json            # the table
    tests/bench/summarize.py build-release/bench/latest.json --markdown # tables for BENCHMARKS.md

Every ratio compares numbers of the same run. "added" latency is, per round, the target's
percentile minus direct's in the same round (they ran back to back), then the median of rounds.
"""

import json
import statistics
import sys

TP_ORDER = ["direct", "nginx", "llmgw", "nginx-1w", "llmgw-1t"]
LABEL = {"direct": "direct (mock)", "control": "control: a 2nd mock, direct",
         "nginx": "nginx, 2 workers", "llmgw": "llmgw --threads 2",
         "nginx-1w": "nginx, 1 worker @CPU0", "llmgw-1t": "llmgw --threads 1 @CPU0",
         "llmgw-h2": "llmgw --threads 2, https:// upstream (HTTP/2)"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if (a is not None and b) else None


def by(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def measured(r):
    """A wrk run with figures: it answered something. (wrk reports 0 ms for an empty histogram.)"""
    return bool(r.get("requests")) and r.get("gateway_exited") is None


def run_errors(rows):
    """Errors of wrk runs, counting a run without figures (wrk failed, nothing answered, the
    gateway gone) as one: it must fail a verdict, not leave it out."""
    return sum(r.get("errors", 0) for r in rows) + sum(1 for r in rows if not measured(r))


def summarize(raw):
    s = {"throughput": {}, "latency": {}, "sse": {}, "scale": {}, "call": {}, "targets": []}
    raw = dict(raw)
    for phase in ("throughput", "latency", "sse"):  # runs spoiled by a dead mock are left out
        raw[phase] = [r for r in raw.get(phase, []) if not r.get("invalid")]

    # ---- throughput
    tp = raw.get("throughput", [])
    for t in TP_ORDER:
        every = by(tp, target=t)
        rows = [r for r in every if measured(r)]
        if not rows:
            if every:
                s["throughput"][t] = {"rounds": 0, "rps": None, "errors": run_errors(every)}
            continue
        s["throughput"][t] = {
            "rounds": len(rows), "rps_runs": [round(r["rps"]) for r in rows],
            "rps": med(r["rps"] for r in rows), "rps_min": min(r["rps"] for r in rows),
            "rps_max": max(r["rps"] for r in rows),
            "p50_ms": med(r["lat_p50_ms"] for r in rows), "p99_ms": med(r["lat_p99_ms"] for r in rows),
            "cpu_cores": med(r.get("sut_cpu_cores") for r in rows),
            "cpu_us_per_req": med(r.get("sut_cpu_us_per_req") for r in rows),
            "errors": run_errors(every)}

    def tp_ratio(a, b):
        """ratio of medians, and the median of the per-round ratios (same round, back to back)"""
        ta, tb = s["throughput"].get(a), s["throughput"].get(b)
        if not ta or not tb:
            return None
        per_round = []
        for r in {x["round"] for x in tp}:
            ra = [x["rps"] for x in by(tp, target=a, round=r) if measured(x)]
            rb = [x["rps"] for x in by(tp, target=b, round=r) if measured(x)]
            if ra and rb and rb[0]:
                per_round.append(ra[0] / rb[0])
        return {"of_medians": ratio(ta["rps"], tb["rps"]), "median_per_round": med(per_round),
                "per_round": [round(x, 3) for x in per_round], "errors": ta["errors"] + tb["errors"]}

    s["throughput_ratios"] = {
        "nginx/direct": tp_ratio("nginx", "direct"), "llmgw/direct": tp_ratio("llmgw", "direct"),
        "llmgw/nginx": tp_ratio("llmgw", "nginx"), "llmgw-1t/nginx-1w": tp_ratio("llmgw-1t", "nginx-1w")}

    # ---- latency
    lat = raw.get("latency", [])
    for c in sorted({r["conns"] for r in lat}):
        s["latency"][str(c)] = {}
        for t in ("direct", "nginx", "llmgw"):
            every = by(lat, target=t, conns=c)
            rows = [r for r in every if measured(r)]
            if not rows:
                if every:
                    s["latency"][str(c)][t] = {"rounds": 0, "added_p50_ms": None, "added_p99_ms": None,
                                               "errors": run_errors(every)}
                continue
            added50, added99 = [], []
            for r in rows:
                d = [x for x in by(lat, target="direct", conns=c, round=r["round"]) if measured(x)]
                if d:
                    # wrk's figures are whole microseconds: so are their differences (0.416 -
                    # 0.316 is 0.10000000000000003 in floating point, which failed "<= 0.100").
                    added50.append(round(r["lat_p50_ms"] - d[0]["lat_p50_ms"], 3))
                    added99.append(round(r["lat_p99_ms"] - d[0]["lat_p99_ms"], 3))
            s["latency"][str(c)][t] = {
                "rounds": len(rows), "p50_ms": med(r["lat_p50_ms"] for r in rows),
                "p99_ms": med(r["lat_p99_ms"] for r in rows), "rps": med(r["rps"] for r in rows),
                "added_p50_ms": med(added50), "added_p99_ms": med(added99),
                "added_p50_runs": [round(x, 4) for x in added50], "added_p99_runs": [round(x, 4) for x in added99],
                "host_steal_ms_per_s": med(r.get("host_steal_ms_per_s") for r in rows),
                "errors": run_errors(every)}

    # ---- sse
    sse = raw.get("sse", [])
    for k in sorted({r["k"] for r in sse}):
        s["sse"][str(k)] = {}
        for t in ("direct", "control", "nginx", "llmgw"):
            rows = by(sse, target=t, k=k)
            if not rows:
                continue
            over_direct = []
            for r in rows:
                d = by(sse, target="direct", k=k, round=r["round"])
                if d and r.get("max_gap_max_ms") is not None and d[0].get("max_gap_max_ms") is not None:
                    over_direct.append(r["max_gap_max_ms"] - d[0]["max_gap_max_ms"])
            s["sse"][str(k)][t] = {
                "rounds": len(rows), "streams": sum(r.get("streams", k) for r in rows),
                "complete": sum(r.get("ok", 0) for r in rows),
                "ttfb_p50_ms": med(r.get("ttfb_p50_ms") for r in rows),
                "ttfb_p99_ms": med(r.get("ttfb_p99_ms") for r in rows),
                "max_gap_p99_ms": med(r.get("max_gap_p99_ms") for r in rows),
                "largest_gap_ms": med(r.get("max_gap_max_ms") for r in rows),
                "largest_gap_worst_ms": max((r.get("max_gap_max_ms") or 0) for r in rows),
                "largest_gap_over_direct_ms": med(over_direct),
                "largest_gap_over_direct_worst_ms": max(over_direct) if over_direct else None,
                "burst_gap_frac": med(r.get("burst_gap_frac") for r in rows),
                "cpu_cores": med(r.get("sut_cpu_cores") for r in rows),
                "first_error": next((r.get("first_error") or r.get("error") for r in rows
                                     if r.get("first_error") or r.get("error")), None)}

    # ---- scale
    for r in raw.get("scale", []):
        s["scale"][r["target"]] = {k: r.get(k) for k in (
            "streams", "opened", "max_open", "ok", "failed", "incomplete", "timed_out", "first_error",
            "rss_idle_kb", "rss_hold_kb", "rss_hwm_kb", "kib_per_stream", "cpu_between_events_cores",
            "quiet_window_s", "fds_idle", "fds_hold", "check_error", "all_open_s")}

    # ---- call
    c = raw.get("call")
    if c:
        m = {k: med(v) for k, v in c["times_ms"].items()}
        s["call"] = {"median_ms": m, "runs": c["runs"],
                     "llmgw_call/curl": ratio(m.get("llmgw_call"), m.get("curl")),
                     "llmgw_call_https/curl_https": ratio(m.get("llmgw_call_https"), m.get("curl_https")),
                     "answers_ok": all(v for k, v in c.items() if k.endswith("_answer_ok")),
                     "nonzero_exits": {k: sum(1 for x in v if x != 0) for k, v in c["exit"].items()}}

    s["targets"] = issue_targets(raw, s)
    return s


def issue_targets(raw, s):
    """Issue 7's numbers: (what, goal, measured, pass)."""
    out = []

    def add(what, goal, measured, ok, errors=0):
        """errors: of the runs the figure comes from; any fails the verdict, as a missing figure does."""
        if errors:
            measured += f" ({errors} error{'s' if errors != 1 else ''} in these runs)"
        # "-" stands for a figure the run did not produce (num(None)); negative figures are "-0.1".
        missing = "-" in measured.replace("(", " ").replace(")", " ").split()
        out.append({"what": what, "goal": goal, "measured": measured, "missing": missing,
                    "pass": None if ok is None else bool(ok) and not errors})

    def num(v, fmt):
        return "-" if v is None else fmt.format(v)

    for key, what in (("llmgw/nginx", "throughput, 64 conns: llmgw / nginx (2 workers vs --threads 2)"),
                      ("llmgw-1t/nginx-1w", "throughput per core: llmgw 1 thread / nginx 1 worker, pinned")):
        r = s["throughput_ratios"].get(key)
        if r:
            v = r["of_medians"]
            add(what, ">= 1.00", f"{num(v, '{:.2f}')} (per-round median {num(r['median_per_round'], '{:.2f}')})",
                v is not None and v >= 1.0, r["errors"])
    for c, rows in s["latency"].items():
        g, n, d = rows.get("llmgw"), rows.get("nginx"), rows.get("direct")
        if not g or not n:
            continue
        errors = g["errors"] + n["errors"] + (d["errors"] if d else 0)
        for p in ("p50", "p99"):
            a, b = g[f"added_{p}_ms"], n[f"added_{p}_ms"]
            add(f"added {p} latency, {c} conn{'s' if c != '1' else ''}: llmgw vs nginx",
                f"<= nginx's ({num(b, '{:+.3f}')} ms)", f"{num(a, '{:+.3f}')} ms",
                a is not None and b is not None and a <= b, errors)
        a = g["added_p99_ms"]
        add(f"stretch: added p99, {c} conn{'s' if c != '1' else ''}", "<= 0.100 ms", f"{num(a, '{:+.3f}')} ms",
            a is not None and a <= 0.1, g["errors"] + (d["errors"] if d else 0))
    for k, rows in s["sse"].items():
        g, n = rows.get("llmgw"), rows.get("nginx")
        if not g:
            continue
        if n and g["ttfb_p99_ms"] is not None and n["ttfb_p99_ms"] is not None:
            add(f"SSE {k} streams: TTFB p99 llmgw vs nginx", f"<= nginx's ({n['ttfb_p99_ms']:.2f} ms)",
                f"{g['ttfb_p99_ms']:.2f} ms", g["ttfb_p99_ms"] <= n["ttfb_p99_ms"])
        if g["largest_gap_over_direct_worst_ms"] is not None:
            add(f"SSE {k} streams: largest event gap minus direct's (worst round)", "<= +5 ms",
                f"{g['largest_gap_over_direct_worst_ms']:+.1f} ms", g["largest_gap_over_direct_worst_ms"] <= 5.0)
        ctl = rows.get("control")
        if ctl and ctl["largest_gap_over_direct_worst_ms"] is not None:
            # Not a goal: the same figure for a second mock served directly, nothing in the path.
            add(f"SSE {k} streams, control (a 2nd mock, direct): the same figure", "(this host's noise)",
                f"{ctl['largest_gap_over_direct_worst_ms']:+.1f} ms", None)
        add(f"SSE {k} streams: every stream complete", f"{g['streams']}/{g['streams']}",
            f"{g['complete']}/{g['streams']}", g["complete"] == g["streams"])
    for name, how in (("llmgw", ""), ("llmgw-h2", " (https:// upstream, HTTP/2)")):
        g = s["scale"].get(name)
        if not g:
            continue
        meta = raw.get("scale_meta", {})
        n = g.get("streams") or 0
        short = n < meta.get("asked", n)
        add(f"scale{how}: concurrent streams held {meta.get('hold_s')} s without error",
            f"{meta.get('asked')} streams", f"{g.get('ok')}/{n} complete, {g.get('max_open')} open at once"
            + (" (fewer: open-files limit, see notes)" if short else ""),
            (None if short else True) if g.get("ok") == n else False)
        if g.get("kib_per_stream") is not None:
            add(f"scale{how}: RSS per stream above idle", "<= 64 KiB", f"{g['kib_per_stream']:.1f} KiB",
                g["kib_per_stream"] <= 64)
        if g.get("cpu_between_events_cores") is not None:
            add(f"scale{how}: gateway CPU between events", "near zero (<= 1% of a core)",
                f"{100 * g['cpu_between_events_cores']:.2f}% of a core", g["cpu_between_events_cores"] <= 0.01)
    c = s.get("call")
    if c:
        # A command that failed (wrong answer, non-zero exit) is fast for the wrong reason.
        fails = c.get("nonzero_exits") or {}
        wrong = 0 if c.get("answers_ok") else 1
        m = c["median_ms"]
        for what, a, b in (("llmgw call / curl, median wall time", "llmgw_call", "curl"),
                           ("llmgw call / curl over https:// (HTTP/2), median wall time",
                            "llmgw_call_https", "curl_https")):
            if b not in m and a not in m:
                continue
            v = ratio(m.get(a), m.get(b))
            add(what, "<= 1.20", f"{num(v, '{:.2f}')} ({num(m.get(a), '{:.2f}')} vs {num(m.get(b), '{:.2f}')} ms)",
                v is not None and v <= 1.2, fails.get(a, 0) + fails.get(b, 0) + wrong)
        v = m.get("llmgw_services")
        add("llmgw services, median wall time", "< 10 ms", f"{num(v, '{:.2f}')} ms",
            v is not None and v < 10, fails.get("llmgw_services", 0))
    return out


def smoke_problems(raw, s):
    """Anything that was not answered correctly. No performance thresholds."""
    p = []
    for name, v in raw.get("checks", {}).items():
        if v != "ok":
            p.append(f"{name}: {v}")
    for phase in ("throughput", "latency"):
        if not raw.get(phase) and phase in raw["meta"]["args"]["phases"]:
            p.append(f"{phase}: no runs")
        for r in raw.get(phase, []):
            if not r.get("requests") or r.get("errors", 1) != 0:
                p.append(f"{phase} {r.get('target')}: {r.get('requests')} requests, "
                         f"errors {r.get('errors', r.get('error'))}")
    for phase in ("sse", "scale"):
        if not raw.get(phase) and phase in raw["meta"]["args"]["phases"]:
            p.append(f"{phase}: no runs")
        for r in raw.get(phase, []):
            n = r.get("streams")
            if not n or r.get("ok") != n or r.get("check_error"):
                p.append(f"{phase} {r.get('target')}: {r.get('ok')}/{n} streams complete "
                         f"({r.get('first_error') or r.get('error') or r.get('check_error')})")
    if "call" in raw["meta"]["args"]["phases"]:
        c = s.get("call") or {}
        if not c.get("answers_ok"):
            wrong = {k: v for k, v in raw.get("call", {}).items() if k.endswith("_answer")}
            p.append(f"call: wrong answer: {wrong}")
        for k, n in (c.get("nonzero_exits") or {}).items():
            if n:
                p.append(f"call: {k} exited non-zero {n} times")
    # Every phase that ran gives its verdicts, each with its figure: a renamed or lost figure
    # would otherwise make a verdict disappear and the smoke run still pass.
    args = raw["meta"]["args"]
    expected = []
    if "throughput" in args["phases"]:
        expected.append("throughput, 64 conns")
        if {"nginx-1w", "llmgw-1t"} <= {r.get("target") for r in raw.get("throughput", [])}:
            expected.append("throughput per core")
    if "latency" in args["phases"]:
        for c in args["lat_conns"]:
            conns = f"{c} conn{'s' if c != 1 else ''}"
            expected += [f"added p50 latency, {conns}:", f"added p99 latency, {conns}:",
                         f"stretch: added p99, {conns}"]
    if "sse" in args["phases"]:
        for k in args["sse_streams"]:
            expected += [f"SSE {k} streams: TTFB p99", f"SSE {k} streams: largest event gap",
                         f"SSE {k} streams: every stream complete"]
    if "scale" in args["phases"]:
        # Not the CPU between events: its quiet window is too short to be sure of in a smoke
        # run on a slow (sanitizer) build.
        expected += ["scale: concurrent streams", "scale: RSS per stream"]
    if "call" in args["phases"]:
        expected += ["llmgw call / curl, median", "llmgw services, median"]
    verdicts = s.get("targets", [])
    for e in expected:
        if not any(t["what"].startswith(e) for t in verdicts):
            p.append(f"no verdict '{e}...'")
    for t in verdicts:
        if t.get("missing"):
            p.append(f"verdict without its figure: {t['what']}: {t['measured']}")
    if not raw.get("table"):
        p.append("no table")
    return p


# ------------------------------------------------------------------ rendering

def f(v, fmt="{:.2f}", none="-"):
    return none if v is None else fmt.format(v)


def table(raw, s, markdown=False):
    L = []
    m = raw["meta"]
    mach = m.get("machine", {})
    args = m.get("args", {})

    def section(title):
        L.append("")
        L.append(("### " if markdown else "== ") + title)
        L.append("")

    def rows(header, body):
        if markdown:
            L.append("| " + " | ".join(header) + " |")
            L.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
            for b in body:
                L.append("| " + " | ".join(b) + " |")
        else:
            w = [max(len(str(x)) for x in col) for col in zip(header, *body)]
            L.append("  ".join(str(h).ljust(w[i]) if i == 0 else str(h).rjust(w[i]) for i, h in enumerate(header)))
            for b in body:
                L.append("  ".join(str(x).ljust(w[i]) if i == 0 else str(x).rjust(w[i]) for i, x in enumerate(b)))

    L.append(f"llmgw bench ({m.get('mode')}), {m.get('date')}: {mach.get('cpus')} CPUs "
             f"({mach.get('cpu_model', '?')}), load average {f(mach.get('loadavg_start', [None])[0])} at start, "
             f"{f((m.get('loadavg_end') or [None])[0])} at end; {m.get('seconds')} s")
    L.append(f"{mach.get('nginx')}; {mach.get('wrk')}; llmgw {m.get('llmgw')}")

    if s["throughput"]:
        section(f"Throughput: non-streaming POST, {args.get('tp_conns')} keep-alive connections, wrk -t1, "
                f"{args.get('tp_dur')} s x {s['throughput'].get('direct', {}).get('rounds', '?')} rounds (median)")
        base = s["throughput"].get("direct", {}).get("rps")
        ng, ng1 = s["throughput"].get("nginx", {}).get("rps"), s["throughput"].get("nginx-1w", {}).get("rps")
        body = []
        for t in TP_ORDER:
            v = s["throughput"].get(t)
            if not v:
                continue
            vs_n = ratio(v["rps"], ng1 if t.endswith(("-1w", "-1t")) else ng)
            spread = f"{v['rps_min']:,.0f}..{v['rps_max']:,.0f}" if v.get("rps_min") is not None else "-"
            body.append([LABEL[t], f(v["rps"], "{:,.0f}"), spread,
                         f(ratio(v["rps"], base)), f(vs_n) + (" (1w)" if t.endswith(("-1w", "-1t")) else ""),
                         f(v.get("p50_ms"), "{:.3f}"), f(v.get("p99_ms"), "{:.3f}"), f(v.get("cpu_cores")),
                         f(v.get("cpu_us_per_req"), "{:.1f}"), str(v["errors"])])
        rows(["target", "req/s", "range", "x direct", "x nginx", "p50 ms", "p99 ms", "CPU cores",
              "CPU us/req", "errors"], body)
        if not markdown:
            L.append("(@CPU0: the gateway pinned to CPU 0, wrk and the mock to CPU 1; 'x nginx' of those rows "
                     "is against nginx 1 worker)")

    if s["latency"]:
        section(f"Added latency: wrk -t1, {args.get('lat_dur')} s per run (median of rounds; added = "
                "target minus direct in the same round)")
        body = []
        for c, tr in s["latency"].items():
            for t in ("direct", "nginx", "llmgw"):
                v = tr.get(t)
                if v:
                    body.append([f"{c} conn{'s' if c != '1' else ''}", LABEL[t], f(v.get("rps"), "{:,.0f}"),
                                 f(v.get("p50_ms"), "{:.3f}"), f(v.get("p99_ms"), "{:.3f}"),
                                 f(v["added_p50_ms"], "{:+.3f}") if t != "direct" else "",
                                 f(v["added_p99_ms"], "{:+.3f}") if t != "direct" else "",
                                 f(v.get("host_steal_ms_per_s")), str(v["errors"])])
        rows(["conns", "target", "req/s", "p50 ms", "p99 ms", "added p50", "added p99", "steal ms/s",
              "errors"], body)
        if not markdown:
            L.append("(steal: CPU time the host gave to other machines during the runs, ms per second, "
                     "median of rounds; where the host exposes it)")

    if s["sse"]:
        section(f"SSE: concurrent streams of {args.get('sse_events')} events {args.get('sse_delay')} ms apart "
                f"(median of {args.get('sse_rounds')} rounds; 'worst' over rounds)")
        body = []
        for k, tr in s["sse"].items():
            for t in ("direct", "control", "nginx", "llmgw"):
                v = tr.get(t)
                if v:
                    body.append([f"{k} streams", LABEL[t], f"{v['complete']}/{v['streams']}",
                                 f(v["ttfb_p50_ms"]), f(v["ttfb_p99_ms"]), f(v["max_gap_p99_ms"], "{:.1f}"),
                                 f(v["largest_gap_ms"], "{:.1f}"), f(v["largest_gap_worst_ms"], "{:.1f}"),
                                 f(v["largest_gap_over_direct_worst_ms"], "{:+.1f}") if t != "direct" else "",
                                 f(100 * v["burst_gap_frac"] if v.get("burst_gap_frac") is not None else None, "{:.1f}"),
                                 f(v["cpu_cores"])])
        rows(["streams", "target", "complete", "TTFB p50", "TTFB p99", "gap p99", "largest gap",
              "worst", "worst - direct", "bursty %", "CPU cores"], body)
        if not markdown:
            L.append("(ms; gap p99: the 99th percentile over streams of each stream's largest gap between events; "
                     "bursty: share of gaps under a quarter of the 20 ms spacing, i.e. events that arrived together)")

    if s["scale"]:
        sm = raw.get("scale_meta", {})
        over_h2 = f", {sm.get('streams_h2')} over HTTP/2" if "llmgw-h2" in s["scale"] else ""
        section(f"Scale: {sm.get('streams')} concurrent SSE streams{over_h2} "
                f"(asked {sm.get('asked')}), 3 events "
                f"{sm.get('hold_s', 0) / 2:g} s apart, held {sm.get('hold_s')} s, opened at {sm.get('ramp_per_s')}/s")
        body = []
        for t in ("direct", "nginx", "llmgw", "llmgw-h2"):
            v = s["scale"].get(t)
            if v:
                body.append([LABEL[t], f"{v.get('ok')}/{v.get('streams')}", str(v.get("max_open")),
                             f(v.get("all_open_s"), "{:.1f}"),
                             f((v.get("rss_idle_kb") or 0) / 1024, "{:.1f}"), f((v.get("rss_hold_kb") or 0) / 1024, "{:.1f}"),
                             f(v.get("kib_per_stream"), "{:.1f}"),
                             f(100 * v["cpu_between_events_cores"] if v.get("cpu_between_events_cores") is not None else None, "{:.2f}"),
                             str(v.get("fds_hold"))])
        rows(["target", "complete", "open at once", "all open after s", "idle RSS MiB", "held RSS MiB", "KiB/stream",
              "CPU between events %", "fds"], body)
        if not markdown:
            L.append("(RSS and CPU of the gateway's processes: nginx = its workers; direct = the mock. 'all open "
                     "after': until every stream had its first event; CPU is measured from then until the "
                     "second events are due)")

    c = s.get("call")
    if c:
        section(f"One-shot commands: median wall time of {c['runs']} alternating runs")
        mm = c["median_ms"]
        body = [["curl POST to the mock", f(mm.get("curl")), ""],
                ["llmgw call openai (same request)", f(mm.get("llmgw_call")), f(c.get("llmgw_call/curl")) + " x curl"],
                ["curl POST to the TLS mock (https://, HTTP/2)", f(mm.get("curl_https")), ""],
                ["llmgw call to the TLS mock (same request)", f(mm.get("llmgw_call_https")),
                 f(c.get("llmgw_call_https/curl_https")) + " x curl"],
                ["llmgw services", f(mm.get("llmgw_services")), ""],
                ["llmgw --version (start-up floor)", f(mm.get("llmgw_version")), ""],
                ["true (process spawn floor)", f(mm.get("true")), ""]]
        rows(["command", "ms", "ratio"], body)

    if s["targets"]:
        section("Issue 7 targets (this run)")
        rows(["what", "goal", "measured", "verdict"],
             [[t["what"], t["goal"], t["measured"],
               "n/a" if t["pass"] is None else "PASS" if t["pass"] else "FAIL"] for t in s["targets"]])

    notes = raw.get("notes", [])
    if notes:
        section("Notes")
        for n in notes:
            L.append(("- " if markdown else "  ") + n)
    return "\n".join(L).lstrip("\n")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    with open(sys.argv[1]) as fh:
        raw = json.load(fh)
    s = summarize(raw)  # from the raw figures, by the current rules (not the stored summary)
    print(table(raw, s, markdown="--markdown" in sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
