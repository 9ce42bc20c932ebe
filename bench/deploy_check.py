#!/usr/bin/env python3
"""A check before traffic as Lambda runs it: the time from a CloudFormation stack's status event to
its alerts being published, and the function's peak memory, at a Lambda memory size.

    bench/deploy_check [--size 128] [--rounds 3]

bench/deploy_check builds what this needs and runs it with the test venv's Python (boto3). moto
(tests/moto_server.py, with the CloudFormation models for API Gateway) holds an SNS topic and the
stack of tests/tests/deploy_checks.rs: an HTTP API and a REST API whose Lambda authorizers lack the
invoke permission. Each round starts the release forwarder fresh under the Runtime API, in a cgroup
with the memory limit and CPU share of the size (bench/lambda_run.py's helpers), and hands it the
stack's CREATE_COMPLETE status event three times. With no flood control (no ALERT_STATE_TABLE) each
event alerts again: ListStackResources, both APIs read, both authorizers' policies read, two alerts
published. At 128 MB the CPU share is about 7% of a core, so the figure is what a deployment costs
in Lambda time, not what the machine's CPU makes of it. Printed, medians over the rounds: cold
(function start to the first response), warm (handed out to answered, 2nd and 3rd events), peak MiB.
Every event must be answered with two alerts' message ids (read from the function's `checked` log
line, at its default level, info), or the run stops.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lambda_run  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"


def template():
    """The stack of tests/tests/deploy_checks.rs: tests/fixtures/deploy/broken-stack.json."""
    with open(os.path.join(os.path.dirname(HERE), "tests", "fixtures", "deploy", "broken-stack.json")) as f:
        return f.read()


def status_event(stack_id, status):
    """CloudFormation's status change event, as `Stack::status_event` of the test writes it."""
    return json.dumps({
        "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation", "account": ACCOUNT, "time": "2026-12-07T10:00:00Z", "region": REGION,
        "resources": [stack_id], "detail": {"stack-id": stack_id, "status-details": {"status": status, "status-reason": ""}},
    })


def logged_outcomes(log):
    """The response of each check, in order, from the function's `checked` log lines: the invoke
    report keeps only a response's first 300 characters, which end before `message_ids`."""
    found = []
    for line in log.splitlines():
        try:
            rec = json.loads(line)
            if rec["fields"]["message"] == "checked":
                found.append(json.loads(rec["fields"]["outcome"]))
        except (ValueError, KeyError, TypeError):
            pass
    return found


def create_stack(endpoint):
    cfn = boto3.client("cloudformation", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    name = "deploy-bench-%d" % os.getpid()
    stack_id = cfn.create_stack(
        StackName=name, TemplateBody=template(),
        Parameters=[{"ParameterKey": "FunctionName", "ParameterValue": "auth-bench-%d" % os.getpid()}])["StackId"]
    made = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]}
    for need in ("HttpApi", "HttpAuth", "RestApi", "RestAuth"):
        if need not in made:
            sys.exit("moto created no %s (is tests/moto_server.py the server?)" % need)
    return stack_id


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128, help="Lambda memory size, MB")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    lambda_run.need_root("bench/deploy_check.py")
    forwarder = os.path.join(lambda_run.TARGET, "release", "forwarder")
    for f in (lambda_run.INVOKE, forwarder):
        if not os.path.exists(f):
            sys.exit("%s is missing (bench/deploy_check builds it)" % f)
    cores, load = os.cpu_count(), open("/proc/loadavg").read().split()[0]
    moto = lambda_run.Moto([sys.executable, os.path.join(lambda_run.ROOT, "tests", "moto_server.py")], sys.executable)
    res, event = {"cold": [], "warm": [], "peak": []}, None
    try:
        stack_id = create_stack(moto.env["AWS_ENDPOINT_URL"])
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(status_event(stack_id, "CREATE_COMPLETE"))
            event = f.name
        # moto does not serve TestInvokeAuthorizer, so API Gateway's own test of the REST authorizer
        # is off; no ALERT_STATE_TABLE, so the same event alerts each time.
        env = dict(moto.env, METRICS_NAMESPACE="", TEST_INVOKE_AUTHORIZERS="false")
        for _ in range(a.rounds):
            report, log, peak = lambda_run.invoke([forwarder], [event] * 3, a.size, env, "deploy")
            inv, checked = report["invocations"], logged_outcomes(log)
            for i in range(3):
                got = inv[i] if i < len(inv) else None
                said = checked[i] if i < len(checked) else None
                if not (got and got["outcome"] == "response" and said and len(said.get("message_ids", [])) == 2):
                    sys.exit("event %d: wanted a response with 2 message_ids, got %s, logged outcome %s "
                             "(exit %s, init error %s)\n%s"
                             % (i + 1, got, said, report["exit"], report["init_error"], log[-1000:]))
            res["cold"].append(inv[0]["answered_ms"])
            res["warm"].append(statistics.median(i["answered_ms"] - i["handed_out_ms"] for i in inv[1:3]))
            res["peak"].append(peak)
    finally:
        moto.close()
        if event:
            os.unlink(event)

    print("Stack status event to both alerts published, release forwarder, medians of %d rounds." % a.rounds)
    print("Each event: ListStackResources, two APIs read (GetApi/GetRoutes/GetAuthorizer,")
    print("GetRestApi/GetAuthorizers/GetResources), two GetPolicy, two Publish; against moto on this machine.")
    print("TEST_INVOKE_AUTHORIZERS=false: moto does not serve TestInvokeAuthorizer, so API Gateway's test")
    print("of the REST authorizer (one more call when it is on) is not in the figure.")
    print()
    print("| memory MB | cold: start to first response ms | warm: handed out to answered ms | peak MiB | cores | load (1 min) |")
    print("|---|---|---|---|---|---|")
    print("| %d | %.1f | %.1f | %.1f | %d | %s |" % (a.size, *(statistics.median(res[k]) for k in ("cold", "warm", "peak")), cores, load))


if __name__ == "__main__":
    main()
