#!/usr/bin/env python3
"""The function as Lambda runs it, beside the Python peer: cold start, warm batches and peak memory
under the CPU share and memory limit of a Lambda memory size, publishing to a local moto SNS.

    sudo bench/lambda_run.py [--sizes 128] [--rounds 3] [--only forwarder|python peer]
                             [--forwarder-env K=V] [--events DIR] [--forwarder BIN] [--python PY]

bench/lambda builds what this needs and runs it. Each function runs in a cgroup of its own: a CFS
quota of size/1769 of one core per 100 ms period (the share Lambda gives a memory size), a memory
limit of that size and no swap; cgroup v2 when /sys/fs/cgroup is unified, else v1's cpu and memory
hierarchies. Root is needed to make the groups. The Runtime API is the test crate's
(tests/src/runtime_api.rs, through the `invoke` binary of tests/invoke/main.rs), the same one the
soak and the Lambda runtime tests run the binary under; the SNS is .venv/bin/moto_server.

Each round starts the function fresh and serves small, small, small, large, large, large (events
from `bench/gen_events.py --lambda`). Printed per size and function, medians over the rounds:
init (start to first /next), cold (start to first response), warm small and warm large batch
(handed out to answered), peak memory of the cgroup; then the peer/forwarder ratios.
bench/memory/run.py uses the helpers here too.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
# The harness is built without optimisation: it waits on the function, not on its own CPU.
INVOKE = os.path.join(TARGET, "debug", "invoke")
VENV = os.path.join(ROOT, ".venv")


def need_root(what):
    if os.geteuid() != 0:
        sys.exit("%s needs root: it puts each function in a cgroup with Lambda's memory limit and CPU share" % what)


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


def remove_stale(d):
    """A group left by an interrupted run goes, so its peak is not read as this run's."""
    if os.path.isdir(d):
        try:
            os.rmdir(d)
        except OSError as e:
            sys.exit("%s is left from an earlier run and cannot be removed: %s" % (d, e))


class Cgroup:
    """A fresh cgroup with the memory limit and CPU share Lambda gives `size` MB; `close` removes it."""

    def __init__(self, size, name):
        quota = min(100000, 100000 * size // 1769)
        base = "/sys/fs/cgroup"
        if os.path.exists(base + "/cgroup.controllers"):  # v2
            try:
                write(base + "/cgroup.subtree_control", "+cpu +memory")
            except OSError:
                pass  # already on, or not ours to turn on: checked below
            d = os.path.join(base, name)
            remove_stale(d)
            os.makedirs(d)
            if not os.path.exists(d + "/cpu.max") or not os.path.exists(d + "/memory.max"):
                sys.exit("cgroup v2: the cpu and memory controllers are not enabled under %s" % base)
            if not os.path.exists(d + "/memory.peak"):
                sys.exit("cgroup v2 without memory.peak (Linux 5.19 or later has it)")
            write(d + "/cpu.max", "%d 100000" % quota)
            write(d + "/memory.max", str(size << 20))
            if os.path.exists(d + "/memory.swap.max"):
                write(d + "/memory.swap.max", "0")
            self.dirs, self.peak_file = [d], d + "/memory.peak"
        else:  # v1
            cpu, mem = os.path.join(base, "cpu", name), os.path.join(base, "memory", name)
            for d in (cpu, mem):
                if not os.path.isdir(os.path.dirname(d)):
                    sys.exit("cgroup v1: no %s hierarchy" % os.path.dirname(d))
                remove_stale(d)
                os.makedirs(d)
            write(cpu + "/cpu.cfs_period_us", "100000")
            write(cpu + "/cpu.cfs_quota_us", str(quota))
            write(mem + "/memory.limit_in_bytes", str(size << 20))
            if os.path.exists(mem + "/memory.memsw.limit_in_bytes"):
                write(mem + "/memory.memsw.limit_in_bytes", str(size << 20))
            self.dirs, self.peak_file = [cpu, mem], mem + "/memory.max_usage_in_bytes"

    def wrap(self, cmd):
        """`cmd` started inside the group (the shell joins it, then becomes the command)."""
        joins = "; ".join("echo $$ > %s/cgroup.procs" % d for d in self.dirs)
        return ["/bin/sh", "-c", joins + '; exec "$@"', "sh"] + cmd

    def peak_mib(self):
        with open(self.peak_file) as f:
            return int(f.read()) / 2**20

    def close(self):
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.02)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Moto:
    """A local moto_server with one SNS topic; `env` is what a function needs to publish to it.
    `moto_server` is its executable, or a command list (bench/deploy_check.py runs tests/moto_server.py)."""

    def __init__(self, moto_server, python):
        port = free_port()
        cmd = list(moto_server) if isinstance(moto_server, (list, tuple)) else [moto_server]
        self.proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        endpoint = "http://127.0.0.1:%d" % port
        for _ in range(150):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/")
                break
            except Exception:
                if self.proc.poll() is not None:
                    sys.exit("moto_server exited")
                time.sleep(0.2)
        client_env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
        topic = subprocess.run(
            [python, "-c", "import boto3; print(boto3.client('sns').create_topic(Name='alerts')['TopicArn'])"],
            env=client_env, capture_output=True, text=True, check=True).stdout.strip()
        self.env = {"AWS_ENDPOINT_URL": endpoint, "ALERT_TOPIC_ARN": topic, "AWS_EC2_METADATA_DISABLED": "true"}

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()


