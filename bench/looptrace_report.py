"""Why keys were slow: `echo_pty.py --json` output read beside a bench/looptrace log of the same run.

    .venv/bin/python bench/looptrace_report.py ECHO.json CASE TRACE_PREFIX [--slowest 5] [--over-ms 100]

Prints where the keys of CASE (typed while the answer streamed) waited — before the app handled them, and from then
to the frame that showed them — what kept the event loop busy (callbacks over 4 ms, layouts), and the timeline of
the slowest keys. The app's log is the largest `TRACE_PREFIX.<pid>` file (the idle case's app writes a small one).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os

from _common import percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("echo_json")
    parser.add_argument("case")
    parser.add_argument("trace_prefix")
    parser.add_argument("--slowest", type=int, default=5)
    parser.add_argument("--over-ms", type=float, default=100.0)
    args = parser.parse_args()
    result = json.load(open(args.echo_json))["results"][args.case][0]
    logs = [path for path in glob.glob(args.trace_prefix + ".*") if path.rsplit(".", 1)[1].isdigit()]
    if not logs:
        raise SystemExit(f"no trace {args.trace_prefix}.<pid>: was LOOP_TRACE set to {args.trace_prefix}?")
    log = max(logs, key=os.path.getsize)
    events = sorted((float(line.split()[1]), line.split()) for line in open(log) if len(line.split()) > 1)
    handled = [at for at, fields in events if fields[0] == "KEY" and fields[2] == "*"][2:]  # typed keys, after "go"
    keys = [(k, at) for k, at in zip(result["keys"], handled) if k["phase"] == "stream" and k["latency"] is not None]
    if not keys:
        raise SystemExit("no timed keys while the answer streamed in that case")
    wait50, wait95, _ = percentiles([(at - k["written"]) * 1000 for k, at in keys])
    show50, show95, _ = percentiles([(k["written"] + k["latency"] - at) * 1000 for k, at in keys])
    print(f"{len(keys)} keys while streaming; key written → handled by the app: p50 {wait50:.0f}, "
          f"p95 {wait95:.0f} ms; handled → on screen: p50 {show50:.0f}, p95 {show95:.0f} ms")
    start, end = keys[0][0]["written"], keys[-1][0]["written"]
    busy = collections.Counter()
    count = collections.Counter()
    layouts = []
    for at, fields in events:
        if start <= at <= end:
            if fields[0] == "CB":
                busy[fields[3]] += float(fields[2])
                count[fields[3]] += 1
            elif fields[0] == "LAYOUT":
                layouts.append(float(fields[2]))
    print(f"over those {end - start:.1f} s: callbacks over 4 ms took {sum(busy.values()) / 1000:.1f} s; "
          f"{len(layouts)} layouts, {sum(layouts) / 1000:.1f} s, mean {sum(layouts) / max(1, len(layouts)):.0f} ms")
    for name, ms in busy.most_common(6):
        print(f"  {ms / 1000:6.2f} s  {count[name]:4}×  {name}")
    slow = sorted((k for k in keys if k[0]["latency"] * 1000 > args.over_ms), key=lambda k: -k[0]["latency"])
    for key, at in slow[:args.slowest]:
        written, echoed = key["written"], key["written"] + key["latency"]
        print(f"\nkey {key['char']!r}: {key['latency'] * 1000:.0f} ms (handled after {(at - written) * 1000:.0f})")
        for when, fields in events:
            if written - 0.06 <= when <= echoed + 0.005 and not (fields[0] == "MSG" and float(fields[2]) < 8):
                print(f"  {(when - written) * 1000:+7.1f} ms  {' '.join(fields[:1] + fields[2:])[:100]}")


if __name__ == "__main__":
    main()
