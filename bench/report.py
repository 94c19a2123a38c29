#!/usr/bin/env python3
"""Turns bench/run's results.jsonl into the Markdown table (medians of the runs) and the verdict
on the targets of issue 3. Usage: report.py results.jsonl"""
import json
import statistics
import sys
from collections import defaultdict

TARGETS = ["direct", "nginx", "haproxy", "sluice"]

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = next((r for r in rows if r.get("scenario") == "meta"), {})
values = defaultdict(list)  # (scenario, target, key) -> [values of each run]
for r in rows:
    for k, v in r.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[(r.get("scenario"), r.get("target"), k)].append(v)


def med(scenario, target, key):
    v = values.get((scenario, target, key))
    return statistics.median(v) if v else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def added(scenario, target, key):
    a, d = med(scenario, target, key), med(scenario, "direct", key)
    return None if a is None or d is None else a - d


lines = []
out = lines.append
out(f"Sluice benchmark, {meta.get('date', '?')}: {meta.get('nproc', '?')} cores, {meta.get('cpu', '?')}, "
    f"Linux {meta.get('kernel', '?')}; {meta.get('java', '?')}; nginx {meta.get('nginx', '?')}, "
    f"HAProxy {meta.get('haproxy', '?')}, Sluice {meta.get('sluice', '?')}. "
    f"Proxy on core 0, load + mock on core 1. Medians of {meta.get('runs', '?')} runs"
    f"{' (--quick)' if meta.get('quick') else ''}.")
