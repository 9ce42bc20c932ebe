#!/usr/bin/env python3
"""Peak memory of the function at its inflate cap, run as Lambda runs it.

    sudo bench/memory/run.py [--sizes 128,256,512] [--forwarder BIN] [--moto-server M] [--python PY]

For each memory size: the release binary starts in a cgroup limited to that size (and the CPU
share Lambda gives it), under the test crate's Lambda Runtime API (the `invoke` binary over
tests/src/runtime_api.rs, as bench/lambda runs it; bench/lambda_run.py has the cgroup and moto
helpers), publishing to a local moto SNS. A first run serves a small flagged batch and reads the
cap the function derived from AWS_LAMBDA_FUNCTION_MEMORY_SIZE from its cold-start log line; then
bench/memory/events.py writes a fully flagged batch just under that cap and a gzip bomb just over
it (and one of the shortest lines a real batch carries, the most bookkeeping per byte), and each
runs in a fresh function. Prints, per size and event, the outcome (response, or the
error type and message) and the cgroup's peak memory. Needs root (cgroup v1 or v2, memory and cpu).
"""
import argparse
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.dirname(here))
sys.dont_write_bytecode = True  # no __pycache__ left in bench/ by a root run
import lambda_run  # noqa: E402  (bench/lambda_run.py)

ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="128,256,512")
ap.add_argument("--forwarder", default=os.path.join(lambda_run.TARGET, "release", "forwarder"))
ap.add_argument("--moto-server", default=os.path.join(lambda_run.VENV, "bin", "moto_server"))
ap.add_argument("--python", default=os.path.join(lambda_run.VENV, "bin", "python"), help="a Python with boto3")
ap.add_argument("--events", default=os.path.join(root, "bench/.events/memory"))
a = ap.parse_args()
lambda_run.need_root("bench/memory/run.py")


def invoke(size, event, env):
    """Starts the function fresh, serves it one event; returns (outcome, peak MiB, log)."""
    report, text, peak = lambda_run.invoke([a.forwarder], [event], size, dict(env, RUST_LOG="info"),
                                           "fwdmem%d" % size)
    if not report["invocations"] or report["invocations"][0]["outcome"] is None:
        code = report["exit"]
        return ("killed (%s, out of memory?)" % code if code is not None else "no answer"), peak, text
    inv = report["invocations"][0]
    if inv["outcome"] == "response":
        return "response", peak, text
    try:
        body = json.loads(inv.get("body") or "{}")
    except ValueError:
        body = {"errorType": "error", "errorMessage": inv.get("body", "")}
    return "%s: %s" % (body.get("errorType"), body.get("errorMessage", "")[:110]), peak, text


def main():
    if not os.path.exists(a.forwarder):
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "forwarder"], cwd=root, check=True)
    if not os.path.exists(lambda_run.INVOKE):
        subprocess.run(["cargo", "build", "--quiet", "-p", "forwarder-tests", "--bin", "invoke"], cwd=root, check=True)
    moto = lambda_run.Moto(a.moto_server, a.python)
    env = moto.env
    rows = []
    try:
        for size in [int(s) for s in a.sizes.split(",")]:
            d = os.path.join(a.events, str(size))
            os.makedirs(d, exist_ok=True)
            # The small batch first: its cold-start log line says which cap the function chose.
            subprocess.run([sys.executable, os.path.join(here, "events.py"), d, "--cap-mib", "4"],
                           check=True, stdout=subprocess.DEVNULL)
            outcome, peak, log = invoke(size, os.path.join(d, "small.json"), env)
            caps = [json.loads(l).get("fields", {}).get("inflate_cap") for l in log.splitlines()
                    if "inflate_cap" in l]
            if not caps:
                sys.exit("%d MB: the function logged no inflate_cap: %s" % (size, log[-500:]))
            cap_mib = caps[0] >> 20
            rows.append((size, cap_mib, "10 flagged lines", outcome, peak))
            print(subprocess.run([sys.executable, os.path.join(here, "events.py"), d, "--cap-mib", str(cap_mib)],
                                 check=True, capture_output=True, text=True).stdout.strip(), file=sys.stderr)
            for name, what in [("flagged.json", "fully flagged, cap - 64 KiB"),
                               ("short.json", "fully flagged short lines, cap - 64 KiB"),
                               ("bomb.json", "gzip bomb, cap + 1 MiB")]:
                outcome, peak, _ = invoke(size, os.path.join(d, name), env)
                rows.append((size, cap_mib, what, outcome, peak))
                print("%d MB: %s: %s, peak %.1f MiB" % (size, what, outcome, peak), file=sys.stderr)
    finally:
        moto.close()
    print("| memory MB | inflate cap MiB | batch | outcome | peak MiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %d | %d | %s | %s | %.1f |" % r)


if __name__ == "__main__":
    main()
