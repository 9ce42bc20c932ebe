#!/usr/bin/env python3
"""Times `forwarder scan` against bench/reference.py on the same event files, as whole processes,
and reports peak memory, startup time and the zipped Lambda bootstrap size. Used by bench/run."""
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORWARDER = os.path.join(ROOT, "target", "release", "forwarder")
FLOOR = os.path.join(ROOT, "target", "release", "examples", "floor")
REFERENCE = os.path.join(ROOT, "bench", "reference.py")
EVENTS = os.path.join(ROOT, "bench", ".events")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))


# Times the reference's handler in one process (the event JSON parse and the handler, per batch)
# and the part of it no Python forwarder avoids: base64, gunzip and json.loads of the payload.
WARM_HANDLER = """
import importlib.util, json, statistics, sys, time
spec = importlib.util.spec_from_file_location("reference", sys.argv[1])
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
import base64, gzip
raw = open(sys.argv[2], "rb").read()
data = json.loads(raw)["awslogs"]["data"]


def median(step):
    times = []
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


handler = median(lambda: reference.handler(json.loads(raw)))
floor = median(lambda: json.loads(gzip.decompress(base64.b64decode(data))))
print(handler, floor)
"""


def run(cmd):
    """Runs a command once; returns (seconds, peak RSS in KiB, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def median_time(cmd, expect):
    times = []
    for _ in range(RUNS):
        elapsed, _, code = run(cmd)
        if code not in expect:
            sys.exit(f"{' '.join(cmd)} exited {code}")
        times.append(elapsed)
    return statistics.median(times)


def main():
    python = sys.executable
    print(f"| event | compressed | forwarder scan | floor process | python reference | speed-up | floor's speed-up |")
    print(f"|---|---|---|---|---|---|---|")
    for name in ["default_1pct", "default_100pct", "json_1pct", "large_1mb"]:
        path = os.path.join(EVENTS, f"{name}.json")
        ours = median_time([FORWARDER, "scan", path], expect={0, 1})
        floor = median_time([FLOOR, path], expect={0})
        theirs = median_time([python, REFERENCE, path], expect={0})
        size = os.path.getsize(path)
        print(f"| {name} | {size / 1e6:.2f} MB | {ours * 1e3:.1f} ms | {floor * 1e3:.1f} ms "
              f"| {theirs * 1e3:.1f} ms | {theirs / ours:.1f}x | {theirs / floor:.1f}x |")
    all_events = [os.path.join(EVENTS, f"{n}.json") for n in ["default_1pct", "default_100pct", "json_1pct"]]
    ours = median_time([FORWARDER, "scan", *all_events], expect={0, 1})
    theirs = median_time([python, REFERENCE, *all_events], expect={0})
    print(f"| three events in one process | | {ours * 1e3:.1f} ms | | {theirs * 1e3:.1f} ms | {theirs / ours:.1f}x | |")

    # The multi-event target: ten subscription events of 10,000 lines each, 1% flagged, made by
    # bench/gen_events.py (bench/run writes them), in one process each side; runs alternate so
    # both see the same machine.
    multi = sorted(glob.glob(os.path.join(EVENTS, "multi", "event-*.json")))
    if multi:
        ours_t, theirs_t, floor_t, rss = [], [], [], []
        for _ in range(RUNS):
            elapsed, _, code = run([FLOOR, *multi])
            if code != 0:
                sys.exit(f"the floor process exited {code} on the multi-event set")
            floor_t.append(elapsed)
            elapsed, peak, code = run([FORWARDER, "scan", *multi])
            if code not in {0, 1}:
                sys.exit(f"forwarder scan exited {code} on the multi-event set")
            ours_t.append(elapsed)
            rss.append(peak)
            elapsed, _, code = run([python, REFERENCE, *multi])
            if code != 0:
                sys.exit(f"the reference exited {code} on the multi-event set")
            theirs_t.append(elapsed)
        ours, theirs = statistics.median(ours_t), statistics.median(theirs_t)
        floor = statistics.median(floor_t)
        print(f"| ten events of 10,000 lines, 1% flagged, in one process | "
              f"{sum(os.path.getsize(m) for m in multi) / 1e6:.2f} MB | {ours * 1e3:.1f} ms | "
              f"{floor * 1e3:.1f} ms | {theirs * 1e3:.1f} ms | {theirs / ours:.1f}x | {theirs / floor:.1f}x |")
        print(f"\npeak RSS of `forwarder scan` on the ten events: {max(rss) / 1024:.1f} MiB "
              f"(median {statistics.median(rss) / 1024:.1f} MiB)")

    # Where the reference's time goes: starting the interpreter with its imports, and the handler
    # itself once warm (in process), which is what a warm Lambda bills per batch.
    start = median_time([python, "-c", "import base64, gzip, json"], expect={0})
    print(f"\npython reference, interpreter start with its imports: {start * 1e3:.1f} ms")
    for name in ["default_1pct", "default_100pct", "json_1pct"]:
        warm = subprocess.run(
            [python, "-c", WARM_HANDLER, REFERENCE, os.path.join(EVENTS, f"{name}.json"), str(RUNS)],
            check=True, capture_output=True, text=True,
        ).stdout
        handler, floor = (float(t) * 1e3 for t in warm.split())
        print(f"python reference, warm, {name}: handler {handler:.2f} ms per batch, "
              f"of which base64 + gunzip + json.loads {floor:.2f} ms")

    _, rss, _ = run([FORWARDER, "scan", os.path.join(EVENTS, "large_1mb.json")])
    print(f"\npeak RSS of `forwarder scan large_1mb.json`: {rss / 1024:.1f} MB")

    with tempfile.NamedTemporaryFile("w", suffix=".log") as tiny:
        tiny.write('1.2.3.4 - - [t] "GET GET / HTTP/1.1" 200 1 r -\n')
        tiny.flush()
        startup = median_time([FORWARDER, "scan", tiny.name], expect={0})
    print(f"startup to first output, tiny input (median of {RUNS}): {startup * 1e3:.2f} ms")

    bootstrap = os.path.join(ROOT, "target", "lambda", "forwarder", "bootstrap")
    if os.path.exists(bootstrap):
        with tempfile.TemporaryDirectory() as d:
            archive = os.path.join(d, "bootstrap.zip")
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
                z.write(bootstrap, "bootstrap")
            print(f"arm64 bootstrap: {os.path.getsize(bootstrap) / 1e6:.2f} MB, zipped {os.path.getsize(archive) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
