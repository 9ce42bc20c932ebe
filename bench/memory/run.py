#!/usr/bin/env python3
"""Peak memory of the function at its inflate cap, run as Lambda runs it.

    sudo bench/memory/run.py [--sizes 128,256,512] [--forwarder BIN] [--moto-server M] [--python PY]

For each memory size: the release binary starts in a cgroup limited to that size (and the CPU
share Lambda gives it), under the Lambda Runtime API of ../shared/lambda-sim beside the repository
(runtime_api.py; --sim names another),
publishing to a local moto SNS. A first run serves a small flagged batch and reads the cap the
function derived from AWS_LAMBDA_FUNCTION_MEMORY_SIZE from its cold-start log line; then
bench/memory/events.py writes a fully flagged batch just under that cap and a gzip bomb just over
it (and one of the shortest lines a real batch carries, the most bookkeeping per byte), and each
runs in a fresh function. Prints, per size and event, the outcome (response, or the
error type and message) and the cgroup's peak memory. Needs root (cgroup v1 memory and cpu).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="128,256,512")
ap.add_argument("--forwarder", default=os.path.join(root, "target/release/forwarder"))
ap.add_argument("--moto-server", default=os.path.join(root, ".venv/bin/moto_server"))
ap.add_argument("--python", default=os.path.join(root, ".venv/bin/python"), help="a Python with boto3")
ap.add_argument("--sim", default=os.path.join(os.path.dirname(root), "shared/lambda-sim"),
                help="lambda-sim, for runtime_api.py (default: ../shared/lambda-sim beside the repository)")
ap.add_argument("--events", default=os.path.join(root, "bench/.events/memory"))
a = ap.parse_args()
if os.geteuid() != 0:
    sys.exit("run.py needs root: it puts the function in cgroup v1 cpu and memory groups")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cgroup(size):
    cpu, mem = "/sys/fs/cgroup/cpu/fwdmem%d" % size, "/sys/fs/cgroup/memory/fwdmem%d" % size
    os.makedirs(cpu, exist_ok=True)
    os.makedirs(mem, exist_ok=True)
    open(cpu + "/cpu.cfs_period_us", "w").write("100000")
    open(cpu + "/cpu.cfs_quota_us", "w").write(str(min(100000, int(100000 * size / 1769))))
    open(mem + "/memory.limit_in_bytes", "w").write(str(size << 20))
    return cpu, mem


def invoke(size, event, env):
    """Starts the function fresh, serves it one event; returns (outcome, peak MiB, log)."""
    cpu, mem = cgroup(size)
    port = free_port()
    out = tempfile.mktemp(suffix=".json")
    api = subprocess.Popen([sys.executable, os.path.join(a.sim, "runtime_api.py"), str(port), out, event])
    time.sleep(0.3)
    open(mem + "/memory.max_usage_in_bytes", "w").write("0")
    fenv = dict(env, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % port, AWS_LAMBDA_FUNCTION_NAME="fwd",
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(size), AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                AWS_LAMBDA_LOG_STREAM_NAME="s", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/fwd",
                RUST_LOG="info")
    wrap = ["sh", "-c", 'echo $$ > %s/tasks; echo $$ > %s/tasks; exec "$@"' % (cpu, mem), "sh", a.forwarder]
    log = tempfile.TemporaryFile()
    p = subprocess.Popen(wrap, env=fenv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not os.path.exists(out) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    time.sleep(0.1)
    peak = int(open(mem + "/memory.max_usage_in_bytes").read()) / 2**20
    code = p.poll()
    p.kill()
    p.wait()
    api.kill()
    api.wait()
    log.seek(0)
    text = log.read().decode(errors="replace")
    if not os.path.exists(out):
        return ("killed (exit %s, out of memory?)" % code if code is not None else "no answer"), peak, text
    inv = json.load(open(out))["invocations"][0]
    os.unlink(out)
    if inv.get("outcome") == "response":
        return "response", peak, text
    try:
        body = json.loads(inv.get("body") or "{}")
    except ValueError:
        body = {"errorType": "error", "errorMessage": inv.get("body", "")}
    return "%s: %s" % (body.get("errorType"), body.get("errorMessage", "")[:110]), peak, text


def main():
    if not os.path.exists(a.forwarder):
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "forwarder"], cwd=root, check=True)
    moto_port = free_port()
    moto = subprocess.Popen([a.moto_server, "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = "http://127.0.0.1:%d" % moto_port
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/")
            break
        except Exception:
            time.sleep(0.2)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
               AWS_EC2_METADATA_DISABLED="true")
    topic = subprocess.run(
        [a.python, "-c", "import boto3; print(boto3.client('sns').create_topic(Name='alerts')['TopicArn'])"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    env["ALERT_TOPIC_ARN"] = topic
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
        moto.send_signal(signal.SIGTERM)
        moto.wait()
    print("| memory MB | inflate cap MiB | batch | outcome | peak MiB |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %d | %d | %s | %s | %.1f |" % r)


if __name__ == "__main__":
    main()