def invoke(cmd, events, size, env, name):
    """Starts `cmd` fresh in a cgroup for `size` MB under the Runtime API and serves it `events` in
    order. Returns (the invoke report, the function's output, the cgroup's peak MiB)."""
    group = Cgroup(size, "%s-%d" % (name, os.getpid()))  # two runs at once keep apart
    out = tempfile.mktemp(suffix=".json")
    args = [INVOKE, "--memory", str(size), "--out", out]
    for k, v in env.items():
        args += ["--env", "%s=%s" % (k, v)]
    try:
        with tempfile.TemporaryFile() as log:
            subprocess.run(args + events + ["--"] + group.wrap(cmd), stdout=log, stderr=subprocess.STDOUT)
            log.seek(0)
            text = log.read().decode(errors="replace")
        peak = group.peak_mib()
    finally:
        group.close()
    if not os.path.exists(out):
        sys.exit("invoke wrote no report: %s" % text[-1000:])
    with open(out) as f:
        report = json.load(f)
    os.unlink(out)
    return report, text, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forwarder", default=os.path.join(TARGET, "release", "forwarder"))
    ap.add_argument("--python", default=os.path.join(VENV, "bin", "python"), help="a Python with boto3")
    ap.add_argument("--moto-server", default=os.path.join(VENV, "bin", "moto_server"))
    ap.add_argument("--sizes", default="128")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", default=os.path.join(HERE, ".events", "lambda"),
                    help="DIR with small.json and large.json (bench/gen_events.py --lambda DIR)")
    ap.add_argument("--forwarder-env", action="append", default=[], help="K=V set for the forwarder only")
    ap.add_argument("--only", default="", help="forwarder or 'python peer': run just that one")
    a = ap.parse_args()
    need_root("bench/lambda_run.py")
    for f in (INVOKE, a.forwarder, a.python, a.moto_server):
        if not os.path.exists(f):
            sys.exit("%s is missing (bench/lambda builds the binaries; tests/run creates .venv)" % f)
    small, large = os.path.join(a.events, "small.json"), os.path.join(a.events, "large.json")
    seq = [small, small, small, large, large, large]
    targets = {"forwarder": [a.forwarder], "python peer": [a.python, os.path.join(HERE, "peer_lambda.py")]}
    if a.only:
        targets = {a.only: targets[a.only]}
    extra = dict(kv.split("=", 1) for kv in a.forwarder_env)
    moto = Moto(a.moto_server, a.python)
    rows = []
    try:
        for size in [int(s) for s in a.sizes.split(",")]:
            for name, cmd in targets.items():
                res = {"init": [], "cold": [], "small": [], "large": [], "peak": []}
                for _ in range(a.rounds):
                    env = dict(moto.env, RUST_LOG="warn", **(extra if name == "forwarder" else {}))
                    report, log, peak = invoke(cmd, seq, size, env, "benchlambda%d" % size)
                    inv = report["invocations"]
                    if len(inv) < len(seq) or any(i["outcome"] != "response" for i in inv):
                        bad = next((i for i in inv if i["outcome"] != "response"), None)
                        print("%s at %d MB: failed (exit %s, init error %s): %s\n%s" % (
                            name, size, report["exit"], report["init_error"], bad, log[-500:]))
                        continue
                    res["init"].append(report["init_ms"])
                    res["cold"].append(inv[0]["answered_ms"])
                    res["small"].append(statistics.median(i["answered_ms"] - i["handed_out_ms"] for i in inv[1:3]))
                    res["large"].append(statistics.median(i["answered_ms"] - i["handed_out_ms"] for i in inv[4:6]))
                    res["peak"].append(peak)
                if res["cold"]:
                    rows.append((size, name, *[statistics.median(res[k]) for k in ("init", "cold", "small", "large", "peak")]))
    finally:
        moto.close()

    print("| memory MB | function | init ms | cold: start to first response ms | warm small batch ms | warm large batch ms | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % r)
    by = {(r[0], r[1]): r for r in rows}
    for size in sorted({r[0] for r in rows}):
        f, p = by.get((size, "forwarder")), by.get((size, "python peer"))
        if f and p:
            print("%d MB: peer/forwarder cold %.1fx, warm small %.1fx, warm large %.1fx"
                  % (size, p[3] / f[3], p[4] / f[4], p[5] / f[5]))


if __name__ == "__main__":
    main()