out("")
out(f"- throughput: {meta.get('tp', '?')}")
out(f"- latency: {meta.get('lat', '?')}")
out(f"- held: {meta.get('held_streams', '?')} streams (ulimit -n {meta.get('ulimit_n', '?')}), one token per 10 s")
out("")
out("| metric | direct | nginx | HAProxy | Sluice | Sluice ÷ nginx | Sluice ÷ HAProxy | HAProxy ÷ nginx | Sluice ÷ direct |")
out("|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(name, scenario, key, digits=1, direct=True, lower_better=False, fn=None):
    get = fn or (lambda t: med(scenario, t, key))
    v = {t: get(t) for t in TARGETS}
    if not direct:
        v["direct"] = None
    out(f"| {name} | " + " | ".join(fmt(v[t], digits) for t in TARGETS)
        + f" | {ratio(v['sluice'], v['nginx'])} | {ratio(v['sluice'], v['haproxy'])}"
        + f" | {ratio(v['haproxy'], v['nginx'])} | {ratio(v['sluice'], v['direct'])} |")
    return v


tp_req = row("throughput: requests/s", "throughput", "requests_per_s")
row("throughput: events/s", "throughput", "events_per_s", digits=0)
row("throughput: proxy CPU use (cores)", "throughput", "proxy_cpu_util", digits=2, direct=False)
rpc = row("**requests per proxy CPU-second**", "throughput", "requests_per_cpu_s", direct=False)
epc = row("**events per proxy CPU-second**", "throughput", "events_per_cpu_s", digits=0, direct=False)
row("latency: TTFT p50 (ms)", "latency", "ttft_p50_ms", digits=2)
row("latency: TTFT p99 (ms)", "latency", "ttft_p99_ms", digits=2)
row("latency: inter-token gap p50 (ms)", "latency", "gap_p50_ms", digits=2)
row("latency: inter-token gap p99 (ms)", "latency", "gap_p99_ms", digits=2)
a50 = row("**added TTFT p50 (ms)**", "latency", None, digits=2, fn=lambda t: added("latency", t, "ttft_p50_ms"))
a99 = row("**added TTFT p99 (ms)**", "latency", None, digits=2, fn=lambda t: added("latency", t, "ttft_p99_ms"))
g99 = row("**added gap p99 (ms)**", "latency", None, digits=2, fn=lambda t: added("latency", t, "gap_p99_ms"))
row("held: streams established", "held", "streams", digits=0, direct=False)
row("held: seconds to establish all", "held", "seconds_to_establish", digits=2, direct=False)
rss = row("**RSS per held stream (KiB)**", "held", "rss_per_stream_kb", digits=1, direct=False)
startup = med("startup", "sluice", "startup_ms")
out(f"| **Sluice start → first 200 (ms), on the proxy core, median of {len(values.get(('startup', 'sluice', 'startup_ms'), []))}** "
    f"| – | – | – | {fmt(startup, 0)} | – | – | – | – |")
startup_all = med("startup", "sluice", "startup_all_cores_ms")
out(f"| Sluice start → first 200 (ms), all {meta.get('nproc', '?')} cores "
    f"| – | – | – | {fmt(startup_all, 0)} | – | – | – | – |")
errs = {t: sum(sum(values.get((s, t, "errors"), [])) for s in ("throughput", "latency", "held")) for t in TARGETS}
out("| errors (all runs) | " + " | ".join(str(int(errs[t])) for t in TARGETS) + " | | | | |")
out("")
out("Targets of issue 3 (ratios against peers of the same run):")
out("")


def verdict_ge(name, mine, peer, factor=1.0, peer_name="nginx"):
    if mine is None or peer is None:
        return f"- {name}: not measured"
    need = peer * factor
    ok = mine >= need
    return (f"- {name}: {'MET' if ok else 'MISSED'} — Sluice {fmt(mine)} vs {peer_name} {fmt(peer)}"
            f" ({mine / peer:.2f}×; needed ≥ {factor:.2f}×)")


def verdict_le_added(name, mine, peer, peer_name="nginx"):
    if mine is None or peer is None:
        return f"- {name}: not measured"
    ok = mine <= peer
    gap = mine - peer
    return (f"- {name}: {'MET' if ok else 'MISSED'} — Sluice adds {mine:+.2f} ms, {peer_name} {peer:+.2f} ms"
            f" ({'within' if ok else 'over by'} {abs(gap):.2f} ms)")


def verdict_le(name, mine, peer, peer_name="nginx", unit="KiB"):
    if mine is None or peer is None:
        return f"- {name}: not measured"
    ok = mine <= peer
    return (f"- {name}: {'MET' if ok else 'MISSED'} — Sluice {mine:.1f} {unit} vs {peer_name} {peer:.1f} {unit}"
            f" ({mine / peer:.2f}×)" if peer else f"- {name}: peer measured 0")


out(verdict_ge("requests per proxy CPU-second ≥ nginx", rpc["sluice"], rpc["nginx"]))
out(verdict_ge("events per proxy CPU-second ≥ nginx", epc["sluice"], epc["nginx"]))
out(verdict_ge("stretch: requests per proxy CPU-second ≥ HAProxy", rpc["sluice"], rpc["haproxy"],
               peer_name="HAProxy"))
out("- plugins on (≥ 0.8 × nginx): not run — the plugin chain (JWT, IP filter, token limit) is not built yet")
out(verdict_le_added("added TTFT p50 ≤ nginx's", a50["sluice"], a50["nginx"]))
out(verdict_le_added("added TTFT p99 ≤ nginx's", a99["sluice"], a99["nginx"]))
out(verdict_le_added("added inter-token gap p99 ≤ nginx's", g99["sluice"], g99["nginx"]))
out(verdict_le("RSS per held stream ≤ nginx", rss["sluice"], rss["nginx"]))
out(verdict_le("stretch: RSS per held stream ≤ HAProxy", rss["sluice"], rss["haproxy"], peer_name="HAProxy"))
if startup is not None:
    out(f"- ready within 1.5 s of start: {'MET' if startup <= 1500 else 'MISSED'} — median {startup:.0f} ms"
        f" pinned to one core (over by {max(0, startup - 1500):.0f} ms); {fmt(startup_all, 0)} ms on all cores")
out("- TLS and gzip variants: not run — Sluice has no TLS listener or compression yet")
print("\n".join(lines))
