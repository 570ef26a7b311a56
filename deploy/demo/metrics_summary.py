"""The demo's last table: every process's /readyz and a few of the metrics
an operator watches, scraped from the /metrics endpoints named in
Prometheus file_sd target lists (rekindle-local's and the demo's own).

    metrics_summary.py TARGETS.json [MORE.json ...]

Exits 1 if a process does not answer or is not ready."""
import json
import re
import sys
import urllib.error
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(target, path):
    try:
        with urllib.request.urlopen("http://%s%s" % (target, path), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def parse(text):
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        if m:
            out.append((m.group(1), dict(LABEL.findall(m.group(3) or "")),
                        float(m.group(4))))
    return out


def total(samples, name, **want):
    return sum(v for n, ls, v in samples
               if n == name and all(ls.get(k) == w for k, w in want.items()))


def quantile(samples, name, q):
    """The q-quantile's bucket bound of a histogram, summed over series."""
    buckets = {}
    for n, ls, v in samples:
        if n == name + "_bucket":
            le = float("inf") if ls["le"] == "+Inf" else float(ls["le"])
            buckets[le] = buckets.get(le, 0) + v
    if not buckets or max(buckets.values()) == 0:
        return None
    count = buckets[float("inf")]
    for le in sorted(buckets):
        if buckets[le] >= q * count:
            return le
    return None


def main():
    targets = []
    for path in sys.argv[1:]:
        with open(path) as fh:
            for group in json.load(fh):
                for t in group["targets"]:
                    targets.append((group["labels"], t))
    bad = 0
    print("%-22s %-16s %-6s %9s  %s" % ("process", "address", "ready", "RSS MiB", "what it did"))
    for labels, t in targets:
        name = labels["program"] + (" " + labels["channel"] if "channel" in labels else "")
        ready, _ = get(t, "/readyz")
        status, text = get(t, "/metrics")
        if status != 200:
            print("%-22s %-16s %-6s  no metrics (%s)" % (name, t, ready, text[:60]))
            bad += 1
            continue
        s = parse(text)
        bad += ready != 200
        what = []
        calls = total(s, "rekindle_grpc_server_handled_total")
        if calls:
            p99 = quantile(s, "rekindle_grpc_server_handling_seconds", 0.99)
            what.append("%d RPCs (%d not OK), p99 <= %s s" % (
                calls, calls - total(s, "rekindle_grpc_server_handled_total",
                                     grpc_code="OK"), p99))
        sends = {ls["outcome"]: v for n, ls, v in s if n == "rekindle_sends_total"}
        if sends:
            what.append("sends " + ", ".join("%s %d" % kv for kv in sorted(sends.items())))
        jobs = total(s, "rekindle_jobs_total")
        if jobs:
            what.append("%d jobs" % jobs)
        prof = total(s, "rekindle_profiles_written_total")
        if prof:
            what.append("%d profiles" % prof)
        fired = total(s, "rekindle_timers_fired_total")
        if fired:
            what.append("%d timers fired, lateness p99 <= %s s, %d pending" % (
                fired, quantile(s, "rekindle_timer_lateness_seconds", 0.99),
                total(s, "rekindle_timers_pending")))
        hits = total(s, "rekindle_tracker_requests_total")
        if hits:
            what.append("%d link requests" % hits)
        kids = total(s, "rekindle_local_children")
        if kids:
            what.append("%d children up, %d restarts" % (
                kids, total(s, "rekindle_local_child_restarts_total")))
        print("%-22s %-16s %-6s %9.1f  %s" % (
            name, t, ready, total(s, "rekindle_process_resident_memory_bytes") / 2**20,
            "; ".join(what) or "-"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
